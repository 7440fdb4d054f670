#include "gateway/pipeline.h"

#include <string>

namespace sensorgate {
namespace {

HotRule RuleFrom(const AlertConfig& a) {
  HotRule r;
  r.above = a.above;
  r.clear_below = a.clear_below;
  r.for_us = a.for_us;
  r.min_samples = a.min_samples;
  return r;
}

// The first bytes of a record, printable, for a log line.
std::string Snippet(std::string_view record) {
  std::string s;
  for (unsigned char c : record.substr(0, 80)) {
    if (c < 0x20 || c == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      s += esc;
    } else {
      s += static_cast<char>(c);
    }
  }
  if (record.size() > 80) s += "...";
  return s;
}

bool IsBlank(const char* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r') return false;
  }
  return true;
}

}  // namespace

Pipeline::Pipeline(const Config& config, RecordFormat format, AlertSink* sink)
    : alert_enabled_(config.alert.enabled),
      rule_(RuleFrom(config.alert)),
      parser_(config.reading, format),
      windows_(config.window.size, config.window.max_keys),
      sink_(sink),
      reject_log_(10, 1) {
  alert_.reserve(config.window.max_keys);
}

bool Pipeline::ProcessRecord(const char* data, size_t len, TimeMicros arrival_us,
                             const RecordOrigin& origin) {
  if (IsBlank(data, len)) return false;
  ++counters_.records;
  Reading r;
  RejectReason why;
  if (!parser_.Parse(data, len, arrival_us, &r, &why)) {
    Reject(why, origin, std::string_view(data, len));
    return false;
  }
  if (!Accept(r, origin)) {
    Reject(RejectReason::kTooManyKeys, origin, std::string_view(data, len));
    return false;
  }
  return true;
}

bool Pipeline::Accept(const Reading& r, const RecordOrigin&) {
  const uint32_t slot = windows_.FindOrInsert(r.key);
  if (slot == WindowTable::kNoSlot) return false;
  if (slot == alert_.size()) alert_.emplace_back();
  windows_.Add(slot, r.value, r.time_us);
  ++counters_.accepted;
  if (!alert_enabled_) return true;
  const double avg = windows_.average(slot);
  const uint32_t count = windows_.count(slot);
  const AlertTransition t = EvaluateHot(rule_, &alert_[slot], avg, count, r.time_us);
  if (t != AlertTransition::kNone) {
    const bool firing = t == AlertTransition::kFiring;
    ++(firing ? counters_.alerts_firing : counters_.alerts_resolved);
    if (sink_) {
      sink_->OnAlert(AlertEvent{"hot", firing ? "firing" : "resolved", slot, windows_.key(slot), avg,
                                count, r.time_us});
    }
  }
  return true;
}

void Pipeline::RejectTooLong(const RecordOrigin& origin) {
  ++counters_.records;
  Reject(RejectReason::kTooLong, origin, {});
}

void Pipeline::Reject(RejectReason why, const RecordOrigin& origin, std::string_view record) {
  ++counters_.rejected[static_cast<size_t>(why)];
  if (!LogEnabled(LogLevel::kWarning) || !reject_log_.Allow(MonotonicMicros())) return;
  const std::string where = origin.line ? std::string(origin.source) + ":" + std::to_string(origin.line)
                                        : std::string(origin.source);
  if (record.empty()) {
    Log(LogLevel::kWarning, "%s: record rejected (%s)", where.c_str(), RejectReasonName(why));
  } else {
    Log(LogLevel::kWarning, "%s: record rejected (%s): %s", where.c_str(), RejectReasonName(why),
        Snippet(record).c_str());
  }
}

Status Pipeline::SetCsvHeader(std::string_view header, const RecordOrigin& origin) {
  Status s = parser_.SetCsvHeader(header);
  if (!s.ok()) {
    Log(LogLevel::kError, "%.*s:%llu: %s; its records will be rejected",
        static_cast<int>(origin.source.size()), origin.source.data(),
        static_cast<unsigned long long>(origin.line), s.message().c_str());
  }
  return s;
}

}  // namespace sensorgate
