// NamedRule: one [rule.NAME] over extracted records: the filter, the rule's
// own checks, results as windows close, alert and outlier events, and the end
// of a replay, in the objects and order of DESIGN.md 13.5.
#include "gateway/rules/named_rule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gateway/base/json_format.h"

namespace sensorgate {
namespace {

struct Lines : RuleEvents {
  std::vector<std::string> lines;
  void OnRuleEvent(const RuleEvent& e) override { lines.emplace_back(e.json); }
};

using K = FieldValue::Kind;

// Fields: 0 cell, 1 bytes, 2 time, 3 port.
struct Rec {
  FieldValue v[4];
};
Rec R(std::string_view cell, double bytes, std::string_view time, double port = 443) {
  return Rec{{FieldValue{K::kString, cell, 0}, FieldValue{K::kNumber, "x", bytes}, FieldValue{K::kString, time, 0},
              FieldValue{K::kNumber, "443", port}}};
}

const char* T(int second) {
  static std::string buf[64];
  std::string& s = buf[second];
  s = FormatRfc3339(1678881600LL * 1000000 + second * 1000000LL);  // 2023-03-15T12:00:00Z + second
  return s.c_str();
}

RuleConfig Traffic() {
  RuleConfig r;
  r.name = "traffic";
  WhereError err;
  r.has_where = ParseWhere("port = 443", &r.where, &err);
  r.window = WindowKind::kTumbling;
  r.length_us = r.every_us = 10'000'000;
  r.aggregates = {{AggregateKind::kCount, "", "count"}, {AggregateKind::kSum, "", "sum"}, {AggregateKind::kAvg, "", "avg"}};
  r.alert = RuleCondition{true, false, "count", CompareOp::kGe, 2};
  r.max_keys = 10;
  return r;
}

RuleFieldMap TrafficFields() {
  RuleFieldMap m;
  m.key = {0};
  m.value = 1;
  m.time = 2;
  m.where = {3};
  return m;
}

TEST(NamedRule, ResultsAsWindowsCloseEachFollowedByItsAlert) {
  std::string error;
  auto rule = NamedRule::Create(Traffic(), TrafficFields(), &error);
  ASSERT_TRUE(rule) << error;
  Lines out;
  for (const Rec& r : {R("C1", 10, T(1)), R("C1", 20, T(5)), R("C2", 5, T(7)), R("C1", 99, T(8), 80)}) {
    rule->OnRecord(r.v, 0, &out);
  }
  EXPECT_TRUE(out.lines.empty());
  Rec missing = R("C1", 0, T(9));
  missing.v[1].kind = K::kAbsent;
  rule->OnRecord(missing.v, 0, &out);
  rule->OnRecord(R("C1", 1, T(12)).v, 0, &out);  // closes [0 s, 10 s)
  const std::string w0 = std::string("\"start\":\"") + T(0) + "\",\"end\":\"" + T(10) + "\"";
  ASSERT_EQ(out.lines.size(), 3u);
  EXPECT_EQ(out.lines[0], "{\"event\":\"result\",\"rule\":\"traffic\",\"key\":\"C1\"," + w0 + ",\"count\":2,\"sum\":30,\"avg\":15}");
  EXPECT_EQ(out.lines[1],
            "{\"event\":\"alert\",\"rule\":\"traffic\",\"state\":\"firing\",\"key\":\"C1\"," + w0 + ",\"count\":2,\"sum\":30,\"avg\":15}");
  EXPECT_EQ(out.lines[2], "{\"event\":\"result\",\"rule\":\"traffic\",\"key\":\"C2\"," + w0 + ",\"count\":1,\"sum\":5,\"avg\":5}");
  rule->OnRecord(R("C1", 3, T(25)).v, 0, &out);  // closes [10 s, 20 s): C1 cools down
  const std::string w1 = std::string("\"start\":\"") + T(10) + "\",\"end\":\"" + T(20) + "\"";
  ASSERT_EQ(out.lines.size(), 5u);
  EXPECT_EQ(out.lines[3], "{\"event\":\"result\",\"rule\":\"traffic\",\"key\":\"C1\"," + w1 + ",\"count\":1,\"sum\":1,\"avg\":1}");
  EXPECT_EQ(out.lines[4],
            "{\"event\":\"alert\",\"rule\":\"traffic\",\"state\":\"resolved\",\"key\":\"C1\"," + w1 + ",\"count\":1,\"sum\":1,\"avg\":1}");
  rule->OnRecord(R("C2", 3, T(9)).v, 0, &out);  // [0 s, 10 s) closed: late
  rule->Finish(&out);
  ASSERT_EQ(out.lines.size(), 6u);
  EXPECT_EQ(out.lines[5], std::string("{\"event\":\"result\",\"rule\":\"traffic\",\"key\":\"C1\",\"start\":\"") + T(20) +
                              "\",\"end\":\"" + T(30) + "\",\"count\":1,\"sum\":3,\"avg\":3,\"open\":true}");
  const RuleCounters& c = rule->counters();
  EXPECT_EQ(c.filtered, 1u);
  EXPECT_EQ(c.skipped[static_cast<size_t>(RuleSkip::kValueMissing)], 1u);
  EXPECT_EQ(c.late, 1u);
  EXPECT_EQ(c.accepted, 5u);
  EXPECT_EQ(c.results, 3u);  // closed windows; the open one is not a result yet
  EXPECT_EQ(c.alerts, 2u);
}

TEST(NamedRule, ZscoreComparesAWindowWithTheKeysEarlierOnes) {
  RuleConfig r = Traffic();
  r.has_where = false;
  r.aggregates = {{AggregateKind::kCount, "", "count"}};
  r.alert = RuleCondition{true, true, "count", CompareOp::kGt, 3};
  r.baseline = 3;
  RuleFieldMap m = TrafficFields();
  m.where.clear();
  std::string error;
  auto rule = NamedRule::Create(r, m, &error);
  ASSERT_TRUE(rule) << error;
  Lines out;
  // Windows of 1, 2 and 3 records, then one of 10: its zscore against
  // (1, 2, 3) is (10 - 2) / sqrt(2/3).
  int second = 0;
  for (int n : {1, 2, 3, 10}) {
    for (int i = 0; i < n; ++i) rule->OnRecord(R("C", 1, T(second * 10 + i / 2)).v, 0, &out);
    ++second;
  }
  rule->OnRecord(R("C", 1, T(50)).v, 0, &out);
  ASSERT_EQ(out.lines.size(), 5u);  // four results, one alert
  std::string z;
  AppendJsonNumber(&z, 8 / std::sqrt(2.0 / 3));
  EXPECT_EQ(out.lines[4], std::string("{\"event\":\"alert\",\"rule\":\"traffic\",\"state\":\"firing\",\"key\":\"C\",\"start\":\"") +
                              T(30) + "\",\"end\":\"" + T(40) + "\",\"count\":10,\"zscore(count)\":" + z + "}");
}

TEST(NamedRule, CountWindowsReportOutliersAndAlertAfterEveryRecord) {
  RuleConfig r;
  r.name = "scada";
  r.window = WindowKind::kCount;
  r.count = 3;
  r.outlier_z = 2;
  r.min_samples = 3;
  r.aggregates = {{AggregateKind::kAvg, "", "avg"}, {AggregateKind::kMax, "", "max"}};
  r.alert = RuleCondition{true, false, "avg", CompareOp::kGt, 50};
  r.max_keys = 10;
  RuleFieldMap m = TrafficFields();
  m.where.clear();
  std::string error;
  auto rule = NamedRule::Create(r, m, &error);
  ASSERT_TRUE(rule) << error;
  Lines out;
  for (double v : {8.0, 12.0, 10.0}) rule->OnRecord(R("s1", v, T(1)).v, 0, &out);
  EXPECT_TRUE(out.lines.empty());
  rule->OnRecord(R("s1", 100, T(2)).v, 0, &out);  // 8, 12, 10: mean 10, stddev sqrt(8/3)
  ASSERT_EQ(out.lines.size(), 1u);
  std::string sd;
  AppendJsonNumber(&sd, std::sqrt(8.0 / 3));
  EXPECT_EQ(out.lines[0], std::string("{\"event\":\"outlier\",\"rule\":\"scada\",\"key\":\"s1\",\"value\":100,\"avg\":10,\"stddev\":") +
                              sd + ",\"time\":\"" + T(2) + "\"}");
  rule->OnRecord(R("s1", 100, T(3)).v, 0, &out);  // 10, 100, 100: avg 70 > 50
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[1], std::string("{\"event\":\"alert\",\"rule\":\"scada\",\"state\":\"firing\",\"key\":\"s1\",\"count\":3,"
                                      "\"total\":5,\"time\":\"") +
                              T(3) + "\",\"avg\":70,\"max\":100}");
  rule->Finish(&out);
  ASSERT_EQ(out.lines.size(), 3u);
  EXPECT_EQ(out.lines[2], std::string("{\"event\":\"window\",\"rule\":\"scada\",\"key\":\"s1\",\"count\":3,\"total\":5,\"time\":\"") +
                              T(3) + "\",\"avg\":70,\"max\":100}");
}

}  // namespace
}  // namespace sensorgate
