// FieldValue: one field of a record as the parser extracted it (DESIGN.md
// 13.2), what the rules read: the `where` filter, keys, values, times and
// distinct() fields.
#ifndef SENSORGATE_GATEWAY_PARSE_FIELD_VALUE_H_
#define SENSORGATE_GATEWAY_PARSE_FIELD_VALUE_H_

#include <cstdint>
#include <string_view>

namespace sensorgate {

struct FieldValue {
  enum class Kind : uint8_t { kAbsent, kNull, kString, kNumber, kOther };
  Kind kind = Kind::kAbsent;
  // kString: the string's bytes; kNumber: the number as written (a key, a
  // time); empty otherwise.
  std::string_view text;
  // kNumber: its value (±infinity when it does not fit a double).
  double number = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_PARSE_FIELD_VALUE_H_
