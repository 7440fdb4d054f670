#include "gateway/sources/mqtt/mqtt_source.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

#include "gateway/base/file_util.h"
#include "gateway/base/host_port.h"
#include "gateway/base/log.h"
#include "gateway/base/metrics.h"
#include "gateway/base/time_util.h"
#include "gateway/parse/record_parser.h"

namespace sensorgate {
namespace {

constexpr int64_t kMinBackoffUs = 250 * 1000;
constexpr int64_t kMaxBackoffUs = 30 * 1000 * 1000;
constexpr int64_t kConnectTimeoutUs = 10 * 1000 * 1000;
constexpr uint16_t kKeepAliveS = 30;

std::string Join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

MqttSource::MqttSource(const std::string& state_dir, RecordReceiver* receiver, Clock* clock)
    : journal_(state_dir),
      state_dir_(state_dir),
      receiver_(receiver),
      clock_(clock != nullptr ? clock : SystemClock()),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      connection_(epoll_fd_, clock_, this, kMaxRecordBytes),
      rng_(std::random_device{}()) {
  if (epoll_fd_ >= 0 && event_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = event_fd_;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev);
  }
}

MqttSource::~MqttSource() {
  connection_.Close();
  if (event_fd_ >= 0) close(event_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

std::string MqttSource::Session(const MqttConfig& config) { return config.client_id + " " + config.uri; }

Status MqttSource::Open(const MqttPosition& from, const MqttConfig& config) {
  if (event_fd_ < 0 || epoll_fd_ < 0) {
    return Status::Error(std::string("cannot create an eventfd or an epoll set: ") + std::strerror(errno));
  }
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
  const uint64_t one = 1;
  (void)!write(event_fd_, &one, sizeof one);
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

// Every message is journaled as it is read; the connection acknowledges it
// after OnBatchEnd().
void MqttSource::OnPublish(const mqtt::Publish& p, bool too_long) {
  ++counters_.messages;
  if (p.dup) ++counters_.redelivered;
  journal_.Append(p.topic, p.payload, clock_->WallUs(), p.packet_id, p.dup, too_long);
}

void MqttSource::OnBatchEnd() {
  journal_.EndBatch();  // written: the acknowledgements may go out
  journal_.BeginBatch();
}

bool MqttSource::PasswordChanged() const {
  std::string now;
  return !config_.password_file.empty() && ReadPassword(config_.password_file, &now) && now != password_;
}

Status MqttSource::Start(const MqttConfig& config) {
  if (!opened_) return Status::Error("[mqtt]: the journal is not open (Open() first)");
  connection_.Close();
  state_ = State::kIdle;
  config_ = config;
  last_error_.clear();
  last_failure_.clear();
  journal_.ResetRecent(Session(config_));  // a new session: other packet ids
  password_.clear();
  if (!config_.password_file.empty() && !ReadPassword(config_.password_file, &password_)) {
    last_failure_ = "[mqtt] password_file = " + config_.password_file + ": cannot read: " + std::strerror(errno);
    return Status::Error(last_failure_);
  }
  MqttConnection::Settings st;
  const bool tls = config_.uri.rfind("ssl://", 0) == 0;
  if ((!tls && config_.uri.rfind("tcp://", 0) != 0) || !ParseHostPort(config_.uri.substr(6), false, &st.broker)) {
    last_failure_ = "[mqtt] uri = " + config_.uri + ": must be tcp://HOST:PORT or ssl://HOST:PORT";
    return Status::Error(last_failure_);
  }
  st.tls = tls;
  st.ca_file = config_.ca_file;
  st.cert_file = config_.cert_file;
  st.key_file = config_.key_file;
  st.client_id = config_.client_id;
  st.username = config_.username;
  st.password = password_;
  st.clean_session = config_.clean_session;
  st.keep_alive_s = kKeepAliveS;
  st.connect_timeout_us = kConnectTimeoutUs;
  settings_ = std::move(st);
  backoff_us_ = 0;
  Connect();
  return Status::Ok();
}

void MqttSource::Connect() {
  state_ = State::kConnecting;
  connection_.Begin(settings_);  // a failure at once comes back through OnClosed()
}

void MqttSource::OnConnected(bool session_present) {
  ++counters_.connects;
  Log(LogLevel::kInfo, "mqtt: connected to %s as %s (%s)", config_.uri.c_str(), config_.client_id.c_str(),
      config_.clean_session ? "clean session"
                            : session_present ? "the broker kept our session" : "new persistent session");
  Subscribe();
}

void MqttSource::OnClosed(const std::string& why, bool was_connected) {
  if (state_ == State::kIdle) return;
  if (was_connected) {
    ++counters_.connection_losses;
  } else {
    ++counters_.connect_failures;
  }
  ScheduleRetry(why);
}

uint16_t MqttSource::NextPacketId() {
  if (++packet_id_ == 0) packet_id_ = 1;
  return packet_id_;
}

void MqttSource::Subscribe() {
  state_ = State::kSubscribing;
  ForgetOldFilters();
  if (!connection_.connected()) return;  // lost meanwhile: OnClosed() scheduled a retry
  subscribe_id_ = NextPacketId();
  connection_.Subscribe(subscribe_id_, config_.topics, config_.qos);
}

void MqttSource::OnSubAck(uint16_t packet_id, const uint8_t* codes, size_t n) {
  if (state_ != State::kSubscribing || packet_id != subscribe_id_) return;
  std::string refused;
  for (size_t i = 0; i < n && i < config_.topics.size(); ++i) {
    if (codes[i] >= 0x80) refused += (refused.empty() ? "" : ", ") + config_.topics[i];
  }
  if (!refused.empty()) {
    ++counters_.subscribe_failures;
    ScheduleRetry("the broker refused the subscription to " + refused);
    return;
  }
  state_ = State::kSubscribed;
  backoff_us_ = 0;
  last_error_.clear();
  SaveFilters();
  Log(LogLevel::kInfo, "mqtt: subscribed to %s at QoS %d", Join(config_.topics).c_str(), config_.qos);
}

void MqttSource::Stop(int64_t deadline_us) {
  (void)deadline_us;  // nothing is waited for
  state_ = State::kIdle;
  connection_.Close();
  rearm_at_us_ = kNever;
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
  connection_.Unsubscribe(NextPacketId(), stale);
  Log(LogLevel::kInfo, "mqtt: unsubscribing from %s (no longer in [mqtt] topics)", Join(stale).c_str());
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
  int64_t now = clock_->MonotonicUs();
  if (state_ == State::kWaiting && now >= retry_at_us_) {
    if (connection_.connected()) Subscribe();
    else Connect();
  }
  journal_.BeginBatch();
  const bool more_input = connection_.Poll(kMaxReadBytes);
  journal_.EndBatch();
  now = clock_->MonotonicUs();
  // A steady QoS 0 stream is read in batches: fd() held until kBatchUs on
  // (kept by the polls within a batch that only hand on what was read).
  if (connection_.last_needed_acks() || more_input) {
    rearm_at_us_ = kNever;  // QoS 1: the broker waits for the acknowledgements
  } else if (connection_.last_messages() > 0) {
    rearm_at_us_ = now + kBatchUs;
  } else if (now >= rearm_at_us_) {
    rearm_at_us_ = kNever;
  }
  return journal_.Read(this, budget) || more_input;
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
               static_cast<double>(m.messages));
  AppendMetric(out, "sensorgate_mqtt_redelivered_total", MetricType::kCounter,
               "MQTT messages the broker sent again (DUP flag): possible duplicates.",
               static_cast<double>(m.redelivered));
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
