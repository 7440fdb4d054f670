// KeyIndex: keys interned once into slots 0, 1, 2, ... (at most max_keys),
// found again without building a std::string: an open-addressing table of
// slot numbers over the interned bytes, sized at construction.
//
// Not thread-safe: one owner (the pipeline thread).
#ifndef SENSORGATE_GATEWAY_RULES_KEY_INDEX_H_
#define SENSORGATE_GATEWAY_RULES_KEY_INDEX_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace sensorgate {

class KeyIndex {
 public:
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  // Room for this many bytes of key per key is reserved (not touched).
  static constexpr size_t kKeyBytesReserved = 128;

  // Throws std::bad_alloc when the table does not fit in size_t.
  explicit KeyIndex(uint32_t max_keys);

  // The slot of key, or kNoSlot if it has not been seen.
  uint32_t Find(std::string_view key) const;
  // The slot of key, interning it if it is new; kNoSlot if it is new and
  // max_keys keys exist already.
  uint32_t FindOrInsert(std::string_view key);

  uint32_t size() const { return static_cast<uint32_t>(hashes_.size()); }
  uint32_t max_keys() const { return max_keys_; }
  std::string_view key(uint32_t slot) const {
    return std::string_view(bytes_.data() + offsets_[slot], offsets_[slot + 1] - offsets_[slot]);
  }
  // Slots sorted by key, bytewise.
  std::vector<uint32_t> SlotsByKey() const;

  // Entries of the table for max_keys keys (4 bytes each): the power of two
  // at least 16 and at least 2 × max_keys.
  static uint64_t EntriesFor(uint32_t max_keys);

 private:
  const uint32_t max_keys_;
  std::vector<char> bytes_;        // keys back to back
  std::vector<uint32_t> offsets_;  // key i is [offsets_[i], offsets_[i + 1])
  std::vector<uint32_t> hashes_;   // per slot, to skip most key compares
  std::vector<uint32_t> table_;    // slot + 1, 0 = empty
  size_t mask_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_KEY_INDEX_H_
