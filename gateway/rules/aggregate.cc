#include "gateway/rules/aggregate.h"

#include <algorithm>
#include <cmath>

#include "gateway/rules/window.h"

namespace sensorgate {
namespace {

double Seconds(TimeMicros time_us, TimeMicros origin_us) {
  return static_cast<double>(time_us - origin_us) / 1e6;
}

}  // namespace

void Accumulator::Add(double value, TimeMicros time_us, uint64_t seq, TimeMicros origin_us) {
  const double ts = Seconds(time_us, origin_us);
  const double n = static_cast<double>(++count);
  NeumaierAdd(&sum, &sum_c, value);
  min = std::min(min, value);
  max = std::max(max, value);
  if (seq > last_seq) {
    last = value;
    last_seq = seq;
  }
  const double dv = value - mean;
  mean += dv / n;
  m2 += dv * (value - mean);
  const double dt = ts - mean_t;
  mean_t += dt / n;
  m2_t += dt * (ts - mean_t);
  c_tv += dt * (value - mean);
}

void Accumulator::Remove(double value, TimeMicros time_us, TimeMicros origin_us) {
  if (count <= 1) {
    const double keep_min = min, keep_max = max, keep_last = last;
    const uint64_t keep_seq = last_seq;
    *this = Accumulator();
    min = keep_min;
    max = keep_max;
    last = keep_last;
    last_seq = keep_seq;
    return;
  }
  const double ts = Seconds(time_us, origin_us);
  const double rest = static_cast<double>(count - 1);
  NeumaierAdd(&sum, &sum_c, -value);
  // Add() made the current state from the one before; undo it step by step.
  const double mean_before = mean - (value - mean) / rest;
  const double mean_t_before = mean_t - (ts - mean_t) / rest;
  c_tv -= (ts - mean_t_before) * (value - mean);
  m2 -= (value - mean_before) * (value - mean);
  m2_t -= (ts - mean_t_before) * (ts - mean_t);
  mean = mean_before;
  mean_t = mean_t_before;
  m2 = std::max(0.0, m2);
  m2_t = std::max(0.0, m2_t);
  --count;
}

void Accumulator::Merge(const Accumulator& o) {
  if (o.count == 0) return;
  if (count == 0) {
    *this = o;
    return;
  }
  const double n1 = static_cast<double>(count), n2 = static_cast<double>(o.count);
  const double n = n1 + n2;
  NeumaierAdd(&sum, &sum_c, o.sum);
  NeumaierAdd(&sum, &sum_c, o.sum_c);
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  if (o.last_seq > last_seq) {
    last = o.last;
    last_seq = o.last_seq;
  }
  // Chan et al.: the deviations between the two means, weighted.
  const double dv = o.mean - mean, dt = o.mean_t - mean_t;
  const double w = n1 * n2 / n;
  m2 += o.m2 + dv * dv * w;
  m2_t += o.m2_t + dt * dt * w;
  c_tv += o.c_tv + dt * dv * w;
  mean += dv * (n2 / n);
  mean_t += dt * (n2 / n);
  count += o.count;
}

double Accumulator::Stddev() const { return std::sqrt(std::max(0.0, m2 / static_cast<double>(count))); }

bool Accumulator::Slope(double* per_second) const {
  if (count < 2 || !(m2_t > 0)) return false;
  *per_second = c_tv / m2_t;
  return true;
}

}  // namespace sensorgate
