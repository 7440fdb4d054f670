#include "gateway/rules/rule_alert.h"

#include <cmath>

namespace sensorgate {

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
  // Two passes over at most `baseline` values: exact enough, no drift.
  double sum = 0;
  for (uint32_t i = 0; i < baseline_; ++i) sum += r[i];
  const double mean = sum / baseline_;
  double ss = 0;
  for (uint32_t i = 0; i < baseline_; ++i) ss += (r[i] - mean) * (r[i] - mean);
  const double sd = std::sqrt(ss / baseline_);
  if (!(sd > 0)) return false;
  *z = (x - mean) / sd;
  return true;
}

void Baselines::Push(uint32_t slot, double x) {
  if (baseline_ == 0) return;
  values_[static_cast<size_t>(slot) * baseline_ + head_[slot]] = x;
  head_[slot] = (head_[slot] + 1) % baseline_;
  if (filled_[slot] < baseline_) ++filled_[slot];
}

}  // namespace sensorgate
