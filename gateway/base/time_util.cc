#include "gateway/base/time_util.h"

#include <chrono>
#include <cmath>
#include <cstring>

namespace sensorgate {
namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

void Put(char* b, unsigned v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    b[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

namespace {

// "YYYY-MM-DDTHH:MM" (16 bytes) to seconds since the epoch of its minute;
// false when a field is not a digit or is out of range.
bool ParseMinute(const unsigned char* c, int64_t* out) {
  auto d = [c](size_t i) { return static_cast<unsigned>(c[i]) - '0'; };
  if ((d(0) > 9) | (d(1) > 9) | (d(2) > 9) | (d(3) > 9) | (d(5) > 9) | (d(6) > 9) | (d(8) > 9) |
      (d(9) > 9) | (d(11) > 9) | (d(12) > 9) | (d(14) > 9) | (d(15) > 9)) {
    return false;
  }
  if (c[4] != '-' || c[7] != '-' || (c[10] != 'T' && c[10] != 't' && c[10] != ' ') || c[13] != ':') return false;
  const unsigned year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
  const unsigned mon = d(5) * 10 + d(6), day = d(8) * 10 + d(9);
  const unsigned hour = d(11) * 10 + d(12), min = d(14) * 10 + d(15);
  if (mon < 1 || mon > 12 || day < 1 || day > DaysInMonth(year, mon) || hour > 23 || min > 59) return false;
  *out = DaysFromCivil(year, mon, day) * 86400 + hour * 3600 + min * 60;
  return true;
}

}  // namespace

bool ParseRfc3339(std::string_view s, TimeMicros* out, Rfc3339Cache* cache) {
  // Fixed positions first: "YYYY-MM-DDTHH:MM:SS", checked digit by digit
  // without loops (this runs once per record). Records of the same minute
  // as the last one reuse its date and time to the minute.
  if (s.size() < 20) return false;
  const unsigned char* c = reinterpret_cast<const unsigned char*>(s.data());
  auto d = [c](size_t i) { return static_cast<unsigned>(c[i]) - '0'; };
  int64_t minute = 0;
  if (cache != nullptr && cache->minute >= 0 && std::memcmp(c, cache->prefix, sizeof cache->prefix) == 0) {
    minute = cache->minute;
  } else {
    if (!ParseMinute(c, &minute)) return false;
    if (cache != nullptr) {
      std::memcpy(cache->prefix, c, sizeof cache->prefix);
      cache->minute = minute;
    }
  }
  if (c[16] != ':' || d(17) > 9 || d(18) > 9) return false;
  const unsigned sec = d(17) * 10 + d(18);
  if (sec > 60) return false;
  size_t p = 19;
  int64_t frac_us = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (s.size() == 27 && s[19] == '.' && (s[26] == 'Z' || s[26] == 'z')) {
    // The common form, ".ffffffZ": the six digits in one word.
    uint64_t w;
    std::memcpy(&w, c + 19, 8);  // '.', six digits, 'Z'
    constexpr uint64_t kDigits = 0x00FFFFFFFFFFFF00ULL;
    if ((w & kDigits & 0xF0F0F0F0F0F0F0F0ULL) == (kDigits & 0x3030303030303030ULL) &&
        ((w + 0x0606060606060606ULL) & kDigits & 0xF0F0F0F0F0F0F0F0ULL) == (kDigits & 0x3030303030303030ULL)) {
      // In memory order the bytes are d1..d6: byte i of the word is digit
      // i + 1. Pairs first (d1d2 in byte 0, d3d4 in byte 2, d5d6 in byte 4).
      const uint64_t v = ((w & kDigits) - (kDigits & 0x3030303030303030ULL)) >> 8;
      const uint64_t pairs = ((v * 10) + (v >> 8)) & 0x000000FF00FF00FFULL;
      frac_us = static_cast<int64_t>((pairs & 0xFF) * 10000 + (pairs >> 16 & 0xFF) * 100 + (pairs >> 32 & 0xFF));
      const int64_t secs = minute + sec;
      const TimeMicros t = secs * kMicrosPerSecond + frac_us;
      if (secs < 0 || t > kMaxTimeMicros) return false;
      *out = t;
      return true;
    }
  }
#endif
  if (s[p] == '.') {
    ++p;
    const size_t start = p;
    static const int64_t kScale[] = {100000, 10000, 1000, 100, 10, 1};
    while (p < s.size() && d(p) <= 9) {
      if (p - start < 6) frac_us += d(p) * kScale[p - start];
      ++p;
    }
    if (p == start) return false;
  }
  int64_t offset_s = 0;
  if (p >= s.size()) return false;
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    if (p + 6 != s.size() || d(p + 1) > 9 || d(p + 2) > 9 || c[p + 3] != ':' || d(p + 4) > 9 ||
        d(p + 5) > 9) {
      return false;
    }
    const unsigned oh = d(p + 1) * 10 + d(p + 2), om = d(p + 4) * 10 + d(p + 5);
    if (oh > 23 || om > 59) return false;
    offset_s = static_cast<int64_t>(oh * 3600 + om * 60) * (s[p] == '+' ? 1 : -1);
    p += 6;
  } else {
    return false;
  }
  if (p != s.size()) return false;
  const int64_t secs = minute + sec - offset_s;
  if (secs < 0) return false;
  const TimeMicros t = secs * kMicrosPerSecond + frac_us;
  if (t > kMaxTimeMicros) return false;
  *out = t;
  return true;
}

bool ParseUnixNumber(std::string_view s, TimeMicros* out) {
  if (s.empty()) return false;
  size_t p = 0;
  if (s[0] == '+') p = 1;
  const size_t int_start = p;
  uint64_t ip = 0;
  while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
    if (ip > 1000000000000000000ULL) return false;  // far beyond any time we keep
    ip = ip * 10 + static_cast<uint64_t>(s[p] - '0');
    ++p;
  }
  const size_t int_digits = p - int_start;
  std::string_view frac;
  if (p < s.size() && s[p] == '.') {
    const size_t fs = ++p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
    frac = s.substr(fs, p - fs);
  }
  if (int_digits == 0 && frac.empty()) return false;
  if (p != s.size()) {
    // An exponent (or junk): fall back to a double, rounded to the microsecond.
    if (s[p] != 'e' && s[p] != 'E') return false;
    char buf[64];
    if (s.size() >= sizeof buf) return false;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    char* end = nullptr;
    const double v = std::strtod(buf, &end);
    if (end != buf + s.size() || !std::isfinite(v) || v < 0) return false;
    const double us = v >= 1e11 ? v * 1e3 : v * 1e6;
    if (us > static_cast<double>(kMaxTimeMicros)) return false;
    *out = static_cast<TimeMicros>(std::llround(us));
    return true;
  }
  // Exact conversion: seconds keep six fraction digits, milliseconds three.
  const bool millis = ip >= 100000000000ULL;
  const int keep = millis ? 3 : 6;
  int64_t f = 0;
  for (int i = 0; i < keep; ++i) {
    f = f * 10 + (static_cast<size_t>(i) < frac.size() ? frac[i] - '0' : 0);
  }
  const uint64_t limit = static_cast<uint64_t>(kMaxTimeMicros) / (millis ? 1000 : 1000000);
  if (ip > limit) return false;
  const TimeMicros t = static_cast<TimeMicros>(ip) * (millis ? 1000 : 1000000) + f;
  if (t > kMaxTimeMicros) return false;
  *out = t;
  return true;
}

bool ParseTimeText(std::string_view s, TimeMicros* out, Rfc3339Cache* cache) {
  if (s.size() >= 20 && s[4] == '-') return ParseRfc3339(s, out, cache);
  return ParseUnixNumber(s, out);
}

size_t FormatRfc3339(TimeMicros t, char* b) {
  const int64_t secs = t / kMicrosPerSecond;
  const unsigned us = static_cast<unsigned>(t % kMicrosPerSecond);
  const int64_t days = secs / 86400;
  const unsigned sod = static_cast<unsigned>(secs % 86400);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  Put(b, static_cast<unsigned>(y), 4);
  b[4] = '-';
  Put(b + 5, m, 2);
  b[7] = '-';
  Put(b + 8, d, 2);
  b[10] = 'T';
  Put(b + 11, sod / 3600, 2);
  b[13] = ':';
  Put(b + 14, sod / 60 % 60, 2);
  b[16] = ':';
  Put(b + 17, sod % 60, 2);
  b[19] = '.';
  Put(b + 20, us, 6);
  b[26] = 'Z';
  return 27;
}

std::string FormatRfc3339(TimeMicros t) {
  char buf[27];
  return std::string(buf, FormatRfc3339(t, buf));
}

bool ParseDuration(std::string_view s, int64_t* micros) {
  size_t p = 0;
  uint64_t n = 0;
  while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
    if (n > 1000000000000ULL) return false;
    n = n * 10 + static_cast<uint64_t>(s[p] - '0');
    ++p;
  }
  if (p == 0) return false;
  const std::string_view unit = s.substr(p);
  int64_t scale;
  if (unit == "us") scale = 1;
  else if (unit == "ms") scale = 1000;
  else if (unit == "s") scale = kMicrosPerSecond;
  else if (unit == "m") scale = 60 * kMicrosPerSecond;
  else if (unit == "h") scale = 3600 * kMicrosPerSecond;
  else if (unit == "d") scale = 86400 * kMicrosPerSecond;
  else return false;
  if (n > static_cast<uint64_t>(INT64_MAX / scale)) return false;
  *micros = static_cast<int64_t>(n) * scale;
  return true;
}

std::string FormatDuration(int64_t us) {
  static const struct { int64_t scale; const char* unit; } kUnits[] = {
      {86400 * kMicrosPerSecond, "d"}, {3600 * kMicrosPerSecond, "h"},
      {60 * kMicrosPerSecond, "m"},    {kMicrosPerSecond, "s"},
      {1000, "ms"},                    {1, "us"}};
  if (us == 0) return "0s";
  for (const auto& u : kUnits) {
    if (us % u.scale == 0) return std::to_string(us / u.scale) + u.unit;
  }
  return std::to_string(us) + "us";
}

}  // namespace sensorgate
