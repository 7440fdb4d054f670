// Faults sensorgate-sim injects on purpose: late readings (--late) and
// malformed records (--bad), checked against the fraction asked for.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

constexpr int64_t kStepMicros = 100000;

struct LateCounts {
  size_t readings = 0;
  size_t behind_any = 0;      // time below the largest time seen before, any key
  size_t behind_own_key = 0;  // time below the largest time seen before for that key
  int64_t most_behind = 0;    // micros
};

LateCounts CountLate(const std::string& out) {
  LateCounts c;
  int64_t max_any = 0;
  std::map<std::string, int64_t> max_per_key;
  for (const std::string& line : Lines(out)) {
    const CheckedRecord r = CheckRecord(line);
    EXPECT_TRUE(r.ok) << line;
    ++c.readings;
    if (r.micros < max_any) {
      ++c.behind_any;
      c.most_behind = std::max(c.most_behind, max_any - r.micros);
    }
    max_any = std::max(max_any, r.micros);
    int64_t& own = max_per_key[r.key];
    if (r.micros < own) ++c.behind_own_key;
    own = std::max(own, r.micros);
  }
  return c;
}

TEST(SimLate, NoLateReadingsByDefault) {
  const ProcessResult r = RunSim({"--count", "20000", "--start-time", kStart});
  ASSERT_EQ(r.exit_code, 0);
  const LateCounts c = CountLate(r.out);
  EXPECT_EQ(c.readings, 20000u);
  EXPECT_EQ(c.behind_any, 0u);
}

TEST(SimLate, LateFractionIsWithinTolerance) {
  for (const double fraction : {0.02, 0.1, 0.3}) {
    const ProcessResult r = RunSim({"--count", "100000", "--seed", "9", "--start-time", kStart,
                                    "--late", std::to_string(fraction)});
    ASSERT_EQ(r.exit_code, 0);
    const LateCounts c = CountLate(r.out);
    ASSERT_EQ(c.readings, 100000u);
    // A late reading arrives after the whole next cycle: behind some reading.
    const double behind = static_cast<double>(c.behind_any) / c.readings;
    EXPECT_NEAR(behind, fraction, fraction * 0.1) << fraction;
    // Behind its own key's next reading unless that one is late too.
    const double own = static_cast<double>(c.behind_own_key) / c.readings;
    EXPECT_NEAR(own, fraction * (1 - fraction), fraction * 0.1) << fraction;
    // Never more than one cycle late.
    EXPECT_LT(c.most_behind, 2 * kStepMicros);
  }
}

TEST(SimLate, LateReadingsAreOnlyReordered) {
  const ProcessResult on_time = RunSim({"--count", "30000", "--seed", "4", "--start-time", kStart});
  const ProcessResult late =
      RunSim({"--count", "30000", "--seed", "4", "--start-time", kStart, "--late", "0.25"});
  ASSERT_EQ(on_time.exit_code, 0);
  ASSERT_EQ(late.exit_code, 0);
  std::vector<std::string> a = Lines(on_time.out);
  std::vector<std::string> b = Lines(late.out);
  EXPECT_NE(a, b);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
}

TEST(SimBad, BadFractionIsWithinToleranceAndEveryKindAppears) {
  const ProcessResult r =
      RunSim({"--count", "50000", "--seed", "13", "--start-time", kStart, "--bad", "0.1"});
  ASSERT_EQ(r.exit_code, 0);
  const std::vector<std::string> lines = Lines(r.out);
  std::map<std::string, size_t> reasons;
  size_t good = 0;
  size_t raw_control = 0;
  size_t escaped_control = 0;
  size_t value_string = 0;
  size_t value_true = 0;
  size_t value_null = 0;
  size_t garbage = 0;    // not even starting like a JSON object
  size_t truncated = 0;  // starting like a record, cut short
  for (const std::string& line : lines) {
    const CheckedRecord c = CheckRecord(line);
    if (c.ok) {
      ++good;
      continue;
    }
    ++reasons[c.reason];
    raw_control += line.find('\x01') != std::string::npos;
    escaped_control += line.find("\\u0001") != std::string::npos;
    value_string += line.find("\"temperatura\":\"") != std::string::npos;
    value_true += line.find("\"temperatura\":true") != std::string::npos;
    value_null += line.find("\"temperatura\":null") != std::string::npos;
    if (c.reason == "parse") {
      if (line.rfind("{\"id_sensor\":", 0) == 0) {
        ++truncated;
      } else {
        ++garbage;
      }
    }
  }
  EXPECT_EQ(good, 50000u);
  const double bad_fraction = static_cast<double>(lines.size() - good) / lines.size();
  EXPECT_NEAR(bad_fraction, 0.1, 0.01);
  for (const char* reason : {"parse", "too_long", "key_missing", "key_empty", "key_control",
                             "value_missing", "value_not_number"}) {
    EXPECT_GT(reasons[reason], 20u) << reason;
  }
  EXPECT_GT(raw_control, 20u);
  EXPECT_GT(escaped_control, 20u);
  EXPECT_GT(value_string, 20u);
  EXPECT_GT(value_true, 20u);
  EXPECT_GT(value_null, 20u);
  EXPECT_GT(garbage, 20u);
  EXPECT_GT(truncated, 20u);
  // Every line is still one line: no stray line breaks inside records.
  for (const std::string& line : lines) ASSERT_EQ(line.find('\r'), std::string::npos);
}

TEST(SimBad, MalformedLinesAreExtraAndLeaveGoodReadingsUnchanged) {
  const ProcessResult clean = RunSim(
      {"--count", "20000", "--seed", "8", "--start-time", kStart, "--late", "0.1", "--hot", "1"});
  const ProcessResult bad = RunSim({"--count", "20000", "--seed", "8", "--start-time", kStart,
                                    "--late", "0.1", "--hot", "1", "--bad", "0.3"});
  ASSERT_EQ(clean.exit_code, 0);
  ASSERT_EQ(bad.exit_code, 0);
  std::vector<std::string> good_lines;
  for (const std::string& line : Lines(bad.out)) {
    if (CheckRecord(line).ok) good_lines.push_back(line);
  }
  EXPECT_EQ(good_lines, Lines(clean.out));
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
