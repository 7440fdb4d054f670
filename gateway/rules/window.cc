#include "gateway/rules/window.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <functional>
#include <new>
#include <stdexcept>

#include "gateway/base/log.h"

namespace sensorgate {
namespace {

// size x max_keys values, or 0 when that many bytes of doubles do not fit in
// size_t (32 bits on armhf: 100000 x 1000000 would wrap to a small arena).
size_t ArenaValues(uint32_t size, uint32_t max_keys) {
  size_t values = 0, bytes = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(size), static_cast<size_t>(max_keys), &values) ||
      __builtin_mul_overflow(values, sizeof(double), &bytes)) {
    return 0;
  }
  return values;
}

// Room for every value as a double: what the memory plan counts.
void* AllocateArena(uint32_t size, uint32_t max_keys) {
  const size_t values = ArenaValues(size, max_keys);
  if (values == 0) throw std::bad_alloc();
  void* p = std::calloc(values, sizeof(double));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// 10^places for the codes' 3 bits of places; every one is exact in a double.
constexpr double kPow10[8] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
// The digits of a code are a signed 29-bit number.
constexpr int64_t kMaxDigits = (int64_t{1} << 28) - 1;

}  // namespace

double WindowTable::DecodeValue(uint32_t code) {
  // The arithmetic shift keeps the sign of the digits.
  return static_cast<double>(static_cast<int32_t>(code) >> 3) / kPow10[code & 7];
}

namespace {

// The code of value with `places` decimal places, if it has one.
bool CodeWithPlaces(double value, uint32_t places, uint32_t* code) {
  const double scaled = value * kPow10[places];
  // Both tests are false for NaN; the infinities and anything larger fail.
  if (!(scaled > -(kMaxDigits + 1) && scaled < kMaxDigits + 1)) return false;
  const int64_t digits = static_cast<int64_t>(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
  // The exact test, the division DecodeValue() makes; -0.0 equals 0.0 but
  // would come back without its sign.
  if (static_cast<double>(digits) / kPow10[places] != value || (digits == 0 && std::signbit(value))) {
    return false;
  }
  *code = static_cast<uint32_t>(digits * 8) | places;
  return true;
}

}  // namespace

bool WindowTable::EncodeValue(double value, uint32_t* code) {
  // Readings of one stream mostly have the same places: one try.
  if (CodeWithPlaces(value, places_hint_, code)) return true;
  for (uint32_t places = 0; places < 8; ++places) {
    if (places != places_hint_ && CodeWithPlaces(value, places, code)) {
      places_hint_ = places;
      return true;
    }
  }
  return false;
}

void WindowTable::Widen(double cause) {
  // Once: from now on the arena uses the memory the plan counts.
  Log(LogLevel::kInfo,
      "windows: the reading %.17g has no 4-byte code; the window arena holds doubles from now on (8 bytes a value, "
      "as planned)",
      cause);
  const size_t n = static_cast<size_t>(size_) * max_keys_;
  unsigned char* bytes = static_cast<unsigned char*>(arena_.get());
  for (size_t i = n; i-- > 0;) {
    uint32_t code;
    std::memcpy(&code, bytes + 4 * i, sizeof code);
    const double v = DecodeValue(code);  // an untouched 0 code reads as 0.0
    std::memcpy(bytes + 8 * i, &v, sizeof v);
  }
  wide_ = true;
}

std::unique_ptr<WindowTable> WindowTable::Create(uint32_t size, uint32_t max_keys) {
  try {
    return std::make_unique<WindowTable>(size, max_keys);
  } catch (const std::bad_alloc&) {
    return nullptr;
  } catch (const std::length_error&) {
    return nullptr;
  }
}

WindowTable::WindowTable(uint32_t size, uint32_t max_keys)
    : size_(size), max_keys_(max_keys), arena_(AllocateArena(size, max_keys)), keys_(max_keys) {
  slots_.reserve(max_keys);
}

uint32_t WindowTable::Find(std::string_view key) const { return keys_.Find(key); }

uint32_t WindowTable::FindOrInsert(std::string_view key) {
  const uint32_t slot = keys_.FindOrInsert(key);
  if (slot == slots_.size()) slots_.emplace_back();
  return slot;
}

void WindowTable::Add(uint32_t slot, double value, TimeMicros time_us) {
  Slot& s = slots_[slot];
  const size_t at = At(slot, s.head);
  uint32_t code;
  if (!wide_ && EncodeValue(value, &code)) {
    uint32_t* r = codes() + at;
    if (s.count == size_) {
      NeumaierAdd(&s.sum, &s.compensation, -DecodeValue(*r));
    } else {
      ++s.count;
    }
    *r = code;
  } else {
    if (!wide_) Widen(value);
    double* r = wide_values() + at;
    if (s.count == size_) {
      NeumaierAdd(&s.sum, &s.compensation, -*r);
    } else {
      ++s.count;
    }
    *r = value;
  }
  NeumaierAdd(&s.sum, &s.compensation, value);
  ++s.total;
  s.last_time = time_us;
  if (++s.head == size_) {
    s.head = 0;
    Recompute(slot);  // once per `size` readings: amortised O(1)
  }
}

void WindowTable::Recompute(uint32_t slot) {
  Slot& s = slots_[slot];
  const size_t at = At(slot, 0);
  double sum = 0, c = 0;
  if (wide_) {
    const double* r = wide_values() + at;
    for (uint32_t i = 0; i < s.count; ++i) NeumaierAdd(&sum, &c, r[i]);
  } else {
    const uint32_t* r = codes() + at;
    for (uint32_t i = 0; i < s.count; ++i) NeumaierAdd(&sum, &c, DecodeValue(r[i]));
  }
  s.sum = sum;
  s.compensation = c;
}

double WindowTable::last(uint32_t slot) const {
  const Slot& s = slots_[slot];
  return Get(At(slot, s.head == 0 ? size_ - 1 : s.head - 1));
}

double WindowTable::min(uint32_t slot) const {
  const size_t at = At(slot, 0);
  double m = Get(at);
  for (uint32_t i = 1; i < slots_[slot].count; ++i) m = std::min(m, Get(at + i));
  return m;
}

double WindowTable::max(uint32_t slot) const {
  const size_t at = At(slot, 0);
  double m = Get(at);
  for (uint32_t i = 1; i < slots_[slot].count; ++i) m = std::max(m, Get(at + i));
  return m;
}

uint32_t WindowTable::RecentValues(uint32_t slot, double* out, uint32_t max) const {
  const Slot& s = slots_[slot];
  const uint32_t n = s.count < max ? s.count : max;
  const uint32_t start = s.count == size_ ? s.head : 0;
  for (uint32_t i = 0; i < n; ++i) out[i] = Get(At(slot, (start + s.count - n + i) % size_));
  return n;
}

std::vector<double> WindowTable::Values(uint32_t slot) const {
  const Slot& s = slots_[slot];
  std::vector<double> out;
  out.reserve(s.count);
  const uint32_t start = s.count == size_ ? s.head : 0;
  for (uint32_t i = 0; i < s.count; ++i) out.push_back(Get(At(slot, (start + i) % size_)));
  return out;
}

void WindowTable::Restore(uint32_t slot, const std::vector<double>& values, uint64_t total,
                          TimeMicros last_time) {
  Slot& s = slots_[slot];
  const size_t skip = values.size() > size_ ? values.size() - size_ : 0;
  s.count = static_cast<uint32_t>(values.size() - skip);
  for (uint32_t i = 0; i < s.count; ++i) Put(At(slot, i), values[skip + i]);
  s.head = s.count == size_ ? 0 : s.count;
  s.total = total;
  s.last_time = last_time;
  Recompute(slot);
}

}  // namespace sensorgate
