// The JSON objects sensorgate writes: replay lines, /api/windows, Kafka
// values. One place, so every output agrees on fields and number formats:
// numbers in the shortest form that reads back to the same double, times as
// RFC 3339 UTC with microseconds. Appends to a caller-owned string; any thread.
#ifndef SENSORGATE_GATEWAY_JSON_FORMAT_H_
#define SENSORGATE_GATEWAY_JSON_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/time_util.h"

namespace sensorgate {

class WindowTable;

// Appends s as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view s);
// Appends the shortest round-trip form of a finite double.
void AppendJsonNumber(std::string* out, double v);
void AppendJsonInt(std::string* out, int64_t v);
void AppendJsonTime(std::string* out, TimeMicros t);

// {"event":"window","key":...,"count":..,"total":..,"avg":..,"min":..,"max":..,"last":..,"time":".."}
// `prefix` is inserted right after '{' (e.g. "\"gateway\":\"x\",\"seq\":1,") and
// `event` false drops the "event" member (Kafka aggregates).
// REQUIRES: windows.count(slot) > 0.
void AppendWindowJson(std::string* out, const WindowTable& windows, uint32_t slot, bool event = true,
                      std::string_view prefix = {});

// {"event":"alert","rule":..,"state":..,"key":..,"avg":..,"count":..,"time":".."}
void AppendAlertJson(std::string* out, std::string_view rule, std::string_view state,
                     std::string_view key, double avg, uint32_t count, TimeMicros time,
                     std::string_view prefix = {});

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_JSON_FORMAT_H_
