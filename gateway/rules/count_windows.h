// CountWindows: the `count N` windows of a named rule (DESIGN.md 13.3): per
// key, the ring of the last N accepted values in arrival order, with their
// times when the rule has slope and their distinct() hashes, in one arena
// sized at construction (calloc'd: pages become resident as keys fill).
//
// Aggregates are current after every record: an Accumulator per key takes
// each value in and the evicted one out, and is rebuilt from the ring each
// time the ring wraps (every N values of a key), so rounding never builds
// up; min and max are read from the ring when asked. distinct() counts come
// from the rule's DistinctPool, one set per key; a value that did not fit
// the pool is remembered as uncounted (hash 0) and makes the key's count
// inexact while it is in the ring.
//
// With outlier_z, a value further than outlier_z population stddev from the
// mean of its key's window as it stood before it (at least min_samples
// values, stddev above 0) is reported as an outlier; it still enters.
//
// Not thread-safe: the pipeline thread owns it.
#ifndef SENSORGATE_GATEWAY_RULES_COUNT_WINDOWS_H_
#define SENSORGATE_GATEWAY_RULES_COUNT_WINDOWS_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/rules/aggregate.h"
#include "gateway/rules/distinct_pool.h"
#include "gateway/rules/key_index.h"

namespace sensorgate {

class CountWindows {
 public:
  struct Added {
    uint32_t slot = KeyIndex::kNoSlot;  // kNoSlot: a new key beyond max_keys
    bool outlier = false;
    double before_avg = 0, before_stddev = 0;  // the window before the value (outlier)
  };

  // nullptr when the memory cannot be had. REQUIRES: rule.window == kCount.
  static std::unique_ptr<CountWindows> Create(const RuleConfig& rule);
  explicit CountWindows(const RuleConfig& rule);  // throws std::bad_alloc

  // An accepted record: key, value, time, one DistinctHash per distinct()
  // aggregate of the rule (in order).
  Added Add(std::string_view key, double value, TimeMicros time_us, const uint64_t* distinct_hashes);

  uint32_t key_count() const { return keys_.size(); }
  std::string_view key(uint32_t slot) const { return keys_.key(slot); }
  std::vector<uint32_t> SlotsByKey() const { return keys_.SlotsByKey(); }
  // The key's window now; min and max read from the ring.
  Accumulator Values(uint32_t slot) const;
  // The running moments, O(1): count, sum, avg and last as Values() gives
  // them (sum compensated, rebuilt from the ring once per wrap); min, max,
  // stddev and slope are not (a value leaving does not undo min and max).
  const Accumulator& running(uint32_t slot) const { return state_[slot].acc; }
  uint64_t total(uint32_t slot) const { return state_[slot].total; }
  TimeMicros last_time(uint32_t slot) const { return state_[slot].last_time; }
  uint32_t distinct(uint32_t slot, size_t d) const { return pool_->Count(SetId(slot, d)); }
  bool distinct_exact(uint32_t slot, size_t d) const { return uncounted_[SetId(slot, d)] == 0; }
  uint64_t distinct_overflow() const { return distinct_overflow_; }

  // The checkpoint (DESIGN.md section 10). SaveState() appends the whole
  // state to *out (aggregate.h's encoding): the keys in slot order, each
  // with its accumulator bit for bit and the values its ring holds (not N ×
  // max_keys: a few keys take a few hundred bytes). LoadState() restores it
  // into an object freshly made from the same RuleConfig (same count,
  // max_keys, max_distinct; slope and distinct() aggregates the same), reads
  // from the front of *in and advances it past what it used. On input that
  // is truncated, malformed or from another configuration it returns false
  // with *error saying why; the object is then in no useful state (discard
  // it). Everything read is bounds-checked before use.
  void SaveState(std::string* out) const;
  bool LoadState(std::string_view* in, std::string* error);

 private:
  struct KeyState {
    Accumulator acc;
    TimeMicros origin = 0;  // slope times count from the key's first time
    TimeMicros last_time = 0;
    uint64_t total = 0;
    uint32_t head = 0;  // where the next value goes
  };
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  uint32_t SetId(uint32_t slot, size_t d) const { return slot * static_cast<uint32_t>(distinct_count_) + static_cast<uint32_t>(d); }
  // Entry i (0 .. N-1) of the slot's ring: value, time, hashes.
  double* Value(uint32_t slot, uint32_t i) const { return values_.get() + static_cast<size_t>(slot) * size_ + i; }
  TimeMicros* Time(uint32_t slot, uint32_t i) const { return times_.get() + static_cast<size_t>(slot) * size_ + i; }
  uint64_t* Hash(uint32_t slot, uint32_t i, size_t d) const {
    return hashes_.get() + (static_cast<size_t>(slot) * size_ + i) * distinct_count_ + d;
  }
  void Rebuild(uint32_t slot);
  // Every value in the slot's window is the same. REQUIRES: one at least.
  bool RingConstant(uint32_t slot) const;

  const uint32_t size_;
  const bool keep_times_;
  const size_t distinct_count_;
  const double outlier_z_;
  const uint32_t min_samples_;
  KeyIndex keys_;
  std::unique_ptr<double, FreeDeleter> values_;
  std::unique_ptr<TimeMicros, FreeDeleter> times_;
  std::unique_ptr<uint64_t, FreeDeleter> hashes_;
  std::vector<KeyState> state_;
  std::unique_ptr<DistinctPool> pool_;
  std::vector<uint32_t> uncounted_;  // per (key, distinct aggregate)
  uint64_t seq_ = 0;
  uint64_t distinct_overflow_ = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_COUNT_WINDOWS_H_
