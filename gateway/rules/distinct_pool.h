// DistinctPool: the distinct(F) values of one rule (DESIGN.md 13.4), for all
// of its windows, in one pool of `capacity` entries (the rule's
// max_distinct) allocated at construction. Nothing is allocated afterwards.
//
// A set is a window or a pane, named by a number below `max_sets` that the
// caller chooses (for example key slot × panes + pane). A value is a 64-bit
// hash (DistinctHash: strings bytewise, numbers by value, a string and a
// number never equal); each entry holds one value of one set with its
// multiplicity, so a count window can take back the value its ring drops.
// When every entry is in use, a new value is not counted: Add() returns
// false, and the caller marks that set's result inexact.
//
// Memory: capacity × 24 bytes of entries, 2 × capacity (rounded up to a power
// of two) × 4 bytes of buckets, max_sets × 8 bytes of set heads and counts,
// and for UnionCount a scratch table of 2 × capacity × 12 bytes.
//
// Not thread-safe: one owner (the pipeline thread).
#ifndef SENSORGATE_GATEWAY_RULES_DISTINCT_POOL_H_
#define SENSORGATE_GATEWAY_RULES_DISTINCT_POOL_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace sensorgate {

// The hash distinct() counts a value by; never 0.
uint64_t DistinctHash(std::string_view text);
uint64_t DistinctHash(double number);

class DistinctPool {
 public:
  DistinctPool(uint32_t capacity, uint32_t max_sets);

  // One more occurrence of `hash` in `set`. False when the value is new to
  // the set and the pool is full (it is then not counted).
  bool Add(uint32_t set, uint64_t hash);
  // One occurrence fewer (a count window's ring dropped it); the value
  // leaves the set with its last occurrence. No effect if it is not there
  // (it was not counted when it came).
  void Remove(uint32_t set, uint64_t hash);
  // Empties the set (a pane that closes or is reused).
  void Clear(uint32_t set);
  // Distinct values in the set.
  uint32_t Count(uint32_t set) const { return sets_[set].count; }
  // Distinct values in the union of `n` sets (the panes of a sliding window).
  uint32_t UnionCount(const uint32_t* sets, size_t n);
  // Calls f(hash) for each value of the set, newest first.
  template <typename F>
  void ForEach(uint32_t set, F f) const {
    for (uint32_t i = sets_[set].head; i != kNone; i = entries_[i].next_in_set) f(entries_[i].hash);
  }

  // For a checkpoint: the set's values with their occurrences, oldest first
  // (replaces *out). Restore() in this order rebuilds the set as it was.
  void Values(uint32_t set, std::vector<std::pair<uint64_t, uint32_t>>* out) const;
  // Puts back a saved value of a set with its occurrences, as the set's
  // newest. False, with nothing changed, when the set number is out of range,
  // occurrences is 0, the value is in the set already, or the pool is full.
  bool Restore(uint32_t set, uint64_t hash, uint32_t occurrences);

  uint32_t capacity() const { return capacity_; }
  uint32_t max_sets() const { return static_cast<uint32_t>(sets_.size()); }
  uint32_t used() const { return used_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    uint64_t hash;
    uint32_t set;
    uint32_t occurrences;
    uint32_t next_in_bucket;  // or the next free entry
    uint32_t next_in_set;
  };
  struct Set {
    uint32_t head = kNone;
    uint32_t count = 0;
  };
  uint32_t Bucket(uint32_t set, uint64_t hash) const;
  uint32_t Find(uint32_t set, uint64_t hash, uint32_t** link);
  // A new entry from the free list at *link (Find()'s), as the set's newest.
  // REQUIRES: free_ != kNone.
  void Insert(uint32_t set, uint64_t hash, uint32_t occurrences, uint32_t* link);

  const uint32_t capacity_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> buckets_;  // entry index, kNone: empty chain
  std::vector<Set> sets_;
  uint32_t free_ = kNone;
  uint32_t used_ = 0;
  // UnionCount's scratch: hashes stamped with the call they belong to.
  std::vector<uint64_t> scratch_hash_;
  std::vector<uint32_t> scratch_stamp_;
  uint32_t stamp_ = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_DISTINCT_POOL_H_
