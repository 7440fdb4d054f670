// MqttConnection: one MQTT 3.1.1 client connection to a broker, over TCP or
// TLS (OpenSSL, loaded on the first TLS connection: openssl_api.h), driven by
// the event loop's thread and never blocking it.
//
// It resolves the broker's name (getaddrinfo_a: the resolver works on its
// own and is polled), connects without waiting, makes the TLS handshake,
// sends CONNECT and reads CONNACK, then reads what the broker sends in large
// reads (many packets per system call) and splits it in place. Each
// PUBLISH goes to the Handler; the acknowledgements of the messages read in
// one Poll() (PUBACK at QoS 1, PUBREC at QoS 2) are sent only after the
// Handler's OnBatchEnd() has returned, so a message is acknowledged only
// when the Handler has stored it (the MQTT journal) and never before. Keep
// alive: a PINGREQ after keep_alive_s without sending, and the connection
// is closed as lost when nothing at all comes back for another keep_alive_s.
//
// Readiness: the socket is registered in the epoll set given to the
// constructor (the source's own set, which the loop watches), for reading
// and, while something waits to be written or a connect or handshake is
// under way, for writing. Timers (resolver, connect timeout, keep alive)
// are given by next_due_us() on the injected clock.
//
// Thread: everything on the caller's (the pipeline's) thread.
#ifndef SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_CONNECTION_H_
#define SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_CONNECTION_H_

#include <netdb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/host_port.h"
#include "gateway/sources/mqtt/mqtt_packet.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace sensorgate {

class MqttConnection {
 public:
  struct Settings {
    HostPort broker;
    bool tls = false;
    std::string ca_file, cert_file, key_file;  // TLS: "" for the system's CAs, no client certificate
    std::string client_id, username, password;
    bool clean_session = false;
    uint16_t keep_alive_s = 30;
    int64_t connect_timeout_us = 10 * 1000 * 1000;  // from Begin() to CONNACK
  };

  class Handler {
   public:
    virtual ~Handler() = default;
    // CONNACK accepted the connection.
    virtual void OnConnected(bool session_present) = 0;
    // SUBACK: one return code per filter (0x80: refused).
    virtual void OnSubAck(uint16_t packet_id, const uint8_t* codes, size_t n) = 0;
    // A message. too_long: its payload was over `max_payload` and is cut to
    // nothing. Its acknowledgement goes out after the next OnBatchEnd().
    virtual void OnPublish(const mqtt::Publish& p, bool too_long) = 0;
    // The messages of this batch must be stored now: acknowledgements follow.
    virtual void OnBatchEnd() = 0;
    // The connection ended (failed, lost, refused); `why` in words, whole:
    // "cannot connect: ..." before CONNACK, "connection lost (...)" or
    // "connection closed: ..." after. The connection is idle after this;
    // Begin() starts another.
    virtual void OnClosed(const std::string& why, bool was_connected) = 0;
  };

  // `epoll_fd`: the set that the socket joins. `max_payload`: larger
  // payloads are not kept (the rest of such a message is skipped as it
  // comes). REQUIRES: every argument outlives this connection.
  MqttConnection(int epoll_fd, Clock* clock, Handler* handler, size_t max_payload);
  ~MqttConnection();
  MqttConnection(const MqttConnection&) = delete;
  MqttConnection& operator=(const MqttConnection&) = delete;

  // Starts a connection (closing one that runs, without a DISCONNECT).
  // Every outcome comes through the Handler (a TLS file that cannot be
  // loaded too, as a failed connection: it may be there at the next try).
  void Begin(const Settings& settings);

  // Does what is ready: connecting, the handshake, reading (at most
  // `max_bytes` this call), writing, the timers. Returns true when more
  // input may be waiting (the byte budget ran out).
  bool Poll(size_t max_bytes);

  // Monotonic µs of the next timer, kNever if none.
  int64_t next_due_us() const;

  // Queues packets; they are written at once if the socket takes them.
  // REQUIRES: connected().
  void Subscribe(uint16_t packet_id, const std::vector<std::string>& filters, int qos);
  void Unsubscribe(uint16_t packet_id, const std::vector<std::string>& filters);

  // Sends what is queued and a DISCONNECT as far as the socket takes them
  // now (never waiting), then closes. No OnClosed().
  void Close();

  struct Lookup;  // a name lookup under way (getaddrinfo_a), in the .cc

  bool connected() const { return state_ == State::kOpen; }
  bool idle() const { return state_ == State::kIdle; }
  // Messages read in the last Poll(), and whether any of them was QoS 1 or 2
  // (the broker then waits for their acknowledgements).
  size_t last_messages() const { return last_messages_; }
  bool last_needed_acks() const { return last_needed_acks_; }

 private:
  enum class State { kIdle, kResolving, kConnecting, kHandshake, kAwaitConnAck, kOpen };
  size_t capacity() const { return max_payload_ + 65535 + 16; }  // the input buffer: a PUBLISH kept whole
  void StartConnect();
  void TryNextAddress();
  void ConnectDone();
  void HandshakeStep();
  void SendConnect();
  bool ReadSome(size_t max_bytes);     // false: closed
  bool HandleInput();                  // false: closed
  bool HandlePacket(uint8_t first, const uint8_t* body, uint32_t len);
  void Deliver(const mqtt::Publish& m, bool too_long);
  void Flush();
  void Watch();                        // the socket's epoll events for the state
  void Unwatch();
  void Fail(const std::string& why);   // closes, tells the handler
  void Shut();                         // closes the socket and TLS, no report
  std::string TlsErrorText(int ssl_error, int ret);
  ssize_t RawRead(char* buf, size_t len, bool* closed);
  ssize_t RawWrite(const char* buf, size_t len);

  const int epoll_fd_;
  Clock* const clock_;
  Handler* const handler_;
  const size_t max_payload_;
  Settings settings_;
  State state_ = State::kIdle;
  int fd_ = -1;
  uint32_t watched_ = 0;  // epoll events registered for fd_ (0: not registered)
  Lookup* lookup_ = nullptr;
  int64_t resolve_check_us_ = 0;
  struct addrinfo* addresses_ = nullptr;
  struct addrinfo* next_address_ = nullptr;
  std::string last_connect_error_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool tls_want_write_ = false;  // the TLS layer waits for the socket to take output
  int64_t deadline_us_ = 0;      // connecting: the connect timeout
  int64_t last_sent_us_ = 0;
  int64_t last_received_us_ = 0;
  int64_t ping_sent_us_ = 0;     // 0: no PINGREQ unanswered
  std::string closed_why_;       // why a read or write found the connection closed
  std::unique_ptr<uint8_t[]> in_;  // capacity() bytes; received, not yet handled: [in_begin_, in_end_)
  size_t in_begin_ = 0, in_end_ = 0;
  uint64_t skip_ = 0;            // bytes of a too long PUBLISH still to be skipped
  std::string out_;              // to be written
  size_t out_begin_ = 0;
  std::string acks_;             // acknowledgements of the current batch
  size_t last_messages_ = 0;
  bool last_needed_acks_ = false;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_CONNECTION_H_
