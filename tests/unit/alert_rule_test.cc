#include "alerts/alert_rule.h"

#include <gtest/gtest.h>

namespace sensorgate {
namespace {

constexpr int64_t kSec = 1000000;

HotRule Rule(double above, double clear_below, int64_t for_us, uint32_t min_samples) {
  HotRule r;
  r.above = above;
  r.clear_below = clear_below;
  r.for_us = for_us;
  r.min_samples = min_samples;
  return r;
}

TEST(HotRule, OkStaysOkWhileNotHot) {
  AlertState s;
  EXPECT_EQ(EvaluateHot(Rule(75, 73, 0, 1), &s, 75.0, 10, 0), AlertTransition::kNone);  // not above
  EXPECT_EQ(s.phase, AlertPhase::kOk);
}

TEST(HotRule, OkFiresAtOnceWhenForIsZero) {
  AlertState s;
  EXPECT_EQ(EvaluateHot(Rule(75, 73, 0, 1), &s, 75.01, 1, 5), AlertTransition::kFiring);
  EXPECT_EQ(s.phase, AlertPhase::kFiring);
}

TEST(HotRule, MinSamplesHoldsBackAHotAverage) {
  AlertState s;
  const HotRule r = Rule(75, 73, 0, 10);
  EXPECT_EQ(EvaluateHot(r, &s, 90, 9, 0), AlertTransition::kNone);
  EXPECT_EQ(s.phase, AlertPhase::kOk);
  EXPECT_EQ(EvaluateHot(r, &s, 90, 10, 1), AlertTransition::kFiring);
}

TEST(HotRule, OkGoesPendingSinceTheReadingTimeWhenForIsSet) {
  AlertState s;
  EXPECT_EQ(EvaluateHot(Rule(75, 73, 30 * kSec, 1), &s, 80, 5, 100 * kSec), AlertTransition::kNone);
  EXPECT_EQ(s.phase, AlertPhase::kPending);
  EXPECT_EQ(s.since_us, 100 * kSec);
}

TEST(HotRule, PendingFiresOnlyOnceForHasElapsedInReadingTime) {
  AlertState s;
  const HotRule r = Rule(75, 73, 30 * kSec, 1);
  EvaluateHot(r, &s, 80, 5, 100 * kSec);
  EXPECT_EQ(EvaluateHot(r, &s, 80, 6, 129 * kSec + 999999), AlertTransition::kNone);
  EXPECT_EQ(s.phase, AlertPhase::kPending);
  EXPECT_EQ(s.since_us, 100 * kSec);  // not moved by later hot readings
  EXPECT_EQ(EvaluateHot(r, &s, 80, 7, 130 * kSec), AlertTransition::kFiring);  // t - since == for
  EXPECT_EQ(s.phase, AlertPhase::kFiring);
}

TEST(HotRule, PendingReturnsToOkWhenNoLongerHot) {
  AlertState s;
  const HotRule r = Rule(75, 73, 30 * kSec, 1);
  EvaluateHot(r, &s, 80, 5, 100 * kSec);
  EXPECT_EQ(EvaluateHot(r, &s, 75, 6, 200 * kSec), AlertTransition::kNone);
  EXPECT_EQ(s.phase, AlertPhase::kOk);
  // Hot again: pending restarts from the new reading's time.
  EvaluateHot(r, &s, 80, 7, 300 * kSec);
  EXPECT_EQ(s.phase, AlertPhase::kPending);
  EXPECT_EQ(s.since_us, 300 * kSec);
}

TEST(HotRule, LateReadingsDoNotFireEarly) {
  AlertState s;
  const HotRule r = Rule(75, 73, 30 * kSec, 1);
  EvaluateHot(r, &s, 80, 5, 100 * kSec);
  EXPECT_EQ(EvaluateHot(r, &s, 80, 6, 50 * kSec), AlertTransition::kNone);  // older time
  EXPECT_EQ(s.phase, AlertPhase::kPending);
}

TEST(HotRule, FiringHoldsInsideTheHysteresisBand) {
  AlertState s;
  const HotRule r = Rule(75, 73, 0, 1);
  EvaluateHot(r, &s, 80, 5, 0);
  // Between clear_below and above: still firing, no event.
  EXPECT_EQ(EvaluateHot(r, &s, 74, 6, 1), AlertTransition::kNone);
  EXPECT_EQ(EvaluateHot(r, &s, 73, 7, 2), AlertTransition::kNone);  // not below
  EXPECT_EQ(s.phase, AlertPhase::kFiring);
  EXPECT_EQ(EvaluateHot(r, &s, 72.99, 8, 3), AlertTransition::kResolved);
  EXPECT_EQ(s.phase, AlertPhase::kOk);
}

TEST(HotRule, ResolvedThenHotFiresAgain) {
  AlertState s;
  const HotRule r = Rule(75, 73, 0, 1);
  EXPECT_EQ(EvaluateHot(r, &s, 80, 1, 0), AlertTransition::kFiring);
  EXPECT_EQ(EvaluateHot(r, &s, 70, 2, 1), AlertTransition::kResolved);
  EXPECT_EQ(EvaluateHot(r, &s, 80, 3, 2), AlertTransition::kFiring);
}

TEST(HotRule, WithoutHysteresisResolvesJustBelowAbove) {
  AlertState s;
  const HotRule r = Rule(75, 75, 0, 1);
  EvaluateHot(r, &s, 76, 1, 0);
  EXPECT_EQ(EvaluateHot(r, &s, 75, 2, 1), AlertTransition::kNone);  // 75 is not below 75
  EXPECT_EQ(EvaluateHot(r, &s, 74.9, 3, 2), AlertTransition::kResolved);
}

TEST(HotRule, FiringDoesNotRefireWhileStillHot) {
  AlertState s;
  const HotRule r = Rule(75, 73, 0, 1);
  EvaluateHot(r, &s, 80, 1, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(EvaluateHot(r, &s, 90, 2, i), AlertTransition::kNone);
}

}  // namespace
}  // namespace sensorgate
