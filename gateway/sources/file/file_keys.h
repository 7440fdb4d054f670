// The keys of [file] (DESIGN.md section 3), read into Config::file for the
// file source (file_source.h).
#ifndef SENSORGATE_GATEWAY_SOURCES_FILE_FILE_KEYS_H_
#define SENSORGATE_GATEWAY_SOURCES_FILE_FILE_KEYS_H_

#include "gateway/config/config_engine.h"

namespace sensorgate {

// [file]: the sensor log files to follow.
SectionSpec FileKeys();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_FILE_FILE_KEYS_H_
