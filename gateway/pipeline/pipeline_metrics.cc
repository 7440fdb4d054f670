#include "gateway/pipeline/pipeline_metrics.h"

#include "gateway/base/json_format.h"
#include "gateway/config/where.h"
#include "gateway/pipeline/pipeline.h"

namespace sensorgate {
namespace {

void AppendCounter(std::string* out, std::string_view name, std::string_view help, uint64_t v) {
  AppendMetric(out, name, MetricType::kCounter, help, static_cast<double>(v));
}

// The families of the [rule.NAME] rules (none without them).
void AppendRuleMetrics(const Pipeline& p, std::string* out) {
  const auto& rules = p.rules();
  if (rules.empty()) return;
  AppendMetricHeader(out, "sensorgate_rule_records_total", MetricType::kCounter,
                     "Records a rule accepted, filtered out (where) or found late, by rule and outcome.");
  for (const auto& r : rules) {
    const RuleCounters& c = r->counters();
    const std::string& n = r->config().name;
    AppendMetricSample(out, "sensorgate_rule_records_total", {{"rule", n}, {"outcome", "accepted"}},
                       static_cast<double>(c.accepted));
    AppendMetricSample(out, "sensorgate_rule_records_total", {{"rule", n}, {"outcome", "filtered"}},
                       static_cast<double>(c.filtered));
    AppendMetricSample(out, "sensorgate_rule_records_total", {{"rule", n}, {"outcome", "late"}},
                       static_cast<double>(c.late));
  }
  AppendMetricHeader(out, "sensorgate_rule_skipped_total", MetricType::kCounter,
                     "Records a rule skipped because a field it needs is missing or bad, by rule and reason.");
  for (const auto& r : rules) {
    for (size_t i = 0; i < kRuleSkipCount; ++i) {
      AppendMetricSample(out, "sensorgate_rule_skipped_total",
                         {{"rule", r->config().name}, {"reason", RuleSkipName(static_cast<RuleSkip>(i))}},
                         static_cast<double>(r->counters().skipped[i]));
    }
  }
  struct Family {
    const char* name;
    const char* help;
    uint64_t (*value)(const NamedRule& r);
  };
  static const Family kFamilies[] = {
      {"sensorgate_rule_results_total", "Windows a rule closed with a result.",
       [](const NamedRule& r) { return r.counters().results; }},
      {"sensorgate_rule_alerts_total", "Alert events of a rule (firing and resolved).",
       [](const NamedRule& r) { return r.counters().alerts; }},
      {"sensorgate_rule_outliers_total", "Values a rule flagged as outliers.",
       [](const NamedRule& r) { return r.counters().outliers; }},
      {"sensorgate_rule_distinct_overflow_total", "distinct() values not counted: the rule's max_distinct was reached.",
       [](const NamedRule& r) { return r.distinct_overflow(); }},
  };
  for (const Family& f : kFamilies) {
    AppendMetricHeader(out, f.name, MetricType::kCounter, f.help);
    for (const auto& r : rules) {
      AppendMetricSample(out, f.name, {{"rule", r->config().name}}, static_cast<double>(f.value(*r)));
    }
  }
  AppendMetricHeader(out, "sensorgate_rule_watermark_seconds", MetricType::kGauge,
                     "The largest event time a rule accepted (time windows that have seen a record).");
  for (const auto& r : rules) {
    if (r->watermark() == INT64_MIN) continue;
    AppendMetricSample(out, "sensorgate_rule_watermark_seconds", {{"rule", r->config().name}},
                       static_cast<double>(r->watermark()) / 1e6);
  }
}

// Collects a rule's open windows or window lines into a JSON array.
class RuleWindowsJson : public RuleEvents {
 public:
  explicit RuleWindowsJson(std::string* out) : out_(out) {}
  void OnRuleEvent(const RuleEvent& e) override {
    if (e.kind != RuleEvent::Kind::kWindow && !(e.kind == RuleEvent::Kind::kResult && e.open)) return;
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->append(e.json);
  }

 private:
  std::string* out_;
  bool first_ = true;
};

void AppendRuleJson(NamedRule* r, std::string* out) {
  const RuleCounters& c = r->counters();
  out->append("{\"rule\":");
  AppendJsonString(out, r->config().name);
  out->append(",\"window\":");
  AppendJsonString(out, r->WindowText());
  out->append(",\"accepted\":");
  AppendJsonInt(out, static_cast<int64_t>(c.accepted));
  out->append(",\"filtered\":");
  AppendJsonInt(out, static_cast<int64_t>(c.filtered));
  out->append(",\"late\":");
  AppendJsonInt(out, static_cast<int64_t>(c.late));
  out->append(",\"skipped\":{");
  bool first = true;
  for (size_t i = 0; i < kRuleSkipCount; ++i) {
    if (c.skipped[i] == 0) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, RuleSkipName(static_cast<RuleSkip>(i)));
    out->push_back(':');
    AppendJsonInt(out, static_cast<int64_t>(c.skipped[i]));
  }
  out->append("},\"results\":");
  AppendJsonInt(out, static_cast<int64_t>(c.results));
  out->append(",\"alerts\":");
  AppendJsonInt(out, static_cast<int64_t>(c.alerts));
  out->append(",\"outliers\":");
  AppendJsonInt(out, static_cast<int64_t>(c.outliers));
  out->append(",\"distinct_overflow\":");
  AppendJsonInt(out, static_cast<int64_t>(r->distinct_overflow()));
  out->append(",\"watermark\":");
  if (r->watermark() == INT64_MIN) {
    out->append("null");
  } else {
    AppendJsonTime(out, r->watermark());
  }
  out->append(",\"windows\":[");
  RuleWindowsJson windows(out);
  r->Finish(&windows);
  out->append("]}");
}

// "max > 100", "zscore(avg) >= 3", or null when the condition is off.
void AppendConditionJson(std::string* out, const RuleCondition& c) {
  if (!c.enabled) {
    out->append("null");
    return;
  }
  std::string text = c.zscore ? "zscore(" + c.aggregate + ")" : c.aggregate;
  text += " ";
  text += CompareOpText(c.op);
  text += " ";
  AppendJsonNumber(&text, c.threshold);
  AppendJsonString(out, text);
}

}  // namespace

void AppendPipelinePendingAlertsJson(const Pipeline& p, std::string* out) {
  const WindowTable& w = p.windows();
  out->push_back('[');
  bool first = true;
  for (uint32_t s : w.SlotsByKey()) {
    if (w.count(s) == 0) continue;
    const AlertState& a = p.key_state(s).hot;
    if (a.phase != AlertPhase::kPending) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendFiringAlertJson(out, "hot", w.Summary(s));
    out->pop_back();  // the closing brace
    out->append(",\"since\":");
    AppendJsonTime(out, a.since_us);
    out->push_back('}');
  }
  out->push_back(']');
}

void AppendDashboardConfigJson(const Config& c, std::string* out) {
  out->append(c.hot_rule ? "{\"hot_rule\":true" : "{\"hot_rule\":false");
  out->append(",\"window\":{\"size\":");
  AppendJsonInt(out, c.window.size);
  out->append(",\"max_keys\":");
  AppendJsonInt(out, c.window.max_keys);
  out->append(c.alert.enabled ? "},\"alert\":{\"enabled\":true" : "},\"alert\":{\"enabled\":false");
  if (c.alert.enabled) {
    out->append(",\"above\":");
    AppendJsonNumber(out, c.alert.above);
    out->append(",\"clear_below\":");
    AppendJsonNumber(out, c.alert.clear_below);
    out->append(",\"for_s\":");
    AppendJsonNumber(out, static_cast<double>(c.alert.for_us) / kMicrosPerSecond);
    out->append(",\"min_samples\":");
    AppendJsonInt(out, c.alert.min_samples);
    out->append(",\"stale_after_s\":");
    AppendJsonNumber(out, static_cast<double>(c.alert.stale_after_us) / kMicrosPerSecond);
  }
  out->append("},\"rules\":[");
  bool first = true;
  for (const RuleConfig& r : c.rules) {
    if (!first) out->push_back(',');
    first = false;
    out->append("{\"rule\":");
    AppendJsonString(out, r.name);
    out->append(",\"alert\":");
    AppendConditionJson(out, r.alert);
    out->append(",\"clear\":");
    AppendConditionJson(out, r.clear);
    out->append(",\"for_s\":");
    AppendJsonNumber(out, static_cast<double>(r.for_us) / kMicrosPerSecond);
    out->append(",\"min_samples\":");
    AppendJsonInt(out, r.min_samples);
    out->push_back('}');
  }
  out->append("]}");
}

bool AppendPipelineRulesJson(Pipeline* p, std::string_view name, std::string* out) {
  if (name.empty()) {
    out->push_back('[');
    bool first = true;
    for (const auto& r : p->rules()) {
      if (!first) out->push_back(',');
      first = false;
      AppendRuleJson(r.get(), out);
    }
    out->push_back(']');
    return true;
  }
  for (const auto& r : p->rules()) {
    if (r->config().name == name) {
      AppendRuleJson(r.get(), out);
      return true;
    }
  }
  return false;
}

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
  AppendRuleMetrics(p, out);

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
