// Rng: the simulator's pseudo-random numbers, xoshiro256** seeded through
// splitmix64. Every number the simulator draws comes from here, never from
// <random>'s distributions (whose output differs between standard library
// versions), so the same seed gives the same output on every platform.
// An Rng is plain data: one thread at a time.
#ifndef SENSORGATE_SIMULATOR_RNG_H_
#define SENSORGATE_SIMULATOR_RNG_H_

#include <cstdint>

namespace sensorgate {

class Rng {
 public:
  // Seeds the generator from `seed` and a `stream` number, so that streams
  // of one seed are independent of each other.
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (uint64_t& word : state_) word = SplitMix64(&x);
  }

  // Returns 64 uniformly distributed bits.
  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Returns a number in [0, n): Lemire's multiply-shift on 32 bits for
  // n <= 2^32 (a bias below 2^-32 per value), a modulo above. Plain 64-bit
  // arithmetic, so 32-bit targets give the same numbers. REQUIRES: n > 0.
  uint64_t Below(uint64_t n) {
    if (n <= (uint64_t{1} << 32)) return ((Next() >> 32) * n) >> 32;
    return Next() % n;
  }

  // Returns a number in [lo, hi]. REQUIRES: lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // True with the probability that `threshold` encodes (see ChanceThreshold).
  bool Chance(uint64_t threshold) {
    if (threshold == 0) return false;
    if (threshold == UINT64_MAX) return true;
    return Next() < threshold;
  }

  // Encodes a probability in [0, 1] for Chance(): 0 never, 1 always.
  static uint64_t ChanceThreshold(double probability) {
    if (!(probability > 0)) return 0;
    if (probability >= 1) return UINT64_MAX;
    // 2^64 * p, computed exactly enough for our purpose.
    return static_cast<uint64_t>(probability * 18446744073709551616.0);
  }

  static uint64_t SplitMix64(uint64_t* x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4];
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_RNG_H_
