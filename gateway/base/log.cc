#include "gateway/base/log.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace sensorgate {
namespace {

LogLevel g_level = LogLevel::kInfo;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= static_cast<int>(g_level); }

void Log(LogLevel level, const char* format, ...) {
  if (!LogEnabled(level)) return;
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  char line[2048];
  int n = journal ? std::snprintf(line, sizeof line, "<%d>", static_cast<int>(level))
                  : std::snprintf(line, sizeof line, "sensorgate: %s: ", LevelName(level));
  va_list ap;
  va_start(ap, format);
  const int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, format, ap);
  va_end(ap);
  n = m < 0 ? n : std::min<int>(n + m, static_cast<int>(sizeof line) - 2);
  line[n++] = '\n';
  std::fwrite(line, 1, static_cast<size_t>(n), stderr);
}

bool RateLimiter::Allow(int64_t now_us) {
  if (last_us_ != 0) {
    tokens_ += static_cast<double>(now_us - last_us_) * 1e-6 * rate_;
    if (tokens_ > burst_) tokens_ = burst_;
  }
  last_us_ = now_us;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  ++suppressed_;
  return false;
}

uint64_t RateLimiter::TakeSuppressed() {
  const uint64_t s = suppressed_;
  suppressed_ = 0;
  return s;
}

}  // namespace sensorgate
