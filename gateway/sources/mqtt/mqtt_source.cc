#include "gateway/sources/mqtt/mqtt_source.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "gateway/base/file_util.h"
#include "gateway/base/log.h"
#include "gateway/base/metrics.h"
#include "gateway/base/time_util.h"
#include "mqtt/async_client.h"

namespace sensorgate {
namespace {

constexpr int64_t kMinBackoffUs = 250 * 1000;
constexpr int64_t kMaxBackoffUs = 30 * 1000 * 1000;
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kKeepAlive = std::chrono::seconds(30);
constexpr auto kRestartTimeout = std::chrono::milliseconds(2000);  // Start() replacing a client
constexpr auto kDestroyTimeout = std::chrono::milliseconds(1000);

std::string Join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// MQTT 3.1.1 CONNACK refusals and Paho's own codes, in words.
std::string ReturnCodeText(int rc) {
  switch (rc) {
    case 1: return "the broker refused the protocol version";
    case 2: return "the broker refused the client id";
    case 3: return "the broker is unavailable";
    case 4: return "the broker refused the user name or password";
    case 5: return "the broker refused: not authorized (user name, password or client certificate)";
    case MQTTASYNC_DISCONNECTED: return "disconnected";
    case MQTTASYNC_SSL_NOT_SUPPORTED: return "this Paho build has no TLS";
    case MQTTASYNC_BAD_PROTOCOL: return "bad protocol in the URI";
    default: return "error " + std::to_string(rc);
  }
}

// Paho C++ keeps the Paho C handle of an async_client private and offers no
// accessor. An explicit instantiation may name a private member (C++17
// [temp.explicit]/14), which lets the handle be read without touching the
// library: the tag's friend function returns the member pointer.
struct PahoHandleTag {
  using type = MQTTAsync mqtt::async_client::*;
  friend type PahoHandle();
};
template <PahoHandleTag::type Member>
struct PahoHandleAccess {
  friend PahoHandleTag::type PahoHandle() { return Member; }
};
template struct PahoHandleAccess<&mqtt::async_client::cli_>;
PahoHandleTag::type PahoHandle();

// Paho C's error trace, the only place that names TLS failures (such as
// "certificate verify failed"); it goes to the source that runs now.
std::mutex g_trace_mu;
MqttSource* g_trace_source = nullptr;

}  // namespace

void MqttSource::TraceCallback(enum MQTTASYNC_TRACE_LEVELS level, char* message) {
  if (message == nullptr) return;
  // OpenSSL's alerts during the handshake, as Paho traces them:
  //   "SSL alert write:fatal:unknown CA"   we refused the broker's certificate
  //   "SSL alert read:fatal:..."           the broker refused us
  // and OpenSSL's own "error:XXXXXXXX:lib::reason" lines at error level.
  const std::string_view text(message);
  if (text.find("SSL handshake started") != std::string_view::npos) {
    std::lock_guard<std::mutex> lock(g_trace_mu);
    if (g_trace_source != nullptr) g_trace_source->tls_handshake_seen_.store(true);
    return;
  }
  std::string what;
  size_t at;
  if ((at = text.find("SSL alert write:fatal:")) != std::string_view::npos) {
    what = "the broker's certificate was refused (" + std::string(text.substr(at + 22)) +
           "): certificate verify failed";
  } else if ((at = text.find("SSL alert read:fatal:")) != std::string_view::npos) {
    std::string alert(text.substr(at + 21));
    while (!alert.empty() && (alert.back() == '\n' || alert.back() == ' ')) alert.pop_back();
    what = "the broker ended the TLS handshake (alert: " + alert + ")";
    // OpenSSL 3.0 names TLS 1.3's "certificate required" alert "unknown".
    if (alert == "unknown") what += "; with TLS 1.3 usually: a client certificate is required, see [mqtt] cert_file";
  } else if (level >= MQTTASYNC_TRACE_ERROR && (at = text.find("error:")) != std::string_view::npos) {
    what = std::string(text.substr(at));
  } else {
    return;
  }
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
  std::lock_guard<std::mutex> lock(g_trace_mu);
  if (g_trace_source != nullptr) g_trace_source->Push(Event{Event::kTlsError, 0, what});
}

// Paho action listener that posts an event for the client of one epoch.
class MqttSource::Listener : public mqtt::iaction_listener {
 public:
  Listener(MqttSource* source, uint64_t epoch, Event::Kind on_success, Event::Kind on_failure)
      : source_(source), epoch_(epoch), success_(on_success), failure_(on_failure) {}
  void on_success(const mqtt::token&) override { source_->Push(Event{success_, epoch_, {}}); }
  void on_failure(const mqtt::token& tok) override {
    source_->Push(Event{failure_, epoch_, ReturnCodeText(tok.get_return_code())});
  }

 private:
  MqttSource* const source_;
  const uint64_t epoch_;
  const Event::Kind success_, failure_;
};

MqttSource::MqttSource(const std::string& state_dir, RecordReceiver* receiver, Clock* clock)
    : journal_(state_dir),
      state_dir_(state_dir),
      receiver_(receiver),
      clock_(clock != nullptr ? clock : SystemClock()),
      rng_(std::random_device{}()) {
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::lock_guard<std::mutex> lock(g_trace_mu);
  g_trace_source = this;
  MQTTAsync_setTraceCallback(&MqttSource::TraceCallback);
  MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
}

MqttSource::~MqttSource() {
  Disconnect(kDestroyTimeout);
  client_.reset();
  {
    std::lock_guard<std::mutex> lock(g_trace_mu);
    if (g_trace_source == this) g_trace_source = nullptr;
  }
  if (event_fd_ >= 0) close(event_fd_);
}

std::string MqttSource::Session(const MqttConfig& config) { return config.client_id + " " + config.uri; }

Status MqttSource::Open(const MqttPosition& from, const MqttConfig& config) {
  if (event_fd_ < 0) return Status::Error(std::string("cannot create an eventfd: ") + std::strerror(errno));
  Status s = journal_.Open(from, Session(config));
  if (!s.ok()) return s;
  opened_ = true;
  Wake();  // the journal may hold messages from before: the first Poll() reads them
  return s;
}

void MqttSource::OnJournaled(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us,
                             bool too_long) {
  if (too_long) {
    receiver_->OnTooLong(RecordOrigin{topic, 0});
  } else {
    receiver_->OnMessage(topic, payload, len, arrival_us);
  }
}

void MqttSource::Wake() {
  if (!signalled_.exchange(true)) {
    const uint64_t one = 1;
    (void)!write(event_fd_, &one, sizeof one);
  }
}

void MqttSource::Push(Event e) {
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events_.push_back(std::move(e));
  }
  Wake();
}

namespace {

// The first line of a password file, without its line end.
bool ReadPassword(const std::string& path, std::string* out) {
  out->clear();
  std::ifstream in(path);
  if (!in) return false;
  std::getline(in, *out);
  while (!out->empty() && (out->back() == '\r' || out->back() == '\n')) out->pop_back();
  return true;
}

}  // namespace

// Paho's receive thread, for every message: journal it, then wake the
// pipeline. Returns 1: the message is taken (and freed here).
int MqttSource::MessageArrived(void* context, char* topic, int topic_len, MQTTAsync_message* m) {
  auto* self = static_cast<MqttSource*>(context);
  self->counters_.messages.fetch_add(1, std::memory_order_relaxed);
  const bool dup = m->dup != 0;
  if (dup) self->counters_.redelivered.fetch_add(1, std::memory_order_relaxed);
  const size_t tlen = topic_len > 0 ? static_cast<size_t>(topic_len) : std::strlen(topic);
  const int id = m->qos > 0 ? m->msgid : 0;
  if (self->journal_.Append(std::string_view(topic, tlen),
                            std::string_view(static_cast<const char*>(m->payload),
                                             static_cast<size_t>(std::max(0, m->payloadlen))),
                            self->clock_->WallUs(), static_cast<uint16_t>(id), dup)) {
    self->Wake();
  }
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  return 1;
}

bool MqttSource::PasswordChanged() const {
  std::string now;
  return !config_.password_file.empty() && ReadPassword(config_.password_file, &now) && now != password_;
}

Status MqttSource::Start(const MqttConfig& config) {
  if (!opened_) return Status::Error("[mqtt]: the journal is not open (Open() first)");
  if (client_) {
    Disconnect(kRestartTimeout);
    client_.reset();
  }
  config_ = config;
  last_error_.clear();
  last_failure_.clear();
  journal_.ResetRecent(Session(config_));  // a new session: other packet ids
  password_.clear();
  if (!config_.password_file.empty() && !ReadPassword(config_.password_file, &password_)) {
    last_failure_ = "[mqtt] password_file = " + config_.password_file + ": cannot read: " + std::strerror(errno);
    return Status::Error(last_failure_);
  }
  const uint64_t epoch = ++epoch_;
  try {
    client_ = std::make_unique<mqtt::async_client>(config_.uri, config_.client_id);
    client_->set_connection_lost_handler(
        [this, epoch](const std::string& cause) { Push(Event{Event::kLost, epoch, cause}); });
    // Messages are taken from Paho C directly (set last, so that nothing of
    // the C++ layer replaces it): it gives the packet id, which the C++
    // message hides, and saves the C++ layer's copies of every message.
    const int rc = MQTTAsync_setMessageArrivedCallback(client_.get()->*PahoHandle(), this,
                                                       &MqttSource::MessageArrived);
    if (rc != MQTTASYNC_SUCCESS) throw std::runtime_error("cannot set the message callback: " + ReturnCodeText(rc));
    auto builder = mqtt::connect_options_builder()
                       .clean_session(config_.clean_session)
                       .keep_alive_interval(kKeepAlive)
                       .connect_timeout(kConnectTimeout)
                       .mqtt_version(MQTTVERSION_3_1_1)  // no second try with 3.1 after a failure
                       .automatic_reconnect(false);
    if (!config_.username.empty()) builder.user_name(config_.username);
    if (!password_.empty()) builder.password(password_);
    if (config_.uri.rfind("ssl://", 0) == 0) {
      auto ssl = mqtt::ssl_options_builder().enable_server_cert_auth(true).verify(true);
      if (!config_.ca_file.empty()) ssl.trust_store(config_.ca_file);
      if (!config_.cert_file.empty()) ssl.key_store(config_.cert_file);
      if (!config_.key_file.empty()) ssl.private_key(config_.key_file);
      // No ssl error_handler: Paho C++ 1.2.0 calls it through a dangling
      // pointer (a crash at the first TLS error). OpenSSL's reasons come from
      // Paho C's error trace instead (TraceCallback).
      builder.ssl(ssl.finalize());
    }
    connect_options_ = std::make_unique<mqtt::connect_options>(builder.finalize());
  } catch (const std::exception& e) {
    client_.reset();
    last_failure_ = "[mqtt] uri = " + config_.uri + ": " + e.what();
    return Status::Error(last_failure_);
  }
  connect_listener_ = std::make_unique<Listener>(this, epoch, Event::kConnected, Event::kConnectFailed);
  subscribe_listener_ = std::make_unique<Listener>(this, epoch, Event::kSubscribed, Event::kSubscribeFailed);
  backoff_us_ = 0;
  tls_error_.clear();
  Connect();
  return Status::Ok();
}

void MqttSource::Connect() {
  state_ = State::kConnecting;
  tls_error_.clear();
  tls_handshake_seen_.store(false);
  // The TLS alerts are traced at protocol level, as is every packet: that
  // level only while connecting to an ssl:// broker.
  if (config_.uri.rfind("ssl://", 0) == 0) MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_PROTOCOL);
  try {
    connect_token_ = client_->connect(*connect_options_, nullptr, *connect_listener_);
  } catch (const std::exception& e) {
    ++counters_.connect_failures;
    ScheduleRetry(e.what());
  }
}

void MqttSource::Subscribe() {
  state_ = State::kSubscribing;
  ForgetOldFilters();
  try {
    const std::vector<int> qos(config_.topics.size(), config_.qos);
    subscribe_token_ =
        client_->subscribe(mqtt::string_collection::create(config_.topics), qos, nullptr, *subscribe_listener_);
  } catch (const std::exception& e) {
    ++counters_.subscribe_failures;
    ScheduleRetry(std::string("cannot subscribe: ") + e.what());
  }
}

void MqttSource::Disconnect(std::chrono::milliseconds timeout) {
  if (!client_ || state_ == State::kIdle) return;
  ++epoch_;  // events of this client are stale from now on
  state_ = State::kIdle;
  try {
    if (client_->is_connected()) client_->disconnect(timeout)->wait_for(timeout);
  } catch (const std::exception& e) {
    Log(LogLevel::kWarning, "mqtt: disconnect from %s: %s", config_.uri.c_str(), e.what());
  }
}

void MqttSource::Stop(int64_t deadline_us) {
  const int64_t left_us = deadline_us == kNever ? kNever : deadline_us - clock_->MonotonicUs();
  const int64_t left_ms = std::clamp<int64_t>(left_us / 1000, 0, INT32_MAX);
  Disconnect(std::chrono::milliseconds(left_ms));
  // What was received, by packet id: a redelivery after the restart is
  // recognized as one.
  if (opened_) journal_.SaveRecent();
}

void MqttSource::SavePosition(SourcePositions* positions) {
  // The journal is made durable before the checkpoint that points into it.
  journal_.Sync();
  positions->mqtt = journal_.position();
}

void MqttSource::Checkpointed(const SourcePositions& positions) { journal_.Checkpointed(positions.mqtt); }

void MqttSource::ScheduleRetry(const std::string& why) {
  last_error_ = why;
  last_failure_ = why;
  backoff_us_ = backoff_us_ == 0 ? kMinBackoffUs : std::min(kMaxBackoffUs, backoff_us_ * 2);
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  const auto delay = static_cast<int64_t>(static_cast<double>(backoff_us_) * jitter(rng_));
  retry_at_us_ = clock_->MonotonicUs() + delay;
  state_ = State::kWaiting;
  Log(LogLevel::kWarning, "mqtt: %s: %s; next attempt in %.1f s", config_.uri.c_str(), why.c_str(),
      static_cast<double>(delay) / 1e6);
}

std::string MqttSource::TokenError(const std::string& fallback) {
  std::string text;
  try {
    if (connect_token_) connect_token_->try_wait();
  } catch (const mqtt::exception& e) {
    // A CONNACK refusal (1 to 5) in words; otherwise the library's text.
    const int rc = e.get_return_code();
    text = rc >= 1 && rc <= 5 ? ReturnCodeText(rc) + " (CONNACK " + std::to_string(rc) + ")" : e.what();
  } catch (const std::exception& e) {
    text = e.what();
  }
  if (text.empty()) text = fallback;
  if (!tls_error_.empty()) {
    text += " (TLS: " + tls_error_;
    if (tls_error_.find("verify failed") != std::string::npos) {
      text += "; checked against " +
              (config_.ca_file.empty() ? std::string("the system's CAs") : "[mqtt] ca_file = " + config_.ca_file);
    }
    text += ")";
  } else if (tls_handshake_seen_.load() && config_.cert_file.empty()) {
    // The TLS handshake began and failed with no alert read: a broker that
    // wants a client certificate ends TLS 1.3 that way, closing the socket
    // before its alert can be read.
    text += " (the TLS handshake failed without a reason from the library; if the broker requires client "
            "certificates, set [mqtt] cert_file and key_file)";
  }
  return text;
}

void MqttSource::HandleEvent(const Event& e) {
  if (e.kind == Event::kTlsError) {
    tls_error_ = e.text;  // told with the connection failure that follows
    if (state_ == State::kWaiting && last_error_.find("TLS") == std::string::npos) {
      // The failure was reported before the reason came in.
      last_error_ += " (TLS: " + e.text + ")";
      last_failure_ = last_error_;
      Log(LogLevel::kWarning, "mqtt: %s: TLS: %s", config_.uri.c_str(), e.text.c_str());
    }
    return;
  }
  if (e.epoch != epoch_) return;  // about a client we replaced or stopped
  switch (e.kind) {
    case Event::kConnected: {
      MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
      ++counters_.connects;
      bool session = false;
      try {
        session = connect_token_ && connect_token_->get_connect_response().is_session_present();
      } catch (const std::exception&) {
      }
      Log(LogLevel::kInfo, "mqtt: connected to %s as %s (%s)", config_.uri.c_str(), config_.client_id.c_str(),
          config_.clean_session ? "clean session"
                                : session ? "the broker kept our session" : "new persistent session");
      Subscribe();
      break;
    }
    case Event::kConnectFailed:
      ++counters_.connect_failures;
      ScheduleRetry("cannot connect: " + TokenError(e.text));
      break;
    case Event::kLost:
      if (state_ == State::kWaiting || state_ == State::kIdle) break;
      ++counters_.connection_losses;
      ScheduleRetry("connection lost" + (e.text.empty() ? std::string() : " (" + e.text + ")"));
      break;
    case Event::kSubscribed: {
      std::string refused;
      try {
        const auto codes = subscribe_token_->get_subscribe_response().get_reason_codes();
        for (size_t i = 0; i < codes.size() && i < config_.topics.size(); ++i) {
          if (static_cast<int>(codes[i]) >= 0x80) refused += (refused.empty() ? "" : ", ") + config_.topics[i];
        }
      } catch (const std::exception&) {
      }
      if (!refused.empty()) {
        ++counters_.subscribe_failures;
        ScheduleRetry("the broker refused the subscription to " + refused);
        break;
      }
      state_ = State::kSubscribed;
      backoff_us_ = 0;
      last_error_.clear();
      SaveFilters();
      Log(LogLevel::kInfo, "mqtt: subscribed to %s at QoS %d", Join(config_.topics).c_str(), config_.qos);
      break;
    }
    case Event::kSubscribeFailed:
      ++counters_.subscribe_failures;
      ScheduleRetry("cannot subscribe: " + e.text);
      break;
    case Event::kTlsError:
      break;
  }
}

// A persistent session keeps every filter ever subscribed: filters of this
// client id that are no longer configured are unsubscribed, or their
// messages would keep coming after a change of [mqtt] topics. Sent before the
// SUBSCRIBE, so the broker has handled it when the subscription is confirmed.
void MqttSource::ForgetOldFilters() {
  std::vector<std::string> stale;
  std::ifstream in(state_dir_ + "/mqtt-filters");
  std::string id, uri, line;
  if (std::getline(in, id) && std::getline(in, uri) && id == config_.client_id && uri == config_.uri &&
      !config_.clean_session) {
    while (std::getline(in, line)) {
      if (!line.empty() && std::find(config_.topics.begin(), config_.topics.end(), line) == config_.topics.end()) {
        stale.push_back(line);
      }
    }
  }
  if (stale.empty()) return;
  try {
    client_->unsubscribe(mqtt::string_collection::create(stale));
    Log(LogLevel::kInfo, "mqtt: unsubscribing from %s (no longer in [mqtt] topics)", Join(stale).c_str());
  } catch (const std::exception& e) {
    Log(LogLevel::kWarning, "mqtt: cannot unsubscribe from %s: %s", Join(stale).c_str(), e.what());
  }
}

// Remembers the filters of this session (state_dir/mqtt-filters).
void MqttSource::SaveFilters() {
  const std::string path = state_dir_ + "/mqtt-filters";
  std::string text = config_.client_id + "\n" + config_.uri + "\n";
  for (const auto& t : config_.topics) text += t + "\n";
  // Like every state file: 0640, replaced atomically.
  const Status s = ReplaceFile(path, text, 0640);
  if (!s.ok()) Log(LogLevel::kWarning, "mqtt: %s", s.message().c_str());
}

bool MqttSource::Poll(size_t budget) {
  uint64_t drained;
  (void)!read(event_fd_, &drained, sizeof drained);
  std::deque<Event> events;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events.swap(events_);
  }
  for (const Event& e : events) HandleEvent(e);
  const int64_t now = clock_->MonotonicUs();
  if (state_ == State::kWaiting && now >= retry_at_us_) {
    bool connected = false;
    try {
      connected = client_->is_connected();
    } catch (const std::exception&) {
    }
    if (connected) Subscribe();
    else Connect();
  }
  const uint64_t before = journal_.stats().read;
  if (journal_.Read(this, budget)) return true;
  if (journal_.stats().read != before) {
    // Busy: stay unarmed, so that Paho's thread writes no eventfd and this
    // thread wakes no more than every kBatchUs while messages stream in.
    rearm_at_us_ = now + kBatchUs;
    return false;
  }
  // Idle: arm the wake-up, then look once more: a message appended or an
  // event pushed before the flag was cleared wrote no eventfd.
  rearm_at_us_ = kNever;
  signalled_.store(false);
  bool events_waiting;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events_waiting = !events_.empty();
  }
  return journal_.Read(this, budget) || events_waiting;
}

std::string MqttSource::StateText() const {
  switch (state_) {
    case State::kIdle: return "mqtt stopped";
    case State::kConnecting: return "mqtt connecting to " + config_.uri;
    case State::kSubscribing: return "mqtt subscribing on " + config_.uri;
    case State::kSubscribed: return "mqtt connected to " + config_.uri;
    case State::kWaiting: {
      const int64_t left = std::max<int64_t>(0, retry_at_us_ - clock_->MonotonicUs());
      char buf[64];
      std::snprintf(buf, sizeof buf, ", next attempt in %.0f s", static_cast<double>(left) / 1e6);
      return "mqtt disconnected (" + last_error_ + ")" + buf;
    }
  }
  return "mqtt";
}

LinkState MqttSource::Link() const {
  LinkState link;
  link.name = "mqtt";
  link.up = connected();
  link.state = StateText();
  link.backlog = journal_.backlog_bytes();
  link.backlog_unit = "bytes";
  link.last_error = last_failure_;
  return link;
}

void MqttSource::AppendMetrics(std::string* out) const {
  const Counters& m = counters_;
  const MqttJournal::Stats& j = journal_.stats();
  AppendMetric(out, "sensorgate_mqtt_connected", MetricType::kGauge,
               "1 while connected to the MQTT broker and subscribed.", connected() ? 1 : 0);
  AppendMetric(out, "sensorgate_mqtt_messages_total", MetricType::kCounter, "MQTT messages received.",
               static_cast<double>(m.messages.load()));
  AppendMetric(out, "sensorgate_mqtt_redelivered_total", MetricType::kCounter,
               "MQTT messages the broker sent again (DUP flag): possible duplicates.",
               static_cast<double>(m.redelivered.load()));
  AppendMetric(out, "sensorgate_mqtt_duplicates_dropped_total", MetricType::kCounter,
               "Redelivered MQTT messages dropped: already received (same packet id and content).",
               static_cast<double>(j.duplicates.load()));
  AppendMetric(out, "sensorgate_mqtt_connects_total", MetricType::kCounter, "Connections made to the broker.",
               static_cast<double>(m.connects));
  AppendMetric(out, "sensorgate_mqtt_connection_losses_total", MetricType::kCounter,
               "Connections to the broker lost.", static_cast<double>(m.connection_losses));
  AppendMetric(out, "sensorgate_mqtt_connect_failures_total", MetricType::kCounter,
               "Connection attempts that failed.", static_cast<double>(m.connect_failures));
  AppendMetric(out, "sensorgate_mqtt_subscribe_failures_total", MetricType::kCounter,
               "Subscriptions refused or failed.", static_cast<double>(m.subscribe_failures));
  AppendMetric(out, "sensorgate_mqtt_journal_backlog_bytes", MetricType::kGauge,
               "Bytes of MQTT messages journaled and not yet processed.",
               static_cast<double>(journal_.backlog_bytes()));
  AppendMetric(out, "sensorgate_mqtt_journal_replayed_total", MetricType::kCounter,
               "MQTT messages read again from the journal after a restart.", static_cast<double>(j.replayed));
  AppendMetric(out, "sensorgate_mqtt_journal_write_errors_total", MetricType::kCounter,
               "MQTT messages the journal could not write (kept in memory instead).",
               static_cast<double>(j.write_errors.load()));
  AppendMetric(out, "sensorgate_mqtt_journal_lost_total", MetricType::kCounter,
               "MQTT messages lost: the journal could not write them and memory was full.",
               static_cast<double>(j.lost.load()));
  AppendMetric(out, "sensorgate_mqtt_journal_torn_total", MetricType::kCounter,
               "Torn or damaged journal frames skipped (a crash in the middle of a write).",
               static_cast<double>(j.torn));
}

}  // namespace sensorgate
