// CountWindows: the last N values per key, against a plain model (a deque per
// key, every aggregate recomputed from it), with distinct() at and beyond
// max_distinct and outliers.
#include "gateway/rules/count_windows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
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

// A value exactly outlier_z stddev from the window is no outlier (`>`),
// though the moments' rounding may put it a hair beyond: the window 55.2,
// 57.6 has mean 56.4 and stddev 1.2, and 60 is exactly 3 stddev away.
TEST(CountWindows, AValueExactlyOutlierZAwayIsNoOutlier) {
  auto w = CountWindows::Create(Rule(2, 1000, 3, 2));
  ASSERT_TRUE(w);
  const uint64_t h = DistinctHash(1.0);
  w->Add("k", 55.2, 1 * kS, &h);
  w->Add("k", 57.6, 2 * kS, &h);
  EXPECT_FALSE(w->Add("k", 60, 3 * kS, &h).outlier);
  auto v = CountWindows::Create(Rule(2, 1000, 3, 2));
  v->Add("k", 55.2, 1 * kS, &h);
  v->Add("k", 57.6, 2 * kS, &h);
  EXPECT_TRUE(v->Add("k", 60.001, 3 * kS, &h).outlier);
}

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

// The checkpoint: SaveState() at a random point, LoadState() into a fresh
// object, then both fed the rest must agree bit for bit on everything they
// report.

// An accumulator's every field, bit for bit.
std::string Bits(const Accumulator& a) {
  std::string s;
  a.SaveState(&s);
  return s;
}

uint64_t DoubleBits(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

RuleConfig StateRule(std::mt19937_64& rng) {
  RuleConfig r;
  r.name = "c";
  r.window = WindowKind::kCount;
  r.count = 1 + static_cast<uint32_t>(rng() % 9);
  r.aggregates = {{AggregateKind::kCount, "", "count"}, {AggregateKind::kAvg, "", "avg"}};
  if (rng() % 2) r.aggregates.push_back({AggregateKind::kSlope, "", "slope"});
  const size_t distinct = rng() % 3;
  for (size_t d = 0; d < distinct; ++d) r.aggregates.push_back({AggregateKind::kDistinct, "f", "distinct(f)"});
  r.max_keys = 1 + static_cast<uint32_t>(rng() % 8);  // sometimes fewer than the keys sent
  r.max_distinct = static_cast<uint32_t>(rng() % 40);  // often full
  r.outlier_z = rng() % 2 ? 1.5 : 0;
  r.min_samples = 1 + static_cast<uint32_t>(rng() % 3);
  return r;
}

void ExpectSame(const CountWindows& a, const CountWindows& b, size_t distinct, const std::string& where) {
  ASSERT_EQ(a.key_count(), b.key_count()) << where;
  ASSERT_EQ(a.SlotsByKey(), b.SlotsByKey()) << where;
  ASSERT_EQ(a.distinct_overflow(), b.distinct_overflow()) << where;
  for (uint32_t slot = 0; slot < a.key_count(); ++slot) {
    ASSERT_EQ(a.key(slot), b.key(slot)) << where;
    ASSERT_EQ(Bits(a.Values(slot)), Bits(b.Values(slot))) << where << " slot " << slot;
    ASSERT_EQ(a.total(slot), b.total(slot)) << where;
    ASSERT_EQ(a.last_time(slot), b.last_time(slot)) << where;
    for (size_t d = 0; d < distinct; ++d) {
      ASSERT_EQ(a.distinct(slot, d), b.distinct(slot, d)) << where << " slot " << slot << " d " << d;
      ASSERT_EQ(a.distinct_exact(slot, d), b.distinct_exact(slot, d)) << where << " slot " << slot << " d " << d;
    }
  }
}

TEST(CountWindowsState, ARestoredCopyGoesOnExactlyAsTheOriginal) {
  std::mt19937_64 rng(17);
  for (int round = 0; round < 300; ++round) {
    const RuleConfig rule = StateRule(rng);
    size_t distinct = 0;
    for (const Aggregate& g : rule.aggregates) distinct += g.kind == AggregateKind::kDistinct;
    auto a = CountWindows::Create(rule);
    ASSERT_TRUE(a);
    std::unique_ptr<CountWindows> b;
    const int records = static_cast<int>(rng() % 200);
    const int midpoint = records == 0 ? 0 : static_cast<int>(rng() % (records + 1));
    TimeMicros t = 1'700'000'000 * kS;
    const std::string where = "round " + std::to_string(round);
    for (int i = 0; i <= records; ++i) {
      if (i == midpoint) {
        std::string saved;
        a->SaveState(&saved);
        saved += "tail";  // what follows is left alone
        b = CountWindows::Create(rule);
        ASSERT_TRUE(b);
        std::string_view in = saved;
        std::string err;
        ASSERT_TRUE(b->LoadState(&in, &err)) << where << ": " << err;
        ASSERT_EQ(in, "tail") << where;
        // Saved again, the copy is the same bytes.
        std::string again;
        b->SaveState(&again);
        ASSERT_EQ(again + "tail", saved) << where;
        ExpectSame(*a, *b, distinct, where + " at load");
      }
      if (i == records) break;
      // Times go back too: a count window takes records in arrival order.
      t += static_cast<int64_t>(rng() % (3 * kS)) - kS / 2;
      const std::string key = "k" + std::to_string(rng() % 10);
      const double v = static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 7;
      uint64_t h[2];
      for (uint64_t& x : h) x = DistinctHash(static_cast<double>(rng() % 12));
      if (i < midpoint) {
        a->Add(key, v, t, h);
        continue;
      }
      const CountWindows::Added x = a->Add(key, v, t, h), y = b->Add(key, v, t, h);
      ASSERT_EQ(x.slot, y.slot) << where << " record " << i;
      ASSERT_EQ(x.outlier, y.outlier) << where << " record " << i;
      ASSERT_EQ(DoubleBits(x.before_avg), DoubleBits(y.before_avg)) << where << " record " << i;
      ASSERT_EQ(DoubleBits(x.before_stddev), DoubleBits(y.before_stddev)) << where << " record " << i;
      ExpectSame(*a, *b, distinct, where + " record " + std::to_string(i));
    }
  }
}

TEST(CountWindowsState, SizeFollowsTheKeysNotMaxKeys) {
  RuleConfig r = Rule(4, 100000);
  r.max_keys = 10000;
  auto w = CountWindows::Create(r);
  ASSERT_TRUE(w);
  const uint64_t h = DistinctHash(1.0);
  for (int i = 0; i < 6; ++i) w->Add("key" + std::to_string(i % 3), i, i * kS, &h);
  std::string saved;
  w->SaveState(&saved);
  // 3 keys, 2 values each: header, 3 × (key, counters, accumulator) and 6
  // entries of value, time and hash.
  EXPECT_LT(saved.size(), 600u);
  EXPECT_EQ(saved.size(), 4 + 4 + 1 + 4 + 4 + 4 + 8 + 8 + 4 + 3 * (4 + 4 + 8 + 8 + 8 + 96) + 6 * 24u);
}

// A state, then its every proper prefix refused without a crash, and the
// same state refused by rules that hold their windows otherwise.
TEST(CountWindowsState, TruncatedCorruptOrForeignStatesAreRefused) {
  const RuleConfig rule = Rule(5, 6);
  auto w = CountWindows::Create(rule);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 40; ++i) {
    const uint64_t h = DistinctHash(static_cast<double>(rng() % 9));
    w->Add("k" + std::to_string(rng() % 4), static_cast<double>(rng() % 100), i * kS, &h);
  }
  std::string saved;
  w->SaveState(&saved);
  for (size_t n = 0; n < saved.size(); ++n) {
    auto b = CountWindows::Create(rule);
    const std::string cut = saved.substr(0, n);
    std::string_view in = cut;
    std::string error;
    ASSERT_FALSE(b->LoadState(&in, &error)) << n;
    ASSERT_FALSE(error.empty()) << n;
  }
  std::vector<RuleConfig> others(6, rule);
  others[0].count = 6;
  others[1].max_keys = 51;
  others[2].max_distinct = 7;
  others[3].aggregates.pop_back();                                          // no distinct()
  others[4].aggregates.erase(others[4].aggregates.begin() + 1);             // no slope
  others[5].aggregates.push_back({AggregateKind::kDistinct, "g", "distinct(g)"});
  for (const RuleConfig& other : others) {
    auto b = CountWindows::Create(other);
    std::string_view in = saved;
    std::string error;
    EXPECT_FALSE(b->LoadState(&in, &error));
    EXPECT_NE(error, "");
  }
  // A time window's state is not a count window's.
  std::string_view in = "SGT1 and more";
  std::string error;
  EXPECT_FALSE(CountWindows::Create(rule)->LoadState(&in, &error));
  // Bytes changed at random: refused or not, never read out of bounds (run
  // under the sanitizers).
  for (int i = 0; i < 3000; ++i) {
    std::string bad = saved;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    auto b = CountWindows::Create(rule);
    std::string_view bin = bad;
    if (b->LoadState(&bin, &error)) {
      const uint64_t h = DistinctHash(1.0);
      for (int j = 0; j < 20; ++j) b->Add("k" + std::to_string(j % 5), j, j, &h);
    }
  }
}

}  // namespace
}  // namespace sensorgate
