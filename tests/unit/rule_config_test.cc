// Tests of [rule.NAME] sections (DESIGN.md sections 3 and 13.2): the typed
// RuleConfig a good section becomes, and, table-driven, the exact message of
// every kind of bad section (file, line, and the column of a `where` fault).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/config/where.h"

namespace sensorgate {
namespace {

using Errors = std::vector<std::string>;

ConfigResult Load(const std::string& text) { return LoadConfigText(text, "x.ini", ConfigMode::kReplay); }

TEST(RuleConfig, ParsesEveryKeyIntoTypes) {
  const ConfigResult r = Load(
      "[kafka]\nbrokers = k:9092\ntopic = aggregates\n"
      "[rule.web_servers]\n"
      "where = DstPort in (443, 8000) and Proto = \"tcp\"\n"
      "key = DstDevice, Site\n"
      "value = SrcBytes\n"
      "time = Time\n"
      "window = sliding 1m every 10s\n"
      "lateness = 10s\n"
      "aggregates = count, sum, avg, distinct(DstDevice)\n"
      "alert = zscore(sum) > 3.5\n"
      "clear = count <= 90\n"
      "for = 30s\n"
      "min_samples = 5\n"
      "baseline = 20\n"
      "min = 0\n"
      "max = 1e9\n"
      "max_keys = 500\n"
      "max_distinct = 2000\n");
  ASSERT_EQ(r.errors, Errors{});
  ASSERT_EQ(r.config.rules.size(), 1u);
  const RuleConfig& w = r.config.rules[0];
  EXPECT_EQ(w.name, "web_servers");
  EXPECT_EQ(w.line, 4);
  ASSERT_TRUE(w.has_where);
  EXPECT_EQ(WhereText(w.where), "((DstPort in (443, 8000)) and (Proto = \"tcp\"))");
  EXPECT_EQ(w.key_fields, (std::vector<std::string>{"DstDevice", "Site"}));
  EXPECT_EQ(w.value, "SrcBytes");
  EXPECT_EQ(w.time, "Time");
  EXPECT_TRUE(w.event_time());
  EXPECT_EQ(w.window, WindowKind::kSliding);
  EXPECT_EQ(w.length_us, 60000000);
  EXPECT_EQ(w.every_us, 10000000);
  EXPECT_EQ(w.lateness_us, 10000000);
  EXPECT_EQ(w.panes(), 7u);
  ASSERT_EQ(w.aggregates.size(), 4u);
  EXPECT_EQ(w.aggregates[3].kind, AggregateKind::kDistinct);
  EXPECT_EQ(w.aggregates[3].field, "DstDevice");
  EXPECT_EQ(w.aggregates[3].name, "distinct(DstDevice)");
  EXPECT_TRUE(w.alert.enabled);
  EXPECT_TRUE(w.alert.zscore);
  EXPECT_EQ(w.alert.aggregate, "sum");
  EXPECT_EQ(w.alert.op, CompareOp::kGt);
  EXPECT_EQ(w.alert.threshold, 3.5);
  EXPECT_TRUE(w.clear.enabled);
  EXPECT_FALSE(w.clear.zscore);
  EXPECT_EQ(w.clear.op, CompareOp::kLe);
  EXPECT_EQ(w.clear.threshold, 90);
  EXPECT_EQ(w.for_us, 30000000);
  EXPECT_EQ(w.min_samples, 5u);
  EXPECT_EQ(w.baseline, 20u);
  EXPECT_EQ(w.outlier_z, 0);
  EXPECT_EQ(w.min, 0);
  EXPECT_EQ(w.max, 1e9);
  EXPECT_EQ(w.max_keys, 500u);
  EXPECT_EQ(w.max_distinct, 2000u);
  EXPECT_EQ(w.kafka_topic, "aggregates");  // [kafka] topic
  EXPECT_FALSE(r.config.hot_rule);
}

TEST(RuleConfig, DefaultsFollowTheTableAndReading) {
  const ConfigResult r = Load("[reading]\ntime = ts\n[rule.a]\nwindow = count 5\n[rule.b]\nwindow = total\ntime = @arrival\n");
  ASSERT_EQ(r.errors, Errors{});
  ASSERT_EQ(r.config.rules.size(), 2u);
  const RuleConfig& a = r.config.rules[0];
  EXPECT_FALSE(a.has_where);
  EXPECT_TRUE(a.key_fields.empty());
  EXPECT_EQ(a.value, "");
  EXPECT_EQ(a.time, "ts");  // [reading] time
  EXPECT_EQ(a.window, WindowKind::kCount);
  EXPECT_EQ(a.count, 5u);
  ASSERT_EQ(a.aggregates.size(), 1u);
  EXPECT_EQ(a.aggregates[0].name, "count");
  EXPECT_FALSE(a.alert.enabled);
  EXPECT_FALSE(a.clear.enabled);
  EXPECT_EQ(a.min_samples, 1u);
  EXPECT_EQ(a.baseline, 30u);
  EXPECT_EQ(a.min, -1e6);
  EXPECT_EQ(a.max, 1e6);
  EXPECT_EQ(a.max_keys, 10000u);
  EXPECT_EQ(a.max_distinct, 100000u);
  EXPECT_EQ(a.kafka_topic, "");
  EXPECT_EQ(r.config.rules[1].time, "");  // @arrival
  EXPECT_FALSE(r.config.rules[1].event_time());
  EXPECT_TRUE(r.config.hot_rule);  // [reading] is present
}

TEST(RuleConfig, HotRuleExistsWithoutNamedRulesOrWithReadingWindowOrAlert) {
  EXPECT_TRUE(Load("").config.hot_rule);
  EXPECT_FALSE(Load("[rule.a]\nwindow = total\n").config.hot_rule);
  EXPECT_TRUE(Load("[window]\n[rule.a]\nwindow = total\n").config.hot_rule);
  EXPECT_TRUE(Load("[alert]\nabove = 1\n[rule.a]\nwindow = total\n").config.hot_rule);
}

TEST(RuleConfig, WindowForms) {
  const auto rule = [](const std::string& window) {
    const ConfigResult r = Load("[rule.a]\nmax_keys = 10\nwindow = " + window + "\n");
    EXPECT_EQ(r.errors, Errors{}) << window;
    return r.config.rules.at(0);
  };
  EXPECT_EQ(rule("count 100000").count, 100000u);
  const RuleConfig t = rule("tumbling 1m");
  EXPECT_EQ(t.window, WindowKind::kTumbling);
  EXPECT_EQ(t.length_us, 60000000);
  EXPECT_EQ(t.panes(), 1u);
  EXPECT_EQ(rule("sliding 2m every 10s").panes(), 12u);
  EXPECT_EQ(rule("total").window, WindowKind::kTotal);
  EXPECT_EQ(rule("  sliding   1h   every  1m ").panes(), 60u);
}

TEST(RuleConfig, RulesKeepFileOrder) {
  const ConfigResult r = Load("[rule.z]\nwindow = total\n[rule.a-1]\nwindow = total\n[rule.m_2]\nwindow = total\n");
  ASSERT_EQ(r.errors, Errors{});
  ASSERT_EQ(r.config.rules.size(), 3u);
  EXPECT_EQ(r.config.rules[0].name, "z");
  EXPECT_EQ(r.config.rules[1].name, "a-1");
  EXPECT_EQ(r.config.rules[2].name, "m_2");
}

struct BadCase {
  const char* text;
  std::vector<std::string> errors;
};

const std::string kWindowAllowed =
    "must be count N (N from 1 to 100000), tumbling D, sliding D every S (D a multiple of S) or total; D and S "
    "from 100ms to 7d";
const std::string kCondAllowed =
    "must be empty, AGG OP NUMBER or zscore(AGG) OP NUMBER, with AGG one of the aggregates and OP one of >, >=, <, <=";

TEST(RuleConfig, RefusesBadSectionsWithExactMessages) {
  const std::vector<BadCase> cases = {
      // --- the header ---
      {"[rule.Web]\nwindow = total\n", {"x.ini:1: [rule.Web]: a rule name is 1 to 32 characters from a-z 0-9 _ -"}},
      {"[rule.]\nwindow = total\n", {"x.ini:1: [rule.]: a rule name is 1 to 32 characters from a-z 0-9 _ -"}},
      {"[rule.a.b]\n", {"x.ini:1: [rule.a.b]: a rule name is 1 to 32 characters from a-z 0-9 _ -"}},
      {"[rule.abcdefghijklmnopqrstuvwxyz0123456]\n",
       {"x.ini:1: [rule.abcdefghijklmnopqrstuvwxyz0123456]: a rule name is 1 to 32 characters from a-z 0-9 _ -"}},
      {"[rule.a]\nwindow = total\n[rule.b]\nwindow = total\n[rule.a]\nwindow = count 5\n",
       {"x.ini:5: [rule.a]: given twice (first at line 1)"}},
      {"[window]\n[rule.hot]\nwindow = total\n",
       {"x.ini:2: [rule.hot]: the name hot is taken by the rule of [reading], [window] and [alert]"}},
      {"[rule.a]\nkey = x\n",
       {"x.ini:1: [rule.a] window: required when [rule.a] is present; it " + kWindowAllowed}},
      {"[rule.a]\nwindow = total\nsize = 5\n",
       {"x.ini:3: [rule.a] size = 5: unknown key; [rule.a] takes: where, key, value, time, window, lateness, "
        "aggregates, alert, clear, for, min_samples, baseline, outlier_z, min, max, max_keys, max_distinct, "
        "kafka_topic"}},
      {"[rule.a]\nwindow = total\nwindow = count 2\n",
       {"x.ini:3: [rule.a] window = count 2: given twice (first at line 2)"}},
      // --- where: the column of the fault in the line ---
      {"[rule.web]\nwindow = total\nwhere = DstPort in (443,\n",
       {"x.ini:3: [rule.web] where = DstPort in (443,: column 25: expected a literal"}},
      {"[rule.web]\nwindow = total\nwhere = a = 1 and\n",
       {"x.ini:3: [rule.web] where = a = 1 and: column 18: expected a field, '(', not or exists("}},
      {"[rule.web]\nwindow = total\n  where   =   (a = 1\n",
       {"x.ini:3: [rule.web] where = (a = 1: column 21: expected and, or or ')'"}},
      {"[rule.web]\nwindow = total\nwhere = a == 1\n",
       {"x.ini:3: [rule.web] where = a == 1: column 12: expected a literal"}},
      {"[rule.web]\nwindow = total\nwhere = a = \"x\n",
       {"x.ini:3: [rule.web] where = a = \"x: column 13: string without its closing '\"'"}},
      {"[rule.web]\nwindow = total\nwhere = 1 = a\n", {"x.ini:3: [rule.web] where = 1 = a: column 9: expected a field"}},
      {"[rule.web]\nwindow = total\nwhere = a = 1)\n",
       {"x.ini:3: [rule.web] where = a = 1): column 14: ')' without '('"}},
      {"[rule.web]\nwindow = total\nwhere = a ~ 1\n",
       {"x.ini:3: [rule.web] where = a ~ 1: column 11: expected an operator (=, !=, <, <=, >, >=) or in"}},
      {"[rule.web]\nwindow = total\nwhere = a in 1\n",
       {"x.ini:3: [rule.web] where = a in 1: column 14: expected '(' after in"}},
      {"[rule.web]\nwindow = total\nwhere = a not 1\n",
       {"x.ini:3: [rule.web] where = a not 1: column 15: expected in after not"}},
      {"[rule.web]\nwindow = total\nwhere = a in (1 2)\n",
       {"x.ini:3: [rule.web] where = a in (1 2): column 17: expected ',' or ')'"}},
      {"[rule.web]\nwindow = total\nwhere = a = 1 b = 2\n",
       {"x.ini:3: [rule.web] where = a = 1 b = 2: column 15: expected and, or or the end"}},
      {"[rule.web]\nwindow = total\nwhere = a = 1.2.3\n",
       {"x.ini:3: [rule.web] where = a = 1.2.3: column 13: not a number"}},
      {"[rule.web]\nwindow = total\nwhere = exists(a\n",
       {"x.ini:3: [rule.web] where = exists(a: column 17: expected ')'"}},
      {"[rule.web]\nwindow = total\nwhere = a..b = 1\n",
       {"x.ini:3: [rule.web] where = a..b = 1: column 9: a field is a dotted path (a.b.c), a CSV column or "
        "@topic.N"}},
      // --- window ---
      {"[rule.a]\nwindow = tumbling 7\n", {"x.ini:2: [rule.a] window = tumbling 7: " + kWindowAllowed}},
      {"[rule.a]\nwindow = count 0\n", {"x.ini:2: [rule.a] window = count 0: " + kWindowAllowed}},
      {"[rule.a]\nwindow = hopping 1m\n", {"x.ini:2: [rule.a] window = hopping 1m: " + kWindowAllowed}},
      {"[rule.a]\nwindow = tumbling 8d\n", {"x.ini:2: [rule.a] window = tumbling 8d: " + kWindowAllowed}},
      {"[rule.a]\nwindow = sliding 1m every 7s\n",
       {"x.ini:2: [rule.a] window = sliding 1m every 7s: 1m is not a multiple of 7s (a window is made of whole "
        "panes)"}},
      {"[rule.a]\nwindow = sliding 7d every 100ms\n",
       {"x.ini:2: [rule.a] window = sliding 7d every 100ms: 7d / 100ms is 6048000 panes; at most 10000"}},
      // --- aggregates and conditions ---
      {"[rule.a]\nwindow = total\naggregates = count, median\n",
       {"x.ini:3: [rule.a] aggregates = count, median: must be a comma-separated list of count, sum, avg, min, "
        "max, stddev, last, slope, distinct(FIELD), each once"}},
      {"[rule.a]\nwindow = total\naggregates = count, count\n",
       {"x.ini:3: [rule.a] aggregates = count, count: count given twice"}},
      {"[rule.a]\nwindow = total\naggregates = count, avg\n",
       {"x.ini:3: [rule.a] aggregates = count, avg: avg needs a value (set [rule.a] value)"}},
      {"[rule.a]\nwindow = total\nalert = avg > 5\n",
       {"x.ini:3: [rule.a] alert = avg > 5: avg is not in aggregates (count)"}},
      {"[rule.a]\nwindow = tumbling 1m\naggregates = count, distinct(x)\nclear = distinct(y) < 5\nalert = count > 1\n",
       {"x.ini:4: [rule.a] clear = distinct(y) < 5: distinct(y) is not in aggregates (count, distinct(x))"}},
      {"[rule.a]\nwindow = total\nalert = count = 5\n", {"x.ini:3: [rule.a] alert = count = 5: " + kCondAllowed}},
      {"[rule.a]\nwindow = total\nalert = count > many\n",
       {"x.ini:3: [rule.a] alert = count > many: " + kCondAllowed}},
      {"[rule.a]\nwindow = count 10\nalert = zscore(count) > 3\n",
       {"x.ini:3: [rule.a] alert = zscore(count) > 3: zscore() needs a tumbling or sliding window"}},
      {"[rule.a]\nwindow = total\nalert = zscore(count) > 3\n",
       {"x.ini:3: [rule.a] alert = zscore(count) > 3: zscore() needs a tumbling or sliding window"}},
      {"[rule.a]\nwindow = total\nclear = count < 3\n",
       {"x.ini:3: [rule.a] clear = count < 3: needs an alert to clear"}},
      // --- the other keys ---
      {"[rule.a]\nwindow = tumbling 1m\nvalue = v\noutlier_z = 4\n",
       {"x.ini:4: [rule.a] outlier_z = 4: needs a count window (window = count N)"}},
      {"[rule.a]\nwindow = count 10\noutlier_z = 4\n",
       {"x.ini:3: [rule.a] outlier_z = 4: needs a value (set [rule.a] value)"}},
      {"[rule.a]\nwindow = count 10\noutlier_z = 0\n",
       {"x.ini:3: [rule.a] outlier_z = 0: must be a number from 0.1 to 1000, or off"}},
      {"[rule.a]\nwindow = tumbling 1m\ntime = @arrival\nlateness = 10s\n",
       {"x.ini:4: [rule.a] lateness = 10s: needs event time (time is @arrival: windows close by the clock)"}},
      {"[rule.a]\nwindow = count 5\nlateness = 10s\n",
       {"x.ini:3: [rule.a] lateness = 10s: a count window has no lateness"}},
      {"[rule.a]\nwindow = count 5\nmin_samples = 6\n",
       {"x.ini:3: [rule.a] min_samples = 6: must be at most the window's count (5)"}},
      {"[rule.a]\nwindow = total\nmin = 5\nmax = 5\n",
       {"x.ini:4: [rule.a] max = 5: must be greater than min (5)"}},
      {"[rule.a]\nwindow = total\nmin = 2e6\n", {"x.ini:3: [rule.a] min = 2e6: must be less than max (1000000)"}},
      {"[rule.a]\nwindow = total\nkey = a,,b\n",
       {"x.ini:3: [rule.a] key = a,,b: must be empty or a comma-separated list of 1 to 8 fields (dotted paths "
        "a.b.c, CSV columns or @topic.N)"}},
      {"[rule.a]\nwindow = total\nkey = a, a\n", {"x.ini:3: [rule.a] key = a, a: a given twice"}},
      {"[rule.a]\nwindow = total\ntime = @topic.1\n",
       {"x.ini:3: [rule.a] time = @topic.1: must be @arrival, a dotted path (a.b.c) or a CSV column"}},
      {"[rule.a]\nwindow = total\nvalue = a b\n",
       {"x.ini:3: [rule.a] value = a b: must be empty or a field (a dotted path a.b.c, a CSV column or "
        "@topic.N)"}},
      {"[rule.a]\nwindow = total\nbaseline = 1\n",
       {"x.ini:3: [rule.a] baseline = 1: must be an integer from 2 to 10000"}},
      {"[rule.a]\nwindow = total\nkafka_topic = a b\n",
       {"x.ini:3: [rule.a] kafka_topic = a b: must be empty or a Kafka topic name: 1 to 249 letters, digits, "
        "'.', '_' or '-'"}},
      {"[rule.a]\nwindow = total\nmax_distinct = 0\n",
       {"x.ini:3: [rule.a] max_distinct = 0: must be an integer from 1 to 10000000"}},
  };
  for (const BadCase& c : cases) {
    EXPECT_EQ(Load(c.text).errors, c.errors) << c.text;
  }
}

TEST(RuleConfig, ARefusedWindowIsReportedOnce) {
  // No cross-key message about the window, and no memory plan without it.
  EXPECT_EQ(Load("[rule.a]\nwindow = count x\noutlier_z = 3\nvalue = v\nalert = zscore(count) > 2\n").errors,
            Errors{"x.ini:2: [rule.a] window = count x: " + kWindowAllowed});
}

}  // namespace
}  // namespace sensorgate
