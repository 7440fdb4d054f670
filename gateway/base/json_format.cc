#include "gateway/base/json_format.h"

#include <charconv>


namespace sensorgate {

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendJsonNumber(std::string* out, double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, p);
}

void AppendJsonInt(std::string* out, int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, p);
}

void AppendJsonTime(std::string* out, TimeMicros t) {
  char buf[29];
  buf[0] = '"';
  FormatRfc3339(t, buf + 1);
  buf[28] = '"';
  out->append(buf, 29);
}

void AppendWindowJson(std::string* out, const WindowSummary& w, bool event, std::string_view prefix) {
  out->push_back('{');
  out->append(prefix);
  if (event) out->append("\"event\":\"window\",");
  out->append("\"key\":");
  AppendJsonString(out, w.key);
  out->append(",\"count\":");
  AppendJsonInt(out, w.count);
  out->append(",\"total\":");
  AppendJsonInt(out, static_cast<int64_t>(w.total));
  out->append(",\"avg\":");
  AppendJsonNumber(out, w.avg);
  out->append(",\"min\":");
  AppendJsonNumber(out, w.min);
  out->append(",\"max\":");
  AppendJsonNumber(out, w.max);
  out->append(",\"last\":");
  AppendJsonNumber(out, w.last);
  out->append(",\"time\":");
  AppendJsonTime(out, w.time_us);
  out->push_back('}');
}

void AppendFiringAlertJson(std::string* out, std::string_view rule, const WindowSummary& w) {
  out->append("{\"rule\":");
  AppendJsonString(out, rule);
  out->append(",\"key\":");
  AppendJsonString(out, w.key);
  out->append(",\"avg\":");
  AppendJsonNumber(out, w.avg);
  out->append(",\"count\":");
  AppendJsonInt(out, w.count);
  out->append(",\"time\":");
  AppendJsonTime(out, w.time_us);
  out->push_back('}');
}

void AppendAlertJson(std::string* out, std::string_view rule, std::string_view state,
                     std::string_view key, double avg, uint32_t count, TimeMicros time,
                     std::string_view prefix) {
  out->push_back('{');
  out->append(prefix);
  out->append("\"event\":\"alert\",\"rule\":");
  AppendJsonString(out, rule);
  out->append(",\"state\":");
  AppendJsonString(out, state);
  out->append(",\"key\":");
  AppendJsonString(out, key);
  out->append(",\"avg\":");
  AppendJsonNumber(out, avg);
  out->append(",\"count\":");
  AppendJsonInt(out, count);
  out->append(",\"time\":");
  AppendJsonTime(out, time);
  out->push_back('}');
}

}  // namespace sensorgate
