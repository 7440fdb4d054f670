// Accumulator: the aggregates of DESIGN.md section 13.4 over one window (or
// one pane of a sliding window), in a fixed-size struct with no allocation.
//
//   count, sum, avg, min, max, last, stddev (population), slope (least
//   squares of value against time, per second)
//
// (distinct(F) is kept apart, in a rule-wide pool: distinct_pool.h.)
//
// Nothing drifts:
//  - the sum is Neumaier-compensated;
//  - stddev and slope use Welford's running mean and co-moments, updated
//    with the deviation from the current mean (never a difference of two
//    large sums of squares), and merged with Chan's pairwise formulas, so
//    panes combine into their window without loss;
//  - times enter relative to an origin the caller fixes per key (an int64
//    difference, exact), in seconds, so a 1.7e9 s epoch offset costs no
//    precision.
// Remove() undoes an Add() (count windows, whose ring drops its oldest
// value); its rounding is undone by the caller recomputing from the ring
// once per wrap (as WindowTable does for the rule hot).
//
// Plain value type; not thread-safe.
#ifndef SENSORGATE_GATEWAY_RULES_AGGREGATE_H_
#define SENSORGATE_GATEWAY_RULES_AGGREGATE_H_

#include <cstdint>
#include <limits>

#include "gateway/base/time_util.h"

namespace sensorgate {

struct Accumulator {
  uint64_t count = 0;
  double sum = 0, sum_c = 0;  // Neumaier: the sum is sum + sum_c
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double last = 0;
  uint64_t last_seq = 0;      // arrival order of `last` (0: none)
  // Welford: mean of the values and sum of squared deviations from it.
  double mean = 0, m2 = 0;
  // Time (seconds after the origin): mean, squared deviations, and the
  // co-moment of time and value.
  double mean_t = 0, m2_t = 0, c_tv = 0;

  // A value at `time_us`, the seq-th to arrive (seq > 0, increasing);
  // `origin_us` is the same for every accumulator that is merged together.
  void Add(double value, TimeMicros time_us, uint64_t seq, TimeMicros origin_us);
  // Takes back an Add() of the same value and time (min, max and last are
  // not undone: a count window recomputes them from its ring).
  // REQUIRES: count > 0.
  void Remove(double value, TimeMicros time_us, TimeMicros origin_us);
  // This accumulator and `other` as one (same origin).
  void Merge(const Accumulator& other);
  // The same values with times counted from an origin `seconds` earlier
  // (the moments about the mean do not change).
  void ShiftOrigin(double seconds) {
    if (count > 0) mean_t += seconds;
  }

  double Sum() const { return sum + sum_c; }
  // REQUIRES: count > 0 for Avg, Stddev.
  double Avg() const { return Sum() / static_cast<double>(count); }
  double Stddev() const;
  // False (the result is null) with fewer than two distinct times.
  bool Slope(double* per_second) const;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_AGGREGATE_H_
