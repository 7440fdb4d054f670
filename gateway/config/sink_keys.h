// The keys of [email] and [kafka] (DESIGN.md section 3). Their sinks do not
// exist yet; each table moves beside its sink when the sink is written.
#ifndef SENSORGATE_GATEWAY_CONFIG_SINK_KEYS_H_
#define SENSORGATE_GATEWAY_CONFIG_SINK_KEYS_H_

#include "gateway/config/config_engine.h"

namespace sensorgate {

// [email]: alert mail over SMTP, into Config::email.
SectionSpec EmailKeys();

// [kafka]: aggregates and alert events to Kafka, into Config::kafka; keys
// rdkafka.* pass to librdkafka.
SectionSpec KafkaKeys();

// Empty, or a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'.
const char* CheckKafkaTopic(const ConfigValue& v);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_CONFIG_SINK_KEYS_H_
