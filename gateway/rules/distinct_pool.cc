#include "gateway/rules/distinct_pool.h"

#include <algorithm>
#include <cstring>

namespace sensorgate {
namespace {

// A 64-bit finaliser (MurmurHash3's fmix64): every input bit reaches every
// output bit.
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint32_t PowerOfTwoAtLeast(uint64_t n) {
  uint64_t p = 16;
  while (p < n) p <<= 1;
  return static_cast<uint32_t>(p);
}

}  // namespace

uint64_t DistinctHash(std::string_view text) {
  // 8 bytes at a time, each word mixed into the state; the length and a tag
  // for "string" last, so "ab" and a number never collide by construction.
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    h = Mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < text.size(); ++k) tail |= static_cast<uint64_t>(static_cast<unsigned char>(text[i + k])) << (8 * k);
  h = Mix(h ^ tail) + text.size();
  h = Mix(h ^ 0x5354524953545249ULL);  // "string"
  return h != 0 ? h : 1;               // 0 marks "not counted" in count windows
}

uint64_t DistinctHash(double number) {
  if (number == 0) number = 0;  // -0 and 0 are one value
  uint64_t bits;
  std::memcpy(&bits, &number, sizeof bits);
  const uint64_t h = Mix(Mix(bits) ^ 0x4e554d4245524e55ULL);  // "number"
  return h != 0 ? h : 1;
}

DistinctPool::DistinctPool(uint32_t capacity, uint32_t max_sets)
    : capacity_(capacity),
      entries_(capacity),
      buckets_(PowerOfTwoAtLeast(2 * static_cast<uint64_t>(capacity)), kNone),
      sets_(max_sets),
      scratch_hash_(PowerOfTwoAtLeast(2 * static_cast<uint64_t>(capacity))),
      scratch_stamp_(scratch_hash_.size(), 0) {
  for (uint32_t i = 0; i < capacity; ++i) entries_[i].next_in_bucket = i + 1 < capacity ? i + 1 : kNone;
  free_ = capacity > 0 ? 0 : kNone;
}

uint32_t DistinctPool::Bucket(uint32_t set, uint64_t hash) const {
  return static_cast<uint32_t>(Mix(hash ^ (static_cast<uint64_t>(set) * 0x9e3779b97f4a7c15ULL))) &
         static_cast<uint32_t>(buckets_.size() - 1);
}

// The entry of (set, hash), or kNone; *link is the slot pointing at it (or
// where a new one would go: the bucket's head).
uint32_t DistinctPool::Find(uint32_t set, uint64_t hash, uint32_t** link) {
  uint32_t* slot = &buckets_[Bucket(set, hash)];
  *link = slot;
  while (*slot != kNone) {
    Entry& e = entries_[*slot];
    if (e.hash == hash && e.set == set) {
      *link = slot;
      return *slot;
    }
    slot = &e.next_in_bucket;
  }
  return kNone;
}

bool DistinctPool::Add(uint32_t set, uint64_t hash) {
  uint32_t* link;
  const uint32_t found = Find(set, hash, &link);
  if (found != kNone) {
    ++entries_[found].occurrences;
    return true;
  }
  if (free_ == kNone) return false;
  Insert(set, hash, 1, link);
  return true;
}

void DistinctPool::Insert(uint32_t set, uint64_t hash, uint32_t occurrences, uint32_t* link) {
  const uint32_t i = free_;
  Entry& e = entries_[i];
  free_ = e.next_in_bucket;
  e.hash = hash;
  e.set = set;
  e.occurrences = occurrences;
  e.next_in_bucket = *link;
  *link = i;
  e.next_in_set = sets_[set].head;
  sets_[set].head = i;
  ++sets_[set].count;
  ++used_;
}

void DistinctPool::Values(uint32_t set, std::vector<std::pair<uint64_t, uint32_t>>* out) const {
  out->clear();
  for (uint32_t i = sets_[set].head; i != kNone; i = entries_[i].next_in_set) {
    out->emplace_back(entries_[i].hash, entries_[i].occurrences);
  }
  // The list is newest first (Add() puts a value at its head).
  std::reverse(out->begin(), out->end());
}

bool DistinctPool::Restore(uint32_t set, uint64_t hash, uint32_t occurrences) {
  if (set >= sets_.size() || occurrences == 0 || free_ == kNone) return false;
  uint32_t* link;
  if (Find(set, hash, &link) != kNone) return false;
  Insert(set, hash, occurrences, link);
  return true;
}

void DistinctPool::Remove(uint32_t set, uint64_t hash) {
  uint32_t* link;
  const uint32_t found = Find(set, hash, &link);
  if (found == kNone) return;
  Entry& e = entries_[found];
  if (--e.occurrences > 0) return;
  *link = e.next_in_bucket;
  // Out of the set's list (short: the values of one window).
  for (uint32_t* s = &sets_[set].head; *s != kNone; s = &entries_[*s].next_in_set) {
    if (*s == found) {
      *s = e.next_in_set;
      break;
    }
  }
  --sets_[set].count;
  e.next_in_bucket = free_;
  free_ = found;
  --used_;
}

void DistinctPool::Clear(uint32_t set) {
  uint32_t i = sets_[set].head;
  while (i != kNone) {
    Entry& e = entries_[i];
    const uint32_t next = e.next_in_set;
    uint32_t* link;
    (void)Find(set, e.hash, &link);
    *link = e.next_in_bucket;
    e.next_in_bucket = free_;
    free_ = i;
    --used_;
    i = next;
  }
  sets_[set] = Set();
}

uint32_t DistinctPool::UnionCount(const uint32_t* sets, size_t n) {
  if (++stamp_ == 0) {  // wrapped: forget every old stamp
    std::fill(scratch_stamp_.begin(), scratch_stamp_.end(), 0);
    stamp_ = 1;
  }
  const uint32_t mask = static_cast<uint32_t>(scratch_hash_.size() - 1);
  uint32_t distinct = 0;
  for (size_t k = 0; k < n; ++k) {
    for (uint32_t i = sets_[sets[k]].head; i != kNone; i = entries_[i].next_in_set) {
      const uint64_t h = entries_[i].hash;
      for (uint32_t b = static_cast<uint32_t>(Mix(h)) & mask;; b = (b + 1) & mask) {
        if (scratch_stamp_[b] != stamp_) {
          scratch_stamp_[b] = stamp_;
          scratch_hash_[b] = h;
          ++distinct;
          break;
        }
        if (scratch_hash_[b] == h) break;
      }
    }
  }
  return distinct;
}

}  // namespace sensorgate
