#include "gateway/rules/key_index.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

namespace sensorgate {
namespace {

uint64_t Load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Keys are short (a sensor or an equipment name): eight bytes at a time,
// each word mixed by a multiplication, the last word ending at the last
// byte; no call and no loop for keys of up to 16 bytes. 64-bit arithmetic
// on every machine (size_t has 32 bits on armhf). Only this table sees the
// hashes: they order nothing that is written out.
uint32_t Hash(std::string_view key) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  const char* p = key.data();
  const size_t n = key.size();
  uint64_t h = n * kMul;
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8) h = (h ^ Load8(p + i)) * kMul, h ^= h >> 29;
    h = (h ^ Load8(p + n - 8)) * kMul;
  } else {
    uint64_t w = 0;
    for (size_t i = 0; i < n; ++i) w |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    h = (h ^ w) * kMul;
  }
  h ^= h >> 32;
  h *= kMul;
  return static_cast<uint32_t>(h >> 32);
}

// a == b, both of n bytes: words as in Hash(), no call for short keys.
bool SameBytes(const char* a, const char* b, size_t n) {
  if (n < 8 || n > 32) return std::memcmp(a, b, n) == 0;
  size_t i = 0;
  for (; i + 8 < n; i += 8) {
    if (Load8(a + i) != Load8(b + i)) return false;
  }
  return Load8(a + n - 8) == Load8(b + n - 8);
}

size_t TableSize(uint32_t max_keys) {
  const uint64_t n = KeyIndex::EntriesFor(max_keys);
  if (n > SIZE_MAX / sizeof(uint32_t) || max_keys > SIZE_MAX / KeyIndex::kKeyBytesReserved) throw std::bad_alloc();
  return static_cast<size_t>(n);
}

}  // namespace

uint64_t KeyIndex::EntriesFor(uint32_t max_keys) {
  uint64_t n = 16;
  while (n < uint64_t{max_keys} * 2) n <<= 1;
  return n;
}

KeyIndex::KeyIndex(uint32_t max_keys) : max_keys_(max_keys), table_(TableSize(max_keys), 0), mask_(table_.size() - 1) {
  bytes_.reserve(static_cast<size_t>(max_keys) * kKeyBytesReserved);
  offsets_.reserve(static_cast<size_t>(max_keys) + 1);
  offsets_.push_back(0);
  hashes_.reserve(max_keys);
}

uint32_t KeyIndex::Find(std::string_view key) const {
  const uint32_t h = Hash(key);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint32_t e = table_[i];
    if (e == 0) return kNoSlot;
    if (hashes_[e - 1] != h) continue;
    const std::string_view k = this->key(e - 1);
    if (k.size() == key.size() && SameBytes(k.data(), key.data(), key.size())) return e - 1;
  }
}

uint32_t KeyIndex::FindOrInsert(std::string_view key) {
  const uint32_t h = Hash(key);
  size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    const uint32_t e = table_[i];
    if (e == 0) break;
    if (hashes_[e - 1] != h) continue;
    const std::string_view k = this->key(e - 1);
    if (k.size() == key.size() && SameBytes(k.data(), key.data(), key.size())) return e - 1;
  }
  if (hashes_.size() >= max_keys_) return kNoSlot;
  const uint32_t slot = static_cast<uint32_t>(hashes_.size());
  bytes_.insert(bytes_.end(), key.begin(), key.end());
  offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
  hashes_.push_back(h);
  table_[i] = slot + 1;
  return slot;
}

std::vector<uint32_t> KeyIndex::SlotsByKey() const {
  std::vector<uint32_t> slots(size());
  for (uint32_t s = 0; s < size(); ++s) slots[s] = s;
  std::sort(slots.begin(), slots.end(), [this](uint32_t a, uint32_t b) { return key(a) < key(b); });
  return slots;
}

}  // namespace sensorgate
