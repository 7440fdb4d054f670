// Logging to standard error. Under systemd (JOURNAL_STREAM set) each line
// starts with the syslog priority ("<3>" error ... "<7>" debug) so journald
// files it at the right level; on a terminal it reads "sensorgate: error: ...".
// Messages about bad input go through a RateLimiter so a flood of bad records
// cannot flood the log. Call from the pipeline thread (writes are whole lines).
#ifndef SENSORGATE_GATEWAY_BASE_LOG_H_
#define SENSORGATE_GATEWAY_BASE_LOG_H_

#include <cstdint>

#include "gateway/base/clock.h"

namespace sensorgate {

enum class LogLevel { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// A token bucket: `burst` messages at once, then `per_second` a second.
class RateLimiter {
 public:
  RateLimiter(double burst, double per_second) : burst_(burst), rate_(per_second), tokens_(burst) {}
  // True if a message may be written at monotonic time now_us; otherwise
  // counts it as suppressed.
  bool Allow(int64_t now_us);
  // Messages suppressed since the last call; resets the count.
  uint64_t TakeSuppressed();

 private:
  double burst_, rate_, tokens_;
  int64_t last_us_ = 0;
  uint64_t suppressed_ = 0;
};


}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_LOG_H_
