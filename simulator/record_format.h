// RecordFormatter: turns a Record into the bytes of one line (without its line
// ending) or one MQTT payload, in the shape of the plant's sample file:
//
// {"id_sensor":"Sensor-1503-762GK","id_equipamento":"Equipament-0323XH-762GK",
//  "sensor":"sensor16", "data_evento":"2023-03-15T12:15:37.166944Z",
//  "padrao":{"formato":"iot:leitura:sensor:temp", "leitura":{"temperatura":73.3}}}
//
// (one line; the spaces after some commas are the sample's). The id suffix
// ("762GK") comes from the record's random bits. With PayloadFormat::kNumber
// a good record is the bare temperature ("73.3"). Malformed records
// (Record::bad) are written as their kind says. Formatting uses no iostreams
// and no allocation once the buffer has grown. One thread at a time.
#ifndef SENSORGATE_SIMULATOR_RECORD_FORMAT_H_
#define SENSORGATE_SIMULATOR_RECORD_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "simulator/reading_stream.h"
#include "simulator/sim_options.h"

namespace sensorgate {

// Writes tenths of a degree with one decimal ("73.3", "-0.5") into buf.
// REQUIRES: buf has room for 13 bytes. Returns the bytes written.
size_t FormatTenths(int32_t tenths, char* buf);

class RecordFormatter {
 public:
  // `keys` must outlive the formatter.
  RecordFormatter(const std::vector<std::string>* keys, PayloadFormat payload);

  // Returns the formatted record; the view is valid until the next call.
  std::string_view Format(const Record& record);

 private:
  // Pieces of a JSON record that malformations change.
  struct Shape {
    std::string_view sensor_prefix = "\"sensor\":\"";  // empty: no sensor field
    bool sensor_value = true;                          // false: "sensor":""
    std::string_view sensor_inject;                    // inserted after "sen"
    std::string_view value_text;                       // empty: the temperature
    bool has_value = true;
    size_t id_padding = 0;  // extra characters in id_sensor
  };

  std::string_view FormatJson(const Record& record, const Shape& shape);
  std::string_view FormatNumber(const Record& record);
  std::string_view FormatBad(const Record& record);
  char* WriteTime(TimeMicros t, char* p);
  void Reserve(size_t bytes);

  const std::vector<std::string>* const keys_;
  const PayloadFormat payload_;
  std::vector<char> buf_;
  int64_t cached_second_ = -1;
  char cached_prefix_[20];  // "2023-03-15T12:15:37."
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_RECORD_FORMAT_H_
