#include "gateway/rules/count_windows.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <stdexcept>

namespace sensorgate {
namespace {

// calloc of n × per bytes, checked to fit size_t (32 bits on armhf).
template <typename T>
T* Arena(uint64_t n, size_t per) {
  if (n == 0 || per == 0) return nullptr;
  size_t count = 0, bytes = 0;
  if (n > SIZE_MAX || __builtin_mul_overflow(static_cast<size_t>(n), per, &count) ||
      __builtin_mul_overflow(count, sizeof(T), &bytes)) {
    throw std::bad_alloc();
  }
  void* p = std::calloc(count, sizeof(T));
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<T*>(p);
}

bool HasSlope(const RuleConfig& rule) {
  for (const Aggregate& a : rule.aggregates) {
    if (a.kind == AggregateKind::kSlope) return true;
  }
  return false;
}

size_t DistinctAggregates(const RuleConfig& rule) {
  size_t n = 0;
  for (const Aggregate& a : rule.aggregates) n += a.kind == AggregateKind::kDistinct;
  return n;
}

}  // namespace

std::unique_ptr<CountWindows> CountWindows::Create(const RuleConfig& rule) {
  try {
    return std::make_unique<CountWindows>(rule);
  } catch (const std::bad_alloc&) {
    return nullptr;
  } catch (const std::length_error&) {
    return nullptr;
  }
}

CountWindows::CountWindows(const RuleConfig& rule)
    : size_(std::max<uint32_t>(1, rule.count)),
      keep_times_(HasSlope(rule)),
      distinct_count_(DistinctAggregates(rule)),
      outlier_z_(rule.outlier_z),
      min_samples_(std::max<uint32_t>(1, rule.min_samples)),
      keys_(rule.max_keys),
      values_(Arena<double>(uint64_t{size_} * rule.max_keys, 1)),
      times_(keep_times_ ? Arena<TimeMicros>(uint64_t{size_} * rule.max_keys, 1) : nullptr),
      hashes_(distinct_count_ > 0 ? Arena<uint64_t>(uint64_t{size_} * rule.max_keys, distinct_count_) : nullptr) {
  state_.reserve(rule.max_keys);
  if (distinct_count_ > 0) {
    if (uint64_t{rule.max_keys} * distinct_count_ > UINT32_MAX) throw std::bad_alloc();
    pool_ = std::make_unique<DistinctPool>(rule.max_distinct, static_cast<uint32_t>(rule.max_keys * distinct_count_));
    uncounted_.reserve(static_cast<size_t>(rule.max_keys) * distinct_count_);
  }
}

CountWindows::Added CountWindows::Add(std::string_view key, double value, TimeMicros time_us,
                                      const uint64_t* distinct_hashes) {
  Added added;
  const uint32_t before = keys_.size();
  const uint32_t slot = keys_.FindOrInsert(key);
  if (slot == KeyIndex::kNoSlot) return added;
  added.slot = slot;
  if (slot == before) {
    state_.emplace_back();
    state_.back().origin = time_us;
    uncounted_.resize(uncounted_.size() + distinct_count_, 0);
  }
  KeyState& k = state_[slot];
  // Judged against the window as it stands before the value.
  if (outlier_z_ > 0 && k.acc.count >= min_samples_) {
    const double sd = k.acc.Stddev();
    if (sd > 0 && std::fabs(value - k.acc.mean) > outlier_z_ * sd) {
      added.outlier = true;
      added.before_avg = k.acc.Avg();
      added.before_stddev = sd;
    }
  }
  const uint32_t i = k.head;
  if (k.acc.count == size_) {
    // The ring is full: its oldest value (where the new one goes) leaves.
    k.acc.Remove(*Value(slot, i), keep_times_ ? *Time(slot, i) : k.origin, k.origin);
    for (size_t d = 0; d < distinct_count_; ++d) {
      uint64_t* h = Hash(slot, i, d);
      if (*h != 0) {
        pool_->Remove(SetId(slot, d), *h);
      } else {
        --uncounted_[SetId(slot, d)];
      }
    }
  }
  *Value(slot, i) = value;
  if (keep_times_) *Time(slot, i) = time_us;
  for (size_t d = 0; d < distinct_count_; ++d) {
    uint64_t* h = Hash(slot, i, d);
    if (pool_->Add(SetId(slot, d), distinct_hashes[d])) {
      *h = distinct_hashes[d];
    } else {
      *h = 0;
      ++uncounted_[SetId(slot, d)];
      ++distinct_overflow_;
    }
  }
  k.acc.Add(value, keep_times_ ? time_us : k.origin, ++seq_, k.origin);
  k.last_time = time_us;
  ++k.total;
  if (++k.head == size_) {
    k.head = 0;
    Rebuild(slot);  // once per N values: amortised O(1)
  }
  return added;
}

void CountWindows::Rebuild(uint32_t slot) {
  KeyState& k = state_[slot];
  const uint64_t last_seq = k.acc.last_seq;
  const double last = k.acc.last;
  Accumulator fresh;
  const uint32_t n = static_cast<uint32_t>(k.acc.count);
  // Oldest first: the ring is full when it wraps, and head is 0.
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t i = (k.head + size_ - n + j) % size_;
    fresh.Add(*Value(slot, i), keep_times_ ? *Time(slot, i) : k.origin, j + 1, k.origin);
  }
  fresh.last = last;
  fresh.last_seq = last_seq;
  k.acc = fresh;
}

Accumulator CountWindows::Values(uint32_t slot) const {
  const KeyState& k = state_[slot];
  Accumulator a = k.acc;
  const uint32_t n = static_cast<uint32_t>(a.count);
  if (n == 0) return a;
  a.min = std::numeric_limits<double>::infinity();
  a.max = -std::numeric_limits<double>::infinity();
  for (uint32_t j = 0; j < n; ++j) {
    const double v = *Value(slot, (k.head + size_ - n + j) % size_);
    a.min = std::min(a.min, v);
    a.max = std::max(a.max, v);
  }
  return a;
}

}  // namespace sensorgate
