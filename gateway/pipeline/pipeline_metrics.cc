#include "gateway/pipeline/pipeline_metrics.h"

#include "gateway/base/json_format.h"
#include "gateway/pipeline/pipeline.h"

namespace sensorgate {
namespace {

void AppendCounter(std::string* out, std::string_view name, std::string_view help, uint64_t v) {
  AppendMetric(out, name, MetricType::kCounter, help, static_cast<double>(v));
}

}  // namespace

void AppendPipelineMetrics(const Pipeline& p, std::string* out) {
  const PipelineCounters& c = p.counters();
  const WindowTable& w = p.windows();

  AppendCounter(out, "sensorgate_records_read_total", "Records read (blank records not counted).",
                c.records);
  AppendCounter(out, "sensorgate_records_accepted_total", "Records that became a reading.",
                c.accepted);

  AppendMetricHeader(out, "sensorgate_records_rejected_total", MetricType::kCounter,
                     "Records rejected, by reason.");
  for (size_t r = 0; r < kRejectReasonCount; ++r) {
    AppendMetricSample(out, "sensorgate_records_rejected_total",
                       {{"reason", RejectReasonName(static_cast<RejectReason>(r))}},
                       static_cast<double>(c.rejected[r]));
  }

  AppendMetricHeader(out, "sensorgate_alerts_total", MetricType::kCounter,
                     "Alert events emitted, by rule and state.");
  AppendMetricSample(out, "sensorgate_alerts_total", {{"rule", "hot"}, {"state", "firing"}},
                     static_cast<double>(c.alerts_firing));
  AppendMetricSample(out, "sensorgate_alerts_total", {{"rule", "hot"}, {"state", "resolved"}},
                     static_cast<double>(c.alerts_resolved));
  AppendMetricSample(out, "sensorgate_alerts_total", {{"rule", "stale"}, {"state", "firing"}},
                     static_cast<double>(c.stale_firing));
  AppendMetricSample(out, "sensorgate_alerts_total", {{"rule", "stale"}, {"state", "resolved"}},
                     static_cast<double>(c.stale_resolved));

  const std::vector<uint32_t> slots = w.SlotsByKey();
  uint32_t hot = 0, stale = 0;
  for (uint32_t s : slots) {
    if (p.alert_phase(s) == AlertPhase::kFiring) ++hot;
    if (p.key_state(s).stale) ++stale;
  }
  AppendMetricHeader(out, "sensorgate_alerts_firing", MetricType::kGauge,
                     "Keys whose alert is firing now, by rule.");
  AppendMetricSample(out, "sensorgate_alerts_firing", {{"rule", "hot"}}, hot);
  AppendMetricSample(out, "sensorgate_alerts_firing", {{"rule", "stale"}}, stale);
  AppendMetric(out, "sensorgate_keys", MetricType::kGauge, "Keys with a window.", w.key_count());

  AppendMetricHeader(out, "sensorgate_window_average", MetricType::kGauge,
                     "Mean of the readings in the key's window.");
  for (uint32_t s : slots) {
    if (w.count(s) == 0) continue;
    AppendMetricSample(out, "sensorgate_window_average", {{"key", w.key(s)}}, w.average(s));
  }
  AppendMetricHeader(out, "sensorgate_window_readings", MetricType::kGauge,
                     "Readings in the key's window.");
  for (uint32_t s : slots) {
    if (w.count(s) == 0) continue;
    AppendMetricSample(out, "sensorgate_window_readings", {{"key", w.key(s)}}, w.count(s));
  }
  AppendMetricHeader(out, "sensorgate_window_last_timestamp_seconds", MetricType::kGauge,
                     "Time of the key's last reading, in seconds since the Unix epoch.");
  for (uint32_t s : slots) {
    if (w.count(s) == 0) continue;
    AppendMetricSample(out, "sensorgate_window_last_timestamp_seconds", {{"key", w.key(s)}},
                       static_cast<double>(w.last_time(s)) / kMicrosPerSecond);
  }
}

void AppendPipelineWindowsJson(const Pipeline& p, std::string* out) {
  const WindowTable& w = p.windows();
  out->push_back('[');
  bool first = true;
  for (uint32_t s : w.SlotsByKey()) {
    if (w.count(s) == 0) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendWindowJson(out, w.Summary(s));
  }
  out->push_back(']');
}

void AppendPipelineAlertsJson(const Pipeline& p, std::string* out) {
  const WindowTable& w = p.windows();
  out->push_back('[');
  bool first = true;
  const auto append = [&](const char* rule, uint32_t s) {
    if (!first) out->push_back(',');
    first = false;
    AppendFiringAlertJson(out, rule, w.Summary(s));
  };
  for (uint32_t s : w.SlotsByKey()) {
    if (w.count(s) == 0) continue;
    if (p.alert_phase(s) == AlertPhase::kFiring) append("hot", s);
    if (p.key_state(s).stale) append("stale", s);
  }
  out->push_back(']');
}

}  // namespace sensorgate
