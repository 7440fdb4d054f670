#include "gateway/rules/key_index.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <new>

namespace sensorgate {
namespace {

uint32_t Hash(std::string_view key) {
  // size_t has 32 bits on armhf: fold through uint64_t.
  const uint64_t h = std::hash<std::string_view>()(key);
  return static_cast<uint32_t>(h ^ (h >> 32));
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
    if (hashes_[e - 1] == h && this->key(e - 1) == key) return e - 1;
  }
}

uint32_t KeyIndex::FindOrInsert(std::string_view key) {
  const uint32_t h = Hash(key);
  size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    const uint32_t e = table_[i];
    if (e == 0) break;
    if (hashes_[e - 1] == h && this->key(e - 1) == key) return e - 1;
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
