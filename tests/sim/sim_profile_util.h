// Helpers for the tests of sensorgate-sim's profiles (--profile traffic,
// processes, flows, and the temperature additions): a flat JSON object read
// field by field in document order with simdjson On-Demand (nothing from the
// simulator), and SHA-256 for golden outputs. Tests run on one thread.
#ifndef SENSORGATE_TESTS_SIM_SIM_PROFILE_UTIL_H_
#define SENSORGATE_TESTS_SIM_SIM_PROFILE_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sensorgate {
namespace simtest {

// One field of a flat JSON object: its name and its value as written
// ("\"TCP\"", "123", "23.4", "[\"a\",\"b\"]").
struct JsonField {
  std::string name;
  std::string raw;
};

// Parses `line` as one JSON object into its fields in document order.
// Returns false if it is not a JSON object.
bool ParseFields(std::string_view line, std::vector<JsonField>* fields);

// The names of `fields`, in order.
std::vector<std::string> FieldNames(const std::vector<JsonField>& fields);

// The value of field `name`, or "" if absent.
std::string FieldRaw(const std::vector<JsonField>& fields, std::string_view name);

// True if `raw` is a JSON string; *text gets its contents (no escapes are
// expected in the simulator's records).
bool JsonString(std::string_view raw, std::string* text);

// True if `raw` is a JSON integer (no fraction, no exponent).
bool JsonInteger(std::string_view raw, int64_t* value);

// True if `raw` is a number with exactly one decimal, "23.4".
bool JsonOneDecimal(std::string_view raw, double* value);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace simtest
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_SIM_SIM_PROFILE_UTIL_H_
