#include "gateway/base/time_util.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sensorgate {
namespace {

TimeMicros Rfc(const char* s) {
  TimeMicros t = -1;
  EXPECT_TRUE(ParseRfc3339(s, &t)) << s;
  return t;
}

TEST(Rfc3339, KeepsMicrosecondsExactly) {
  // 2023-03-15T12:15:37Z is 1678882537 s since the epoch (date -u -d ... +%s).
  EXPECT_EQ(Rfc("2023-03-15T12:15:37.166944Z"), 1678882537LL * 1000000 + 166944);
  EXPECT_EQ(Rfc("2023-03-15T12:15:37Z"), 1678882537LL * 1000000);
  EXPECT_EQ(Rfc("2023-03-15T12:15:37.1Z"), 1678882537LL * 1000000 + 100000);
  EXPECT_EQ(Rfc("2023-03-15T12:15:37.123456789Z"), 1678882537LL * 1000000 + 123456);  // dropped
  EXPECT_EQ(Rfc("1970-01-01T00:00:00Z"), 0);
}

TEST(Rfc3339, AppliesOffsets) {
  EXPECT_EQ(Rfc("2023-03-15T14:15:37.5+02:00"), Rfc("2023-03-15T12:15:37.5Z"));
  EXPECT_EQ(Rfc("2023-03-15T07:45:37-04:30"), Rfc("2023-03-15T12:15:37Z"));
  EXPECT_EQ(Rfc("2023-03-15 12:15:37z"), Rfc("2023-03-15T12:15:37Z"));
}

TEST(Rfc3339, HandlesLeapYears) {
  EXPECT_EQ(Rfc("2024-03-01T00:00:00Z") - Rfc("2024-02-28T00:00:00Z"), 2LL * 86400 * 1000000);
  EXPECT_EQ(Rfc("2023-03-01T00:00:00Z") - Rfc("2023-02-28T00:00:00Z"), 1LL * 86400 * 1000000);
  EXPECT_EQ(Rfc("2000-03-01T00:00:00Z") - Rfc("2000-02-28T00:00:00Z"), 2LL * 86400 * 1000000);
}

TEST(Rfc3339, RejectsMalformedOrOutOfRange) {
  TimeMicros t;
  for (const char* bad : {"", "2023-03-15", "2023-03-15T12:15:37", "2023-13-15T12:15:37Z",
                          "2023-02-29T12:15:37Z", "2023-03-15T24:00:00Z", "2023-03-15T12:60:00Z",
                          "2023-03-15T12:15:37.Z", "2023-03-15T12:15:37ZZ", "2023-03-15T12:15:37+2:00",
                          "1969-12-31T23:59:59Z", "abcd-03-15T12:15:37Z", "2023-03-15T12:15:37 Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad, &t)) << bad;
  }
}

TEST(Rfc3339, FormatsWithMicrosecondsAndRoundTrips) {
  EXPECT_EQ(FormatRfc3339(1678882537LL * 1000000 + 166944), "2023-03-15T12:15:37.166944Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(kMaxTimeMicros), "9999-12-31T23:59:59.999999Z");
  for (TimeMicros t = 0; t < kMaxTimeMicros; t += 7777777777777LL + 13) {
    TimeMicros back;
    ASSERT_TRUE(ParseRfc3339(FormatRfc3339(t), &back));
    ASSERT_EQ(back, t);
  }
}

TEST(UnixNumber, SecondsBelowOneE11MillisecondsAbove) {
  TimeMicros t;
  ASSERT_TRUE(ParseUnixNumber("1678882537", &t));
  EXPECT_EQ(t, 1678882537LL * 1000000);
  ASSERT_TRUE(ParseUnixNumber("1678882537.166944", &t));
  EXPECT_EQ(t, 1678882537LL * 1000000 + 166944);  // exact, no double rounding
  ASSERT_TRUE(ParseUnixNumber("1678882537166", &t));
  EXPECT_EQ(t, 1678882537166LL * 1000);
  ASSERT_TRUE(ParseUnixNumber("1678882537166.5", &t));
  EXPECT_EQ(t, 1678882537166LL * 1000 + 500);
  ASSERT_TRUE(ParseUnixNumber("99999999999", &t));  // just below 1e11: seconds
  EXPECT_EQ(t, 99999999999LL * 1000000);
  ASSERT_TRUE(ParseUnixNumber("100000000000", &t));  // 1e11: milliseconds
  EXPECT_EQ(t, 100000000000LL * 1000);
  ASSERT_TRUE(ParseUnixNumber("1.678882537e9", &t));
  EXPECT_EQ(t, 1678882537LL * 1000000);
}

TEST(UnixNumber, RejectsNegativeAndJunk) {
  TimeMicros t;
  for (const char* bad : {"", "-1", "abc", "12x", ".", "1e999", "99999999999999999999999"}) {
    EXPECT_FALSE(ParseUnixNumber(bad, &t)) << bad;
  }
}

TEST(Duration, ReadsEveryUnit) {
  int64_t us;
  ASSERT_TRUE(ParseDuration("500ms", &us));
  EXPECT_EQ(us, 500000);
  ASSERT_TRUE(ParseDuration("30s", &us));
  EXPECT_EQ(us, 30000000);
  ASSERT_TRUE(ParseDuration("5m", &us));
  EXPECT_EQ(us, 300000000);
  ASSERT_TRUE(ParseDuration("2h", &us));
  EXPECT_EQ(us, 7200000000LL);
  ASSERT_TRUE(ParseDuration("1d", &us));
  EXPECT_EQ(us, 86400000000LL);
  for (const char* bad : {"", "30", "s", "1.5s", "-1s", "1 s", "1sec", "1S"}) {
    EXPECT_FALSE(ParseDuration(bad, &us)) << bad;
  }
  EXPECT_EQ(FormatDuration(300000000), "5m");
  EXPECT_EQ(FormatDuration(1500000), "1500ms");
}

TEST(Rfc3339, TheMinuteCacheChangesNoAnswer) {
  // Texts sharing "YYYY-MM-DDTHH:MM" with the one before, valid or not, and
  // minutes that change: with a cache, the same answers as without.
  const char* texts[] = {
      "2023-03-15T12:15:37.166944Z", "2023-03-15T12:15:38Z",         "2023-03-15T12:15:61Z",
      "2023-03-15T12:15:5xZ",        "2023-03-15T12:15:59.999999+02:00", "2023-03-15T12:16:00Z",
      "2023-02-29T12:16:00Z",        "2023-02-29T12:16:01Z",         "2024-02-29T23:59:60Z",
      "2024-02-29T23:59:59-23:59",   "1970-01-01T00:00:00+00:01",    "1970-01-01T00:00:00Z",
      "2023-03-15 12:15:37z",        "2023-03-15T12:15",             "2023-03-15T12:15:37.Z",
  };
  Rfc3339Cache cache;
  for (int round = 0; round < 2; ++round) {
    for (const char* text : texts) {
      TimeMicros with = -1, without = -1;
      const bool a = ParseRfc3339(text, &with, &cache);
      const bool b = ParseRfc3339(text, &without);
      EXPECT_EQ(a, b) << text;
      if (a && b) {
        EXPECT_EQ(with, without) << text;
      }
    }
  }
}

// ".ffffffZ", the common form, is read six digits at once: every fraction
// gives what the digits say, and what the same text with "+00:00" gives
// (read digit by digit); a byte that is no digit in any of the six places
// is refused as it is there.
TEST(Rfc3339, SixDigitFractionsAtOnceEqualDigitByDigit) {
  std::mt19937_64 rng(20261201);
  const std::string bytes = "0123456789/:.aZ \x7f\xff";
  for (int i = 0; i < 200000; ++i) {
    char frac[7];
    unsigned expect = 0;
    for (int k = 0; k < 6; ++k) {
      const unsigned digit = static_cast<unsigned>(rng() % 10);
      frac[k] = static_cast<char>('0' + digit);
      expect = expect * 10 + digit;
    }
    frac[6] = '\0';
    std::string text = std::string("2023-03-15T12:15:37.") + frac + (i % 2 == 0 ? "Z" : "z");
    const bool odd = i % 3 == 0;
    if (odd) text[20 + rng() % 6] = bytes[rng() % bytes.size()];
    std::string offset = text.substr(0, 26) + "+00:00";
    TimeMicros fast = -1, slow = -1;
    const bool a = ParseRfc3339(text, &fast);
    const bool b = ParseRfc3339(offset, &slow);
    ASSERT_EQ(a, b) << text;
    if (!a) continue;
    ASSERT_EQ(fast, slow) << text;
    if (!odd) {
      ASSERT_EQ(fast, 1678882537LL * 1000000 + expect) << text;
    }
  }
}

}  // namespace
}  // namespace sensorgate
