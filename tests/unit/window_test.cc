#include "gateway/rules/window.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <deque>
#include <memory>
#include <new>
#include <string>

namespace sensorgate {
namespace {

double kPow10ForTest(int places) {
  double p = 1;
  for (int i = 0; i < places; ++i) p *= 10;
  return p;
}

TEST(WindowTable, KeepsTheLastSizeReadingsInArrivalOrder) {
  WindowTable w(3, 10);
  const uint32_t s = w.FindOrInsert("sensor01");
  ASSERT_NE(s, WindowTable::kNoSlot);
  w.Add(s, 1, 10);
  w.Add(s, 2, 20);
  EXPECT_EQ(w.count(s), 2u);
  EXPECT_DOUBLE_EQ(w.average(s), 1.5);
  w.Add(s, 3, 30);
  w.Add(s, 10, 5);  // overwrites the oldest (1); a late time is still "last"
  EXPECT_EQ(w.count(s), 3u);
  EXPECT_EQ(w.total(s), 4u);
  EXPECT_EQ(w.Values(s), (std::vector<double>{2, 3, 10}));
  EXPECT_DOUBLE_EQ(w.average(s), 5);
  EXPECT_EQ(w.min(s), 2);
  EXPECT_EQ(w.max(s), 10);
  EXPECT_EQ(w.last(s), 10);
  EXPECT_EQ(w.last_time(s), 5);
}

TEST(WindowTable, OverwritesOldestWhenFullAcrossManyWraps) {
  WindowTable w(5, 1);
  const uint32_t s = w.FindOrInsert("k");
  std::deque<double> ref;
  for (int i = 0; i < 1003; ++i) {
    w.Add(s, i * 0.5, i);
    ref.push_back(i * 0.5);
    if (ref.size() > 5) ref.pop_front();
    ASSERT_EQ(w.Values(s), std::vector<double>(ref.begin(), ref.end())) << i;
  }
  EXPECT_EQ(w.min(s), ref.front());
  EXPECT_EQ(w.max(s), ref.back());
}

TEST(WindowTable, FindsKeysWithoutInsertingAndRefusesPastMaxKeys) {
  WindowTable w(2, 3);
  EXPECT_EQ(w.Find("a"), WindowTable::kNoSlot);
  EXPECT_EQ(w.FindOrInsert("a"), 0u);
  EXPECT_EQ(w.FindOrInsert("b"), 1u);
  EXPECT_EQ(w.FindOrInsert("a"), 0u);
  EXPECT_EQ(w.FindOrInsert("c"), 2u);
  EXPECT_EQ(w.FindOrInsert("d"), WindowTable::kNoSlot);
  EXPECT_EQ(w.key_count(), 3u);
  EXPECT_EQ(w.Find("c"), 2u);
  EXPECT_EQ(w.FindOrInsert("b"), 1u);  // existing keys still work when full
}

TEST(WindowTable, ManyKeysKeepSeparateWindows) {
  WindowTable w(4, 10000);
  for (int round = 0; round < 6; ++round) {
    for (int k = 0; k < 10000; ++k) {
      const uint32_t s = w.FindOrInsert("sensor" + std::to_string(k));
      ASSERT_EQ(s, static_cast<uint32_t>(k));
      w.Add(s, k + round, round);
    }
  }
  for (int k = 0; k < 10000; k += 997) {
    const uint32_t s = w.Find("sensor" + std::to_string(k));
    EXPECT_EQ(w.Values(s), (std::vector<double>{k + 2.0, k + 3.0, k + 4.0, k + 5.0}));
  }
}

TEST(WindowTable, SortsKeysBytewise) {
  WindowTable w(1, 10);
  for (const char* k : {"b", "a", "B", "\xc3\xa9", "aa"}) w.Add(w.FindOrInsert(k), 1, 0);
  std::vector<std::string> keys;
  for (uint32_t s : w.SlotsByKey()) keys.emplace_back(w.key(s));
  EXPECT_EQ(keys, (std::vector<std::string>{"B", "a", "aa", "b", "\xc3\xa9"}));
}

// --- drift -----------------------------------------------------------------

uint64_t SplitMix(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Phases of large values (1e6..1e7) followed by small ones (0.5..1.5): every
// large value that leaves the window takes rounding error with it in a plain
// running sum, which then shows against the small mean.
double Value(uint64_t* rng, uint64_t i, uint32_t size) {
  const double u = static_cast<double>(SplitMix(rng) >> 11) * 0x1.0p-53;  // [0,1), 53 bits
  const bool large = (i / (3 * size)) % 2 == 0;
  return large ? 1e6 + u * 9e6 : 0.5 + u;
}

// Exact fixed point: every value above is a multiple of 2^-62 and below 2^24,
// so v * 2^70 is an integer below 2^94, and 60 of them stay below 2^100.
// 32-bit ARM has no 128-bit integer type: U128 is one of two 64-bit halves,
// wrapping like uint64_t (a running sum may dip below zero only between a
// subtraction and the addition that follows it; the sums read are never
// negative).
struct U128 {
  uint64_t hi = 0, lo = 0;
  U128& operator+=(const U128& o) {
    const uint64_t lo0 = lo;
    lo += o.lo;
    hi += o.hi + (lo < lo0 ? 1 : 0);
    return *this;
  }
  U128& operator-=(const U128& o) {
    const uint64_t lo0 = lo;
    lo -= o.lo;
    hi -= o.hi + (lo > lo0 ? 1 : 0);
    return *this;
  }
  bool operator==(const U128& o) const { return hi == o.hi && lo == o.lo; }
};

void PrintTo(const U128& v, std::ostream* os) { *os << "{hi " << v.hi << ", lo " << v.lo << "}"; }

// v * 2^70 exactly, for a finite v >= 0 whose lowest mantissa bit is at least
// 2^-70 and v < 2^58; aborts otherwise (never a rounded value).
U128 Fixed(double v) {
  U128 r;
  if (v == 0) return r;
  int e = 0;
  const double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
  const uint64_t mant = static_cast<uint64_t>(std::ldexp(m, 53));  // v = mant * 2^(e-53), exact
  const int shift = e - 53 + 70;
  if (!(v > 0) || shift >= 64 + 11) std::abort();
  if (shift < 0) {
    if (shift <= -53 || (mant & ((uint64_t{1} << -shift) - 1)) != 0) std::abort();
    r.lo = mant >> -shift;
  } else if (shift == 0) {
    r.lo = mant;
  } else if (shift < 64) {
    r.lo = mant << shift;
    r.hi = mant >> (64 - shift);
  } else {
    r.hi = mant << (shift - 64);
  }
  return r;
}

// The mean as a long double (only a double on armhf: 53 bits, still far finer
// than the 1e-9 checked). hi * 2^64 is exact; lo rounds once, the sum once.
long double ExactMean(const U128& sum, uint32_t n) {
  const long double v = std::ldexp(static_cast<long double>(sum.hi), 64) + static_cast<long double>(sum.lo);
  return std::ldexp(v, -70) / n;
}

TEST(WindowDrift, FixedPointIsExact) {
  EXPECT_EQ(Fixed(1.0), (U128{64, 0}));                       // 2^70
  EXPECT_EQ(Fixed(0.5 + 0x1.0p-53), (U128{32, 1ULL << 17}));  // 2^69 + 2^17
  EXPECT_EQ(Fixed(0x1.0p-70), (U128{0, 1}));
  EXPECT_EQ(Fixed(0x1.0p-7), (U128{0, 1ULL << 63}));
  EXPECT_EQ(Fixed(0), (U128{0, 0}));
  U128 a = Fixed(1e7), b = a;
  a += Fixed(3.25);
  a -= Fixed(1e7);
  EXPECT_EQ(a, Fixed(3.25));
  b -= Fixed(1e7 + 1);  // wraps below zero (to -2^70: hi 2^64 - 64, lo 0), then back
  EXPECT_EQ(b, (U128{~uint64_t{63}, 0}));
  b += Fixed(1e7 + 1);
  EXPECT_EQ(b, Fixed(1e7));
  EXPECT_EQ(ExactMean(Fixed(1e7), 1), 1e7L);
  EXPECT_EQ(ExactMean(Fixed(0.75), 3), 0.25L);
#ifdef __SIZEOF_INT128__
  // Where the compiler has a 128-bit integer, the two agree on the drift input.
  uint64_t rng = 7;
  unsigned __int128 wide = 0;
  U128 mine;
  for (uint64_t i = 0; i < 100000; ++i) {
    const double v = Value(&rng, i, 60);
    const auto f = static_cast<unsigned __int128>(std::ldexp(v, 70));
    const U128 g = Fixed(v);
    ASSERT_EQ(g, (U128{static_cast<uint64_t>(f >> 64), static_cast<uint64_t>(f)})) << v;
    if (i % 3 == 2) {
      wide -= f;
      mine -= g;
    } else {
      wide += f;
      mine += g;
    }
    ASSERT_EQ(mine, (U128{static_cast<uint64_t>(wide >> 64), static_cast<uint64_t>(wide)})) << i;
  }
#endif
}

uint64_t DriftReadings() {
  // 10^8 by default (the acceptance figure); SENSORGATE_DRIFT_READINGS may raise it.
  const char* env = std::getenv("SENSORGATE_DRIFT_READINGS");
  return env ? std::strtoull(env, nullptr, 10) : 100000000ULL;
}

TEST(WindowDrift, AverageEqualsExactMeanAfterOneHundredMillionReadings) {
  constexpr uint32_t kSize = 60;
  WindowTable w(kSize, 1);
  const uint32_t s = w.FindOrInsert("k");
  std::vector<U128> ring(kSize);
  U128 exact;
  uint64_t rng = 42;
  double worst = 0;
  const uint64_t n = DriftReadings();
  for (uint64_t i = 0; i < n; ++i) {
    const double v = Value(&rng, i, kSize);
    const U128 f = Fixed(v);
    exact += f;
    if (i >= kSize) exact -= ring[i % kSize];
    ring[i % kSize] = f;
    w.Add(s, v, 0);
    // Check where it is hardest: small values right after large ones left.
    if (i % (3 * kSize) == 3 * kSize - 1 || i + 1 == n) {
      const long double want = ExactMean(exact, w.count(s));
      const double rel = static_cast<double>(std::fabs((w.average(s) - want) / want));
      worst = std::max(worst, rel);
      ASSERT_LE(rel, 1e-9) << "after " << i + 1 << " readings";
    }
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("worst relative error over %llu readings: %.3g\n", static_cast<unsigned long long>(n), worst);
}

// The check above can fail: a plain running sum on the same input drifts
// far past 1e-9 long before 10^8 readings.
TEST(WindowDrift, APlainRunningSumFailsTheSameCheck) {
  constexpr uint32_t kSize = 60;
  std::vector<double> ring(kSize);
  std::vector<U128> fixed(kSize);
  double naive = 0;
  U128 exact;
  uint64_t rng = 42;
  double worst = 0;
  for (uint64_t i = 0; i < 1000000; ++i) {
    const double v = Value(&rng, i, kSize);
    if (i >= kSize) {
      naive -= ring[i % kSize];
      exact -= fixed[i % kSize];
    }
    ring[i % kSize] = v;
    fixed[i % kSize] = Fixed(v);
    naive += v;
    exact += fixed[i % kSize];
    if (i % (3 * kSize) == 3 * kSize - 1) {
      const long double want = ExactMean(exact, kSize);
      worst = std::max(worst, static_cast<double>(std::fabs((naive / kSize - want) / want)));
    }
  }
  EXPECT_GT(worst, 1e-9);
}

TEST(Neumaier, RecoversWhatPlainAdditionLoses) {
  double sum = 0, c = 0;
  NeumaierAdd(&sum, &c, 1.0);
  NeumaierAdd(&sum, &c, 1e100);
  NeumaierAdd(&sum, &c, 1.0);
  NeumaierAdd(&sum, &c, -1e100);
  EXPECT_EQ(sum + c, 2.0);
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// The 4-byte codes give back, bit for bit, the double strtod made of each
// decimal text: random readings of 0 to 7 places and up to 28 bits of
// digits, against a reference kept in doubles.
TEST(WindowCodes, ValuesComeBackBitForBitAsStrtodMadeThem) {
  std::srand(7);
  WindowTable w(5, 4);
  const uint32_t s = w.FindOrInsert("k");
  std::deque<double> ref;
  for (int i = 0; i < 20000; ++i) {
    const int places = std::rand() % 8;
    const long digits = (std::rand() % 2 ? -1 : 1) * static_cast<long>(std::rand() % 268435456);
    char text[64];
    const long scale = static_cast<long>(kPow10ForTest(places));
    std::snprintf(text, sizeof text, "%s%ld.%0*ld", digits < 0 ? "-" : "", std::labs(digits) / scale, places,
                  std::labs(digits) % scale);
    if (places == 0) std::snprintf(text, sizeof text, "%ld", digits);
    const double v = std::strtod(text, nullptr);
    w.Add(s, v, i);
    ref.push_back(v);
    if (ref.size() > 5) ref.pop_front();
    const std::vector<double> got = w.Values(s);
    ASSERT_EQ(got.size(), ref.size());
    for (size_t j = 0; j < got.size(); ++j) {
      ASSERT_EQ(std::memcmp(&got[j], &ref[j], sizeof(double)), 0) << text << " came back as " << got[j];
    }
  }
  EXPECT_FALSE(w.wide());  // all had codes
}

TEST(WindowCodes, AValueWithoutACodeWidensTheArenaAndKeepsEveryWindow) {
  WindowTable w(3, 3);
  const uint32_t a = w.FindOrInsert("a");
  const uint32_t b = w.FindOrInsert("b");
  w.Add(a, 21.5, 1);
  w.Add(a, -0.25, 2);
  w.Add(b, 99.125, 3);
  w.Add(b, -0.0, 4);  // no code: its sign would be lost
  EXPECT_TRUE(w.wide());
  EXPECT_EQ(w.Values(a), (std::vector<double>{21.5, -0.25}));
  EXPECT_EQ(w.Values(b), (std::vector<double>{99.125, 0.0}));
  EXPECT_TRUE(std::signbit(w.last(b)));
  // Values with no code at all: more digits than 29 bits, more places than 7,
  // and the largest double.
  const uint32_t c = w.FindOrInsert("c");
  w.Add(c, 0.1 + 0.2, 5);
  w.Add(c, 123456789.5, 6);
  w.Add(c, 1.7976931348623157e308, 7);
  EXPECT_EQ(w.Values(c), (std::vector<double>{0.1 + 0.2, 123456789.5, 1.7976931348623157e308}));
  w.Add(a, 3, 8);
  w.Add(a, 4, 9);  // evicts 21.5, read back as a double now
  EXPECT_EQ(w.Values(a), (std::vector<double>{-0.25, 3, 4}));
  EXPECT_DOUBLE_EQ(w.average(a), (-0.25 + 3 + 4) / 3);
  EXPECT_EQ(w.min(a), -0.25);
  EXPECT_EQ(w.max(a), 4);
}

TEST(WindowCodes, NumbersThatNeedNoWideningStayNarrow) {
  WindowTable w(4, 2);
  const uint32_t s = w.FindOrInsert("k");
  // 29-bit digits at both ends, 7 places, integers, a change of places.
  for (double v : {268435455.0, -268435455.0, 0.0000001, 26.8435455, 75.0, 73.25, -40.5}) w.Add(s, v, 1);
  EXPECT_FALSE(w.wide());
  EXPECT_EQ(w.Values(s), (std::vector<double>{26.8435455, 75.0, 73.25, -40.5}));
  w.Add(s, 268435456.0, 2);  // one past the digits: widens, 268435456 is still exact
  EXPECT_TRUE(w.wide());
  EXPECT_EQ(w.Values(s), (std::vector<double>{75.0, 73.25, -40.5, 268435456.0}));
}

TEST(WindowTable, CreateBuildsAUsableTable) {
  std::unique_ptr<WindowTable> w = WindowTable::Create(3, 10);
  ASSERT_NE(w, nullptr);
  const uint32_t s = w->FindOrInsert("a");
  ASSERT_NE(s, WindowTable::kNoSlot);
  w->Add(s, 2.0, 1);
  EXPECT_EQ(w->count(s), 1u);
  EXPECT_EQ(w->average(s), 2.0);
}

// size × max_keys × 8 does not fit in 64 bits: refused, not wrapped to a small
// arena that later writes would overrun (on armhf, size_t wraps far earlier).
TEST(WindowTable, CreateRefusesAnArenaWhoseSizeDoesNotFit) {
  EXPECT_EQ(WindowTable::Create(UINT32_MAX, UINT32_MAX), nullptr);
  EXPECT_THROW(WindowTable(UINT32_MAX, UINT32_MAX), std::bad_alloc);
}

}  // namespace
}  // namespace sensorgate
