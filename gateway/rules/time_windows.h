// TimeWindows: the tumbling, sliding and total windows of one rule, per key
// (DESIGN.md 13.3), in memory fixed at construction.
//
// Windows lie on a grid aligned to the Unix epoch: a window of length D
// starts every S (tumbling: S = D) and is kept as panes of length S, so a
// record updates one pane. Each key has a ring of D/S + ceil(lateness / S)
// panes, exactly enough: a record that is not late always finds its pane's
// slot free or holding a pane whose windows have all closed.
//
// A sliding window's result costs O(1) merges per window, not D/S: the grid
// is cut into blocks of B = D/S panes, aligned to multiples of B, so the
// window starting at pane k is the suffix of its block from k merged with
// the prefix of the next block through k + B - 1. Each key caches the
// suffixes of the block being closed and the prefixes of the next, one
// Accumulator per pane: a block's suffixes are built once (B merges per B
// windows) and the prefixes grow by one pane per window. A record that
// changes a pane whose cache is built marks it stale (a record within
// `lateness` of the watermark never does; one older costs at most B merges
// again). The merge tree depends on k alone, so a result is a pure function
// of its panes, bit for bit: an open window listed by EmitOpen() has the
// doubles it will have when it closes, and a restart that rebuilds the
// caches gives the same. distinct() counts the same way: each key keeps the
// values of the window being closed as a set of a second pool, every value
// with the number of its panes that hold it; the next window takes out the
// pane that left and adds the one that came (work in proportion to those
// panes' values, not to D/S). That pool has max_distinct entries too (the
// window's values are values of its panes) and does not count against the
// rule's max_distinct.
//
// Time: the watermark is the largest time accepted (event time; with
// @arrival the caller passes the arrival time and AdvanceTo() the clock). A
// window [start, end) closes when the watermark reaches end + lateness; its
// result goes out then, windows in order of end, then key (bytewise); a
// window that received no record has none. A record whose every window has
// closed is late and dropped. Nothing closes at the end of the input:
// EmitOpen() lists the windows still open, by start then key. A `total`
// window never closes; its start and end are the smallest and largest times
// it accepted.
//
// distinct(F) values live in a DistinctPool of max_distinct entries for the
// whole rule; a value that did not fit makes its window's count inexact.
//
// Not thread-safe: the pipeline thread owns it.
#ifndef SENSORGATE_GATEWAY_RULES_TIME_WINDOWS_H_
#define SENSORGATE_GATEWAY_RULES_TIME_WINDOWS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/rules/aggregate.h"
#include "gateway/rules/distinct_pool.h"
#include "gateway/rules/key_index.h"

namespace sensorgate {

// One window's result. Views are valid during the call only.
struct WindowResult {
  uint32_t slot = 0;  // the key's slot in this rule
  std::string_view key;
  TimeMicros start_us = 0, end_us = 0;
  bool open = false;  // EmitOpen(): not closed yet (a total window: always)
  const Accumulator* values = nullptr;
  // Per distinct() aggregate of the rule, in order: the count and whether
  // every value was counted.
  const uint32_t* distinct = nullptr;
  const bool* distinct_exact = nullptr;
};

class ResultReceiver {
 public:
  virtual ~ResultReceiver() = default;
  virtual void OnResult(const WindowResult& result) = 0;
};

class TimeWindows {
 public:
  enum class Outcome { kAccepted, kLate, kTooManyKeys };

  // nullptr when the memory cannot be had. REQUIRES: rule.window is
  // kTumbling, kSliding or kTotal, lengths validated (D a multiple of S).
  static std::unique_ptr<TimeWindows> Create(const RuleConfig& rule);
  explicit TimeWindows(const RuleConfig& rule);  // throws std::bad_alloc

  // An accepted record of the rule: its key, value (unused without a value
  // field), time, and the hash of each distinct() field (DistinctHash), in
  // the order of the rule's distinct() aggregates. Results of the windows
  // its time closes go to `out` after it joined its own.
  Outcome Add(std::string_view key, double value, TimeMicros time_us, const uint64_t* distinct_hashes,
              ResultReceiver* out);
  // Moves the watermark to `time_us` if that is later (processing time: the
  // clock), closing what it passes.
  void AdvanceTo(TimeMicros time_us, ResultReceiver* out);
  // Every window with data that has not closed, by start then key.
  void EmitOpen(ResultReceiver* out);

  // INT64_MIN until the first record.
  TimeMicros watermark() const { return watermark_; }
  uint64_t distinct_overflow() const { return distinct_overflow_; }

  // The checkpoint (DESIGN.md section 10): open windows survive a restart.
  // SaveState() appends the whole state to *out (aggregate.h's encoding):
  // watermark and what has closed, then the keys in slot order, each with
  // the panes it holds (accumulator bit for bit, times, distinct() values
  // and inexact flags), so the size follows the panes in use, not max_keys.
  // LoadState() restores it into an object freshly made from the same
  // RuleConfig (same window lengths and lateness, max_keys, max_distinct,
  // number of distinct() aggregates), reads from the front of *in and
  // advances it past what it used. On input that is truncated, malformed or
  // from another configuration it returns false with *error saying why; the
  // object is then in no useful state (discard it). Everything read is
  // bounds-checked before use.
  void SaveState(std::string* out) const;
  bool LoadState(std::string_view* in, std::string* error);

 private:
  struct Pane {
    int64_t number = INT64_MIN;  // which pane of the grid; INT64_MIN: none
    Accumulator acc;
    TimeMicros origin = 0;  // times of `acc` count from here (the pane's start)
    TimeMicros min_time = 0, max_time = 0;  // total windows: start and end
  };
  Pane& PaneAt(uint32_t slot, uint32_t index) { return panes_[static_cast<size_t>(slot) * ring_ + index]; }
  const Pane& PaneAt(uint32_t slot, uint32_t index) const { return panes_[static_cast<size_t>(slot) * ring_ + index]; }
  uint32_t SetId(uint32_t slot, uint32_t index, uint32_t d) const {
    return (slot * ring_ + index) * static_cast<uint32_t>(distinct_count_) + d;
  }
  void ResetPane(uint32_t slot, uint32_t index);
  // Per key (sliding windows): which caches of cache_ hold what.
  struct BlockCache {
    int64_t suffix_block = INT64_MIN;  // suffixes of this block ...
    int64_t suffix_stale = 0;          // ... are valid for panes after this one
    int64_t prefix_block = INT64_MIN;  // prefixes of this block ...
    int64_t prefix_through = 0;        // ... are valid through this pane
  };
  Accumulator& CacheAt(uint32_t slot, int64_t pane);
  // Pane `j` of `slot` with times from `origin` into *a (empty if no data).
  void Shifted(uint32_t slot, int64_t j, TimeMicros origin, Accumulator* a) const;
  // Suffix of k's block from k; prefix of m's block through m (from the
  // caches, built as far as needed).
  const Accumulator& Suffix(uint32_t slot, int64_t k);
  const Accumulator& Prefix(uint32_t slot, int64_t m);
  // A record changed pane `j` of `slot`.
  void Touch(uint32_t slot, int64_t j);
  // Sliding windows with distinct(): the key's window sets hold the values
  // of its panes lo..hi (kept so whatever happens to those panes).
  struct WindowSets {
    int64_t lo = INT64_MIN, hi = INT64_MIN;
  };
  uint32_t WindowSetId(uint32_t slot, size_t d) const {
    return slot * static_cast<uint32_t>(distinct_count_) + static_cast<uint32_t>(d);
  }
  bool InWindowSets(uint32_t slot, int64_t j) const {
    return window_pool_ && window_sets_[slot].lo != INT64_MIN && j >= window_sets_[slot].lo &&
           j <= window_sets_[slot].hi;
  }
  // Makes the window sets of `slot` those of the window starting at pane k.
  void MoveWindowSets(uint32_t slot, int64_t k);
  // Adds (+1) or takes out (-1) pane j's values (none if it holds no data).
  void PaneIntoWindowSets(uint32_t slot, int64_t j, int delta);
  // Closes the windows starting at grid index first..last (in order).
  void CloseWindows(int64_t first, int64_t last, bool open, ResultReceiver* out);
  // The result of `slot`'s window starting at grid index k, if it has data
  // (moves the block caches forward).
  bool Result(uint32_t slot, int64_t k, WindowResult* r);
  void MoveWatermark(TimeMicros to, ResultReceiver* out);
  const std::vector<uint32_t>& Sorted();

  const RuleConfig rule_;
  const bool total_;
  const int64_t every_, length_, lateness_;
  const int64_t per_window_;  // D / S panes
  const uint32_t ring_;       // P panes per key
  size_t distinct_count_ = 0;
  KeyIndex keys_;
  std::vector<Pane> panes_;
  std::vector<Accumulator> cache_;  // sliding: per pane, its block's suffix or prefix
  std::vector<BlockCache> block_;   // sliding: per key
  std::unique_ptr<DistinctPool> window_pool_;  // sliding with distinct(): per key and distinct()
  std::vector<WindowSets> window_sets_;        // per key
  std::vector<uint32_t> window_inexact_;       // per key and distinct(): inexact panes in lo..hi
  std::unique_ptr<DistinctPool> pool_;
  std::vector<uint8_t> inexact_;  // per (pane, distinct aggregate)
  TimeMicros watermark_ = INT64_MIN;
  int64_t closed_through_ = INT64_MIN;  // windows starting at or before this grid index are closed
  uint64_t seq_ = 0;
  uint64_t distinct_overflow_ = 0;
  std::vector<uint32_t> sorted_;
  // Scratch for results (sized once).
  Accumulator merged_;
  std::vector<uint32_t> distinct_out_;
  std::unique_ptr<bool[]> exact_out_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_TIME_WINDOWS_H_
