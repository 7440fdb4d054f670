// MqttSource: the [mqtt] source (DESIGN.md section 3), an MQTT 3.1.1 client
// of its own (MqttConnection) run on the pipeline thread.
//
// It subscribes to the configured filters at QoS 0 or 1 with a stable client
// id and, by default, a persistent session (clean_session = false), so the
// broker keeps what is published while the gateway is away. The messages of
// each read from the broker are appended to the MqttJournal with one write,
// and only then acknowledged (PUBACK); the pipeline reads the journal back
// in order (see mqtt_journal.h for why nothing acknowledged is lost on a
// crash).
//
// The connection never waits on the network: the socket is non-blocking
// and watched through fd(), an epoll set of the source's own that the loop
// watches. After a failed connection or a lost one, the next attempt comes
// after a backoff that doubles from 0.25 s to 30 s, each delay drawn at
// random between half and one and a half times it (jitter, so a fleet does
// not reconnect in step). After every connection the filters are subscribed
// again (a broker without the session forgets them).
//
// TLS (ssl://, OpenSSL): the broker's certificate is verified against
// ca_file (or the system's CAs) including its host name or IP address;
// cert_file and key_file give mutual TLS. The password is read from
// password_file at each (re)configuration.
//
// Time: every timer (backoff, keep alive, the next batch, the time left in
// StateText()) runs on the injected Clock's monotonic reading, and arrival
// times are its wall reading, so tests drive them with a FakeClock.
//
// As a Source (source.h): Poll() reads from the broker, journals, and hands
// the journaled messages to the RecordReceiver in arrival order;
// SavePosition() fsyncs the journal and gives its read position; Stop()
// disconnects and leaves whatever was received and not yet handed on in the
// journal, read after the next start (from the checkpointed position). Call
// order: Open(), then Start() (again for a new configuration), then Poll()
// whenever fd() is readable or next_poll_us() has come.
//
// Thread: every method runs on the pipeline thread.
#ifndef SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_SOURCE_H_
#define SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_SOURCE_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "gateway/base/clock.h"
#include "gateway/base/link_state.h"
#include "gateway/base/status.h"
#include "gateway/config/config.h"
#include "gateway/sources/mqtt/mqtt_connection.h"
#include "gateway/sources/mqtt/mqtt_journal.h"
#include "gateway/sources/source.h"

namespace sensorgate {

class MqttSource : public Source, private MqttJournal::Reader, private MqttConnection::Handler {
 public:
  struct Counters {
    uint64_t messages = 0;                 // received from the broker
    uint64_t redelivered = 0;              // with the DUP flag: sent again by the broker
    uint64_t connects = 0;                 // connections made
    uint64_t connection_losses = 0;
    uint64_t connect_failures = 0;
    uint64_t subscribe_failures = 0;
  };

  // Messages read from the journal go to `receiver`; `clock` (nullptr:
  // SystemClock()) gives every time. REQUIRES: both outlive this source.
  MqttSource(const std::string& state_dir, RecordReceiver* receiver, Clock* clock);
  ~MqttSource() override;
  MqttSource(const MqttSource&) = delete;
  MqttSource& operator=(const MqttSource&) = delete;

  // Opens the journal; what was received after `from` is read again by Poll()
  // (fd() is made readable, so the loop polls at once). `config` names the
  // session whose redeliveries are recognized. Call once, before Start().
  Status Open(const MqttPosition& from, const MqttConfig& config);

  // (Re)starts the client with `config`, replacing a running one (which is
  // disconnected first). The connection is made as Poll() runs. An error
  // here (bad URI, unreadable password file, Open() not done) is final for
  // this configuration. REQUIRES: Open() succeeded.
  Status Start(const MqttConfig& config);

  // True when password_file now holds another password than the one in use.
  bool PasswordChanged() const;

  // Source. name(): "mqtt". fd(): the source's epoll set (the connection's
  // socket, and an eventfd for a replay after Open()), readable when Poll()
  // has work.
  std::string_view name() const override { return "mqtt"; }
  int fd() const override { return epoll_fd_; }
  bool hold_fd() const override { return rearm_at_us_ != kNever; }

  // Monotonic time (µs, the injected clock) at which Poll() must run: a
  // reconnection attempt, a timer of the connection, or the next batch;
  // kNever when nothing is due.
  int64_t next_poll_us() const override {
    return std::min({state_ == State::kWaiting ? retry_at_us_ : kNever, rearm_at_us_, connection_.next_due_us()});
  }

  // Makes a due connection attempt, reads what the broker sent (journaled,
  // then acknowledged), and hands up to `budget` journaled messages to the
  // receiver. Returns true if more are waiting now.
  //
  // While QoS 0 messages stream in, fd() is held after a Poll() that read
  // some, and Poll() is due again kBatchUs later (next_poll_us()): one
  // wake-up and a few large reads per batch, not a wake-up per message, for
  // at most kBatchUs of delay. QoS 1 messages are read as they come: the
  // broker sends no more until they are acknowledged.
  bool Poll(size_t budget) override;
  static constexpr int64_t kBatchUs = 10 * 1000;
  // The most read from the broker in one Poll().
  static constexpr size_t kMaxReadBytes = 1024 * 1024;

  // Makes the journal durable (fdatasync), then sets positions->mqtt to how
  // far it has been read. Leaves the other members alone.
  void SavePosition(SourcePositions* positions) override;
  // A checkpoint holding positions.mqtt is on disk: journal generations
  // before it are removed.
  void Checkpointed(const SourcePositions& positions) override;

  // Disconnects from the broker (a DISCONNECT if the socket takes it now;
  // `deadline_us` is not needed), then saves the redelivery table
  // (MqttJournal::SaveRecent). Reads nothing from the journal: what was
  // received and not handed on stays there, for Poll() after this (which
  // still reads it, without reconnecting) or after the next start. Start()
  // connects again.
  void Stop(int64_t deadline_us) override;

  // The sensorgate_mqtt_* families of /metrics.
  void AppendMetrics(std::string* out) const override;
  // name "mqtt"; up while connected and subscribed; state: StateText();
  // backlog: journaled bytes not yet read; last_error: the last failure since
  // Start() (kept after a recovery), "" if none.
  LinkState Link() const override;

  bool connected() const { return state_ == State::kSubscribed; }
  // One line for logs and STATUS=, e.g. "mqtt connected to tcp://h:1883" or
  // "mqtt disconnected (Connection refused), next attempt in 4 s".
  std::string StateText() const;

  MqttJournal& journal() { return journal_; }
  const MqttJournal& journal() const { return journal_; }
  const Counters& counters() const { return counters_; }

 private:
  enum class State { kIdle, kConnecting, kSubscribing, kSubscribed, kWaiting };

  static std::string Session(const MqttConfig& config);
  // MqttJournal::Reader: forwards to the receiver.
  void OnJournaled(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us,
                   bool too_long) override;
  // MqttConnection::Handler.
  void OnConnected(bool session_present) override;
  void OnSubAck(uint16_t packet_id, const uint8_t* codes, size_t n) override;
  void OnPublish(const mqtt::Publish& p, bool too_long) override;
  void OnBatchEnd() override;
  void OnClosed(const std::string& why, bool was_connected) override;

  void Wake();  // makes fd() readable
  void Connect();
  void Subscribe();
  void ForgetOldFilters();
  void SaveFilters();
  void ScheduleRetry(const std::string& why);
  uint16_t NextPacketId();

  MqttJournal journal_;
  const std::string state_dir_;
  RecordReceiver* const receiver_;
  Clock* const clock_;
  bool opened_ = false;  // Open() succeeded
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  MqttConnection connection_;

  MqttConfig config_;
  MqttConnection::Settings settings_;
  std::string password_;
  State state_ = State::kIdle;
  uint16_t packet_id_ = 0;         // the last SUBSCRIBE or UNSUBSCRIBE
  uint16_t subscribe_id_ = 0;      // the SUBSCRIBE whose SUBACK is awaited
  int64_t backoff_us_ = 0;
  int64_t retry_at_us_ = 0;
  int64_t rearm_at_us_ = kNever;  // fd() held until the next batch
  std::string last_error_;    // why the current wait for a retry (cleared once subscribed)
  std::string last_failure_;  // the last failure since Start(), for Link()
  std::mt19937_64 rng_;
  Counters counters_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_SOURCE_H_
