#include "gateway/rules/aggregate.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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

void Accumulator::SaveState(std::string* out) const {
  PutU64(out, count);
  PutDouble(out, sum);
  PutDouble(out, sum_c);
  PutDouble(out, min);
  PutDouble(out, max);
  PutDouble(out, last);
  PutU64(out, last_seq);
  PutDouble(out, mean);
  PutDouble(out, m2);
  PutDouble(out, mean_t);
  PutDouble(out, m2_t);
  PutDouble(out, c_tv);
}

bool Accumulator::LoadState(StateReader* in) {
  return in->U64(&count) && in->Double(&sum) && in->Double(&sum_c) && in->Double(&min) && in->Double(&max) &&
         in->Double(&last) && in->U64(&last_seq) && in->Double(&mean) && in->Double(&m2) && in->Double(&mean_t) &&
         in->Double(&m2_t) && in->Double(&c_tv);
}

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}

void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}

void PutDouble(std::string* out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  PutU64(out, bits);
}

void PutBytes(std::string* out, std::string_view bytes) {
  PutU32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes.data(), bytes.size());
}

bool StateReader::Take(size_t n, const unsigned char** p) {
  if (in_->size() < n) return false;
  *p = reinterpret_cast<const unsigned char*>(in_->data());
  in_->remove_prefix(n);
  return true;
}

bool StateReader::U8(uint8_t* v) {
  const unsigned char* p;
  if (!Take(1, &p)) return false;
  *v = p[0];
  return true;
}

bool StateReader::U32(uint32_t* v) {
  const unsigned char* p;
  if (!Take(4, &p)) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return true;
}

bool StateReader::U64(uint64_t* v) {
  const unsigned char* p;
  if (!Take(8, &p)) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return true;
}

bool StateReader::I64(int64_t* v) {
  uint64_t u;
  if (!U64(&u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

bool StateReader::Double(double* v) {
  uint64_t bits;
  if (!U64(&bits)) return false;
  std::memcpy(v, &bits, sizeof bits);
  return true;
}

bool StateReader::Bytes(std::string_view* v) {
  // The length is checked against what is left before anything is taken.
  if (in_->size() < 4) return false;
  std::string_view peek = *in_;
  StateReader r(&peek);
  uint32_t n;
  (void)r.U32(&n);
  if (peek.size() < n) return false;
  *v = peek.substr(0, n);
  in_->remove_prefix(4 + static_cast<size_t>(n));
  return true;
}

bool StateReader::Tag(std::string_view tag) {
  if (in_->substr(0, tag.size()) != tag) return false;
  in_->remove_prefix(tag.size());
  return true;
}

}  // namespace sensorgate
