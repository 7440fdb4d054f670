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
// Time: every timer (backoff, the next batch, the time left in StateText())
// runs on the injected Clock's monotonic reading, and arrival times are its
// wall reading, so tests drive them with a FakeClock.
//
// As a Source (source.h): Poll() hands the journaled messages to the
// RecordReceiver in arrival order; SavePosition() fsyncs the journal and
// gives its read position; Stop() disconnects and leaves whatever was
// received and not yet handed on in the journal, read after the next start
// (from the checkpointed position). Call order: Open(), then Start() (again
// for a new configuration), then Poll() whenever fd() is readable or
// next_poll_us() has come.
//
// Threads: Paho's threads call only the journal, the event queue and the
// clock's WallUs() (so the Clock must be safe to read from any thread, as
// SystemClock() is); every public method runs on the pipeline thread.
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
#include <string_view>

#include <MQTTAsync.h>

#include "gateway/base/clock.h"
#include "gateway/base/link_state.h"
#include "gateway/base/status.h"
#include "gateway/config/config.h"
#include "gateway/sources/mqtt/mqtt_journal.h"
#include "gateway/sources/source.h"

namespace mqtt {
class async_client;
class connect_options;
class token;
}  // namespace mqtt

namespace sensorgate {

class MqttSource : public Source, private MqttJournal::Reader {
 public:
  struct Counters {
    std::atomic<uint64_t> messages{0};     // received from the broker
    std::atomic<uint64_t> redelivered{0};  // with the DUP flag: sent again by the broker
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
  // disconnected first, waiting at most 2 s). The connection is made in the
  // background. An error here (bad URI, unreadable password file, Open() not
  // done) is final for this configuration. REQUIRES: Open() succeeded.
  Status Start(const MqttConfig& config);

  // True when password_file now holds another password than the one in use.
  bool PasswordChanged() const;

  // Source. name(): "mqtt". fd(): the eventfd, readable when Poll() has
  // work (messages, connection events, a replay after Open()).
  std::string_view name() const override { return "mqtt"; }
  int fd() const override { return event_fd_; }

  // Monotonic time (µs, the injected clock) at which Poll() must run: a
  // reconnection attempt, or the next batch; kNever when nothing is due.
  int64_t next_poll_us() const override {
    return std::min(state_ == State::kWaiting ? retry_at_us_ : kNever, rearm_at_us_);
  }

  // Handles connection events (subscribing, scheduling the next attempt),
  // makes a due connection attempt, and hands up to `budget` journaled
  // messages to the receiver. Returns true if more are waiting now.
  //
  // While messages stream in, the eventfd is left unarmed after a Poll()
  // that read some, and Poll() is due again kBatchUs later (next_poll_us()):
  // one wake-up per batch, not per message, which saves both threads a few
  // system calls per message for at most kBatchUs of delay.
  bool Poll(size_t budget) override;
  static constexpr int64_t kBatchUs = 10 * 1000;

  // Makes the journal durable (fdatasync), then sets positions->mqtt to how
  // far it has been read. Leaves the other members alone.
  void SavePosition(SourcePositions* positions) override;
  // A checkpoint holding positions.mqtt is on disk: journal generations
  // before it are removed.
  void Checkpointed(const SourcePositions& positions) override;

  // Disconnects from the broker, waiting at most until `deadline_us`
  // (monotonic, the injected clock), then saves the redelivery table
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
  struct Event {
    enum Kind { kConnected, kConnectFailed, kLost, kSubscribed, kSubscribeFailed, kTlsError } kind;
    uint64_t epoch;  // which client it is about
    std::string text;
  };
  class Listener;
  static void TraceCallback(enum MQTTASYNC_TRACE_LEVELS level, char* message);
  static int MessageArrived(void* context, char* topic, int topic_len, MQTTAsync_message* m);

  static std::string Session(const MqttConfig& config);
  // MqttJournal::Reader: forwards to the receiver.
  void OnJournaled(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us,
                   bool too_long) override;
  // Disconnects the running client, waiting at most `timeout`; its events
  // are ignored from now on.
  void Disconnect(std::chrono::milliseconds timeout);
  void Wake();  // any thread: makes fd() readable
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
  RecordReceiver* const receiver_;
  Clock* const clock_;
  bool opened_ = false;  // Open() succeeded
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
  int64_t rearm_at_us_ = kNever;  // the next batch is due (eventfd unarmed)
  std::string last_error_;    // why the current wait for a retry (cleared once subscribed)
  std::string last_failure_;  // the last failure since Start(), for Link()
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
