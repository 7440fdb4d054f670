// Clock: where sensorgate reads the time, so tests can set it.
//
// Two readings: the monotonic clock (timers, backoff, rate limits, the
// checkpoint interval) and the wall clock (arrival times, stale alerts), both
// in whole microseconds. Production code takes a `Clock*` (or uses
// SystemClock()); tests pass a FakeClock and advance it instead of sleeping.
//
// SystemClock() may be used from any thread. A FakeClock belongs to the test
// thread that owns it.
#ifndef SENSORGATE_GATEWAY_BASE_CLOCK_H_
#define SENSORGATE_GATEWAY_BASE_CLOCK_H_

#include <cstdint>

namespace sensorgate {

// A time in the future that never comes: "no timer".
constexpr int64_t kNever = INT64_MAX;

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds on a clock that never goes back (CLOCK_MONOTONIC).
  virtual int64_t MonotonicUs() const = 0;
  // Microseconds since the Unix epoch (CLOCK_REALTIME).
  virtual int64_t WallUs() const = 0;
};

// The real clocks. Never null; lives for the whole process.
Clock* SystemClock();

// The real clocks read directly, for code that takes no Clock (replay,
// one-off timings).
int64_t MonotonicMicros();
int64_t WallClockMicros();

// A clock that moves only when told. Both readings move together.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t monotonic_us = 1'000'000, int64_t wall_us = 1'700'000'000'000'000)
      : mono_(monotonic_us), wall_(wall_us) {}
  int64_t MonotonicUs() const override { return mono_; }
  int64_t WallUs() const override { return wall_; }
  void Advance(int64_t us) {
    mono_ += us;
    wall_ += us;
  }

 private:
  int64_t mono_, wall_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_CLOCK_H_
