// The keys of [window], [alert] and the named sections [rule.NAME]
// (DESIGN.md sections 3 and 13.2), read into Config::window, Config::alert
// and Config::rules for the window tables (window.h) and the rule engine.
#ifndef SENSORGATE_GATEWAY_RULES_RULE_KEYS_H_
#define SENSORGATE_GATEWAY_RULES_RULE_KEYS_H_

#include "gateway/config/config_engine.h"

namespace sensorgate {

// [window]: the ring of readings kept per key by the rule hot.
SectionSpec WindowKeys();

// [alert]: when the rule hot fires and resolves. Its validate hook checks
// clear_below against above and min_samples against [window] size.
SectionSpec AlertKeys();

// [rule.NAME]: one named rule each (DESIGN.md 13.2). Its validate hook checks
// what a rule's keys must agree on (13.2 to 13.4); its finish hook decides
// whether the rule hot exists.
SectionSpec RuleKeys();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_RULE_KEYS_H_
