#include "gateway/pipeline/pipeline_metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "gateway/base/json_format.h"
#include "gateway/pipeline/pipeline.h"
#include "tests/unit/pipeline_records.h"

namespace sensorgate {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

using test_records::AlertConfigAbove75;
using test_records::Feed;
using test_records::Record;

std::string Metrics(const Pipeline& p) {
  std::string out;
  AppendPipelineMetrics(p, &out);
  return out;
}

// True if `line` is one of the lines of text.
bool Has(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsText, CountsRecordsAcceptedAndRejectedByReason) {
  Pipeline p(DefaultConfig(), RecordFormat::kJson, nullptr);
  Feed(&p, Record("\"a\"", 70, "2023-03-15T12:15:37.166944Z"));
  Feed(&p, Record("\"a\"", 72, "2023-03-15T12:15:38Z"));
  Feed(&p, Record("\"b\"", 80, "2023-03-15T12:15:39Z"));
  Feed(&p, "{\"sensor\":");                                    // parse_error
  Feed(&p, "{\"padrao\":{\"leitura\":{\"temperatura\":1}}}");  // key_missing
  Feed(&p, "   ");                                             // blank: not a record
  const std::string m = Metrics(p);
  EXPECT_TRUE(Has(m, "# HELP sensorgate_records_read_total Records read (blank records not counted).")) << m;
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_records_read_total counter")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_records_read_total 5")) << m;
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_records_accepted_total counter")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_records_accepted_total 3")) << m;
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_records_rejected_total counter")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_records_rejected_total{reason=\"parse_error\"} 1")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_records_rejected_total{reason=\"key_missing\"} 1")) << m;
  for (size_t r = 0; r < kRejectReasonCount; ++r) {
    const std::string prefix = std::string("sensorgate_records_rejected_total{reason=\"") +
                               RejectReasonName(static_cast<RejectReason>(r)) + "\"} ";
    EXPECT_NE(m.find("\n" + prefix), std::string::npos) << prefix;
  }
  EXPECT_TRUE(Has(m, "sensorgate_keys 2")) << m;
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_keys gauge")) << m;
  // Without an [alert] section nothing fires, but the families are there.
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"hot\",state=\"firing\"} 0")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"hot\",state=\"resolved\"} 0")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"stale\",state=\"firing\"} 0")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"stale\",state=\"resolved\"} 0")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_firing{rule=\"hot\"} 0")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_firing{rule=\"stale\"} 0")) << m;
}

TEST(MetricsText, WritesEachKeysWindowSortedByKey) {
  Pipeline p(DefaultConfig(), RecordFormat::kJson, nullptr);
  Feed(&p, Record("\"b\"", 80, "2023-03-15T12:15:39Z"));
  Feed(&p, Record("\"a\"", 70, "2023-03-15T12:15:37.166944Z"));
  Feed(&p, Record("\"a\"", 72.5, "2023-03-15T12:15:36.5Z"));  // late: still the last reading
  const std::string m = Metrics(p);
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_window_average gauge")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_average{key=\"a\"} 71.25")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_average{key=\"b\"} 80")) << m;
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_window_readings gauge")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_readings{key=\"a\"} 2")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_readings{key=\"b\"} 1")) << m;
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_window_last_timestamp_seconds gauge")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_last_timestamp_seconds{key=\"a\"} 1678882536.5")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_last_timestamp_seconds{key=\"b\"} 1678882539")) << m;
  EXPECT_LT(m.find("sensorgate_window_average{key=\"a\"}"),
            m.find("sensorgate_window_average{key=\"b\"}"));
  // Each family's header comes once, before its samples.
  EXPECT_EQ(m.find("# TYPE sensorgate_window_average gauge"),
            m.rfind("# TYPE sensorgate_window_average gauge"));
  EXPECT_LT(m.find("# TYPE sensorgate_window_average gauge"), m.find("sensorgate_window_average{"));
}

TEST(MetricsText, CountsAlertEventsAndKeysFiringNow) {
  Pipeline p(AlertConfigAbove75(), RecordFormat::kJson, nullptr);
  Feed(&p, Record("\"hot\"", 80, "2023-03-15T12:00:00Z"));
  Feed(&p, Record("\"cool\"", 60, "2023-03-15T12:00:01Z"));
  Feed(&p, Record("\"warm\"", 76, "2023-03-15T12:00:02Z"));
  std::string m = Metrics(p);
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"hot\",state=\"firing\"} 2")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"hot\",state=\"resolved\"} 0")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_firing{rule=\"hot\"} 2")) << m;
  EXPECT_TRUE(Has(m, "# TYPE sensorgate_alerts_firing gauge")) << m;

  Feed(&p, Record("\"warm\"", 60, "2023-03-15T12:00:03Z"));  // avg 68 < 73: resolves
  m = Metrics(p);
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"hot\",state=\"firing\"} 2")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"hot\",state=\"resolved\"} 1")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_firing{rule=\"hot\"} 1")) << m;
}

TEST(MetricsText, CountsStaleAlerts) {
  constexpr TimeMicros kMinute = 60 * kMicrosPerSecond;
  Pipeline p(AlertConfigAbove75(), RecordFormat::kJson, nullptr);
  Feed(&p, Record("\"a\"", 60, "2023-03-15T12:00:00Z"), 1 * kMinute);
  Feed(&p, Record("\"b\"", 60, "2023-03-15T12:00:00Z"), 2 * kMinute);
  p.CheckStale(2 * kMinute + 1);  // a is stale
  std::string m = Metrics(p);
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"stale\",state=\"firing\"} 1")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_firing{rule=\"stale\"} 1")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_firing{rule=\"hot\"} 0")) << m;
  Feed(&p, Record("\"a\"", 60, "2023-03-15T12:00:00Z"), 3 * kMinute);  // resolves
  m = Metrics(p);
  EXPECT_TRUE(Has(m, "sensorgate_alerts_total{rule=\"stale\",state=\"resolved\"} 1")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_alerts_firing{rule=\"stale\"} 0")) << m;
}

TEST(MetricsText, EscapesOddKeysInLabelValues) {
  Pipeline p(DefaultConfig(), RecordFormat::kJson, nullptr);
  Feed(&p, Record(R"("say \"hi\"")", 1, "2023-03-15T12:00:00Z"));
  Feed(&p, Record(R"("back\\slash")", 2, "2023-03-15T12:00:00Z"));
  Feed(&p, Record("\"K\xC3\xBChlraum \xE2\x84\x83 \xF0\x9F\x94\xA5\"", 3, "2023-03-15T12:00:00Z"));
  Feed(&p, Record("\"\\u00e9t\\u00e9\"", 4, "2023-03-15T12:00:00Z"));  // JSON escapes: "été"
  const std::string m = Metrics(p);
  EXPECT_TRUE(Has(m, R"(sensorgate_window_average{key="say \"hi\""} 1)")) << m;
  EXPECT_TRUE(Has(m, R"(sensorgate_window_average{key="back\\slash"} 2)")) << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_average{key=\"K\xC3\xBChlraum \xE2\x84\x83 \xF0\x9F\x94\xA5\"} 3"))
      << m;
  EXPECT_TRUE(Has(m, "sensorgate_window_average{key=\"\xC3\xA9t\xC3\xA9\"} 4")) << m;
}

TEST(MetricsText, GenericWritersFormatFamiliesLabelsAndValues) {
  std::string out;
  AppendMetric(&out, "sensorgate_mails_sent_total", MetricType::kCounter, "Mails the server accepted.",
               3);
  EXPECT_EQ(out,
            "# HELP sensorgate_mails_sent_total Mails the server accepted.\n"
            "# TYPE sensorgate_mails_sent_total counter\n"
            "sensorgate_mails_sent_total 3\n");
  out.clear();
  AppendMetric(&out, "sensorgate_up", MetricType::kGauge, "Back\\slash and\nnew line in help.",
               {{"a", "x\ny"}, {"b", "q\"\\"}}, 0.25);
  EXPECT_EQ(out,
            "# HELP sensorgate_up Back\\\\slash and\\nnew line in help.\n"
            "# TYPE sensorgate_up gauge\n"
            "sensorgate_up{a=\"x\\ny\",b=\"q\\\"\\\\\"} 0.25\n");
  out.clear();
  AppendMetricSample(&out, "g", {}, std::numeric_limits<double>::quiet_NaN());
  AppendMetricSample(&out, "g", {}, std::numeric_limits<double>::infinity());
  AppendMetricSample(&out, "g", {}, -std::numeric_limits<double>::infinity());
  AppendMetricSample(&out, "g", {}, 1e21);
  AppendMetricSample(&out, "g", {}, 12345678901234.0);
  EXPECT_EQ(out, "g NaN\ng +Inf\ng -Inf\ng 1e+21\ng 12345678901234\n");
}

TEST(MetricsText, ReplacesInvalidUtf8InLabelValues) {
  std::string out;
  AppendMetricSample(&out, "g", {{"k", "a\xFF" "b\xC3"}}, 1);
  AppendMetricSample(&out, "g", {{"k", "\xED\xA0\x80"}}, 1);  // a UTF-16 surrogate
  AppendMetricSample(&out, "g", {{"k", "\xC0\xAF"}}, 1);      // overlong '/'
  EXPECT_EQ(out,
            "g{k=\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\"} 1\n"
            "g{k=\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"} 1\n"
            "g{k=\"\xEF\xBF\xBD\xEF\xBF\xBD\"} 1\n");
}

// Runs `promtool check metrics` over text; returns its exit code and output.
int Promtool(const std::string& text, std::string* output) {
  char path[] = "/tmp/sensorgate_metrics_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return -1;
  close(fd);
  std::ofstream(path, std::ios::binary) << text;
  const std::string cmd = std::string(kPromtool) + " check metrics < " + path + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
  const int status = pclose(pipe);
  unlink(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(MetricsPromtool, AcceptsTheExpositionWithoutProblems) {
  if (access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << kPromtool << " not found: install Debian's prometheus package to lint /metrics";
  }
  Pipeline p(AlertConfigAbove75(), RecordFormat::kJson, nullptr);
  Feed(&p, Record("\"sensor16\"", 80, "2023-03-15T12:15:37.166944Z"));
  Feed(&p, Record("\"sensor02\"", 70.1, "2023-03-15T12:15:38Z"));
  Feed(&p, Record(R"("odd \"quoted\" back\\slash")", 1, "2023-03-15T12:15:39Z"));
  Feed(&p, Record("\"K\xC3\xBChlraum \xF0\x9F\x94\xA5\"", 2, "2023-03-15T12:15:40Z"));
  Feed(&p, "not json");
  std::string text;
  AppendPipelineMetrics(p, &text);
  // Families as the daemon adds them.
  AppendMetric(&text, "sensorgate_mails_sent_total", MetricType::kCounter, "Mails sent.", 0);
  AppendMetric(&text, "sensorgate_kafka_spool_bytes", MetricType::kGauge, "Bytes in the spool.",
               {{"topic", "sensor-aggregates"}}, 0);
  std::string output;
  const int code = Promtool(text, &output);
  EXPECT_EQ(code, 0) << output << "\n" << text;
  EXPECT_EQ(output, "") << text;
}

}  // namespace
}  // namespace sensorgate
