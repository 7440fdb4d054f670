// Time as sensorgate keeps it: whole microseconds since the Unix epoch, UTC,
// in an int64_t. Never a double. These functions are pure and thread-safe.
#ifndef SENSORGATE_GATEWAY_BASE_TIME_UTIL_H_
#define SENSORGATE_GATEWAY_BASE_TIME_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/base/clock.h"

namespace sensorgate {

using TimeMicros = int64_t;

constexpr int64_t kMicrosPerSecond = 1000000;
// Largest time we read or write: 9999-12-31T23:59:59.999999Z.
constexpr TimeMicros kMaxTimeMicros = 253402300799999999LL;

// Parses an RFC 3339 date-time ("2023-03-15T12:15:37.166944Z", offsets such as
// "+02:00" allowed, 't'/'z' and a space separator accepted). Fractions keep
// their first six digits exactly; further digits are dropped. Returns false
// for anything else, including out-of-range fields and times before 1970.
// With a cache, the date and time to the minute of the last text parsed with
// it are reused when the next text starts with the same 16 bytes (one parser
// thread per cache).
struct Rfc3339Cache {
  char prefix[16] = {};  // "YYYY-MM-DDTHH:MM" of the last valid text
  int64_t minute = -1;   // its seconds since the epoch; -1: empty
};
bool ParseRfc3339(std::string_view text, TimeMicros* out, Rfc3339Cache* cache = nullptr);

// Parses a unix time written as a decimal number: at or above 1e11 it is
// milliseconds, below it seconds. Fractions are converted exactly (no double
// rounding) when written without an exponent. Negative values are refused.
bool ParseUnixNumber(std::string_view text, TimeMicros* out);

// Parses either form: RFC 3339 if the text is not a plain number.
bool ParseTimeText(std::string_view text, TimeMicros* out, Rfc3339Cache* cache = nullptr);

// Writes "YYYY-MM-DDTHH:MM:SS.ffffffZ" (27 bytes) into buf.
// REQUIRES: 0 <= t <= kMaxTimeMicros, buf has room for 27 bytes.
// Returns the number of bytes written (27).
size_t FormatRfc3339(TimeMicros t, char* buf);
std::string FormatRfc3339(TimeMicros t);

// Parses a duration with a unit: "500ms", "30s", "5m", "2h", "1d" (also "us").
// Returns false if the unit is missing or unknown or the number overflows.
bool ParseDuration(std::string_view text, int64_t* micros);

// Formats a duration with the largest unit that divides it ("30s", "5m").
std::string FormatDuration(int64_t micros);


}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_TIME_UTIL_H_
