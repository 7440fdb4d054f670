// The record and payload formats sensorgate reads and sensorgate-sim writes,
// one declaration for both programs.
#ifndef SENSORGATE_GATEWAY_BASE_FORMATS_H_
#define SENSORGATE_GATEWAY_BASE_FORMATS_H_

namespace sensorgate {

// A file's records: one JSON object a line, or CSV with a header line.
enum class RecordFormat { kJson, kCsv };
// An MQTT message's payload: a JSON object, or a bare number.
enum class PayloadFormat { kJson, kNumber };

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_FORMATS_H_
