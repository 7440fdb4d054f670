// What the pipeline shows of its state over HTTP: its Prometheus families
// for /metrics, and the JSON arrays of /api/windows and /api/alerts, written
// straight from the window table (nothing is copied per key to serve them).
//
// They read the pipeline and so run where it runs, on the pipeline thread.
#ifndef SENSORGATE_GATEWAY_PIPELINE_PIPELINE_METRICS_H_
#define SENSORGATE_GATEWAY_PIPELINE_PIPELINE_METRICS_H_

#include <string>

#include "gateway/base/metrics.h"
#include "gateway/config/config.h"

namespace sensorgate {

class Pipeline;

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
// (AppendWindowJson) of every key with a reading, sorted by key (bytewise).
void AppendPipelineWindowsJson(const Pipeline& p, std::string* out);

// Appends the JSON array of /api/alerts: the alerts firing now
// (AppendFiringAlertJson), sorted by key (bytewise), "hot" before "stale".
void AppendPipelineAlertsJson(const Pipeline& p, std::string* out);

// Appends the JSON array of /api/alerts/pending: the keys whose "hot" alert
// is pending now (hot, waiting for `for`), sorted by key (bytewise):
//   {"rule":"hot","key":K,"avg":X,"count":N,"time":TIME,"since":TIME}
// where "since" is the reading time that made the key hot.
void AppendPipelinePendingAlertsJson(const Pipeline& p, std::string* out);

// Appends the JSON object of /api/config: what the dashboard needs of the
// configuration in force (the running one after a reload):
//   {"hot_rule":B,"window":{"size":N,"max_keys":N},
//    "alert":{"enabled":B,"above":X,"clear_below":X,"for_s":X,"min_samples":N,
//             "stale_after_s":X},
//    "rules":[{"rule":NAME,"alert":"max > 100"|null,"clear":"..."|null,
//              "for_s":X,"min_samples":N},...]}
// No secret is written (no [email], [mqtt] or [kafka] key). Any thread.
void AppendDashboardConfigJson(const Config& c, std::string* out);

// /api/rules/NAME: one [rule.NAME]'s state as a JSON object:
//   {"rule":NAME,"window":"tumbling 1m","accepted":N,"filtered":N,"late":N,
//    "skipped":{"reason":N,...},"results":N,"alerts":N,"outliers":N,
//    "distinct_overflow":N,"watermark":TIME|null,"windows":[...]}
// where "windows" holds what a replay ending now would print for the rule
// (13.5): its count windows' lines by key, or its open time windows by start
// then key. With `name` empty: a JSON array of every rule's object, in file
// order. False (nothing appended) when there is no rule `name`.
bool AppendPipelineRulesJson(Pipeline* p, std::string_view name, std::string* out);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_PIPELINE_PIPELINE_METRICS_H_
