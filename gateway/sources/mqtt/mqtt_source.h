// MqttSource: the [mqtt] source (DESIGN.md section 3), with the Eclipse Paho
// MQTT C++ client.
//
// It subscribes to the configured filters at QoS 0 or 1 with a stable client
// id and, by default, a persistent session (clean_session = false), so the
// broker keeps what is published while the gateway is away. Every message is
// appended to the MqttJournal on Paho's thread as it arrives, and an eventfd
// wakes the pipeline thread, which reads the journal in order (see
// mqtt_journal.h for why nothing acknowledged is lost on a crash).
//
// The connection is driven from the pipeline thread without ever waiting on
// the network: Paho connects and subscribes in the background and reports to
// a queue read in Poll(). After a failed connection or a lost one, the next
// attempt comes after a backoff that doubles from 0.25 s to 30 s, each delay
// drawn at random between half and one and a half times it (jitter, so a
// fleet does not reconnect in step). After every connection the filters are
// subscribed again (a broker without the session forgets them).
//
// TLS (ssl://): the broker's certificate is verified against ca_file (or the
// system's CAs) including its host name; cert_file and key_file give mutual
// TLS. The password is read from password_file at each (re)configuration.
//
// Threads: Paho's threads call only the journal and the event queue; every
// public method runs on the pipeline thread.
#ifndef SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_SOURCE_H_
#define SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_SOURCE_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include <MQTTAsync.h>

#include "gateway/config/config.h"
#include "gateway/sources/mqtt/mqtt_journal.h"
#include "gateway/base/status.h"

namespace mqtt {
class async_client;
class connect_options;
class token;
}  // namespace mqtt

namespace sensorgate {

class MqttSource {
 public:
  struct Counters {
    std::atomic<uint64_t> messages{0};     // received from the broker
    std::atomic<uint64_t> redelivered{0};  // with the DUP flag: sent again by the broker
    uint64_t connects = 0;                 // connections made
    uint64_t connection_losses = 0;
    uint64_t connect_failures = 0;
    uint64_t subscribe_failures = 0;
  };

  MqttSource(const std::string& state_dir, MqttJournal::Reader* reader);
  ~MqttSource();
  MqttSource(const MqttSource&) = delete;
  MqttSource& operator=(const MqttSource&) = delete;

  // Opens the journal; what was received after `from` is read again by Poll().
  // `config` names the session whose redeliveries are recognized.
  Status Open(const MqttPosition& from, const MqttConfig& config);

  // (Re)starts the client with `config`, replacing a running one (which is
  // disconnected first, waiting at most 2 s). The connection is made in the
  // background. An error here (bad URI, unreadable password file) is final
  // for this configuration.
  Status Start(const MqttConfig& config);

  // True when password_file now holds another password than the one in use.
  bool PasswordChanged() const;

  // Disconnects, waiting at most `timeout`. Whatever was received is in the
  // journal; Poll() still reads it.
  void Stop(std::chrono::milliseconds timeout);

  // Readable when Poll() has work.
  int event_fd() const { return event_fd_; }

  // Pipeline thread: handles connection events (subscribing, scheduling the
  // next attempt), makes a due connection attempt, and reads up to `budget`
  // messages. Returns true if messages are still waiting.
  //
  // While messages stream in, the eventfd is left unarmed after a Poll()
  // that read some, and Poll() is due again kBatchUs later (next_poll_us()):
  // one wake-up per batch, not per message, which saves both threads a few
  // system calls per message for at most kBatchUs of delay.
  bool Poll(size_t budget);
  static constexpr int64_t kBatchUs = 10 * 1000;

  // Monotonic time (µs) at which Poll() must run (a reconnection attempt, or
  // the next batch); INT64_MAX when nothing is due.
  int64_t next_poll_us() const {
    return std::min(state_ == State::kWaiting ? retry_at_us_ : INT64_MAX, rearm_at_us_);
  }

  bool connected() const { return state_ == State::kSubscribed; }
  // One line for logs and STATUS=, e.g. "mqtt connected to tcp://h:1883" or
  // "mqtt disconnected (Connection refused), next attempt in 4 s".
  std::string StateText() const;

  MqttJournal& journal() { return journal_; }
  const Counters& counters() const { return counters_; }

 private:
  enum class State { kIdle, kConnecting, kSubscribing, kSubscribed, kWaiting };
  struct Event {
    enum Kind { kConnected, kConnectFailed, kLost, kSubscribed, kSubscribeFailed, kTlsError } kind;
    uint64_t epoch;  // which client it is about
    std::string text;
  };
  class Listener;
  static void TraceCallback(enum MQTTASYNC_TRACE_LEVELS level, char* message);
  static int MessageArrived(void* context, char* topic, int topic_len, MQTTAsync_message* m);

  static std::string Session(const MqttConfig& config);
  void Wake();  // any thread: makes event_fd() readable
  void Push(Event e);
  void Connect();
  void Subscribe();
  void ForgetOldFilters();
  void SaveFilters();
  void ScheduleRetry(const std::string& why);
  void HandleEvent(const Event& e);
  // The connection failure as the library words it, else `fallback`.
  std::string TokenError(const std::string& fallback);

  MqttJournal journal_;
  const std::string state_dir_;
  MqttJournal::Reader* reader_ = nullptr;
  int event_fd_ = -1;
  std::atomic<bool> signalled_{false};
  std::mutex events_mu_;
  std::deque<Event> events_;

  MqttConfig config_;
  std::string password_;
  State state_ = State::kIdle;
  uint64_t epoch_ = 0;  // increases with every client made
  int64_t backoff_us_ = 0;
  int64_t retry_at_us_ = 0;
  int64_t rearm_at_us_ = INT64_MAX;  // the next batch is due (eventfd unarmed)
  std::string last_error_;
  std::string tls_error_;  // last TLS error reported by the library
  std::atomic<bool> tls_handshake_seen_{false};  // this attempt reached the TLS handshake
  std::mt19937_64 rng_;
  Counters counters_;
  std::unique_ptr<Listener> connect_listener_, subscribe_listener_;
  std::shared_ptr<mqtt::token> connect_token_, subscribe_token_;
  std::unique_ptr<mqtt::connect_options> connect_options_;
  std::unique_ptr<mqtt::async_client> client_;  // last: destroyed first
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_SOURCE_H_
