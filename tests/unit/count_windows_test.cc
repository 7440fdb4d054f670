// CountWindows: the last N values per key, against a plain model (a deque per
// key, every aggregate recomputed from it), with distinct() at and beyond
// max_distinct and outliers.
#include "gateway/rules/count_windows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace sensorgate {
namespace {

constexpr int64_t kS = 1'000'000;

RuleConfig Rule(uint32_t n, uint32_t max_distinct, double outlier_z = 0, uint32_t min_samples = 1) {
  RuleConfig r;
  r.name = "c";
  r.window = WindowKind::kCount;
  r.count = n;
  r.aggregates = {{AggregateKind::kCount, "", "count"},
                  {AggregateKind::kSlope, "", "slope"},
                  {AggregateKind::kDistinct, "host", "distinct(host)"}};
  r.max_keys = 50;
  r.max_distinct = max_distinct;
  r.outlier_z = outlier_z;
  r.min_samples = min_samples;
  return r;
}

struct Entry {
  double v;
  TimeMicros t;
  uint64_t h;
};

TEST(CountWindows, EqualAPlainModelOfTheLastNValues) {
  constexpr uint32_t kN = 7;
  auto w = CountWindows::Create(Rule(kN, 1000));
  ASSERT_TRUE(w);
  std::map<std::string, std::deque<Entry>> model;
  std::mt19937_64 rng(3);
  TimeMicros t = 1'700'000'000 * kS;
  for (int i = 0; i < 50'000; ++i) {
    const std::string key = "k" + std::to_string(rng() % 5);
    t += static_cast<int64_t>(rng() % (3 * kS));
    const Entry e{static_cast<double>(static_cast<int64_t>(rng() % 4001) - 2000) / 8, t,
                  DistinctHash(static_cast<double>(rng() % 9))};
    const CountWindows::Added a = w->Add(key, e.v, e.t, &e.h);
    ASSERT_NE(a.slot, KeyIndex::kNoSlot);
    EXPECT_FALSE(a.outlier);
    std::deque<Entry>& q = model[key];
    q.push_back(e);
    if (q.size() > kN) q.pop_front();
    // The window now, from the model.
    double sum = 0, mn = q.front().v, mx = q.front().v;
    std::set<uint64_t> hs;
    for (const Entry& x : q) {
      sum += x.v;
      mn = std::min(mn, x.v);
      mx = std::max(mx, x.v);
      hs.insert(x.h);
    }
    const double n = static_cast<double>(q.size());
    const double mean = sum / n;
    double ss = 0, st = 0, tm = 0;
    for (const Entry& x : q) tm += static_cast<double>(x.t - q.front().t) / 1e6;
    tm /= n;
    for (const Entry& x : q) {
      ss += (x.v - mean) * (x.v - mean);
      const double dt = static_cast<double>(x.t - q.front().t) / 1e6 - tm;
      st += dt * dt;
    }
    const Accumulator got = w->Values(a.slot);
    ASSERT_EQ(got.count, q.size()) << i;
    ASSERT_EQ(got.Sum(), sum) << i;  // multiples of 1/8: exact
    ASSERT_EQ(got.min, mn) << i;
    ASSERT_EQ(got.max, mx) << i;
    ASSERT_EQ(got.last, e.v) << i;
    ASSERT_NEAR(got.Stddev(), std::sqrt(ss / n), 1e-9 * (1 + std::sqrt(ss / n))) << i;
    ASSERT_EQ(w->distinct(a.slot, 0), hs.size()) << i;
    ASSERT_TRUE(w->distinct_exact(a.slot, 0));
    double slope = 0;
    if (st > 0) {
      double stv = 0;
      for (const Entry& x : q) stv += (static_cast<double>(x.t - q.front().t) / 1e6 - tm) * (x.v - mean);
      ASSERT_TRUE(got.Slope(&slope)) << i;
      ASSERT_NEAR(slope, stv / st, 1e-9 * (1 + std::fabs(stv / st))) << i;
    }
  }
  EXPECT_EQ(w->total(w->SlotsByKey()[0]) + w->total(w->SlotsByKey()[1]) + w->total(w->SlotsByKey()[2]) +
                w->total(w->SlotsByKey()[3]) + w->total(w->SlotsByKey()[4]),
            50'000u);
}

TEST(CountWindows, DistinctBeyondMaxDistinctIsInexactUntilTheValueLeaves) {
  auto w = CountWindows::Create(Rule(3, 2));
  ASSERT_TRUE(w);
  const uint64_t a = DistinctHash(std::string_view("a")), b = DistinctHash(std::string_view("b")),
                 c = DistinctHash(std::string_view("c"));
  const uint32_t slot = w->Add("k", 1, 1, &a).slot;
  w->Add("k", 1, 2, &b);
  w->Add("k", 1, 3, &c);  // the pool holds 2: c is not counted
  EXPECT_EQ(w->distinct(slot, 0), 2u);
  EXPECT_FALSE(w->distinct_exact(slot, 0));
  EXPECT_EQ(w->distinct_overflow(), 1u);
  w->Add("k", 1, 4, &a);  // a leaves (oldest) and comes back: a, b counted; c still not
  EXPECT_EQ(w->distinct(slot, 0), 2u);
  EXPECT_FALSE(w->distinct_exact(slot, 0));
  w->Add("k", 1, 5, &a);  // b leaves
  w->Add("k", 1, 6, &a);  // c leaves: every value in the ring is counted again
  EXPECT_EQ(w->distinct(slot, 0), 1u);
  EXPECT_TRUE(w->distinct_exact(slot, 0));
}

TEST(CountWindows, AnOutlierIsJudgedAgainstTheWindowBeforeItAndStillEnters) {
  auto w = CountWindows::Create(Rule(10, 100, 3, 5));
  ASSERT_TRUE(w);
  const uint64_t h = DistinctHash(0.0);
  // Fewer than min_samples values: never an outlier.
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(w->Add("k", i % 2 ? 11 : 9, i, &h).outlier);
  EXPECT_FALSE(w->Add("k", 10, 4, &h).outlier);
  // Window 9, 11, 9, 11, 10: mean 10, stddev sqrt(0.8) ≈ 0.894; 3 sd ≈ 2.68.
  EXPECT_FALSE(w->Add("k", 12.6, 5, &h).outlier);
  const CountWindows::Added o = w->Add("k", 40, 6, &h);
  EXPECT_TRUE(o.outlier);
  EXPECT_NEAR(o.before_avg, (9 + 11 + 9 + 11 + 10 + 12.6) / 6, 1e-12);
  EXPECT_EQ(w->Values(o.slot).count, 7u);  // it entered
  EXPECT_EQ(w->Values(o.slot).max, 40);
}

TEST(CountWindows, KeysBeyondMaxKeysAreRefused) {
  RuleConfig r = Rule(2, 10);
  r.max_keys = 2;
  auto w = CountWindows::Create(r);
  const uint64_t h = DistinctHash(1.0);
  EXPECT_NE(w->Add("a", 1, 1, &h).slot, KeyIndex::kNoSlot);
  EXPECT_NE(w->Add("b", 1, 1, &h).slot, KeyIndex::kNoSlot);
  EXPECT_EQ(w->Add("c", 1, 1, &h).slot, KeyIndex::kNoSlot);
  EXPECT_EQ(w->key_count(), 2u);
}

}  // namespace
}  // namespace sensorgate
