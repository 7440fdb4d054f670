// Named rules' alerts: aggregate values, zscore() before and after
// `baseline` windows, and the ok/pending/firing machine they drive.
#include "gateway/rules/rule_alert.h"

#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace sensorgate
