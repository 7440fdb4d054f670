// Small text predicates every stage agrees on. Pure; any thread.
#ifndef SENSORGATE_GATEWAY_BASE_TEXT_H_
#define SENSORGATE_GATEWAY_BASE_TEXT_H_

#include <string_view>

namespace sensorgate {

// A blank record: only spaces, tabs and carriage returns (a "\r\n" line end
// whose "\n" was taken off counts as blank too). Blank lines are not records.
inline bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Level `level` (0 the first) of an MQTT topic, between its slashes: false
// when the topic has fewer levels (a level may be present and empty).
inline bool TopicLevel(std::string_view topic, int level, std::string_view* out) {
  size_t start = 0;
  for (int i = 0; i < level; ++i) {
    const size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) return false;
    start = slash + 1;
  }
  const size_t end = topic.find('/', start);
  *out = topic.substr(start, end == std::string_view::npos ? end : end - start);
  return true;
}

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_TEXT_H_
