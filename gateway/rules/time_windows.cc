#include "gateway/rules/time_windows.h"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace sensorgate {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The slot of pane `number` in a ring of `ring` (numbers may be negative
// for windows that start before the epoch).
uint32_t RingIndex(int64_t number, uint32_t ring) {
  const int64_t r = number % static_cast<int64_t>(ring);
  return static_cast<uint32_t>(r < 0 ? r + ring : r);
}

size_t DistinctAggregates(const RuleConfig& rule) {
  size_t n = 0;
  for (const Aggregate& a : rule.aggregates) n += a.kind == AggregateKind::kDistinct;
  return n;
}

// Names the saved state, so another class's (or a future format's) is refused.
constexpr std::string_view kStateTag = "SGT1";

bool Fail(std::string* error, std::string what) {
  *error = "time window state: " + what;
  return false;
}

// "saved A, the rule has B" for a configuration that differs.
bool Mismatch(std::string* error, const char* what, int64_t saved, int64_t now) {
  return Fail(error, std::string(what) + " " + std::to_string(saved) + " saved, the rule has " + std::to_string(now));
}

// The windows closed once the watermark is at `watermark`: those starting at
// or before this grid index (as MoveWatermark() reckons it). False if it
// does not fit in int64 (no watermark a record could set).
bool ClosedThrough(TimeMicros watermark, int64_t length, int64_t lateness, int64_t every, int64_t* k) {
  int64_t t;
  if (__builtin_sub_overflow(watermark, length, &t) || __builtin_sub_overflow(t, lateness, &t)) return false;
  *k = FloorDiv(t, every);
  return true;
}

}  // namespace

std::unique_ptr<TimeWindows> TimeWindows::Create(const RuleConfig& rule) {
  try {
    return std::make_unique<TimeWindows>(rule);
  } catch (const std::bad_alloc&) {
    return nullptr;
  } catch (const std::length_error&) {
    return nullptr;
  }
}

TimeWindows::TimeWindows(const RuleConfig& rule)
    : rule_(rule),
      total_(rule.window == WindowKind::kTotal),
      every_(total_ ? 1 : (rule.window == WindowKind::kTumbling ? rule.length_us : rule.every_us)),
      length_(total_ ? 1 : rule.length_us),
      lateness_(total_ ? 0 : std::max<int64_t>(0, rule.lateness_us)),
      per_window_(total_ ? 1 : length_ / every_),
      ring_(total_ ? 1 : static_cast<uint32_t>(per_window_ + (lateness_ + every_ - 1) / every_)),
      distinct_count_(DistinctAggregates(rule)),
      keys_(rule.max_keys) {
  const uint64_t panes = uint64_t{rule.max_keys} * ring_;
  if (panes > UINT32_MAX / std::max<size_t>(1, distinct_count_)) throw std::bad_alloc();
  // Reserved, not touched: a key's panes become resident when it arrives.
  panes_.reserve(static_cast<size_t>(panes));
  if (distinct_count_ > 0) {
    pool_ = std::make_unique<DistinctPool>(rule.max_distinct, static_cast<uint32_t>(panes * distinct_count_));
    inexact_.reserve(static_cast<size_t>(panes * distinct_count_));
  }
  distinct_out_.resize(distinct_count_);
  exact_out_ = std::make_unique<bool[]>(std::max<size_t>(1, distinct_count_));
  if (per_window_ > 1) {
    cache_.reserve(static_cast<size_t>(panes));
    block_.reserve(rule.max_keys);
    if (distinct_count_ > 0) {
      window_pool_ = std::make_unique<DistinctPool>(rule.max_distinct,
                                                    static_cast<uint32_t>(uint64_t{rule.max_keys} * distinct_count_));
      window_sets_.reserve(rule.max_keys);
      window_inexact_.reserve(static_cast<size_t>(uint64_t{rule.max_keys} * distinct_count_));
    }
  }
}

void TimeWindows::PaneIntoWindowSets(uint32_t slot, int64_t j, int delta) {
  const uint32_t index = RingIndex(j, ring_);
  if (PaneAt(slot, index).number != j) return;
  for (size_t d = 0; d < distinct_count_; ++d) {
    const uint32_t set = SetId(slot, index, static_cast<uint32_t>(d));
    const uint32_t w = WindowSetId(slot, d);
    // Never full: the window's values are values of its panes, which fit in
    // a pool of the same size.
    pool_->ForEach(set, [&](uint64_t hash) {
      if (delta > 0) {
        (void)window_pool_->Add(w, hash);
      } else {
        window_pool_->Remove(w, hash);
      }
    });
    if (inexact_[set]) window_inexact_[w] += delta;
  }
}

void TimeWindows::MoveWindowSets(uint32_t slot, int64_t k) {
  WindowSets& w = window_sets_[slot];
  const int64_t lo = k, hi = k + per_window_ - 1;
  if (w.lo == lo) return;
  if (w.lo == INT64_MIN || lo < w.lo || lo > w.hi) {
    // No overlap (a jump, or EmitOpen() went ahead): from the panes.
    for (size_t d = 0; d < distinct_count_; ++d) {
      window_pool_->Clear(WindowSetId(slot, d));
      window_inexact_[WindowSetId(slot, d)] = 0;
    }
    w.lo = lo;
    w.hi = hi;
    for (int64_t j = lo; j <= hi; ++j) PaneIntoWindowSets(slot, j, +1);
    return;
  }
  for (int64_t j = w.lo; j < lo; ++j) PaneIntoWindowSets(slot, j, -1);
  for (int64_t j = w.hi + 1; j <= hi; ++j) PaneIntoWindowSets(slot, j, +1);
  w.lo = lo;
  w.hi = hi;
}

Accumulator& TimeWindows::CacheAt(uint32_t slot, int64_t pane) {
  return cache_[static_cast<size_t>(slot) * ring_ + RingIndex(pane, ring_)];
}

void TimeWindows::Shifted(uint32_t slot, int64_t j, TimeMicros origin, Accumulator* a) const {
  const Pane& p = PaneAt(slot, RingIndex(j, ring_));
  if (p.number != j || p.acc.count == 0) {
    *a = Accumulator();
    return;
  }
  *a = p.acc;
  a->ShiftOrigin(static_cast<double>(p.origin - origin) / 1e6);
}

// suffix(j) = pane(j) ⊕ suffix(j + 1), from the block's last pane down; the
// times count from the block's start.
const Accumulator& TimeWindows::Suffix(uint32_t slot, int64_t k) {
  const int64_t block = FloorDiv(k, per_window_);
  const int64_t last = (block + 1) * per_window_ - 1;
  const TimeMicros origin = block * per_window_ * every_;
  Accumulator a;
  BlockCache& c = block_[slot];
  if (c.suffix_block != block) {
    if (c.prefix_block == block) c.prefix_block = INT64_MIN;  // the same panes' caches
    c.suffix_block = block;
    c.suffix_stale = last;
  }
  for (int64_t j = c.suffix_stale; j >= k; --j) {
    Shifted(slot, j, origin, &a);
    if (j < last) a.Merge(CacheAt(slot, j + 1));
    CacheAt(slot, j) = a;
  }
  c.suffix_stale = std::min(c.suffix_stale, k - 1);
  return CacheAt(slot, k);
}

// prefix(j) = prefix(j - 1) ⊕ pane(j), from the block's first pane up; the
// times count from the block's start.
const Accumulator& TimeWindows::Prefix(uint32_t slot, int64_t m) {
  const int64_t block = FloorDiv(m, per_window_);
  const int64_t first = block * per_window_;
  const TimeMicros origin = first * every_;
  Accumulator a;
  BlockCache& c = block_[slot];
  if (c.prefix_block != block) {
    if (c.suffix_block == block) c.suffix_block = INT64_MIN;
    c.prefix_block = block;
    c.prefix_through = first - 1;
  }
  for (int64_t j = c.prefix_through + 1; j <= m; ++j) {
    Shifted(slot, j, origin, &a);
    if (j == first) {
      CacheAt(slot, j) = a;
    } else {
      Accumulator sum = CacheAt(slot, j - 1);
      sum.Merge(a);
      CacheAt(slot, j) = sum;
    }
  }
  c.prefix_through = std::max(c.prefix_through, m);
  return CacheAt(slot, m);
}

void TimeWindows::Touch(uint32_t slot, int64_t j) {
  BlockCache& c = block_[slot];
  const int64_t block = FloorDiv(j, per_window_);
  if (block == c.suffix_block) c.suffix_stale = std::max(c.suffix_stale, j);
  if (block == c.prefix_block) c.prefix_through = std::min(c.prefix_through, j - 1);
}

void TimeWindows::ResetPane(uint32_t slot, uint32_t index) {
  // Its values leave the window sets that hold them first.
  if (InWindowSets(slot, PaneAt(slot, index).number)) PaneIntoWindowSets(slot, PaneAt(slot, index).number, -1);
  PaneAt(slot, index) = Pane();
  for (size_t d = 0; d < distinct_count_; ++d) {
    pool_->Clear(SetId(slot, index, static_cast<uint32_t>(d)));
    inexact_[SetId(slot, index, static_cast<uint32_t>(d))] = 0;
  }
}

TimeWindows::Outcome TimeWindows::Add(std::string_view key, double value, TimeMicros time_us,
                                      const uint64_t* distinct_hashes, ResultReceiver* out) {
  const int64_t pane = total_ ? 0 : FloorDiv(time_us, every_);
  // Late: the last window holding the record (the one starting at its pane)
  // has closed.
  if (!total_ && watermark_ != INT64_MIN && watermark_ >= pane * every_ + length_ + lateness_) {
    return Outcome::kLate;
  }
  const uint32_t before = keys_.size();
  const uint32_t slot = keys_.FindOrInsert(key);
  if (slot == KeyIndex::kNoSlot) return Outcome::kTooManyKeys;
  if (slot == before) {
    panes_.resize(panes_.size() + ring_);
    inexact_.resize(inexact_.size() + ring_ * distinct_count_, 0);
    if (per_window_ > 1) {
      cache_.resize(panes_.size());
      block_.resize(keys_.size());
      if (window_pool_) {
        window_sets_.resize(keys_.size());
        window_inexact_.resize(window_inexact_.size() + distinct_count_, 0);
      }
    }
  }
  if (closed_through_ == INT64_MIN && !total_) {
    // The first record: the windows the watermark has passed are closed
    // (empty); a later record finds only those after them open.
    closed_through_ = FloorDiv(std::max(watermark_, time_us) - length_ - lateness_, every_);
  }
  // The windows the record's time closes go out first: it never belongs to
  // them (their end is at or before its time).
  MoveWatermark(time_us, out);
  const uint32_t index = RingIndex(pane, ring_);
  Pane& p = PaneAt(slot, index);
  if (p.number != pane) {
    ResetPane(slot, index);
    p.number = pane;
    p.origin = total_ ? time_us : pane * every_;
    p.min_time = p.max_time = time_us;
  }
  p.acc.Add(value, time_us, ++seq_, p.origin);
  p.min_time = std::min(p.min_time, time_us);
  p.max_time = std::max(p.max_time, time_us);
  if (per_window_ > 1) Touch(slot, pane);
  const bool in_window = InWindowSets(slot, pane);
  for (size_t d = 0; d < distinct_count_; ++d) {
    const uint32_t set = SetId(slot, index, static_cast<uint32_t>(d));
    const uint32_t values_before = pool_->Count(set);
    if (!pool_->Add(set, distinct_hashes[d])) {
      if (in_window && !inexact_[set]) ++window_inexact_[WindowSetId(slot, d)];
      inexact_[set] = 1;
      ++distinct_overflow_;
    } else if (in_window && pool_->Count(set) > values_before) {
      (void)window_pool_->Add(WindowSetId(slot, d), distinct_hashes[d]);  // a value new to the pane
    }
  }
  return Outcome::kAccepted;
}

void TimeWindows::AdvanceTo(TimeMicros time_us, ResultReceiver* out) { MoveWatermark(time_us, out); }

void TimeWindows::MoveWatermark(TimeMicros to, ResultReceiver* out) {
  if (watermark_ != INT64_MIN && to <= watermark_) return;
  const TimeMicros old = watermark_;
  watermark_ = to;
  if (total_ || closed_through_ == INT64_MIN || old == INT64_MIN) return;
  // Windows whose end + lateness the watermark has reached.
  const int64_t k_hi = FloorDiv(to - length_ - lateness_, every_);
  if (k_hi <= closed_through_) return;
  // Data is only in panes up to the old watermark's and at most ring_ older
  // (a record past the watermark joins after this): a jump in time closes
  // at most ring_ + D/S windows, not every empty one in between.
  const int64_t newest = FloorDiv(old, every_);
  const int64_t first = std::max(closed_through_ + 1, newest - ring_ - per_window_ + 1);
  const int64_t last = std::min(k_hi, newest);
  if (first <= last) CloseWindows(first, last, false, out);
  closed_through_ = k_hi;
}

const std::vector<uint32_t>& TimeWindows::Sorted() {
  if (sorted_.size() != keys_.size()) sorted_ = keys_.SlotsByKey();
  return sorted_;
}

void TimeWindows::CloseWindows(int64_t first, int64_t last, bool open, ResultReceiver* out) {
  for (int64_t k = first; k <= last; ++k) {
    for (uint32_t slot : Sorted()) {
      WindowResult r;
      if (!Result(slot, k, &r)) continue;
      r.open = open;
      out->OnResult(r);
      // Pane k belongs to no window still open: its distinct() values leave
      // the pool now, not when its ring slot is reused (max_distinct counts
      // what open windows hold).
      if (!open && !total_) {
        const uint32_t index = RingIndex(k, ring_);
        if (PaneAt(slot, index).number == k) ResetPane(slot, index);
      }
    }
  }
}

bool TimeWindows::Result(uint32_t slot, int64_t k, WindowResult* r) {
  const TimeMicros start = total_ ? 0 : k * every_;
  TimeMicros min_time = 0, max_time = 0;
  if (per_window_ == 1) {
    // Tumbling and total: the window is its pane.
    const Pane& p = PaneAt(slot, total_ ? 0 : RingIndex(k, ring_));
    if (p.number != (total_ ? 0 : k) || p.acc.count == 0) return false;
    merged_ = p.acc;
    min_time = p.min_time;
    max_time = p.max_time;
  } else {
    // The suffix of k's block, then the prefix of the next through the
    // window's last pane, with times from the window's start.
    const int64_t block = FloorDiv(k, per_window_);
    merged_ = Suffix(slot, k);
    merged_.ShiftOrigin(static_cast<double>(block * per_window_ * every_ - start) / 1e6);
    if (k != block * per_window_) {
      Accumulator next = Prefix(slot, k + per_window_ - 1);
      next.ShiftOrigin(static_cast<double>((block + 1) * per_window_ * every_ - start) / 1e6);
      merged_.Merge(next);
    }
  }
  if (merged_.count == 0) return false;
  if (distinct_count_ > 0 && per_window_ == 1) {
    const uint32_t index = total_ ? 0 : RingIndex(k, ring_);
    for (size_t d = 0; d < distinct_count_; ++d) {
      const uint32_t set = SetId(slot, index, static_cast<uint32_t>(d));
      distinct_out_[d] = pool_->Count(set);
      exact_out_[d] = !inexact_[set];
    }
  } else if (distinct_count_ > 0) {
    MoveWindowSets(slot, k);
    for (size_t d = 0; d < distinct_count_; ++d) {
      distinct_out_[d] = window_pool_->Count(WindowSetId(slot, d));
      exact_out_[d] = window_inexact_[WindowSetId(slot, d)] == 0;
    }
  }
  r->slot = slot;
  r->key = keys_.key(slot);
  r->start_us = total_ ? min_time : start;
  r->end_us = total_ ? max_time : start + length_;
  r->open = total_;
  r->values = &merged_;
  r->distinct = distinct_out_.data();
  r->distinct_exact = exact_out_.get();
  return true;
}

void TimeWindows::SaveState(std::string* out) const {
  out->append(kStateTag.data(), kStateTag.size());
  // What the layout and the restore depend on, to refuse another rule's.
  PutU8(out, total_ ? 1 : 0);
  PutI64(out, every_);
  PutI64(out, length_);
  PutI64(out, lateness_);
  PutU32(out, ring_);
  PutU32(out, static_cast<uint32_t>(distinct_count_));
  PutU32(out, keys_.max_keys());
  PutU32(out, pool_ ? pool_->capacity() : 0);
  PutI64(out, watermark_);
  PutI64(out, closed_through_);
  PutU64(out, seq_);  // `last` of merged panes is chosen by it
  PutU64(out, distinct_overflow_);
  PutU32(out, keys_.size());
  std::vector<std::pair<uint64_t, uint32_t>> values;
  for (uint32_t slot = 0; slot < keys_.size(); ++slot) {
    PutBytes(out, keys_.key(slot));
    uint32_t in_use = 0;
    for (uint32_t index = 0; index < ring_; ++index) in_use += PaneAt(slot, index).number != INT64_MIN;
    PutU32(out, in_use);
    // Panes whose windows have all closed too: their distinct() values
    // still take room in the pool until the slot is reused.
    for (uint32_t index = 0; index < ring_; ++index) {
      const Pane& p = PaneAt(slot, index);
      if (p.number == INT64_MIN) continue;
      PutI64(out, p.number);
      PutI64(out, p.origin);
      PutI64(out, p.min_time);
      PutI64(out, p.max_time);
      p.acc.SaveState(out);
      for (size_t d = 0; d < distinct_count_; ++d) {
        const uint32_t set = SetId(slot, index, static_cast<uint32_t>(d));
        PutU8(out, inexact_[set]);
        pool_->Values(set, &values);
        PutU32(out, static_cast<uint32_t>(values.size()));
        for (const auto& [hash, occurrences] : values) {
          PutU64(out, hash);
          PutU32(out, occurrences);
        }
      }
    }
  }
}

bool TimeWindows::LoadState(std::string_view* in, std::string* error) {
  StateReader r(in);
  if (!r.Tag(kStateTag)) return Fail(error, "not a time window state (no \"SGT1\" at its start)");
  const char* const truncated = "truncated";
  uint8_t total = 0;
  int64_t every = 0, length = 0, lateness = 0;
  uint32_t ring = 0, distinct_count = 0, max_keys = 0, capacity = 0, keys = 0;
  if (!r.U8(&total) || !r.I64(&every) || !r.I64(&length) || !r.I64(&lateness) || !r.U32(&ring) ||
      !r.U32(&distinct_count) || !r.U32(&max_keys) || !r.U32(&capacity)) {
    return Fail(error, truncated);
  }
  if (total != (total_ ? 1 : 0)) {
    return Fail(error, total ? "saved from a total window, the rule's is not"
                             : "the rule's window is total, the saved one not");
  }
  if (every != every_) return Mismatch(error, "window step (us)", every, every_);
  if (length != length_) return Mismatch(error, "window length (us)", length, length_);
  if (lateness != lateness_) return Mismatch(error, "lateness (us)", lateness, lateness_);
  if (ring != ring_) return Mismatch(error, "panes per key", ring, ring_);
  if (distinct_count != distinct_count_) {
    return Mismatch(error, "distinct() aggregates", distinct_count, static_cast<int64_t>(distinct_count_));
  }
  if (max_keys != keys_.max_keys()) return Mismatch(error, "max_keys", max_keys, keys_.max_keys());
  const uint32_t capacity_now = pool_ ? pool_->capacity() : 0;
  if (capacity != capacity_now) return Mismatch(error, "max_distinct", capacity, capacity_now);
  if (keys_.size() != 0) return Fail(error, "restored into windows that hold keys already");
  if (!r.I64(&watermark_) || !r.I64(&closed_through_) || !r.U64(&seq_) || !r.U64(&distinct_overflow_) ||
      !r.U32(&keys)) {
    return Fail(error, truncated);
  }
  if (watermark_ != INT64_MIN && !StateTimeInRange(watermark_)) return Fail(error, "watermark out of range");
  // closed_through_ follows the watermark once a record set it (Add(),
  // MoveWatermark()); anything else would close windows twice or never.
  if (closed_through_ != INT64_MIN) {
    int64_t k;
    if (total_ || watermark_ == INT64_MIN || !ClosedThrough(watermark_, length_, lateness_, every_, &k) ||
        k != closed_through_) {
      return Fail(error, "closed windows " + std::to_string(closed_through_) + " do not match the watermark " +
                             std::to_string(watermark_));
    }
  }
  if (keys > max_keys) return Mismatch(error, "keys", keys, max_keys);
  for (uint32_t slot = 0; slot < keys; ++slot) {
    std::string_view key;
    if (!r.Bytes(&key)) return Fail(error, truncated);
    // Keys go back in slot order, so each gets its old slot; a repeated one
    // would find its first.
    if (keys_.FindOrInsert(key) != slot) return Fail(error, "key " + std::to_string(slot) + " saved twice");
    panes_.resize(panes_.size() + ring_);
    inexact_.resize(inexact_.size() + ring_ * distinct_count_, 0);
    if (per_window_ > 1) {
      // The caches and window sets start stale: the first result rebuilds them.
      cache_.resize(panes_.size());
      block_.resize(keys_.size());
      if (window_pool_) {
        window_sets_.resize(keys_.size());
        window_inexact_.resize(window_inexact_.size() + distinct_count_, 0);
      }
    }
    uint32_t in_use = 0;
    if (!r.U32(&in_use)) return Fail(error, truncated);
    if (in_use > ring_) return Mismatch(error, "panes of a key", in_use, ring_);
    for (uint32_t n = 0; n < in_use; ++n) {
      int64_t number;
      if (!r.I64(&number)) return Fail(error, truncated);
      // A pane's grid start must be a time: number × S fits in int64.
      int64_t start;
      if (number == INT64_MIN || (total_ && number != 0) || __builtin_mul_overflow(number, every_, &start) ||
          !StateTimeInRange(start)) {
        return Fail(error, "key " + std::to_string(slot) + ": pane number " + std::to_string(number));
      }
      const uint32_t index = total_ ? 0 : RingIndex(number, ring_);
      Pane& p = PaneAt(slot, index);
      if (p.number != INT64_MIN) return Fail(error, "key " + std::to_string(slot) + ": two panes in one ring slot");
      p.number = number;
      if (!r.I64(&p.origin) || !r.I64(&p.min_time) || !r.I64(&p.max_time) || !p.acc.LoadState(&r)) {
        return Fail(error, truncated);
      }
      if (!StateTimeInRange(p.origin) || !StateTimeInRange(p.min_time) || !StateTimeInRange(p.max_time)) {
        return Fail(error, "key " + std::to_string(slot) + ": time out of range");
      }
      if (!total_ && p.origin != start) {
        return Fail(error, "key " + std::to_string(slot) + ": pane " + std::to_string(number) + " has origin " +
                               std::to_string(p.origin));
      }
      for (size_t d = 0; d < distinct_count_; ++d) {
        const uint32_t set = SetId(slot, index, static_cast<uint32_t>(d));
        uint32_t values;
        if (!r.U8(&inexact_[set]) || !r.U32(&values)) return Fail(error, truncated);
        if (inexact_[set] > 1) return Fail(error, "inexact flag " + std::to_string(inexact_[set]));
        if (values > pool_->capacity() - pool_->used()) {
          return Fail(error, "more distinct() values than max_distinct " + std::to_string(pool_->capacity()));
        }
        for (uint32_t v = 0; v < values; ++v) {
          uint64_t hash;
          uint32_t occurrences;
          if (!r.U64(&hash) || !r.U32(&occurrences)) return Fail(error, truncated);
          if (!pool_->Restore(set, hash, occurrences)) {
            return Fail(error, "key " + std::to_string(slot) + ": distinct() value repeated or with no occurrence");
          }
        }
      }
    }
  }
  return true;
}

void TimeWindows::EmitOpen(ResultReceiver* out) {
  if (total_) {
    // By start (the smallest time each key accepted), then key.
    std::vector<uint32_t> slots = Sorted();
    std::stable_sort(slots.begin(), slots.end(), [this](uint32_t a, uint32_t b) {
      return PaneAt(a, 0).min_time < PaneAt(b, 0).min_time;
    });
    for (uint32_t slot : slots) {
      WindowResult r;
      if (Result(slot, 0, &r)) out->OnResult(r);
    }
    return;
  }
  if (watermark_ == INT64_MIN) return;
  const int64_t newest = FloorDiv(watermark_, every_);
  const int64_t first = std::max(closed_through_ + 1, newest - ring_ - per_window_ + 1);
  // The open windows go on from the closed ones in order, so the block
  // caches serve them too (O(1) merges a window, not D/S). But their last
  // prefixes reach panes past the ring, whose slots hold caches the next
  // closes need: those rebuild them (at most 2 D/S merges a key).
  CloseWindows(first, newest, true, out);
  for (BlockCache& c : block_) c = BlockCache();
}

}  // namespace sensorgate
