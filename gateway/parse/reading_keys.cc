// [reading]: the key table of the record parser.
#include "gateway/parse/reading_keys.h"

namespace sensorgate {
namespace {

const char* CheckKeyPath(const ConfigValue& v) {
  // "@topic.64" is a topic key out of range, not the JSON path "@topic"."64".
  if (v.text.rfind("@topic.", 0) == 0) return TopicKeyLevel(v.text) >= 0 ? nullptr : "";
  return IsDottedPath(v.text) ? nullptr : "";
}
const char* CheckPath(const ConfigValue& v) { return v.text.empty() || IsDottedPath(v.text) ? nullptr : ""; }

// min < max.
void ValidateReading(ConfigCheck& check) {
  const Config& c = check.config();
  if (check.Good("reading", "min") && check.Good("reading", "max") && c.reading.min >= c.reading.max) {
    if (check.Given("reading", "max")) {
      check.Error(
          check.LineOf("reading", "max"),
          check.Where("reading", "max") + ": must be greater than min (" + NumberText(c.reading.min) + ")");
    } else {
      check.Error(
          check.LineOf("reading", "min"),
          check.Where("reading", "min") + ": must be less than max (" + NumberText(c.reading.max) + ")");
    }
  }
}

#define STORE(expr)                     \
  [](Config& c, const ConfigValue& v) { \
    (void)v;                            \
    expr;                               \
  }

}  // namespace

SectionSpec ReadingKeys() {
  SectionSpec section;
  section.name = "reading";
  section.keys = {
    {"key", KeyType::kString, "sensor", false, 1, 1024, nullptr,
     "dotted JSON path, CSV column, or @topic.N (N-th MQTT topic level, 0-based)",
     STORE(c.reading.key = v.text), CheckKeyPath,
     "must be a dotted path (a.b.c), a CSV column, or @topic.N with N from 0 to 63"},
    {"value", KeyType::kString, "padrao.leitura.temperatura", false, 1, 1024, nullptr,
     "dotted JSON path or CSV column of the value; ignored with payload = number",
     STORE(c.reading.value = v.text), CheckPath, "must be a dotted path (a.b.c) or a CSV column"},
    {"time", KeyType::kString, "data_evento", false, 0, 1024, nullptr,
     "RFC 3339 string or unix seconds/milliseconds number; empty: arrival time",
     STORE(c.reading.time = v.text), CheckPath,
     "must be empty (arrival time), a dotted path (a.b.c) or a CSV column"},
    {"min", KeyType::kNumber, "-1000000", false, -1e300, 1e300, nullptr,
     "readings below this are rejected", STORE(c.reading.min = v.d), nullptr, nullptr},
    {"max", KeyType::kNumber, "1000000", false, -1e300, 1e300, nullptr,
     "readings above this are rejected", STORE(c.reading.max = v.d), nullptr, nullptr},
  };
  section.validate = ValidateReading;
  return section;
}

#undef STORE

}  // namespace sensorgate
