// What the gateway exposes about its state over HTTP (DESIGN.md section 10):
// the Prometheus text exposition format 0.0.4 for /metrics, and the JSON
// arrays of /api/windows and /api/alerts.
//
// Metric names start with "sensorgate_"; every family gets "# HELP" and
// "# TYPE" lines; counters end in "_total". Label values are escaped as the
// format requires (backslash, double quote, line feed) and bytes that are not
// valid UTF-8 become U+FFFD, so any key yields a valid exposition.
//
// Pure functions that append to a caller-owned string. The Pipeline ones read
// the pipeline and so run where it runs, on the pipeline thread; the generic
// writers may be used from any thread.
#ifndef SENSORGATE_GATEWAY_METRICS_H_
#define SENSORGATE_GATEWAY_METRICS_H_

#include <initializer_list>
#include <string>
#include <string_view>

namespace sensorgate {

class Pipeline;

enum class MetricType { kCounter, kGauge };

struct MetricLabel {
  std::string_view name;   // REQUIRES: [a-zA-Z_][a-zA-Z0-9_]*
  std::string_view value;  // any bytes; escaped when written
};

// Appends the "# HELP" and "# TYPE" lines that open a family. Write a family's
// header once, then all its samples, before the next family.
// REQUIRES: name matches [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's name ends in "_total".
void AppendMetricHeader(std::string* out, std::string_view name, MetricType type,
                        std::string_view help);

// Appends one sample line: name{label="value",...} value. NaN and infinities
// are written as NaN, +Inf and -Inf.
void AppendMetricSample(std::string* out, std::string_view name,
                        std::initializer_list<MetricLabel> labels, double value);

// A family with one unlabelled sample: header plus sample.
void AppendMetric(std::string* out, std::string_view name, MetricType type, std::string_view help,
                  double value);
// A family with one labelled sample.
void AppendMetric(std::string* out, std::string_view name, MetricType type, std::string_view help,
                  std::initializer_list<MetricLabel> labels, double value);

// Appends the pipeline's families:
//   sensorgate_records_read_total                        counter
//   sensorgate_records_accepted_total                    counter
//   sensorgate_records_rejected_total{reason}            counter, every reason always present
//   sensorgate_alerts_total{rule,state}                  counter, rule hot | stale, state firing | resolved
//   sensorgate_alerts_firing{rule}                       gauge, keys whose alert of that rule is firing
//   sensorgate_keys                                      gauge, keys with a window
//   sensorgate_window_average{key}                       gauge
//   sensorgate_window_readings{key}                      gauge, readings in the window
//   sensorgate_window_last_timestamp_seconds{key}        gauge, time of the last reading
// The per-key series are sorted by key (bytewise). (The readings gauge is not
// "_count": Prometheus reserves that suffix for histograms and summaries.)
void AppendPipelineMetrics(const Pipeline& p, std::string* out);

// Appends the JSON array of /api/windows: the replay's window objects
// (AppendWindowJson, "event" member included), sorted by key (bytewise).
void AppendWindowsJson(const Pipeline& p, std::string* out);

// Appends the JSON array of /api/alerts: one object per alert firing now,
// sorted by key, then rule (hot before stale):
//   {"rule":"hot","key":..,"avg":..,"count":..,"time":".."}
// with the key's window average, readings and time of its last reading now.
void AppendFiringAlertsJson(const Pipeline& p, std::string* out);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_METRICS_H_
