// RuleEvent: one object of DESIGN.md 13.5 that a [rule.NAME] emits (a
// result, an alert, an outlier, a window line), with what the sinks need to
// route it without parsing it.
#ifndef SENSORGATE_GATEWAY_RULES_RULE_EVENT_H_
#define SENSORGATE_GATEWAY_RULES_RULE_EVENT_H_

#include <cstdint>
#include <string_view>

#include "gateway/base/time_util.h"

namespace sensorgate {

// One object of 13.5 a rule emits, with what sinks need to route it.
struct RuleEvent {
  enum class Kind : uint8_t { kResult, kAlert, kOutlier, kWindow };
  Kind kind = Kind::kResult;
  std::string_view rule;
  std::string_view key;
  std::string_view json;  // the object, without a line end
  // kResult: its end; kAlert: the time it happened at; kOutlier: the
  // record's; kWindow: the last reading's.
  TimeMicros time_us = 0;
  bool open = false;  // kResult: a window not closed yet (replay's end, /api)
  // kAlert: the state, the aggregate the condition is about (its name and
  // value; the zscore when it is zscore(AGG)), the condition's threshold
  // and the window's count.
  bool firing = false;
  std::string_view aggregate;
  std::string_view op;  // > >= < <=: how value compares with threshold
  double value = 0;
  double threshold = 0;
  uint64_t count = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_RULE_EVENT_H_
