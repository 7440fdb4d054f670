// Named rules' alerts: aggregate values, zscore() before and after
// `baseline` windows, and the ok/pending/firing machine they drive.
#include "gateway/rules/rule_alert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "alerts/alert_rule.h"

namespace sensorgate {
namespace {

TEST(RuleAlert, AggregateValuesAndTheirNulls) {
  Accumulator v;
  double x = 0;
  EXPECT_FALSE(AggregateValue({AggregateKind::kCount, "", "count"}, v, 0, &x));  // an empty window
  v.Add(2, 0, 1, 0);
  v.Add(4, 0, 2, 0);
  EXPECT_TRUE(AggregateValue({AggregateKind::kCount, "", "count"}, v, 0, &x));
  EXPECT_EQ(x, 2);
  EXPECT_TRUE(AggregateValue({AggregateKind::kAvg, "", "avg"}, v, 0, &x));
  EXPECT_EQ(x, 3);
  EXPECT_TRUE(AggregateValue({AggregateKind::kStddev, "", "stddev"}, v, 0, &x));
  EXPECT_EQ(x, 1);
  EXPECT_FALSE(AggregateValue({AggregateKind::kSlope, "", "slope"}, v, 0, &x));  // one time only
  EXPECT_TRUE(AggregateValue({AggregateKind::kDistinct, "h", "distinct(h)"}, v, 7, &x));
  EXPECT_EQ(x, 7);
}

TEST(RuleAlert, ZscoreIsNullUntilBaselineWindowsThenAgainstThem) {
  Baselines b(3, 2);
  double z = 0;
  b.Push(0, 10);
  b.Push(0, 12);
  EXPECT_FALSE(b.Zscore(0, 100, &z));  // 2 of 3 windows
  b.Push(0, 14);
  ASSERT_TRUE(b.Zscore(0, 18, &z));
  // mean 12, population stddev sqrt(8/3).
  EXPECT_NEAR(z, 6 / std::sqrt(8.0 / 3), 1e-12);
  b.Push(0, 18);  // the oldest (10) leaves: 12, 14, 18
  ASSERT_TRUE(b.Zscore(0, 18, &z));
  EXPECT_NEAR(z, (18 - 44.0 / 3) / std::sqrt(((12 - 44.0 / 3) * (12 - 44.0 / 3) + (14 - 44.0 / 3) * (14 - 44.0 / 3) +
                                                 (18 - 44.0 / 3) * (18 - 44.0 / 3)) / 3),
              1e-12);
  // Another key has its own history; a flat one (stddev 0) never gives one.
  EXPECT_FALSE(b.Zscore(1, 5, &z));
  for (int i = 0; i < 3; ++i) b.Push(1, 5);
  EXPECT_FALSE(b.Zscore(1, 50, &z));
}

// Windows with the same readings merged from their panes in another order
// can differ in the last bit: such a history is flat, not a stddev of 1e-16
// that makes every later window a zscore of 1e16.
TEST(RuleAlert, AHistoryFlatButForRoundingHasNoZscore) {
  Baselines b(4, 1);
  const double x = 2.1418784530386743;
  b.Push(0, x);
  b.Push(0, std::nextafter(x, 3.0));
  b.Push(0, x);
  b.Push(0, std::nextafter(std::nextafter(x, 3.0), 3.0));
  double z = 0;
  EXPECT_FALSE(b.Zscore(0, 6.87, &z));
  // A real spread, however small next to the values, still counts.
  b.Push(0, x * (1 + 1e-9));
  ASSERT_TRUE(b.Zscore(0, x, &z));
  EXPECT_LT(z, 0);
}

TEST(RuleAlert, TheMachineFiresAfterForAndResolvesOnClear) {
  AlertState s;
  EXPECT_EQ(EvaluateAlert(&s, true, false, 30, 100), AlertTransition::kNone);  // pending
  EXPECT_EQ(s.phase, AlertPhase::kPending);
  EXPECT_EQ(EvaluateAlert(&s, true, false, 30, 129), AlertTransition::kNone);
  EXPECT_EQ(EvaluateAlert(&s, true, false, 30, 130), AlertTransition::kFiring);
  EXPECT_EQ(EvaluateAlert(&s, false, false, 30, 140), AlertTransition::kNone);  // not cleared yet
  EXPECT_EQ(EvaluateAlert(&s, false, true, 30, 150), AlertTransition::kResolved);
  EXPECT_EQ(s.phase, AlertPhase::kOk);
  // Pending that stops being hot goes back to ok without an event.
  EXPECT_EQ(EvaluateAlert(&s, true, false, 30, 200), AlertTransition::kNone);
  EXPECT_EQ(EvaluateAlert(&s, false, true, 30, 210), AlertTransition::kNone);
  EXPECT_EQ(s.phase, AlertPhase::kOk);
  EXPECT_TRUE(Compares(CompareOp::kGe, 3, 3));
  EXPECT_FALSE(Compares(CompareOp::kGt, 3, 3));
  EXPECT_TRUE(Compares(CompareOp::kLe, 3, 3));
  EXPECT_FALSE(Compares(CompareOp::kLt, 3, 3));
}

uint64_t DoubleBits(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

// The checkpoint: a restored copy gives the same zscores, bit for bit, as
// both go on.
TEST(BaselinesState, ARestoredCopyGoesOnExactlyAsTheOriginal) {
  std::mt19937_64 rng(41);
  for (int round = 0; round < 300; ++round) {
    const uint32_t baseline = static_cast<uint32_t>(rng() % 6), max_keys = 1 + static_cast<uint32_t>(rng() % 5);
    Baselines a(baseline, max_keys);
    std::unique_ptr<Baselines> b;
    const int pushes = static_cast<int>(rng() % 100);
    const int midpoint = static_cast<int>(rng() % (pushes + 1));
    const std::string where = "round " + std::to_string(round);
    for (int i = 0; i <= pushes; ++i) {
      if (i == midpoint) {
        std::string saved;
        a.SaveState(&saved);
        saved += "tail";
        b = std::make_unique<Baselines>(baseline, max_keys);
        std::string_view in = saved;
        std::string error;
        ASSERT_TRUE(b->LoadState(&in, &error)) << where << ": " << error;
        ASSERT_EQ(in, "tail") << where;
        std::string again;
        b->SaveState(&again);
        ASSERT_EQ(again + "tail", saved) << where;
      }
      if (i == pushes) break;
      const uint32_t slot = static_cast<uint32_t>(rng() % max_keys);
      // Values with long fractions: the order they are summed in shows.
      const double x = static_cast<double>(rng() % 1000) / 3.7 + 1e6 * static_cast<double>(rng() % 3);
      if (b) {
        for (uint32_t s = 0; s < max_keys; ++s) {
          double za = 0, zb = 0;
          const bool ha = a.Zscore(s, x, &za), hb = b->Zscore(s, x, &zb);
          ASSERT_EQ(ha, hb) << where << " push " << i;
          ASSERT_EQ(DoubleBits(za), DoubleBits(zb)) << where << " push " << i;
        }
        b->Push(slot, x);
      }
      a.Push(slot, x);
    }
  }
}

TEST(BaselinesState, SizeFollowsTheKeysWithHistory) {
  Baselines b(30, 10000);
  for (int i = 0; i < 5; ++i) b.Push(7, i);
  std::string saved;
  b.SaveState(&saved);
  EXPECT_EQ(saved.size(), 4 + 3 * 4 + 3 * 4 + 5 * 8u);
}

TEST(BaselinesState, TruncatedCorruptOrForeignStatesAreRefused) {
  Baselines a(3, 4);
  for (int i = 0; i < 10; ++i) a.Push(i % 3, i * 1.5);
  std::string saved;
  a.SaveState(&saved);
  for (size_t n = 0; n < saved.size(); ++n) {
    Baselines b(3, 4);
    const std::string cut = saved.substr(0, n);
    std::string_view in = cut;
    std::string error;
    ASSERT_FALSE(b.LoadState(&in, &error)) << n;
    ASSERT_FALSE(error.empty()) << n;
  }
  for (const auto& [baseline, max_keys] : {std::pair<uint32_t, uint32_t>{4, 4}, {3, 5}, {3, 3}}) {
    Baselines b(baseline, max_keys);
    std::string_view in = saved;
    std::string error;
    EXPECT_FALSE(b.LoadState(&in, &error));
    EXPECT_NE(error, "");
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 3000; ++i) {
    std::string bad = saved;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    Baselines b(3, 4);
    std::string_view in = bad;
    std::string error;
    if (b.LoadState(&in, &error)) {
      double z;
      for (uint32_t s = 0; s < 4; ++s) {
        (void)b.Zscore(s, 1, &z);
        b.Push(s, 2);
      }
    }
  }
}

}  // namespace
}  // namespace sensorgate
