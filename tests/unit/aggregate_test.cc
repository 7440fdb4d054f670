// Accumulator (gateway/rules/aggregate.h) against exact arithmetic: values
// that are multiples of 1/8 and whole-second times make every sum an
// integer, computed here in 128 bits (portable: no __int128 on 32-bit ARM).
#include "gateway/rules/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace sensorgate {
namespace {

// A signed 128-bit integer, two's complement in two words: just what the
// exact sums need (add, multiply two int64, convert to double).
struct Int128 {
  uint64_t hi = 0, lo = 0;
  static Int128 From(int64_t v) {
    Int128 r;
    r.lo = static_cast<uint64_t>(v);
    r.hi = v < 0 ? ~uint64_t{0} : 0;
    return r;
  }
  Int128 operator+(const Int128& o) const {
    Int128 r;
    r.lo = lo + o.lo;
    r.hi = hi + o.hi + (r.lo < lo ? 1 : 0);
    return r;
  }
  Int128 operator-() const {
    Int128 r;
    r.lo = ~lo + 1;
    r.hi = ~hi + (r.lo == 0 ? 1 : 0);
    return r;
  }
  Int128 operator-(const Int128& o) const { return *this + (-o); }
  bool negative() const { return (hi >> 63) != 0; }
  static Int128 Mul(int64_t a, int64_t b) {
    const bool neg = (a < 0) != (b < 0);
    const uint64_t x = a < 0 ? 0 - static_cast<uint64_t>(a) : static_cast<uint64_t>(a);
    const uint64_t y = b < 0 ? 0 - static_cast<uint64_t>(b) : static_cast<uint64_t>(b);
    const uint64_t x0 = x & 0xffffffff, x1 = x >> 32, y0 = y & 0xffffffff, y1 = y >> 32;
    const uint64_t p00 = x0 * y0, p01 = x0 * y1, p10 = x1 * y0, p11 = x1 * y1;
    const uint64_t mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
    Int128 r;
    r.lo = (p00 & 0xffffffff) | (mid << 32);
    r.hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return neg ? -r : r;
  }
  // Sum of a * b into this.
  void AddProduct(int64_t a, int64_t b) { *this = *this + Mul(a, b); }
  double ToDouble() const {
    if (negative()) return -(-*this).ToDouble();
    return static_cast<double>(hi) * 18446744073709551616.0 + static_cast<double>(lo);
  }
};

// Exact sums over (K, T): values K/8, times T seconds.
struct Exact {
  int64_t n = 0, sk = 0, st = 0;
  Int128 skk, stt, stk;
  void Add(int64_t k, int64_t t) {
    ++n;
    sk += k;
    st += t;
    skk.AddProduct(k, k);
    stt.AddProduct(t, t);
    stk.AddProduct(t, k);
  }
  // Population variance of K/8: (n·ΣK² − (ΣK)²) / (64 n²).
  double Stddev() const {
    const Int128 a = MulWide(skk, n), b = Int128::Mul(sk, sk);
    const double v = (a - b).ToDouble() / (64.0 * static_cast<double>(n) * static_cast<double>(n));
    return std::sqrt(v);
  }
  // Least-squares slope of K/8 against T: (nΣTK − ΣTΣK) / (8 (nΣT² − (ΣT)²)).
  double Slope() const {
    const Int128 num = MulWide(stk, n) - Int128::Mul(st, sk);
    const Int128 den = MulWide(stt, n) - Int128::Mul(st, st);
    return num.ToDouble() / (8.0 * den.ToDouble());
  }
  // x · m for a small non-negative m (m < 2^31), by parts.
  static Int128 MulWide(const Int128& x, int64_t m) {
    Int128 r;
    Int128 part = x;
    for (int64_t bit = 1; bit <= m; bit <<= 1) {
      if (m & bit) r = r + part;
      part = part + part;
    }
    return r;
  }
};

constexpr TimeMicros kEpoch = 1'700'000'000'000'000;  // an origin far from 0
constexpr int64_t kSecond = 1'000'000;

// A deterministic sequence of K in [-80000, 80000], around an offset of 8000
// (values near 1000, spread about ±10^4: the naive sum of squares would lose
// digits here).
struct Values {
  uint64_t state = 88172645463325252ULL;
  int64_t Next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return 8000 + static_cast<int64_t>(state % 160001) - 80000;
  }
};

bool Near(double got, double want, double rel) { return std::fabs(got - want) <= rel * std::fabs(want); }

TEST(Accumulator, StddevAndSlopeAfterTenMillionReadingsEqualExactArithmetic) {
  Accumulator acc;
  Exact exact;
  Values values;
  constexpr int64_t kN = 10'000'000;
  for (int64_t i = 0; i < kN; ++i) {
    const int64_t k = values.Next();
    // A trend of 3/8 per second under the noise, times one second apart.
    const int64_t kk = k + 3 * i;
    acc.Add(static_cast<double>(kk) / 8, kEpoch + i * kSecond, static_cast<uint64_t>(i + 1), kEpoch);
    exact.Add(kk, i);
  }
  ASSERT_EQ(acc.count, static_cast<uint64_t>(kN));
  EXPECT_EQ(acc.Sum(), static_cast<double>(exact.sk) / 8);  // multiples of 1/8 under 2^50: exact
  EXPECT_TRUE(Near(acc.Stddev(), exact.Stddev(), 1e-12)) << acc.Stddev() << " vs " << exact.Stddev();
  double slope = 0;
  ASSERT_TRUE(acc.Slope(&slope));
  EXPECT_TRUE(Near(slope, exact.Slope(), 1e-12)) << slope << " vs " << exact.Slope();
  EXPECT_TRUE(Near(slope, 3.0 / 8, 1e-3));
}

TEST(Accumulator, PanesMergedEqualOneWindow) {
  // A sliding window kept as panes: merging them gives the whole window.
  Values values;
  Accumulator whole;
  std::vector<Accumulator> panes(6);
  Exact exact;
  for (int64_t i = 0; i < 60'000; ++i) {
    const int64_t k = values.Next();
    const TimeMicros t = kEpoch + i * kSecond / 1000;  // a millisecond apart
    whole.Add(static_cast<double>(k) / 8, t, static_cast<uint64_t>(i + 1), kEpoch);
    panes[static_cast<size_t>(i / 10'000)].Add(static_cast<double>(k) / 8, t, static_cast<uint64_t>(i + 1), kEpoch);
    exact.Add(k, i);
  }
  Accumulator merged;
  for (const Accumulator& p : panes) merged.Merge(p);
  EXPECT_EQ(merged.count, whole.count);
  EXPECT_EQ(merged.Sum(), whole.Sum());
  EXPECT_EQ(merged.min, whole.min);
  EXPECT_EQ(merged.max, whole.max);
  EXPECT_EQ(merged.last, whole.last);
  EXPECT_TRUE(Near(merged.Stddev(), exact.Stddev(), 1e-12));
  double a = 0, b = 0;
  ASSERT_TRUE(merged.Slope(&a));
  ASSERT_TRUE(whole.Slope(&b));
  // Times in milliseconds here: the exact slope is per millisecond.
  EXPECT_TRUE(Near(a, exact.Slope() * 1000, 1e-9)) << a << " vs " << exact.Slope() * 1000;
  EXPECT_TRUE(Near(a, b, 1e-9));
}

TEST(Accumulator, RemoveUndoesAddAsACountWindowNeeds) {
  Values values;
  std::vector<int64_t> ks;
  Accumulator ring;
  for (int64_t i = 0; i < 2000; ++i) {
    ks.push_back(values.Next());
    ring.Add(static_cast<double>(ks.back()) / 8, kEpoch + i * kSecond, static_cast<uint64_t>(i + 1), kEpoch);
    if (i >= 100) {
      const int64_t gone = i - 100;
      ring.Remove(static_cast<double>(ks[static_cast<size_t>(gone)]) / 8, kEpoch + gone * kSecond, kEpoch);
    }
  }
  Exact exact;
  for (int64_t i = 1900; i < 2000; ++i) exact.Add(ks[static_cast<size_t>(i)], i);
  EXPECT_EQ(ring.count, 100u);
  EXPECT_EQ(ring.Sum(), static_cast<double>(exact.sk) / 8);
  EXPECT_TRUE(Near(ring.Avg(), static_cast<double>(exact.sk) / 800, 1e-12));
  EXPECT_TRUE(Near(ring.Stddev(), exact.Stddev(), 1e-9)) << ring.Stddev() << " vs " << exact.Stddev();
  double slope = 0;
  ASSERT_TRUE(ring.Slope(&slope));
  EXPECT_TRUE(Near(slope, exact.Slope(), 1e-6)) << slope << " vs " << exact.Slope();
}

TEST(Accumulator, SlopeIsNullWithoutTwoDistinctTimes) {
  Accumulator a;
  double slope = 0;
  EXPECT_FALSE(a.Slope(&slope));
  a.Add(1, kEpoch, 1, kEpoch);
  EXPECT_FALSE(a.Slope(&slope));
  a.Add(5, kEpoch, 2, kEpoch);  // same time
  EXPECT_FALSE(a.Slope(&slope));
  a.Add(9, kEpoch + 2 * kSecond, 3, kEpoch);
  ASSERT_TRUE(a.Slope(&slope));
  // Points (0,1), (0,5), (2,9): slope = Σ(t−t̄)(v−v̄)/Σ(t−t̄)² = 3.
  EXPECT_DOUBLE_EQ(slope, 3.0);
  EXPECT_DOUBLE_EQ(a.Stddev(), std::sqrt(32.0 / 3));
  EXPECT_EQ(a.last, 9);
  EXPECT_EQ(a.min, 1);
  EXPECT_EQ(a.max, 9);
}

TEST(Accumulator, LastIsTheValueThatArrivedLastAcrossMerges) {
  Accumulator early, late;
  late.Add(7, kEpoch, 5, kEpoch);
  early.Add(3, kEpoch + 10 * kSecond, 2, kEpoch);  // a later time, but it arrived first
  Accumulator m = late;
  m.Merge(early);
  EXPECT_EQ(m.last, 7);
  Accumulator n = early;
  n.Merge(late);
  EXPECT_EQ(n.last, 7);
  Accumulator empty;
  n.Merge(empty);
  EXPECT_EQ(n.count, 2u);
  empty.Merge(n);
  EXPECT_EQ(empty.count, 2u);
  EXPECT_EQ(empty.last, 7);
}

}  // namespace
}  // namespace sensorgate
