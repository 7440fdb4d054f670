#include "gateway/sinks/kafka/kafka_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "gateway/base/metrics.h"
#include "gateway/sinks/kafka/rdkafka_api.h"

namespace sensorgate {
namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kSyncEveryUs = 1000 * kMs;       // fsync of the spool, at most this often
constexpr int64_t kSafetyPollUs = 1000 * kMs;      // serve librdkafka even if the pipe stays quiet
constexpr int64_t kRetryMinUs = 500 * kMs;         // backoff after failed deliveries
constexpr int64_t kRetryMaxUs = 30000 * kMs;

std::string JoinBrokers(const std::vector<std::string>& brokers) {
  std::string s;
  for (const auto& b : brokers) {
    if (!s.empty()) s += ',';
    s += b;
  }
  return s;
}

}  // namespace

KafkaSink::KafkaSink(const KafkaConfig& config, std::string gateway_name, std::string state_dir, Clock* clock)
    : config_(config),
      gateway_(std::move(gateway_name)),
      clock_(clock),
      spool_(SpoolOptions{state_dir + "/spool", config.spool_max_bytes, 0}) {}

KafkaSink::~KafkaSink() {
  DestroyProducer();
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

Status KafkaSink::Start() {
  Status s = LoadRdKafka();
  if (!s.ok()) return Status::Error("[kafka]: " + s.message());
  s = spool_.Open();
  if (!s.ok()) return Status::Error("[kafka]: " + s.message());
  if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Status::Error(std::string("[kafka]: pipe: ") + std::strerror(errno));
  }
  s = CreateProducer();
  if (!s.ok()) return s;
  const int64_t now = clock_->MonotonicUs();
  next_publish_us_ = now + config_.interval_us;
  next_poll_us_ = now;
  Log(LogLevel::kInfo, "kafka: producing to %s (topic %s%s%s), spool %s, next seq %" PRIu64,
      JoinBrokers(config_.brokers).c_str(), config_.topic.c_str(),
      config_.alerts_topic.empty() ? "" : ", alerts ", config_.alerts_topic.c_str(), spool_.dir().c_str(),
      spool_.next_seq());
  return Status::Ok();
}

Status KafkaSink::CreateProducer() {
  rd_kafka_conf_t* conf = RdKafka().rd_kafka_conf_new();
  char err[512];
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", JoinBrokers(config_.brokers)},
      {"client.id", "sensorgate-" + gateway_},
      {"enable.idempotence", "true"},
      {"compression.type", config_.compression.empty() ? "zstd" : config_.compression},
      {"partitioner", "murmur2_random"},
      // Records wait in the spool, not in librdkafka: a delivery is never
      // given up by time; an outage keeps kMaxInFlight records queued.
      {"message.timeout.ms", "0"},
      {"statistics.interval.ms", "1000"},
      {"log.queue", "true"},
  };
  for (const auto& kv : config_.rdkafka) props.push_back(kv);
  for (const auto& [key, value] : props) {
    if (RdKafka().rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      RdKafka().rd_kafka_conf_destroy(conf);
      return Status::Error("[kafka] rdkafka." + key + ": " + err);
    }
  }
  RdKafka().rd_kafka_conf_set_opaque(conf, this);
  RdKafka().rd_kafka_conf_set_dr_msg_cb(conf, DeliveryCallback);
  RdKafka().rd_kafka_conf_set_error_cb(conf, ErrorCallback);
  RdKafka().rd_kafka_conf_set_stats_cb(conf, StatsCallback);
  RdKafka().rd_kafka_conf_set_log_cb(conf, LogCallback);
  rk_ = RdKafka().rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // owns conf on success
  if (rk_ == nullptr) {
    RdKafka().rd_kafka_conf_destroy(conf);
    return Status::Error(std::string("[kafka]: cannot create the producer: ") + err);
  }
  main_queue_ = RdKafka().rd_kafka_queue_get_main(rk_);
  RdKafka().rd_kafka_set_log_queue(rk_, nullptr);  // logs to the main queue, served by rd_kafka_poll
  static const char kWake = 1;
  RdKafka().rd_kafka_queue_io_event_enable(main_queue_, wake_[1], &kWake, 1);
  return Status::Ok();
}

void KafkaSink::DestroyProducer() {
  if (rk_ == nullptr) return;
  // What librdkafka still holds stays in the spool for the next producer.
  RdKafka().rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
  RdKafka().rd_kafka_poll(rk_, 0);  // their reports: Nack()
  RdKafka().rd_kafka_queue_io_event_enable(main_queue_, -1, nullptr, 0);
  RdKafka().rd_kafka_queue_destroy(main_queue_);
  main_queue_ = nullptr;
  RdKafka().rd_kafka_destroy(rk_);
  rk_ = nullptr;
  for (const auto& [token, f] : in_flight_) spool_.Nack(f.ref);
  in_flight_.clear();
}

void KafkaSink::Spool(int64_t timestamp_ms, const std::string& topic, std::string_view key, const std::string& value) {
  const Status s = spool_.Append(timestamp_ms, topic, key, value);
  if (!s.ok()) {
    ++spool_errors_;
    spool_error_ = true;
    last_error_ = s.message();
    if (error_log_.Allow(clock_->MonotonicUs())) Log(LogLevel::kError, "kafka: %s", s.message().c_str());
    return;
  }
  spool_error_ = false;
  ++spooled_;
  spooled_bytes_ += value.size() + key.size();
}

void KafkaSink::AppendRecordHead(std::string* out) const {
  *out += "\"gateway\":";
  AppendJsonString(out, gateway_);
  *out += ",\"seq\":";
  AppendJsonInt(out, static_cast<int64_t>(spool_.next_seq()));
  *out += ',';
}

void KafkaSink::OnAlert(const AlertEvent& e) {
  if (config_.alerts_topic.empty()) return;
  std::string prefix;
  AppendRecordHead(&prefix);
  std::string value;
  if (e.json.size() > 1 && e.json.front() == '{') {
    // A [rule.NAME]'s alert: its object with gateway and seq first.
    value = "{" + prefix;
    value.append(e.json.substr(1));
  } else {
    AppendAlertJson(&value, e.rule, e.state, e.key, e.avg, e.count, e.time_us, prefix);
  }
  Spool(e.time_us / 1000, config_.alerts_topic, e.key, value);
}

void KafkaSink::OnRuleEvent(const RuleEvent& e) {
  if (e.kind != RuleEvent::Kind::kResult && e.kind != RuleEvent::Kind::kOutlier) return;
  if (e.open || e.json.size() < 2 || e.json.front() != '{') return;
  const std::string* topic = nullptr;
  for (const auto& [rule, t] : rule_topics_) {
    if (rule == e.rule) topic = &t;
  }
  if (topic == nullptr || topic->empty()) return;
  std::string value = "{";
  AppendRecordHead(&value);
  value.append(e.json.substr(1));
  Spool(e.time_us / 1000, *topic, e.key, value);
}

void KafkaSink::OnWindow(const WindowEvent& e) {
  std::string id(e.rule);
  id.push_back('\0');
  id.append(e.window.key);
  auto [it, inserted] = pending_.try_emplace(std::move(id));
  PendingWindow& p = it->second;
  if (inserted) {
    p.rule.assign(e.rule);
    p.key.assign(e.window.key);
  }
  p.window = e.window;
  p.window.key = p.key;
}

void KafkaSink::PublishWindows() {
  std::string value, prefix;
  for (auto& [id, p] : pending_) {
    prefix.clear();
    AppendRecordHead(&prefix);
    prefix += "\"rule\":";
    AppendJsonString(&prefix, p.rule);
    prefix += ',';
    value.clear();
    AppendWindowJson(&value, p.window, false, prefix);
    Spool(p.window.time_us / 1000, config_.topic, p.key, value);
  }
  pending_.clear();
}

void KafkaSink::Produce(int64_t now_us) {
  if (rk_ == nullptr) return;
  SpoolRecord rec;
  RecordRef ref;
  while (spool_.in_flight() < kMaxInFlight && !retry_ && spool_.Peek(&rec, &ref)) {
    const uintptr_t token = next_token_++;
    if (next_token_ == 0) next_token_ = 1;
    const rd_kafka_resp_err_t err = RdKafka().rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(rec.topic.c_str()), RD_KAFKA_V_KEY(rec.key.data(), rec.key.size()),
        RD_KAFKA_V_VALUE(rec.value.data(), rec.value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(rec.timestamp_ms), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(token)),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;  // stays in the spool; next turn
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Refused before queueing (e.g. too large for message.max.bytes): try
      // again after a backoff, like a failed delivery.
      spool_.Advance();
      spool_.Nack(ref);
      OnError(err, RdKafka().rd_kafka_err2str(err));
      ++failed_;
      retry_ = true;
      backoff_us_ = std::clamp(backoff_us_ * 2, kRetryMinUs, kRetryMaxUs);
      retry_at_us_ = now_us + backoff_us_;
      break;
    }
    spool_.Advance();
    in_flight_.emplace(token, InFlight{ref, now_us});
    ++produced_;
  }
}

void KafkaSink::Serve() {
  char buf[256];
  while (::read(wake_[0], buf, sizeof buf) > 0) {
  }
  if (rk_ != nullptr) RdKafka().rd_kafka_poll(rk_, 0);
}

int64_t KafkaSink::next_tick_us() const {
  int64_t due = std::min(next_publish_us_, next_poll_us_);
  if (spool_.dirty()) due = std::min(due, last_sync_us_ + kSyncEveryUs);
  if (retry_ && spool_.in_flight() == 0) due = std::min(due, retry_at_us_);
  if (recreate_) due = std::min(due, retry_at_us_);
  return due;
}

void KafkaSink::Tick(int64_t now_us) {
  Serve();
  if (recreate_ && now_us >= retry_at_us_) {
    recreate_ = false;
    DestroyProducer();
    const Status s = CreateProducer();
    if (!s.ok()) {
      last_error_ = s.message();
      Log(LogLevel::kError, "kafka: %s", s.message().c_str());
      recreate_ = true;
      retry_at_us_ = now_us + kRetryMaxUs;
    } else {
      retry_ = true;
      retry_at_us_ = now_us;
    }
  }
  if (now_us >= next_publish_us_) {
    PublishWindows();
    next_publish_us_ = std::max(next_publish_us_ + config_.interval_us, now_us + config_.interval_us / 2);
  }
  if (spool_.dirty() && now_us >= last_sync_us_ + kSyncEveryUs) {
    last_sync_us_ = now_us;
    const Status s = spool_.Sync();
    if (!s.ok()) {
      last_error_ = s.message();
      if (error_log_.Allow(now_us)) Log(LogLevel::kError, "kafka: %s", s.message().c_str());
    }
  }
  if (retry_ && spool_.in_flight() == 0 && now_us >= retry_at_us_) {
    retry_ = false;
    spool_.Rewind();
  }
  Produce(now_us);
  next_poll_us_ = now_us + kSafetyPollUs;
}

Status KafkaSink::PrepareCheckpoint() {
  if (!spool_.dirty()) return Status::Ok();
  const Status s = spool_.Sync();
  last_sync_us_ = clock_->MonotonicUs();
  if (!s.ok()) return Status::Error("kafka: " + s.message());
  return s;
}

Status KafkaSink::Flush(int64_t deadline_us) {
  PublishWindows();
  Status synced = spool_.Sync();
  last_sync_us_ = clock_->MonotonicUs();
  retry_ = false;
  if (spool_.in_flight() == 0) spool_.Rewind();
  while (rk_ != nullptr && spool_.records() > 0) {
    const int64_t now = clock_->MonotonicUs();
    if (now >= deadline_us || brokers_up_ == 0) break;  // safe on disk: sent at the next start
    Produce(now);
    if (retry_) break;  // a delivery failed: the rest waits in the spool
    const int64_t wait_ms = std::clamp<int64_t>((deadline_us - now) / 1000, 1, 100);
    RdKafka().rd_kafka_poll(rk_, static_cast<int>(wait_ms));
  }
  if (!synced.ok()) return synced;
  if (spool_.records() > 0) {
    return Status::Error(std::to_string(spool_.records()) + " records left in the spool for the next start");
  }
  return Status::Ok();
}

void KafkaSink::DeliveryCallback(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  static_cast<KafkaSink*>(opaque)->OnDelivery(msg);
}

void KafkaSink::ErrorCallback(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<KafkaSink*>(opaque)->OnError(err, reason);
}

int KafkaSink::StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque) {
  static_cast<KafkaSink*>(opaque)->OnStats(json, len);
  return 0;  // librdkafka frees json
}

void KafkaSink::LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // Connection failures ("FAIL") come through ErrorCallback as well.
  if (std::strcmp(fac, "FAIL") == 0) level = 7;
  const LogLevel l = level <= 4 ? LogLevel::kWarning : LogLevel::kDebug;
  auto* self = static_cast<KafkaSink*>(RdKafka().rd_kafka_opaque(rk));
  if (!LogEnabled(l) || (l == LogLevel::kWarning && !self->error_log_.Allow(self->clock_->MonotonicUs()))) return;
  Log(l, "kafka: librdkafka %s: %s", fac, buf);
}

void KafkaSink::OnDelivery(const rd_kafka_message_t* msg) {
  const auto it = in_flight_.find(reinterpret_cast<uintptr_t>(msg->_private));
  if (it == in_flight_.end()) return;
  const InFlight f = it->second;
  in_flight_.erase(it);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    spool_.Ack(f.ref);
    ++acked_;
    backoff_us_ = 0;
    const double s = static_cast<double>(clock_->MonotonicUs() - f.spooled_us) / 1e6;
    latency_sum_s_ += s;
    ++latency_count_;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      if (s <= kBuckets[i]) ++latency_buckets_[i];
    }
    return;
  }
  spool_.Nack(f.ref);
  ++failed_;
  if (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) return;
  const int64_t now = clock_->MonotonicUs();
  last_error_ = RdKafka().rd_kafka_err2str(msg->err);
  if (error_log_.Allow(now)) {
    Log(LogLevel::kWarning, "kafka: delivery to %s failed: %s (kept in the spool, retried)",
        msg->rkt != nullptr ? RdKafka().rd_kafka_topic_name(msg->rkt) : "?", RdKafka().rd_kafka_err2str(msg->err));
  }
  if (!retry_) {
    backoff_us_ = std::clamp(backoff_us_ * 2, kRetryMinUs, kRetryMaxUs);
    retry_at_us_ = now + backoff_us_;
  }
  retry_ = true;
}

void KafkaSink::OnError(int err, const char* reason) {
  last_error_ = reason;
  const int64_t now = clock_->MonotonicUs();
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) brokers_up_ = 0;
  if (err == RD_KAFKA_RESP_ERR__FATAL && rk_ != nullptr) {
    char why[512];
    RdKafka().rd_kafka_fatal_error(rk_, why, sizeof why);
    last_error_ = why;
    Log(LogLevel::kError, "kafka: fatal producer error: %s; starting a new producer", why);
    recreate_ = true;
    retry_at_us_ = now + kRetryMinUs;
    return;
  }
  if (error_log_.Allow(now)) Log(LogLevel::kWarning, "kafka: %s", reason);
}

void KafkaSink::OnStats(const char* json, size_t len) {
  // Counts the brokers librdkafka learned from the cluster and those UP,
  // from "source":"learned",...,"state":"UP" in each broker object.
  const std::string_view s(json, len);
  int up = 0, known = 0, configured_up = 0, configured = 0;
  size_t at = 0;
  while ((at = s.find("\"source\":\"", at)) != std::string_view::npos) {
    at += 10;
    const bool learned = s.compare(at, 8, "learned\"") == 0;
    const bool conf = s.compare(at, 11, "configured\"") == 0;
    const size_t st = s.find("\"state\":\"", at);
    if (st == std::string_view::npos) break;
    const bool is_up = s.compare(st + 9, 3, "UP\"") == 0;
    if (learned) {
      ++known;
      up += is_up;
    } else if (conf) {
      ++configured;
      configured_up += is_up;
    }
  }
  brokers_known_ = known > 0 ? known : configured;
  brokers_up_ = known > 0 ? up : configured_up;
}

void KafkaSink::AppendMetrics(std::string* out) const {
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  AppendMetric(out, "sensorgate_kafka_records_spooled_total", MetricType::kCounter,
               "Kafka records written to the spool (each with a new seq)", d(spooled_));
  AppendMetric(out, "sensorgate_kafka_records_produced_total", MetricType::kCounter,
               "Kafka records handed to librdkafka (retries included)", d(produced_));
  AppendMetric(out, "sensorgate_kafka_records_acknowledged_total", MetricType::kCounter,
               "Kafka records acknowledged by the cluster", d(acked_));
  AppendMetric(out, "sensorgate_kafka_records_failed_total", MetricType::kCounter,
               "Kafka deliveries that failed (the record stays in the spool and is retried)", d(failed_));
  AppendMetric(out, "sensorgate_kafka_spool_records", MetricType::kGauge,
               "Kafka records in the spool not yet acknowledged", d(spool_.records()));
  AppendMetric(out, "sensorgate_kafka_spool_bytes", MetricType::kGauge, "Bytes of the spool's segment files",
               d(spool_.bytes()));
  AppendMetric(out, "sensorgate_kafka_spool_segments", MetricType::kGauge, "Segment files of the spool",
               d(spool_.segments()));
  AppendMetric(out, "sensorgate_kafka_spool_dropped_total", MetricType::kCounter,
               "Kafka records dropped unsent because the spool reached spool_max", d(spool_.dropped()));
  AppendMetric(out, "sensorgate_kafka_spool_corrupt_total", MetricType::kCounter,
               "Corrupt regions (torn or damaged frames) skipped in the spool", d(spool_.corrupt()));
  AppendMetric(out, "sensorgate_kafka_spool_corrupt_bytes_total", MetricType::kCounter,
               "Bytes of corrupt spool regions skipped", d(spool_.corrupt_bytes()));
  AppendMetric(out, "sensorgate_kafka_spool_errors_total", MetricType::kCounter,
               "Records that could not be written to the spool (disk full, I/O error)", d(spool_errors_));
  AppendMetric(out, "sensorgate_kafka_spool_fsyncs_total", MetricType::kCounter, "fsync calls of the spool",
               d(spool_.fsyncs()));
  AppendMetric(out, "sensorgate_kafka_in_flight", MetricType::kGauge,
               "Kafka records held by librdkafka awaiting their delivery report", d(spool_.in_flight()));
  AppendMetric(out, "sensorgate_kafka_next_seq", MetricType::kGauge, "The seq the next Kafka record gets",
               d(spool_.next_seq()));
  AppendMetric(out, "sensorgate_kafka_brokers_up", MetricType::kGauge,
               "Kafka brokers librdkafka is connected to (-1: not known yet)", brokers_up_);
  // A histogram: AppendMetricHeader knows counters and gauges only.
  const char* name = "sensorgate_kafka_delivery_seconds";
  *out += "# HELP sensorgate_kafka_delivery_seconds Time from handing a record to librdkafka to its acknowledgement\n";
  *out += "# TYPE sensorgate_kafka_delivery_seconds histogram\n";
  char le[32];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    std::snprintf(le, sizeof le, "%g", kBuckets[i]);
    AppendMetricSample(out, std::string(name) + "_bucket", {{"le", le}}, d(latency_buckets_[i]));
  }
  AppendMetricSample(out, std::string(name) + "_bucket", {{"le", "+Inf"}}, d(latency_count_));
  AppendMetricSample(out, std::string(name) + "_sum", {}, latency_sum_s_);
  AppendMetricSample(out, std::string(name) + "_count", {}, d(latency_count_));
}

LinkState KafkaSink::Link() const {
  LinkState l;
  l.name = "kafka";
  l.up = brokers_up_ != 0 && !spool_error_ && !recreate_;
  if (brokers_up_ < 0) {
    l.state = "connecting to " + JoinBrokers(config_.brokers);
  } else if (brokers_up_ == 0) {
    l.state = "cluster unreachable; spooling";
  } else {
    l.state = std::to_string(brokers_up_) + " of " + std::to_string(brokers_known_) + " brokers up";
  }
  l.backlog = spool_.records();
  l.backlog_unit = "records";
  l.last_error = last_error_;
  return l;
}

}  // namespace sensorgate
