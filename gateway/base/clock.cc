#include "gateway/base/clock.h"

#include <time.h>

namespace sensorgate {
namespace {

int64_t Read(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

class RealClock : public Clock {
 public:
  int64_t MonotonicUs() const override { return Read(CLOCK_MONOTONIC); }
  int64_t WallUs() const override { return Read(CLOCK_REALTIME); }
};

}  // namespace

Clock* SystemClock() {
  static RealClock clock;
  return &clock;
}

int64_t MonotonicMicros() { return Read(CLOCK_MONOTONIC); }
int64_t WallClockMicros() { return Read(CLOCK_REALTIME); }

}  // namespace sensorgate
