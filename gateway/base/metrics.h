// The Prometheus text exposition format 0.0.4, as /metrics serves it
// (DESIGN.md section 10).
//
// Metric names start with "sensorgate_"; every family gets "# HELP" and
// "# TYPE" lines; counters end in "_total". Label values are escaped as the
// format requires (backslash, double quote, line feed) and bytes that are not
// valid UTF-8 become U+FFFD, so any key yields a valid exposition.
//
// Pure functions that append to a caller-owned string; any thread.
#ifndef SENSORGATE_GATEWAY_BASE_METRICS_H_
#define SENSORGATE_GATEWAY_BASE_METRICS_H_

#include <initializer_list>
#include <string>
#include <string_view>

namespace sensorgate {

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

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_METRICS_H_
