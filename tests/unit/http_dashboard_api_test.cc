// What the dashboard reads besides /api/windows and /api/alerts:
// /api/alerts/pending (AppendPipelinePendingAlertsJson, from the pipeline's
// table) and /api/config (AppendDashboardConfigJson, from the configuration).
#include <gtest/gtest.h>

#include <string>

#include "gateway/config/config.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/pipeline/pipeline_metrics.h"
#include "tests/unit/pipeline_records.h"

namespace sensorgate {
namespace {

using test_records::Feed;
using test_records::Record;

Config Load(const std::string& text) {
  ConfigResult r = LoadConfigText(text, "test.ini", ConfigMode::kReplay);
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
  return r.config;
}

TEST(HttpDashboardApi, PendingListsHotKeysWaitingForTheirForDuration) {
  Pipeline p(Load("[alert]\nabove = 75\nclear_below = 73\nfor = 10s\n"), RecordFormat::kJson, nullptr);
  std::string out;
  AppendPipelinePendingAlertsJson(p, &out);
  EXPECT_EQ(out, "[]");
  Feed(&p, Record("\"cool\"", 60, "2023-03-15T12:00:00Z"));
  Feed(&p, Record("\"z<img src=x>\"", 80, "2023-03-15T12:00:01Z"));
  Feed(&p, Record("\"b\"", 90, "2023-03-15T12:00:02Z"));
  out.clear();
  AppendPipelinePendingAlertsJson(p, &out);
  EXPECT_EQ(out,
            "[{\"rule\":\"hot\",\"key\":\"b\",\"avg\":90,\"count\":1,\"time\":\"2023-03-15T12:00:02.000000Z\","
            "\"since\":\"2023-03-15T12:00:02.000000Z\"},"
            "{\"rule\":\"hot\",\"key\":\"z<img src=x>\",\"avg\":80,\"count\":1,"
            "\"time\":\"2023-03-15T12:00:01.000000Z\",\"since\":\"2023-03-15T12:00:01.000000Z\"}]");
  // 10 s of reading time later, b fires: it leaves the pending list for
  // /api/alerts.
  Feed(&p, Record("\"b\"", 90, "2023-03-15T12:00:12Z"));
  out.clear();
  AppendPipelinePendingAlertsJson(p, &out);
  EXPECT_EQ(out.find("\"key\":\"b\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"key\":\"z<img src=x>\""), std::string::npos) << out;
  std::string firing;
  AppendPipelineAlertsJson(p, &firing);
  EXPECT_NE(firing.find("\"key\":\"b\""), std::string::npos) << firing;
  // A key that cools down is no longer pending.
  Feed(&p, Record("\"z<img src=x>\"", 10, "2023-03-15T12:00:13Z"));
  out.clear();
  AppendPipelinePendingAlertsJson(p, &out);
  EXPECT_EQ(out, "[]");
}

TEST(HttpDashboardApi, ConfigGivesTheThresholdsInForce) {
  std::string out;
  AppendDashboardConfigJson(Load("[window]\nsize = 20\n[alert]\nabove = 75.5\nclear_below = 73\nfor = 1500ms\n"
                                 "min_samples = 5\nstale_after = 1m\n"),
                            &out);
  EXPECT_EQ(out,
            "{\"hot_rule\":true,\"window\":{\"size\":20,\"max_keys\":10000},\"alert\":{\"enabled\":true,"
            "\"above\":75.5,\"clear_below\":73,\"for_s\":1.5,\"min_samples\":5,\"stale_after_s\":60},"
            "\"rules\":[]}");
}

TEST(HttpDashboardApi, ConfigWithoutAlertSaysSo) {
  std::string out;
  AppendDashboardConfigJson(Load("[window]\nsize = 5\n"), &out);
  EXPECT_EQ(out,
            "{\"hot_rule\":true,\"window\":{\"size\":5,\"max_keys\":10000},\"alert\":{\"enabled\":false},"
            "\"rules\":[]}");
}

TEST(HttpDashboardApi, ConfigListsEachRuleWithItsConditions) {
  std::string out;
  AppendDashboardConfigJson(Load("[rule.web]\nkey = DstDevice\nvalue = Bytes\nwindow = tumbling 1m\n"
                                 "aggregates = count, max\nalert = max > 100\nclear = max <= 90\nfor = 2s\n"
                                 "[rule.quiet]\nkey = DstDevice\nwindow = total\naggregates = count\n"),
                            &out);
  const std::string rules = out.substr(out.find("\"rules\":"));
  EXPECT_EQ(rules,
            "\"rules\":[{\"rule\":\"web\",\"alert\":\"max > 100\",\"clear\":\"max <= 90\",\"for_s\":2,"
            "\"min_samples\":1},{\"rule\":\"quiet\",\"alert\":null,\"clear\":null,\"for_s\":0,"
            "\"min_samples\":1}]}");
}

}  // namespace
}  // namespace sensorgate
