#include "gateway/rules/time_windows.h"

#include <algorithm>
#include <new>
#include <stdexcept>

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
  union_sets_.reserve(static_cast<size_t>(per_window_));
  set_ids_.reserve(static_cast<size_t>(per_window_));
}

void TimeWindows::ResetPane(uint32_t slot, uint32_t index) {
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
  for (size_t d = 0; d < distinct_count_; ++d) {
    const uint32_t set = SetId(slot, index, static_cast<uint32_t>(d));
    if (!pool_->Add(set, distinct_hashes[d])) {
      inexact_[set] = 1;
      ++distinct_overflow_;
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
    }
  }
}

bool TimeWindows::Result(uint32_t slot, int64_t k, WindowResult* r) {
  merged_ = Accumulator();
  for (size_t d = 0; d < distinct_count_; ++d) exact_out_[d] = true;
  union_sets_.clear();
  const TimeMicros start = total_ ? 0 : k * every_;
  TimeMicros min_time = 0, max_time = 0;
  for (int64_t j = k; j < k + per_window_; ++j) {
    const uint32_t index = total_ ? 0 : RingIndex(j, ring_);
    const Pane& p = PaneAt(slot, index);
    if (p.number != (total_ ? 0 : j) || p.acc.count == 0) continue;
    Accumulator a = p.acc;
    if (!total_) a.ShiftOrigin(static_cast<double>(p.origin - start) / 1e6);
    merged_.Merge(a);
    min_time = p.min_time;
    max_time = p.max_time;
    union_sets_.push_back(static_cast<uint32_t>(index));
  }
  if (merged_.count == 0) return false;
  for (size_t d = 0; d < distinct_count_; ++d) {
    set_ids_.clear();
    for (uint32_t index : union_sets_) {
      const uint32_t set = SetId(slot, index, static_cast<uint32_t>(d));
      if (inexact_[set]) exact_out_[d] = false;
      set_ids_.push_back(set);
    }
    distinct_out_[d] = set_ids_.size() == 1 ? pool_->Count(set_ids_[0]) : pool_->UnionCount(set_ids_.data(), set_ids_.size());
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

void TimeWindows::EmitOpen(ResultReceiver* out) {
  if (total_) {
    for (uint32_t slot : Sorted()) {
      WindowResult r;
      if (Result(slot, 0, &r)) out->OnResult(r);
    }
    return;
  }
  if (watermark_ == INT64_MIN) return;
  const int64_t newest = FloorDiv(watermark_, every_);
  const int64_t first = std::max(closed_through_ + 1, newest - ring_ - per_window_ + 1);
  CloseWindows(first, newest, true, out);
}

}  // namespace sensorgate
