// PlanMemory(): the fixed memory of every rule's windows (DESIGN.md section 3).
//
// All arithmetic is on uint64_t and saturates at UINT64_MAX, so a plan never
// wraps, not even where size_t has 32 bits (armhf): 100000 × 1000000 × 8 is
// 745 GiB here, where a 32-bit product would wrap to a small number.
//
// The rule `hot` (what gateway/rules/window.cc and gateway/pipeline/pipeline.h
// allocate at start-up; memory_plan_test.cc checks the constants against the
// real types):
//   ring arena        size × max_keys × 8            (calloc'd room for doubles;
//                                                     only half is touched while
//                                                     readings have 4-byte codes)
//   per key           max_keys × kPlanPerKeyBytes    (213 bytes:)
//     WindowTable::Slot 40, key offset 4, hash 4, 128 bytes of interned key
//     reserved (keys longer than 128 bytes on average grow the vector past
//     the plan), Pipeline KeyState 32, changed_ 4 and is_changed_ 1
//   key offsets       + 4                            (max_keys + 1 entries)
//   key index         IndexEntries(max_keys) × 4     (a power of two >= 16 and
//                                                     >= 2 × max_keys)
// Not counted: the record parser, sinks, buffers of the sources, and the
// brief doubling while a reload carries windows into a resized table.
//
// A [rule.NAME], as gateway/rules/ allocates it when the rule is built
// (memory_plan_test.cc measures a rule's allocations against its plan):
//   per key           max_keys × kPlanRuleKeyBytes (152: 128 bytes of
//                     interned key reserved, offset 4, hash 4, alert state 16)
//                     + key index IndexEntries(max_keys) × 4
//   count N           N × values × max_keys × 8, values = 1 (the value)
//                     + 1 if slope (its time) + 1 per distinct() (a hash);
//                     + per key a state of kPlanCountKeyBytes (128) and 4
//                     bytes per distinct()
//   tumbling, sliding panes × max_keys × (kPlanPaneBytes + 1 per distinct()),
//   and total         panes = D/S (1 for tumbling and total) + ceil(lateness
//                     / S) panes that wait for late records; a pane is its
//                     grid number, an Accumulator of every aggregate's
//                     moments and its times (128 bytes); sliding with D/S
//                     > 1 adds per pane its block cache (96 bytes) and per
//                     key the cache's bounds (32 bytes)
//   zscore()          baseline × max_keys × 8 + 8 per key
//   distinct()        one pool for the rule: max_distinct × 24 + 16 bytes per
//                     bucket (a power of two >= 2 × max_distinct) + 8 per set
//                     (a key's window or pane, per distinct() aggregate);
//                     sliding with D/S > 1: a second pool as large for the
//                     windows being closed, 12 bytes per key and distinct(),
//                     16 per key
//   the rule itself   kPlanRuleFixedBytes (its configuration, filter, scratch)
#include <cinttypes>
#include <cstdio>
#include <string>

#include "gateway/config/config.h"

namespace sensorgate {
namespace {

uint64_t Mul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

uint64_t Add(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

uint64_t IndexEntries(uint64_t max_keys) {
  uint64_t n = 16;
  while (n < max_keys * 2) n <<= 1;  // max_keys < 2^32: never overflows
  return n;
}

std::string U(uint64_t v) { return std::to_string(v); }

// Per-key state and key index of a table of max_keys keys; appends its
// description to detail.
uint64_t KeyBytes(uint64_t max_keys, std::string* detail) {
  const uint64_t index = Mul(IndexEntries(max_keys), 4);
  *detail += " + " + U(max_keys) + " keys × " + U(kPlanPerKeyBytes) + " bytes + key index " + HumanBytes(index);
  return Add(Add(Mul(max_keys, kPlanPerKeyBytes), 4), index);
}

uint64_t PowerOfTwoAtLeast(uint64_t n) {
  uint64_t p = 16;
  while (p < n) p <<= 1;
  return p;
}

MemoryPlan::Item PlanRule(const RuleConfig& r) {
  MemoryPlan::Item item{r.name, 0, ""};
  const uint64_t keys = r.max_keys;
  uint64_t distinct = 0;
  bool slope = false;
  for (const Aggregate& a : r.aggregates) {
    distinct += a.kind == AggregateKind::kDistinct;
    slope = slope || a.kind == AggregateKind::kSlope;
  }
  uint64_t bytes = 0;
  uint64_t sets = 0;  // distinct() sets of the pool
  if (r.window == WindowKind::kCount) {
    const uint64_t values = 1 + (slope ? 1 : 0) + distinct;
    bytes = Mul(Mul(Mul(r.count, values), keys), 8);
    bytes = Add(bytes, Mul(keys, Add(kPlanCountKeyBytes, Mul(distinct, 4))));
    item.detail = "count " + U(r.count) + (values > 1 ? " × " + U(values) + " values" : std::string()) +
                  " × max_keys " + U(keys) + " × 8 bytes + " + U(keys) + " key states × " +
                  U(kPlanCountKeyBytes + distinct * 4) + " bytes";
    sets = Mul(keys, distinct);
  } else {
    const uint64_t panes = r.panes();
    const bool blocks = r.window == WindowKind::kSliding && r.every_us > 0 && r.length_us / r.every_us > 1;
    const uint64_t pane = Add(Add(kPlanPaneBytes, distinct), blocks ? kPlanPaneCacheBytes : 0);
    bytes = Mul(Mul(panes, keys), pane);
    item.detail = "panes " + U(panes) + " × max_keys " + U(keys) + " × " + U(pane) + " bytes";
    if (blocks) {
      bytes = Add(bytes, Mul(keys, kPlanBlockKeyBytes));
      item.detail += " + " + U(keys) + " block caches × " + U(kPlanBlockKeyBytes) + " bytes";
    }
    sets = Mul(Mul(panes, keys), distinct);
  }
  const uint64_t index = Mul(IndexEntries(keys), 4);
  bytes = Add(bytes, Add(Add(Mul(keys, kPlanRuleKeyBytes), 4), index));
  item.detail += " + " + U(keys) + " keys × " + U(kPlanRuleKeyBytes) + " bytes + key index " + HumanBytes(index);
  uint64_t zscores = 0;
  if (r.alert.enabled && r.alert.zscore) ++zscores;
  if (r.clear.enabled && r.clear.zscore && !(r.alert.zscore && r.alert.aggregate == r.clear.aggregate)) ++zscores;
  if (zscores > 0) {
    // One history per rule (the aggregate the alert's zscore() names).
    bytes = Add(bytes, Add(Mul(Mul(r.baseline, keys), 8), Mul(keys, 8)));
    item.detail += " + zscore baseline " + U(r.baseline) + " × max_keys " + U(keys) + " × 8 bytes";
  }
  if (distinct > 0) {
    // Entries, their hash buckets and the scratch of a window's union, and
    // a head and count per set.
    const uint64_t table = PowerOfTwoAtLeast(Mul(2, r.max_distinct));
    const uint64_t pool = Add(Add(Mul(r.max_distinct, kPlanDistinctEntryBytes), Mul(table, 16)), Mul(sets, 8));
    bytes = Add(bytes, pool);
    item.detail += " + distinct pool " + HumanBytes(pool) + " (max_distinct " + U(r.max_distinct) + ")";
    if (r.window == WindowKind::kSliding && r.every_us > 0 && r.length_us / r.every_us > 1) {
      // The windows being closed: a second pool as large, one set per key
      // and distinct() (8 bytes, and 4 for its count of inexact panes), and
      // per key the panes the sets hold (16 bytes).
      const uint64_t window_sets = Mul(keys, distinct);
      const uint64_t wpool = Add(Add(Add(Mul(r.max_distinct, kPlanDistinctEntryBytes), Mul(table, 16)),
                                     Mul(window_sets, 12)),
                                 Mul(keys, 16));
      bytes = Add(bytes, wpool);
      item.detail += " + window sets " + HumanBytes(wpool);
    }
  }
  bytes = Add(bytes, kPlanRuleFixedBytes);
  item.detail += " + 64 KiB for the rule";
  item.bytes = bytes;
  return item;
}

}  // namespace

uint64_t RuleConfig::panes() const {
  switch (window) {
    case WindowKind::kCount:
    case WindowKind::kTotal:
      return 1;
    case WindowKind::kTumbling:
    case WindowKind::kSliding: {
      if (every_us <= 0 || length_us <= 0) return 1;
      const uint64_t s = static_cast<uint64_t>(every_us);
      const uint64_t late = lateness_us > 0 ? static_cast<uint64_t>(lateness_us) : 0;
      return Add(static_cast<uint64_t>(length_us) / s, late / s + (late % s != 0 ? 1 : 0));
    }
  }
  return 1;
}

MemoryPlan PlanMemory(const Config& config) {
  MemoryPlan plan;
  if (config.hot_rule) {
    MemoryPlan::Item hot{"hot", 0, ""};
    const uint64_t size = config.window.size, keys = config.window.max_keys;
    hot.bytes = Mul(Mul(size, keys), sizeof(double));
    hot.detail = "size " + U(size) + " × max_keys " + U(keys) + " × 8 bytes";
    hot.bytes = Add(hot.bytes, KeyBytes(keys, &hot.detail));
    plan.items.push_back(std::move(hot));
  }
  for (const RuleConfig& r : config.rules) plan.items.push_back(PlanRule(r));
  for (const MemoryPlan::Item& item : plan.items) plan.total = Add(plan.total, item.bytes);
  return plan;
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes == UINT64_MAX) return "more than 16 EiB";
  if (bytes < 1024) return U(bytes) + " bytes";
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (v >= 1023.95 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string n = buf;
  if (n.size() > 2 && n.compare(n.size() - 2, 2, ".0") == 0) n.resize(n.size() - 2);
  return n + " " + kUnits[unit];
}

std::string FormatMemoryPlan(const MemoryPlan& plan, uint64_t memory_max_bytes) {
  std::string out;
  for (const MemoryPlan::Item& item : plan.items) {
    out += "memory plan: rule " + item.rule + " " + HumanBytes(item.bytes) + " (" + item.detail + ")\n";
  }
  out += "memory plan: total " + HumanBytes(plan.total) + " of memory_max " + HumanBytes(memory_max_bytes) + "\n";
  return out;
}

}  // namespace sensorgate
