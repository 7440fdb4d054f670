// The keys of [reading] (DESIGN.md section 3), read into Config::reading for
// the record parser (record_parser.h).
#ifndef SENSORGATE_GATEWAY_PARSE_READING_KEYS_H_
#define SENSORGATE_GATEWAY_PARSE_READING_KEYS_H_

#include "gateway/config/config_engine.h"

namespace sensorgate {

// [reading]: where key, value and time are in a record, and the value range.
SectionSpec ReadingKeys();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_PARSE_READING_KEYS_H_
