// WindowTable: one ring-buffer window per key, all in one arena.
//
// The arena holds max_keys x size doubles and is reserved once, at
// construction; memory never depends on how many readings arrive. Sizes are
// computed with overflow checks (size_t has 32 bits on armhf); what the table
// allocates is what PlanMemory() (gateway/config/config.h) counts. Keys are
// interned once, when first seen; looking a key up builds no std::string and
// the hot path (Find/Insert + Add) allocates nothing.
//
// The average carries no drift: a Neumaier-compensated running sum is updated
// as values enter and leave, and recomputed from the window's values each
// time the ring wraps (every `size` readings of a key), so rounding error never
// accumulates beyond one window's worth. min and max are computed on demand
// from the ring (they are needed at output time, not per reading).
//
// Values are held in 4 bytes while they can be: a reading written as a
// decimal with up to 7 places whose digits fit in 29 bits (23.45 is 2345 and
// 2 places) is stored as those digits and places, and read back as
// digits / 10^places, which is exactly the double the parser made of the
// text (both are the correctly rounded quotient; each code is checked when
// it is made, so what is read back is always the value given, -0.0
// included). The first value that has no such code widens the whole arena in
// place to doubles, for good. The arena is allocated (and planned) at 8 bytes
// per value, so widening needs no memory, but while the readings are such
// decimals, as sensors write them, only its first half is ever touched: at
// 10,000 keys x 60, 2.3 MiB instead of 4.6.
//
// Not thread-safe: owned and used by the pipeline thread.
#ifndef SENSORGATE_GATEWAY_RULES_WINDOW_H_
#define SENSORGATE_GATEWAY_RULES_WINDOW_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/base/json_format.h"
#include "gateway/base/time_util.h"
#include "gateway/rules/key_index.h"

namespace sensorgate {

class WindowTable {
 public:
  static constexpr uint32_t kNoSlot = KeyIndex::kNoSlot;

  // Room for this many bytes of interned key per key is reserved up front.
  static constexpr size_t kKeyBytesReserved = KeyIndex::kKeyBytesReserved;

  // A table, or nullptr when its memory cannot be allocated (or its size
  // does not fit in size_t). REQUIRES: size >= 1, max_keys >= 1.
  static std::unique_ptr<WindowTable> Create(uint32_t size, uint32_t max_keys);

  // Throws std::bad_alloc when the memory cannot be allocated or its size
  // does not fit in size_t; prefer Create(). REQUIRES: size >= 1, max_keys >= 1.
  WindowTable(uint32_t size, uint32_t max_keys);
  WindowTable(const WindowTable&) = delete;
  WindowTable& operator=(const WindowTable&) = delete;

  // The slot of key, or kNoSlot if the key has not been seen.
  uint32_t Find(std::string_view key) const;
  // The slot of key, creating an empty window if it is new; kNoSlot if the
  // key is new and max_keys keys exist already.
  uint32_t FindOrInsert(std::string_view key);

  // Adds a reading to the slot's window, evicting the oldest when full.
  // REQUIRES: slot < key_count().
  void Add(uint32_t slot, double value, TimeMicros time_us);

  // True once a value has widened the arena to doubles (8 bytes a value).
  bool wide() const { return wide_; }

  uint32_t key_count() const { return static_cast<uint32_t>(slots_.size()); }
  uint32_t size() const { return size_; }
  uint32_t max_keys() const { return max_keys_; }

  std::string_view key(uint32_t slot) const { return keys_.key(slot); }
  uint32_t count(uint32_t slot) const { return slots_[slot].count; }
  uint64_t total(uint32_t slot) const { return slots_[slot].total; }
  // Mean of the values in the window. REQUIRES: count(slot) > 0.
  double average(uint32_t slot) const {
    const Slot& s = slots_[slot];
    return (s.sum + s.compensation) / s.count;
  }
  double last(uint32_t slot) const;
  TimeMicros last_time(uint32_t slot) const { return slots_[slot].last_time; }
  // Scans the window. REQUIRES: count(slot) > 0.
  double min(uint32_t slot) const;
  double max(uint32_t slot) const;
  // What the outputs show of the slot's window. REQUIRES: count(slot) > 0.
  WindowSummary Summary(uint32_t slot) const {
    return WindowSummary{key(slot), count(slot), total(slot), average(slot), min(slot), max(slot), last(slot),
                         last_time(slot)};
  }
  // The window's values, oldest first.
  std::vector<double> Values(uint32_t slot) const;
  // Copies the window's last min(count, max) values, oldest first, to `out`;
  // returns how many. No allocation.
  uint32_t RecentValues(uint32_t slot, double* out, uint32_t max) const;

  // Replaces the slot's window with `values` (oldest first; only the last
  // size() are kept), as restored from a checkpoint or a resized table.
  void Restore(uint32_t slot, const std::vector<double>& values, uint64_t total, TimeMicros last_time);

  // Slots sorted by key, bytewise.
  std::vector<uint32_t> SlotsByKey() const { return keys_.SlotsByKey(); }

  // Bytes of the per-key state besides the ring (for the memory plan's tests).
  static constexpr size_t slot_bytes() { return sizeof(Slot); }
  // Entries of the open-addressing index for max_keys keys (4 bytes each):
  // the power of two at least 16 and at least 2 x max_keys.
  static uint64_t IndexEntriesFor(uint32_t max_keys) { return KeyIndex::EntriesFor(max_keys); }

 private:
  struct Slot {
    double sum = 0;
    double compensation = 0;
    uint64_t total = 0;
    TimeMicros last_time = 0;
    uint32_t count = 0;
    uint32_t head = 0;  // where the next value goes
  };
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };

  // The arena's index of the slot's ring element i.
  size_t At(uint32_t slot, uint32_t i) const { return static_cast<size_t>(slot) * size_ + i; }
  // The value at arena index `at`.
  double Get(size_t at) const { return wide_ ? wide_values()[at] : DecodeValue(codes()[at]); }
  // Stores `value` at arena index `at`, widening the arena first if it has no
  // 4-byte code.
  void Put(size_t at, double value) {
    uint32_t code;
    if (wide_) {
      wide_values()[at] = value;
    } else if (EncodeValue(value, &code)) {
      codes()[at] = code;
    } else {
      Widen(value);
      wide_values()[at] = value;
    }
  }
  // The 4-byte code of value (digits << 3 | places), trying the places of
  // the last code first; false if there is none.
  bool EncodeValue(double value, uint32_t* code);
  static double DecodeValue(uint32_t code);
  // Rewrites every code as a double, from the last to the first (element i
  // moves from byte 4i to 8i, after all the elements above it have moved),
  // and logs that `cause` made it.
  void Widen(double cause);

  uint32_t* codes() const { return static_cast<uint32_t*>(arena_.get()); }
  double* wide_values() const { return static_cast<double*>(arena_.get()); }
  void Recompute(uint32_t slot);

  const uint32_t size_;
  const uint32_t max_keys_;
  std::unique_ptr<void, FreeDeleter> arena_;  // calloc: pages are touched as windows fill
  bool wide_ = false;         // doubles, not codes
  uint32_t places_hint_ = 0;  // the decimal places of the last code made
  std::vector<Slot> slots_;
  KeyIndex keys_;  // slot i is key i
};

// Adds x to a Neumaier-compensated sum (sum + compensation).
inline void NeumaierAdd(double* sum, double* compensation, double x) {
  const double t = *sum + x;
  if ((*sum < 0 ? -*sum : *sum) >= (x < 0 ? -x : x)) {
    *compensation += (*sum - t) + x;
  } else {
    *compensation += (x - t) + *sum;
  }
  *sum = t;
}

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_WINDOW_H_
