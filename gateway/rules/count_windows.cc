#include "gateway/rules/count_windows.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

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

// Names the saved state, so another class's (or a future format's) is refused.
constexpr std::string_view kStateTag = "SGC1";

bool Fail(std::string* error, std::string what) {
  *error = "count window state: " + what;
  return false;
}

// "saved A, the rule has B" for a configuration that differs.
bool Mismatch(std::string* error, const char* what, uint64_t saved, uint64_t now) {
  return Fail(error, std::string(what) + " " + std::to_string(saved) + " saved, the rule has " + std::to_string(now));
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
    double sd = k.acc.Stddev();
    // Values removed from the moments leave rounding behind: a window of
    // equal values must have a stddev of exactly 0, never a tiny one that
    // makes any other value an outlier. Checked on the ring when in doubt.
    if (sd > 0 && sd <= 1e-6 * std::max(1.0, std::fabs(k.acc.mean)) && RingConstant(slot)) sd = 0;
    // A value exactly outlier_z stddev away (decimal readings make such ties)
    // is no outlier, though the moments' rounding may put it 1e-15 beyond:
    // a margin of 1e-12 keeps the comparison the exact one.
    if (sd > 0 && std::fabs(value - k.acc.mean) > outlier_z_ * sd * (1 + 1e-12)) {
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

void CountWindows::SaveState(std::string* out) const {
  out->append(kStateTag.data(), kStateTag.size());
  // What the layout and the restore depend on, to refuse another rule's.
  PutU32(out, size_);
  PutU8(out, keep_times_ ? 1 : 0);
  PutU32(out, static_cast<uint32_t>(distinct_count_));
  PutU32(out, keys_.max_keys());
  PutU32(out, pool_ ? pool_->capacity() : 0);
  PutU64(out, seq_);  // the accumulators' last_seq come from it
  PutU64(out, distinct_overflow_);
  PutU32(out, keys_.size());
  for (uint32_t slot = 0; slot < keys_.size(); ++slot) {
    const KeyState& k = state_[slot];
    PutBytes(out, keys_.key(slot));
    PutU64(out, k.total);
    PutI64(out, k.origin);
    PutI64(out, k.last_time);
    // Bit for bit, not rebuilt from the ring: it carries the rounding of
    // the Add()/Remove() since the last wrap, which later results show.
    k.acc.SaveState(out);
    // The ring's values, oldest first; head is total mod N, so not saved.
    // The pool and uncounted_ are rebuilt from the hashes (0: not counted).
    const uint32_t n = static_cast<uint32_t>(k.acc.count);
    for (uint32_t j = 0; j < n; ++j) {
      const uint32_t i = static_cast<uint32_t>((uint64_t{k.head} + size_ - n + j) % size_);
      PutDouble(out, *Value(slot, i));
      if (keep_times_) PutI64(out, *Time(slot, i));
      for (size_t d = 0; d < distinct_count_; ++d) PutU64(out, *Hash(slot, i, d));
    }
  }
}

bool CountWindows::LoadState(std::string_view* in, std::string* error) {
  StateReader r(in);
  if (!r.Tag(kStateTag)) return Fail(error, "not a count window state (no \"SGC1\" at its start)");
  const char* const truncated = "truncated";
  uint32_t size = 0, distinct_count = 0, max_keys = 0, capacity = 0, keys = 0;
  uint8_t keep_times = 0;
  if (!r.U32(&size) || !r.U8(&keep_times) || !r.U32(&distinct_count) || !r.U32(&max_keys) || !r.U32(&capacity)) {
    return Fail(error, truncated);
  }
  if (size != size_) return Mismatch(error, "count", size, size_);
  if (keep_times != (keep_times_ ? 1 : 0)) {
    return Fail(error, keep_times ? "saved with times (slope), the rule has no slope"
                                  : "saved without times, the rule has slope");
  }
  if (distinct_count != distinct_count_) {
    return Mismatch(error, "distinct() aggregates", distinct_count, distinct_count_);
  }
  if (max_keys != keys_.max_keys()) return Mismatch(error, "max_keys", max_keys, keys_.max_keys());
  const uint32_t capacity_now = pool_ ? pool_->capacity() : 0;
  if (capacity != capacity_now) return Mismatch(error, "max_distinct", capacity, capacity_now);
  if (keys_.size() != 0) return Fail(error, "restored into windows that hold keys already");
  if (!r.U64(&seq_) || !r.U64(&distinct_overflow_) || !r.U32(&keys)) return Fail(error, truncated);
  if (keys > max_keys) return Mismatch(error, "keys", keys, max_keys);
  for (uint32_t slot = 0; slot < keys; ++slot) {
    std::string_view key;
    if (!r.Bytes(&key)) return Fail(error, truncated);
    // Keys go back in slot order, so each gets its old slot; a repeated one
    // would find its first.
    if (keys_.FindOrInsert(key) != slot) return Fail(error, "key " + std::to_string(slot) + " saved twice");
    state_.emplace_back();
    uncounted_.resize(uncounted_.size() + distinct_count_, 0);
    KeyState& k = state_[slot];
    if (!r.U64(&k.total) || !r.I64(&k.origin) || !r.I64(&k.last_time) || !k.acc.LoadState(&r)) {
      return Fail(error, truncated);
    }
    if (!StateTimeInRange(k.origin) || !StateTimeInRange(k.last_time)) {
      return Fail(error, "key " + std::to_string(slot) + ": time out of range");
    }
    // Every value counts until the ring is full, which it stays.
    const uint64_t n = std::min<uint64_t>(k.total, size_);
    if (k.acc.count != n) {
      return Fail(error, "key " + std::to_string(slot) + ": " + std::to_string(k.acc.count) +
                             " values in its window, " + std::to_string(k.total) + " seen, ring of " +
                             std::to_string(size_));
    }
    k.head = static_cast<uint32_t>(k.total % size_);
    // Each entry is a fixed size: check that all are there before reading.
    const uint64_t entry = 8 + (keep_times_ ? 8 : 0) + 8 * uint64_t{distinct_count_};
    if (r.remaining() / entry < n) return Fail(error, truncated);
    for (uint32_t j = 0; j < n; ++j) {
      const uint32_t i = static_cast<uint32_t>((uint64_t{k.head} + size_ - n + j) % size_);
      if (!r.Double(Value(slot, i)) || (keep_times_ && !r.I64(Time(slot, i)))) return Fail(error, truncated);
      if (keep_times_ && !StateTimeInRange(*Time(slot, i))) {
        return Fail(error, "key " + std::to_string(slot) + ": time out of range");
      }
      for (size_t d = 0; d < distinct_count_; ++d) {
        uint64_t* h = Hash(slot, i, d);
        if (!r.U64(h)) return Fail(error, truncated);
        if (*h == 0) {
          ++uncounted_[SetId(slot, d)];
        } else if (!pool_->Add(SetId(slot, d), *h)) {
          // It fitted when it was saved: the state is not of this rule's pool.
          return Fail(error, "more distinct() values than max_distinct " + std::to_string(pool_->capacity()));
        }
      }
    }
  }
  return true;
}

Accumulator CountWindows::Values(uint32_t slot) const {
  // From the ring itself, oldest first, times counted from the oldest: the
  // running moments carry rounding from the values that left (a slope over
  // times far from the key's first one loses digits that way), while these
  // are as exact as a fresh window. O(N), as min and max need anyway.
  const KeyState& k = state_[slot];
  const uint32_t n = static_cast<uint32_t>(k.acc.count);
  if (n == 0) return k.acc;
  const TimeMicros origin = keep_times_ ? *Time(slot, (k.head + size_ - n) % size_) : k.origin;
  Accumulator a;
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t i = (k.head + size_ - n + j) % size_;
    a.Add(*Value(slot, i), keep_times_ ? *Time(slot, i) : origin, j + 1, origin);
  }
  a.last = k.acc.last;
  a.last_seq = k.acc.last_seq;
  return a;
}

bool CountWindows::RingConstant(uint32_t slot) const {
  const KeyState& k = state_[slot];
  const uint32_t n = static_cast<uint32_t>(k.acc.count);
  const double first = *Value(slot, (k.head + size_ - n) % size_);
  for (uint32_t j = 1; j < n; ++j) {
    if (*Value(slot, (k.head + size_ - n + j) % size_) != first) return false;
  }
  return true;
}

}  // namespace sensorgate
