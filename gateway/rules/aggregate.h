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
//
// Also here, as every window class holds accumulators: the binary encoding
// the rule engine's checkpoint state is saved in (PutU32() ... and
// StateReader, below).
#ifndef SENSORGATE_GATEWAY_RULES_AGGREGATE_H_
#define SENSORGATE_GATEWAY_RULES_AGGREGATE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "gateway/base/time_util.h"

namespace sensorgate {

class StateReader;

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

  // Every field, bit for bit (96 bytes; StateWriter's encoding), for the
  // checkpoint's SaveState() of the window classes.
  void SaveState(std::string* out) const;
  // False when `in` ends first.
  bool LoadState(StateReader* in);
};

// The binary encoding of the rule engine's saved state (SaveState() and
// LoadState() of CountWindows, TimeWindows, Baselines): fixed-width
// little-endian integers, doubles as their IEEE 754 bit patterns (so a
// restored window is bit-for-bit the saved one: NaN payloads, -0, and the
// compensation terms included), byte strings as a u32 length then the bytes.
// Nothing is aligned or padded.
void PutU8(std::string* out, uint8_t v);
void PutU32(std::string* out, uint32_t v);
void PutU64(std::string* out, uint64_t v);
inline void PutI64(std::string* out, int64_t v) { PutU64(out, static_cast<uint64_t>(v)); }
void PutDouble(std::string* out, double v);
void PutBytes(std::string* out, std::string_view bytes);

// A time a restored state may hold: within ±kMaxTimeMicros (inputs are in
// [0, kMaxTimeMicros]), so the difference of two never overflows.
inline bool StateTimeInRange(TimeMicros t) { return t >= -kMaxTimeMicros && t <= kMaxTimeMicros; }

// Reads that encoding from the front of a string_view, advancing it. Every
// read checks that the bytes are there first and returns false (consuming
// nothing) when they are not, so truncated input is never read past.
class StateReader {
 public:
  explicit StateReader(std::string_view* in) : in_(in) {}
  bool U8(uint8_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool I64(int64_t* v);
  bool Double(double* v);
  // A u32 length then that many bytes (a view into the input).
  bool Bytes(std::string_view* v);
  // The next `n` bytes equal `tag` (a class's magic), consumed if so.
  bool Tag(std::string_view tag);
  size_t remaining() const { return in_->size(); }

 private:
  bool Take(size_t n, const unsigned char** p);
  std::string_view* in_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_AGGREGATE_H_
