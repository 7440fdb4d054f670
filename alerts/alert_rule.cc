#include "alerts/alert_rule.h"

namespace sensorgate {

AlertTransition EvaluateAlert(AlertState* state, bool hot, bool clear, int64_t for_us, int64_t t_us) {
  switch (state->phase) {
    case AlertPhase::kOk:
      if (!hot) return AlertTransition::kNone;
      if (for_us == 0) {
        state->phase = AlertPhase::kFiring;
        return AlertTransition::kFiring;
      }
      state->phase = AlertPhase::kPending;
      state->since_us = t_us;
      return AlertTransition::kNone;
    case AlertPhase::kPending:
      if (!hot) {
        state->phase = AlertPhase::kOk;
        return AlertTransition::kNone;
      }
      if (t_us - state->since_us >= for_us) {
        state->phase = AlertPhase::kFiring;
        return AlertTransition::kFiring;
      }
      return AlertTransition::kNone;
    case AlertPhase::kFiring:
      if (clear) {
        state->phase = AlertPhase::kOk;
        return AlertTransition::kResolved;
      }
      return AlertTransition::kNone;
  }
  return AlertTransition::kNone;
}

AlertTransition EvaluateHot(const HotRule& rule, AlertState* state, double avg, uint32_t count,
                            int64_t t_us) {
  return EvaluateAlert(state, count >= rule.min_samples && avg > rule.above, avg < rule.clear_below, rule.for_us,
                       t_us);
}

const char* AlertPhaseName(AlertPhase p) {
  switch (p) {
    case AlertPhase::kOk: return "ok";
    case AlertPhase::kPending: return "pending";
    case AlertPhase::kFiring: return "firing";
  }
  return "?";
}

}  // namespace sensorgate
