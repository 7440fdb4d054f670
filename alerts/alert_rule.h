// The "hot" alert state machine of DESIGN.md section 5.
//
// Each key has an AlertState: ok, pending (hot since some reading time) or
// firing. After a reading is added to its key's window, Evaluate() is called
// with the window's average and count and the reading's time; it moves the
// state and says whether an event (firing or resolved) is to be emitted.
//   hot <=> count >= min_samples and avg > above
//   ok:      if hot: for == 0 -> firing (emit firing); else -> pending since t
//   pending: if not hot -> ok; else if t - since >= for -> firing (emit firing)
//   firing:  if avg < clear_below -> ok (emit resolved)
// `for` is measured in reading time, so a batch replay and the daemon agree.
// Pure functions over plain data: no allocation, no clock, any thread.
#ifndef SENSORGATE_ALERTS_ALERT_RULE_H_
#define SENSORGATE_ALERTS_ALERT_RULE_H_

#include <cstdint>

namespace sensorgate {

enum class AlertPhase : uint8_t { kOk = 0, kPending = 1, kFiring = 2 };

// What to emit after a transition.
enum class AlertTransition : uint8_t { kNone = 0, kFiring = 1, kResolved = 2 };

struct HotRule {
  double above = 0;
  double clear_below = 0;  // REQUIRES: clear_below <= above
  int64_t for_us = 0;      // >= 0
  uint32_t min_samples = 1;
};

struct AlertState {
  AlertPhase phase = AlertPhase::kOk;
  int64_t since_us = 0;  // pending: time of the reading that made it hot
};

// The machine itself, for any rule: `hot` (the alert condition holds with
// enough samples) and `clear` (a firing alert resolves) as judged at time
// `t_us`. Returns the event to emit, if any.
AlertTransition EvaluateAlert(AlertState* state, bool hot, bool clear, int64_t for_us, int64_t t_us);

// Moves `state` for one reading of time `t_us` after which the window holds
// `count` readings averaging `avg`. Returns the event to emit, if any.
AlertTransition EvaluateHot(const HotRule& rule, AlertState* state, double avg, uint32_t count,
                            int64_t t_us);

const char* AlertPhaseName(AlertPhase p);

}  // namespace sensorgate

#endif  // SENSORGATE_ALERTS_ALERT_RULE_H_
