// KafkaSink: aggregates and alert events to a Kafka cluster (DESIGN.md
// sections 3 and 7), at least once, nothing acknowledged before it is safe.
//
// OnWindow() keeps the latest window of each key that changed; every
// `interval` each of them becomes one record for `topic`, keyed by the key.
// OnAlert() makes one record for `alerts_topic` (when set) at once. Each
// record gets the next `seq` of this gateway and goes to the KafkaSpool
// (state_dir/spool/) first; the spool is fsynced at most once a second, and
// only then are its records handed to librdkafka (idempotent producer,
// partitioner murmur2_random, `compression`, any rdkafka.* key on top). A
// record leaves the spool on its successful delivery report; a failed one
// is produced again, in seq order, after a backoff; a full librdkafka queue
// leaves records in the spool for the next turn. At most kMaxInFlight
// records are held by librdkafka at a time, so memory does not grow with an
// outage: the backlog waits on disk.
//
// librdkafka is loaded by Start() (rdkafka_api.h): a gateway without [kafka]
// never maps it. Its threads do the network I/O; its delivery reports, errors,
// logs and statistics are served here, on the loop thread, from fd() (the
// main queue's I/O event pipe) and Tick(). Nothing here blocks but Flush().
//
// Thread: the loop thread only.
#ifndef SENSORGATE_GATEWAY_SINKS_KAFKA_KAFKA_SINK_H_
#define SENSORGATE_GATEWAY_SINKS_KAFKA_KAFKA_SINK_H_

#include <librdkafka/rdkafka.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>
#include <unordered_map>

#include "gateway/base/clock.h"
#include "gateway/base/log.h"
#include "gateway/config/config.h"
#include "gateway/sinks/kafka/kafka_spool.h"
#include "gateway/sinks/sink.h"

namespace sensorgate {

class KafkaSink : public Sink {
 public:
  // Records handed to librdkafka and not yet reported.
  static constexpr uint64_t kMaxInFlight = 10000;

  KafkaSink(const KafkaConfig& config, std::string gateway_name, std::string state_dir, Clock* clock);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  // (rule NAME, kafka_topic) of every [rule.NAME]: their results and
  // outliers (DESIGN.md 13.5, the replay's objects plus gateway and seq) go
  // to that topic, keyed by the rule's key; their alerts go to alerts_topic
  // as the replay prints them plus gateway and seq.
  void SetRuleTopics(std::vector<std::pair<std::string, std::string>> topics) { rule_topics_ = std::move(topics); }
  void OnRuleEvent(const RuleEvent& event) override;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Opens the spool and creates the producer. An error names the cause
  // (spool unreadable, a librdkafka property refused).
  Status Start();

  std::string_view name() const override { return "kafka"; }
  void OnAlert(const AlertEvent& event) override;
  void OnWindow(const WindowEvent& event) override;
  void OnWindowsReset() override { pending_.clear(); }
  int fd() const override { return wake_[0]; }
  int64_t next_tick_us() const override;
  void Tick(int64_t now_us) override;
  // Spools the windows still waiting for `interval`, fsyncs the spool, and
  // serves librdkafka until every record is acknowledged or `deadline_us`.
  Status Flush(int64_t deadline_us) override;
  // fsyncs the spool: what the checkpoint says happened is on disk.
  Status PrepareCheckpoint() override;
  void AppendMetrics(std::string* out) const override;
  LinkState Link() const override;

  const KafkaSpool& spool() const { return spool_; }

 private:
  struct InFlight {
    RecordRef ref;
    int64_t spooled_us;  // monotonic, when it was handed over
  };
  struct PendingWindow {
    std::string rule, key;
    WindowSummary window;  // window.key points at `key`
  };

  Status CreateProducer();
  void DestroyProducer();
  // Where each [rule.NAME]'s results and outliers go: its kafka_topic.
  std::vector<std::pair<std::string, std::string>> rule_topics_;
  // `"gateway":NAME,"seq":N,` : what every record's object starts with.
  void AppendRecordHead(std::string* out) const;
  void Spool(int64_t timestamp_ms, const std::string& topic, std::string_view key, const std::string& value);
  void PublishWindows();
  void Produce(int64_t now_us);
  void Serve();
  void OnDelivery(const rd_kafka_message_t* msg);
  void OnError(int err, const char* reason);
  void OnStats(const char* json, size_t len);
  static void DeliveryCallback(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int StatsCallback(rd_kafka_t* rk, char* json, size_t len, void* opaque);
  static void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

  KafkaConfig config_;
  std::string gateway_;
  Clock* clock_;
  KafkaSpool spool_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* main_queue_ = nullptr;
  int wake_[2] = {-1, -1};  // pipe: librdkafka writes when its main queue gets an event

  std::map<std::string, PendingWindow> pending_;  // rule '\0' key -> latest window
  std::unordered_map<uintptr_t, InFlight> in_flight_;
  uintptr_t next_token_ = 1;

  int64_t next_publish_us_ = 0;
  int64_t last_sync_us_ = INT64_MIN / 2;
  int64_t next_poll_us_ = 0;
  bool retry_ = false;        // a delivery failed: rewind once nothing is in flight
  int64_t retry_at_us_ = 0;
  int64_t backoff_us_ = 0;
  bool recreate_ = false;     // a fatal producer error: build a new producer
  bool spool_error_ = false;  // the last append or fsync failed

  // Counters.
  uint64_t produced_ = 0, acked_ = 0, failed_ = 0, spooled_ = 0, spooled_bytes_ = 0, spool_errors_ = 0;
  int brokers_up_ = -1;  // from librdkafka's statistics; -1 before the first
  int brokers_known_ = 0;
  std::string last_error_;
  RateLimiter error_log_{5, 0.2};
  // Delivery latency (spooled to acknowledged), a Prometheus histogram.
  static constexpr std::array<double, 10> kBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};
  std::array<uint64_t, kBuckets.size()> latency_buckets_{};
  double latency_sum_s_ = 0;
  uint64_t latency_count_ = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SINKS_KAFKA_KAFKA_SINK_H_
