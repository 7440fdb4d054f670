#include "gateway/rules/window.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <new>
#include <stdexcept>

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

double* AllocateArena(uint32_t size, uint32_t max_keys) {
  const size_t values = ArenaValues(size, max_keys);
  if (values == 0) throw std::bad_alloc();
  void* p = std::calloc(values, sizeof(double));
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<double*>(p);
}

}  // namespace

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
  double* r = arena_.get() + static_cast<size_t>(slot) * size_;
  if (s.count == size_) {
    NeumaierAdd(&s.sum, &s.compensation, -r[s.head]);
  } else {
    ++s.count;
  }
  r[s.head] = value;
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
  const double* r = ring(slot);
  double sum = 0, c = 0;
  for (uint32_t i = 0; i < s.count; ++i) NeumaierAdd(&sum, &c, r[i]);
  s.sum = sum;
  s.compensation = c;
}

double WindowTable::last(uint32_t slot) const {
  const Slot& s = slots_[slot];
  return ring(slot)[s.head == 0 ? size_ - 1 : s.head - 1];
}

double WindowTable::min(uint32_t slot) const {
  const double* r = ring(slot);
  return *std::min_element(r, r + slots_[slot].count);
}

double WindowTable::max(uint32_t slot) const {
  const double* r = ring(slot);
  return *std::max_element(r, r + slots_[slot].count);
}

uint32_t WindowTable::RecentValues(uint32_t slot, double* out, uint32_t max) const {
  const Slot& s = slots_[slot];
  const double* r = ring(slot);
  const uint32_t n = s.count < max ? s.count : max;
  const uint32_t start = s.count == size_ ? s.head : 0;
  for (uint32_t i = 0; i < n; ++i) out[i] = r[(start + s.count - n + i) % size_];
  return n;
}

std::vector<double> WindowTable::Values(uint32_t slot) const {
  const Slot& s = slots_[slot];
  const double* r = ring(slot);
  std::vector<double> out;
  out.reserve(s.count);
  const uint32_t start = s.count == size_ ? s.head : 0;
  for (uint32_t i = 0; i < s.count; ++i) out.push_back(r[(start + i) % size_]);
  return out;
}

void WindowTable::Restore(uint32_t slot, const std::vector<double>& values, uint64_t total,
                          TimeMicros last_time) {
  Slot& s = slots_[slot];
  double* r = arena_.get() + static_cast<size_t>(slot) * size_;
  const size_t skip = values.size() > size_ ? values.size() - size_ : 0;
  s.count = static_cast<uint32_t>(values.size() - skip);
  for (uint32_t i = 0; i < s.count; ++i) r[i] = values[skip + i];
  s.head = s.count == size_ ? 0 : s.count;
  s.total = total;
  s.last_time = last_time;
  Recompute(slot);
}

}  // namespace sensorgate
