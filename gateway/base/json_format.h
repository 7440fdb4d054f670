// The JSON objects sensorgate writes: replay lines, /api/windows, Kafka
// values. One place, so every output agrees on fields and number formats:
// numbers in the shortest form that reads back to the same double, times as
// RFC 3339 UTC with microseconds. Appends to a caller-owned string; any thread.
#ifndef SENSORGATE_GATEWAY_BASE_JSON_FORMAT_H_
#define SENSORGATE_GATEWAY_BASE_JSON_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/base/time_util.h"

namespace sensorgate {

// One key's window as the outputs show it (replay window lines,
// /api/windows, Kafka aggregates). `key` is a view: valid while its owner is.
struct WindowSummary {
  std::string_view key;
  uint32_t count = 0;   // readings in the window (> 0)
  uint64_t total = 0;   // readings accepted for the key, ever
  double avg = 0, min = 0, max = 0, last = 0;
  TimeMicros time_us = 0;  // time of the reading that arrived last
};

// Appends s as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view s);
// Appends the shortest round-trip form of a finite double.
void AppendJsonNumber(std::string* out, double v);
void AppendJsonInt(std::string* out, int64_t v);
void AppendJsonTime(std::string* out, TimeMicros t);

// {"event":"window","key":...,"count":..,"total":..,"avg":..,"min":..,"max":..,"last":..,"time":".."}
// `prefix` is inserted right after '{' (e.g. "\"gateway\":\"x\",\"seq\":1,") and
// `event` false drops the "event" member (Kafka aggregates).
void AppendWindowJson(std::string* out, const WindowSummary& w, bool event = true,
                      std::string_view prefix = {});

// {"rule":..,"key":..,"avg":..,"count":..,"time":".."}: an alert firing now,
// as /api/alerts lists it, with the key's window as it stands.
void AppendFiringAlertJson(std::string* out, std::string_view rule, const WindowSummary& w);

// {"event":"alert","rule":..,"state":..,"key":..,"avg":..,"count":..,"time":".."}
void AppendAlertJson(std::string* out, std::string_view rule, std::string_view state,
                     std::string_view key, double avg, uint32_t count, TimeMicros time,
                     std::string_view prefix = {});

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_JSON_FORMAT_H_
