#include "gateway/rules/rule_alert.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sensorgate {
namespace {

// Names the saved state, so another class's (or a future format's) is refused.
constexpr std::string_view kStateTag = "SGB1";

bool Fail(std::string* error, std::string what) {
  *error = "baseline state: " + what;
  return false;
}

}  // namespace

bool AggregateValue(const Aggregate& a, const Accumulator& v, uint32_t distinct, double* out) {
  if (v.count == 0) return false;
  switch (a.kind) {
    case AggregateKind::kCount: *out = static_cast<double>(v.count); return true;
    case AggregateKind::kSum: *out = v.Sum(); return true;
    case AggregateKind::kAvg: *out = v.Avg(); return true;
    case AggregateKind::kMin: *out = v.min; return true;
    case AggregateKind::kMax: *out = v.max; return true;
    case AggregateKind::kStddev: *out = v.Stddev(); return true;
    case AggregateKind::kLast: *out = v.last; return true;
    case AggregateKind::kSlope: return v.Slope(out);
    case AggregateKind::kDistinct: *out = static_cast<double>(distinct); return true;
  }
  return false;
}

bool Compares(CompareOp op, double x, double t) {
  switch (op) {
    case CompareOp::kGt: return x > t;
    case CompareOp::kGe: return x >= t;
    case CompareOp::kLt: return x < t;
    case CompareOp::kLe: return x <= t;
    case CompareOp::kEq: return x == t;
    case CompareOp::kNe: return x != t;
  }
  return false;
}

Baselines::Baselines(uint32_t baseline, uint32_t max_keys)
    : baseline_(baseline), filled_(max_keys, 0), head_(max_keys, 0) {
  values_.resize(static_cast<size_t>(baseline) * max_keys);
}

bool Baselines::Zscore(uint32_t slot, double x, double* z) const {
  if (baseline_ == 0 || filled_[slot] < baseline_) return false;
  const double* r = values_.data() + static_cast<size_t>(slot) * baseline_;
  // A history of one value has a stddev of exactly 0 (rounding in the sums
  // below could make it tiny instead, and the zscore huge): null.
  bool constant = true;
  for (uint32_t i = 1; i < baseline_ && constant; ++i) constant = r[i] == r[0];
  if (constant) return false;
  // Two passes over at most `baseline` values: exact enough, no drift.
  double sum = 0;
  for (uint32_t i = 0; i < baseline_; ++i) sum += r[i];
  const double mean = sum / baseline_;
  double ss = 0;
  for (uint32_t i = 0; i < baseline_; ++i) ss += (r[i] - mean) * (r[i] - mean);
  const double sd = std::sqrt(ss / baseline_);
  // Equal windows give equal values, but windows merged from their panes in
  // another order (a sliding window's blocks) may differ in the last bits:
  // a stddev within 1e-12 of the history's magnitude is that rounding, a
  // constant history, not a zscore of 1e16.
  double scale = 0;
  for (uint32_t i = 0; i < baseline_; ++i) scale = std::max(scale, std::fabs(r[i]));
  if (!(sd > 1e-12 * scale)) return false;
  *z = (x - mean) / sd;
  return true;
}

void Baselines::Push(uint32_t slot, double x) {
  if (baseline_ == 0) return;
  values_[static_cast<size_t>(slot) * baseline_ + head_[slot]] = x;
  head_[slot] = (head_[slot] + 1) % baseline_;
  if (filled_[slot] < baseline_) ++filled_[slot];
}

void Baselines::SaveState(std::string* out) const {
  out->append(kStateTag.data(), kStateTag.size());
  const uint32_t max_keys = static_cast<uint32_t>(filled_.size());
  PutU32(out, baseline_);
  PutU32(out, max_keys);
  uint32_t keys = 0;
  for (uint32_t slot = 0; slot < max_keys; ++slot) keys += filled_[slot] > 0;
  PutU32(out, keys);
  for (uint32_t slot = 0; slot < max_keys; ++slot) {
    if (filled_[slot] == 0) continue;
    PutU32(out, slot);
    PutU32(out, filled_[slot]);
    PutU32(out, head_[slot]);
    // In storage order, not oldest first: Zscore() sums them in that order,
    // and a restored baseline must give the same bits. Until the ring is
    // full they are its first `filled` entries.
    const double* r = values_.data() + static_cast<size_t>(slot) * baseline_;
    for (uint32_t i = 0; i < filled_[slot]; ++i) PutDouble(out, r[i]);
  }
}

bool Baselines::LoadState(std::string_view* in, std::string* error) {
  StateReader r(in);
  if (!r.Tag(kStateTag)) return Fail(error, "not a baseline state (no \"SGB1\" at its start)");
  const char* const truncated = "truncated";
  const uint32_t max_keys_now = static_cast<uint32_t>(filled_.size());
  uint32_t baseline = 0, max_keys = 0, keys = 0;
  if (!r.U32(&baseline) || !r.U32(&max_keys) || !r.U32(&keys)) return Fail(error, truncated);
  if (baseline != baseline_) {
    return Fail(error, "baseline " + std::to_string(baseline) + " saved, the rule has " + std::to_string(baseline_));
  }
  if (max_keys != max_keys_now) {
    return Fail(error, "max_keys " + std::to_string(max_keys) + " saved, the rule has " + std::to_string(max_keys_now));
  }
  if (keys > max_keys_now) return Fail(error, std::to_string(keys) + " keys, max_keys " + std::to_string(max_keys_now));
  uint64_t next = 0;  // slots come in increasing order, each once
  for (uint32_t n = 0; n < keys; ++n) {
    uint32_t slot = 0, filled = 0, head = 0;
    if (!r.U32(&slot) || !r.U32(&filled) || !r.U32(&head)) return Fail(error, truncated);
    if (slot < next || slot >= max_keys_now) {
      return Fail(error, "slot " + std::to_string(slot) + " out of order or beyond max_keys");
    }
    next = uint64_t{slot} + 1;
    // Push() fills the ring from entry 0, head following, until it is full.
    if (filled == 0 || filled > baseline_ || head >= baseline_ || (filled < baseline_ && head != filled)) {
      return Fail(error, "slot " + std::to_string(slot) + ": " + std::to_string(filled) + " values, next at " +
                             std::to_string(head) + ", baseline " + std::to_string(baseline_));
    }
    if (r.remaining() / 8 < filled) return Fail(error, truncated);
    double* values = values_.data() + static_cast<size_t>(slot) * baseline_;
    for (uint32_t i = 0; i < filled; ++i) (void)r.Double(&values[i]);
    filled_[slot] = filled;
    head_[slot] = head;
  }
  return true;
}

}  // namespace sensorgate
