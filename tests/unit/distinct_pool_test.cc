// DistinctPool: distinct(F) values of a rule in one fixed pool, against a
// plain model (std::map) under random operations, and at its capacity.
#include "gateway/rules/distinct_pool.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sensorgate {
namespace {

TEST(DistinctHash, StringsBytewiseNumbersByValueNeverEachOther) {
  EXPECT_EQ(DistinctHash(443.0), DistinctHash(443.0));
  EXPECT_EQ(DistinctHash(0.0), DistinctHash(-0.0));
  EXPECT_NE(DistinctHash(443.0), DistinctHash(std::string_view("443")));
  EXPECT_NE(DistinctHash(std::string_view("ab")), DistinctHash(std::string_view("ba")));
  EXPECT_NE(DistinctHash(std::string_view("")), DistinctHash(std::string_view(std::string(1, '\0'))));
  EXPECT_NE(DistinctHash(std::string_view("12345678")), DistinctHash(std::string_view("123456789")));
  // No collision among many short keys and small numbers.
  std::set<uint64_t> seen;
  for (int i = 0; i < 200000; ++i) {
    seen.insert(DistinctHash(std::string_view("10.0.0." + std::to_string(i))));
    seen.insert(DistinctHash(static_cast<double>(i)));
  }
  EXPECT_EQ(seen.size(), 400000u);
}

TEST(DistinctPool, CountsEachSetApartAndRefusesNewValuesWhenFull) {
  DistinctPool pool(100, 4);
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(pool.Add(0, DistinctHash(static_cast<double>(i))));
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(pool.Add(0, DistinctHash(static_cast<double>(i))));  // again
  EXPECT_EQ(pool.Count(0), 60u);
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(pool.Add(1, DistinctHash(static_cast<double>(i))));
  EXPECT_EQ(pool.Count(1), 40u);
  EXPECT_EQ(pool.used(), 100u);
  // At max_distinct: a value new to its set is not counted; a known one is.
  EXPECT_FALSE(pool.Add(1, DistinctHash(1000.0)));
  EXPECT_FALSE(pool.Add(2, DistinctHash(0.0)));
  EXPECT_TRUE(pool.Add(1, DistinctHash(5.0)));
  EXPECT_EQ(pool.Count(1), 40u);
  EXPECT_EQ(pool.Count(2), 0u);
  // A set cleared (a pane closed) gives its entries back.
  pool.Clear(0);
  EXPECT_EQ(pool.Count(0), 0u);
  EXPECT_EQ(pool.used(), 40u);
  EXPECT_TRUE(pool.Add(2, DistinctHash(0.0)));
  EXPECT_EQ(pool.Count(1), 40u);
  const uint32_t both[] = {1, 2};
  EXPECT_EQ(pool.UnionCount(both, 2), 40u);  // 0 is in both
}

TEST(DistinctPool, OccurrencesLetACountWindowDropValues) {
  DistinctPool pool(8, 1);
  const uint64_t a = DistinctHash(std::string_view("a")), b = DistinctHash(std::string_view("b"));
  pool.Add(0, a);
  pool.Add(0, a);
  pool.Add(0, b);
  EXPECT_EQ(pool.Count(0), 2u);
  pool.Remove(0, a);
  EXPECT_EQ(pool.Count(0), 2u);
  pool.Remove(0, a);
  EXPECT_EQ(pool.Count(0), 1u);
  pool.Remove(0, a);  // not there: nothing happens
  EXPECT_EQ(pool.Count(0), 1u);
  EXPECT_EQ(pool.used(), 1u);
}

TEST(DistinctPool, RandomOperationsMatchAPlainModel) {
  constexpr uint32_t kCapacity = 300, kSets = 12;
  DistinctPool pool(kCapacity, kSets);
  std::vector<std::map<uint64_t, uint32_t>> model(kSets);  // value -> occurrences
  size_t model_used = 0;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 300000; ++step) {
    const uint32_t set = static_cast<uint32_t>(rng() % kSets);
    const uint64_t value = DistinctHash(static_cast<double>(rng() % 64));
    const unsigned op = static_cast<unsigned>(rng() % 100);
    if (op < 60) {
      auto it = model[set].find(value);
      const bool fits = it != model[set].end() || model_used < kCapacity;
      ASSERT_EQ(pool.Add(set, value), fits) << step;
      if (it != model[set].end()) {
        ++it->second;
      } else if (fits) {
        model[set][value] = 1;
        ++model_used;
      }
    } else if (op < 95) {
      pool.Remove(set, value);
      auto it = model[set].find(value);
      if (it != model[set].end() && --it->second == 0) {
        model[set].erase(it);
        --model_used;
      }
    } else if (op < 97) {
      pool.Clear(set);
      model_used -= model[set].size();
      model[set].clear();
    } else {
      std::vector<uint32_t> some;
      std::set<uint64_t> all;
      for (uint32_t s = 0; s < kSets; ++s) {
        if (rng() % 2) {
          some.push_back(s);
          for (const auto& [v, n] : model[s]) all.insert(v);
        }
      }
      ASSERT_EQ(pool.UnionCount(some.data(), some.size()), all.size()) << step;
    }
    ASSERT_EQ(pool.Count(set), model[set].size()) << step;
    ASSERT_EQ(pool.used(), model_used) << step;
  }
}

// Values() and Restore(), which the window classes' checkpoints use: a set
// rebuilt in another pool counts as the original, and Restore() refuses
// what Add() could not have made.
TEST(DistinctPool, ValuesRestoredIntoAnotherPoolCountTheSame) {
  DistinctPool a(50, 3);
  std::mt19937_64 rng(9);
  for (int i = 0; i < 400; ++i) {
    const uint32_t set = static_cast<uint32_t>(rng() % 3);
    const uint64_t h = DistinctHash(static_cast<double>(rng() % 30));
    if (rng() % 3 == 0) {
      a.Remove(set, h);
    } else {
      a.Add(set, h);
    }
  }
  DistinctPool b(50, 3);
  std::vector<std::pair<uint64_t, uint32_t>> values, again;
  for (uint32_t set = 0; set < 3; ++set) {
    a.Values(set, &values);
    EXPECT_EQ(values.size(), a.Count(set));
    for (const auto& [h, n] : values) ASSERT_TRUE(b.Restore(set, h, n));
    b.Values(set, &again);
    EXPECT_EQ(again, values);  // same order: oldest first
    EXPECT_EQ(b.Count(set), a.Count(set));
  }
  EXPECT_EQ(b.used(), a.used());
  const uint32_t all[] = {0, 1, 2};
  EXPECT_EQ(b.UnionCount(all, 3), a.UnionCount(all, 3));
  // Occurrences came along: a value leaves with its last one in both.
  for (int i = 0; i < 400; ++i) {
    const uint32_t set = static_cast<uint32_t>(rng() % 3);
    const uint64_t h = DistinctHash(static_cast<double>(rng() % 30));
    if (rng() % 2 == 0) {
      a.Remove(set, h);
      b.Remove(set, h);
    } else {
      ASSERT_EQ(a.Add(set, h), b.Add(set, h));
    }
    ASSERT_EQ(a.Count(set), b.Count(set));
    ASSERT_EQ(a.used(), b.used());
  }
  DistinctPool c(2, 2);
  EXPECT_FALSE(c.Restore(2, 5, 1));  // no such set
  EXPECT_FALSE(c.Restore(0, 5, 0));  // no occurrence
  EXPECT_TRUE(c.Restore(0, 5, 3));
  EXPECT_FALSE(c.Restore(0, 5, 1));  // there already
  EXPECT_TRUE(c.Restore(1, 5, 1));
  EXPECT_FALSE(c.Restore(1, 6, 1));  // full
  EXPECT_EQ(c.used(), 2u);
}

}  // namespace
}  // namespace sensorgate
