// The keys of [mqtt] (DESIGN.md section 3), read into Config::mqtt for the
// MQTT source (mqtt_source.h). Compiled in every build, also without
// SENSORGATE_WITH_MQTT, so --check validates [mqtt] everywhere.
#ifndef SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_KEYS_H_
#define SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_KEYS_H_

#include "gateway/config/config_engine.h"

namespace sensorgate {

// [mqtt]: the broker, topics, session and TLS of the MQTT source.
SectionSpec MqttKeys();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_KEYS_H_
