// KafkaSink without a cluster (brokers that do not answer), on a FakeClock:
// windows coalesced per key and published once per interval, alert events at
// once, seq across both topics, the JSON values of DESIGN.md section 7, all
// kept in the spool for the next start; and the [kafka] compression key.
#if SENSORGATE_WITH_KAFKA
#include "gateway/sinks/kafka/kafka_sink.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using testing_util::TempDir;

KafkaConfig Unreachable() {
  KafkaConfig c;
  c.enabled = true;
  c.brokers = {"127.0.0.1:1"};  // nothing listens there
  c.topic = "agg";
  c.alerts_topic = "alerts";
  c.interval_us = 10'000'000;
  c.spool_max_bytes = 1 << 20;
  c.compression = "zstd";
  return c;
}

WindowEvent Window(const std::string& key, double avg, uint64_t total, TimeMicros t) {
  WindowEvent e;
  e.rule = "hot";
  e.window.key = key;
  e.window.count = 1;
  e.window.total = total;
  e.window.avg = e.window.min = e.window.max = e.window.last = avg;
  e.window.time_us = t;
  return e;
}

AlertEvent Alert(std::string_view state, std::string_view key, double avg, uint32_t count, TimeMicros t) {
  AlertEvent e;
  e.rule = "hot";
  e.state = state;
  e.key = key;
  e.avg = avg;
  e.count = count;
  e.time_us = t;
  return e;
}

std::vector<SpoolRecord> SpoolContent(const std::string& state_dir) {
  KafkaSpool spool(SpoolOptions{state_dir + "/spool", 1 << 20, 0});
  EXPECT_TRUE(spool.Open().ok());
  std::vector<SpoolRecord> out;
  SpoolRecord rec;
  RecordRef ref;
  while (spool.Peek(&rec, &ref)) {
    spool.Advance();
    out.push_back(rec);
  }
  return out;
}

TEST(KafkaSink, CoalescesWindowsPerKeyAndPublishesOncePerInterval) {
  TempDir dir;
  FakeClock clock;
  {
    KafkaSink sink(Unreachable(), "line-2", dir.path(), &clock);
    ASSERT_TRUE(sink.Start().ok());
    EXPECT_GE(sink.fd(), 0);
    const std::string a = "sensor16";
    sink.OnWindow(Window(a, 70, 1, 1'678'881'600'000'000));
    sink.OnWindow(Window(a, 71, 2, 1'678'881'601'000'000));
    sink.OnWindow(Window("b", 50, 1, 1'678'881'602'000'000));
    sink.Tick(clock.MonotonicUs());
    EXPECT_EQ(sink.spool().next_seq(), 1u);  // not yet: the interval has not passed
    EXPECT_LE(sink.next_tick_us(), clock.MonotonicUs() + 10'000'000);
    sink.OnAlert(Alert("firing", a, 76.5, 60, 1'678'881'603'000'000));  // at once
    EXPECT_EQ(sink.spool().next_seq(), 2u);
    clock.Advance(10'000'000);
    sink.Tick(clock.MonotonicUs());
    EXPECT_EQ(sink.spool().next_seq(), 4u);  // one record per changed key
    clock.Advance(10'000'000);
    sink.Tick(clock.MonotonicUs());
    EXPECT_EQ(sink.spool().next_seq(), 4u);  // nothing changed since
    sink.OnWindow(Window("b", 51, 2, 1'678'881'604'000'000));
    // Flush spools what waits for the interval; the cluster is unreachable.
    const Status s = sink.Flush(clock.MonotonicUs());
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(sink.spool().next_seq(), 5u);
    const LinkState link = sink.Link();
    EXPECT_EQ(link.name, "kafka");
    EXPECT_EQ(link.backlog, 4u);
    std::string metrics;
    sink.AppendMetrics(&metrics);
    EXPECT_NE(metrics.find("\nsensorgate_kafka_records_spooled_total 4\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("\nsensorgate_kafka_spool_records 4\n"), std::string::npos);
    EXPECT_NE(metrics.find("# TYPE sensorgate_kafka_delivery_seconds histogram"), std::string::npos);
  }
  const auto records = SpoolContent(dir.path());
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].topic, "alerts");
  EXPECT_EQ(records[0].key, "sensor16");
  EXPECT_EQ(records[0].timestamp_ms, 1'678'881'603'000);
  EXPECT_EQ(records[0].value,
            "{\"gateway\":\"line-2\",\"seq\":1,\"event\":\"alert\",\"rule\":\"hot\",\"state\":\"firing\","
            "\"key\":\"sensor16\",\"avg\":76.5,\"count\":60,\"time\":\"2023-03-15T12:00:03.000000Z\"}");
  EXPECT_EQ(records[1].topic, "agg");
  EXPECT_EQ(records[1].key, "b");
  EXPECT_EQ(records[2].key, "sensor16");
  EXPECT_EQ(records[2].timestamp_ms, 1'678'881'601'000);
  EXPECT_EQ(records[2].value,
            "{\"gateway\":\"line-2\",\"seq\":3,\"rule\":\"hot\",\"key\":\"sensor16\",\"count\":1,\"total\":2,"
            "\"avg\":71,\"min\":71,\"max\":71,\"last\":71,\"time\":\"2023-03-15T12:00:01.000000Z\"}");
  EXPECT_EQ(records[3].key, "b");
  EXPECT_NE(records[3].value.find("\"seq\":4,"), std::string::npos);
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].seq, i + 1);
}

TEST(KafkaSink, SeqGoesOnAfterARestart) {
  TempDir dir;
  FakeClock clock;
  {
    KafkaSink sink(Unreachable(), "gw", dir.path(), &clock);
    ASSERT_TRUE(sink.Start().ok());
    sink.OnAlert(Alert("firing", "k", 80, 1, 1));
    sink.OnAlert(Alert("resolved", "k", 70, 1, 2));
  }
  KafkaSink sink(Unreachable(), "gw", dir.path(), &clock);
  ASSERT_TRUE(sink.Start().ok());
  EXPECT_EQ(sink.spool().next_seq(), 3u);
  EXPECT_EQ(sink.Link().backlog, 2u);
}

TEST(KafkaSink, RefusesAnUnknownLibrdkafkaProperty) {
  TempDir dir;
  FakeClock clock;
  KafkaConfig c = Unreachable();
  c.rdkafka.emplace_back("no.such.property", "1");
  KafkaSink sink(c, "gw", dir.path(), &clock);
  const Status s = sink.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("[kafka] rdkafka.no.such.property"), std::string::npos) << s.message();
}

TEST(KafkaConfig, CompressionDefaultsToZstdAndTakesTheFourCodecs) {
  const std::string kafka = "[kafka]\nbrokers = kafka-1:9092\ntopic = t\n";
  ConfigResult r = LoadConfigText(kafka, "sensorgate.ini", ConfigMode::kReplay);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.kafka.compression, "zstd");
  for (const std::string codec : {"none", "gzip", "lz4", "zstd"}) {
    r = LoadConfigText(kafka + "compression = " + codec + "\n", "sensorgate.ini", ConfigMode::kReplay);
    ASSERT_TRUE(r.ok()) << codec;
    EXPECT_EQ(r.config.kafka.compression, codec);
  }
  r = LoadConfigText(kafka + "compression = snappy\n", "sensorgate.ini", ConfigMode::kReplay);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "sensorgate.ini:4: [kafka] compression = snappy: must be one of: none, gzip, lz4, zstd");
}

}  // namespace
}  // namespace sensorgate
#endif  // SENSORGATE_WITH_KAFKA
