// What a named rule's alert looks at (DESIGN.md 13.4): the value of an
// aggregate, a condition `AGG OP NUMBER` or `zscore(AGG) OP NUMBER` on it,
// and the per-key history of closed windows zscore() compares against.
//
// Plain functions and a fixed-size table; the pipeline thread owns it.
#ifndef SENSORGATE_GATEWAY_RULES_RULE_ALERT_H_
#define SENSORGATE_GATEWAY_RULES_RULE_ALERT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/rules/aggregate.h"

namespace sensorgate {

// The value of aggregate `a` over `values`; `distinct` is that aggregate's
// distinct() count when it is one. False: the value is null (slope without
// two distinct times, anything of an empty window).
bool AggregateValue(const Aggregate& a, const Accumulator& values, uint32_t distinct, double* out);

// x OP threshold, for the operators of alert and clear (> >= < <=).
bool Compares(CompareOp op, double x, double threshold);

// Baselines: for each key, the last `baseline` values of one aggregate over
// its closed windows (only windows where it was defined), as a ring.
class Baselines {
 public:
  Baselines(uint32_t baseline, uint32_t max_keys);
  // The zscore of x against the key's history: false (null) until it holds
  // `baseline` values, or when their population stddev is 0 (or, rounding,
  // at most 1e-12 of the largest |value|).
  bool Zscore(uint32_t slot, double x, double* z) const;
  // Adds the closing window's value to the key's history (after Zscore).
  void Push(uint32_t slot, double x);

  // The checkpoint (DESIGN.md section 10). SaveState() appends every key's
  // history (aggregate.h's encoding; keys with none are left out) to *out.
  // LoadState() restores it into an object freshly made with the same
  // baseline and max_keys, reads from the front of *in and advances it past
  // what it used; on input that is truncated, malformed or from another
  // configuration it returns false with *error saying why (discard the
  // object then). Everything read is bounds-checked before use.
  void SaveState(std::string* out) const;
  bool LoadState(std::string_view* in, std::string* error);

 private:
  const uint32_t baseline_;
  std::vector<double> values_;    // baseline × max_keys, ring per key
  std::vector<uint32_t> filled_;  // per key: values held (at most baseline)
  std::vector<uint32_t> head_;    // per key: where the next value goes
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_RULE_ALERT_H_
