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

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_TEXT_H_
