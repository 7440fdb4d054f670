#include "gateway/pipeline/pipeline.h"

#include <string>

#include "gateway/base/text.h"

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

}  // namespace

Pipeline::Pipeline(const Config& config, RecordFormat format, Sink* sink, Clock* clock)
    : alert_enabled_(config.alert.enabled),
      rule_(RuleFrom(config.alert)),
      stale_after_us_(config.alert.enabled ? config.alert.stale_after_us : 0),
      parser_(std::make_unique<RecordParser>(config.reading, format)),
      windows_(WindowTable::Create(config.window.size, config.window.max_keys)),
      clock_(clock),
      reject_log_(10, 1) {
  if (sink) sinks_.push_back(sink);
  keys_.reserve(config.window.max_keys);
  SetMqtt(config);
}

void Pipeline::SetMqtt(const Config& config) {
  topic_level_ = TopicKeyLevel(config.reading.key);
  number_payload_ = config.mqtt.enabled && config.mqtt.payload == PayloadFormat::kNumber;
  mqtt_parser_.reset();
  if (config.mqtt.enabled && !number_payload_) {
    mqtt_parser_ = std::make_unique<RecordParser>(config.reading, RecordFormat::kJson);
  }
}

namespace {

// Level `level` (0-based) of an MQTT topic; empty when the topic is shorter.
std::string_view TopicLevel(std::string_view topic, int level) {
  size_t start = 0;
  for (int i = 0; i < level; ++i) {
    const size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
  const size_t end = topic.find('/', start);
  return topic.substr(start, end == std::string_view::npos ? end : end - start);
}

}  // namespace

bool Pipeline::ProcessMessage(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us) {
  ++counters_.records;
  const RecordOrigin origin{topic, 0};
  Reading r;
  RejectReason why = RejectReason::kParseError;
  bool ok;
  if (topic_level_ >= 0 && TopicLevel(topic, topic_level_).empty()) {
    // The topic has no such level (or it is empty): there is no key.
    ok = false;
    why = RejectReason::kKeyMissing;
  } else if (number_payload_) {
    ok = parser_->ParseNumber(TopicLevel(topic, topic_level_), std::string_view(payload, len), arrival_us, &r,
                              &why);
  } else if (mqtt_parser_ == nullptr) {
    ok = false;
    why = RejectReason::kParseError;  // no [mqtt] section: not expected
  } else if (topic_level_ >= 0) {
    ok = mqtt_parser_->ParseWithKey(TopicLevel(topic, topic_level_), payload, len, arrival_us, &r, &why);
  } else {
    ok = mqtt_parser_->Parse(payload, len, arrival_us, &r, &why);
  }
  return Conclude(ok, r, why, arrival_us, origin, std::string_view(payload, len));
}

bool Pipeline::Conclude(bool parsed, const Reading& r, RejectReason why, TimeMicros arrival_us,
                        const RecordOrigin& origin, std::string_view record) {
  if (!parsed) {
    Reject(why, origin, record);
    return false;
  }
  if (!Accept(r, arrival_us)) {
    Reject(RejectReason::kTooManyKeys, origin, record);
    return false;
  }
  return true;
}

bool Pipeline::ProcessRecord(const char* data, size_t len, TimeMicros arrival_us,
                             const RecordOrigin& origin) {
  if (IsBlank(std::string_view(data, len))) return false;
  ++counters_.records;
  Reading r;
  RejectReason why = RejectReason::kParseError;
  const bool parsed = parser_->Parse(data, len, arrival_us, &r, &why);
  return Conclude(parsed, r, why, arrival_us, origin, std::string_view(data, len));
}

void Pipeline::Emit(std::string_view rule, bool firing, uint32_t slot, TimeMicros time_us) {
  if (rule == "stale") {
    ++(firing ? counters_.stale_firing : counters_.stale_resolved);
  } else {
    ++(firing ? counters_.alerts_firing : counters_.alerts_resolved);
  }
  MarkChanged(slot);  // its alert state changed
  if (sinks_.empty()) return;
  const WindowTable& w = *windows_;
  AlertEvent e{rule, firing ? "firing" : "resolved", w.key(slot), w.average(slot), w.count(slot), time_us};
  e.threshold = firing ? rule_.above : rule_.clear_below;
  e.recent_count = w.count(slot) > 0 ? w.RecentValues(slot, e.recent, AlertEvent::kMaxRecent) : 0;
  for (Sink* s : sinks_) s->OnAlert(e);
}

void Pipeline::AddSink(Sink* sink) { sinks_.push_back(sink); }

void Pipeline::RemoveSink(Sink* sink) {
  for (auto it = sinks_.begin(); it != sinks_.end(); ++it) {
    if (*it == sink) {
      sinks_.erase(it);
      return;
    }
  }
}

size_t Pipeline::PublishWindows() {
  const size_t n = changed_.size();
  const WindowTable& w = *windows_;
  for (uint32_t slot : changed_) {
    is_changed_[slot] = 0;
    if (w.count(slot) == 0) continue;
    const WindowEvent e{"hot", w.Summary(slot), keys_[slot].hot.phase == AlertPhase::kFiring, keys_[slot].stale};
    for (Sink* s : sinks_) s->OnWindow(e);
  }
  changed_.clear();
  return n;
}

void Pipeline::TrackWindowChanges() {
  tracking_ = true;
  changed_.clear();
  changed_.reserve(windows_->max_keys());
  is_changed_.assign(windows_->max_keys(), 0);
  for (uint32_t slot = 0; slot < windows_->key_count(); ++slot) MarkChanged(slot);
}

void Pipeline::MarkChangedSlow(uint32_t slot) {
  if (is_changed_[slot]) return;
  is_changed_[slot] = 1;
  changed_.push_back(slot);
}

bool Pipeline::Accept(const Reading& r, TimeMicros arrival_us) {
  WindowTable& w = *windows_;
  const uint32_t slot = w.FindOrInsert(r.key);
  if (slot == WindowTable::kNoSlot) return false;
  if (slot == keys_.size()) keys_.emplace_back();
  KeyState& k = keys_[slot];
  w.Add(slot, r.value, r.time_us);
  MarkChanged(slot);
  ++counters_.accepted;
  k.last_seen_us = arrival_us;
  if (k.stale) {
    k.stale = false;
    Emit("stale", false, slot, r.time_us);
  }
  if (!alert_enabled_) return true;
  const AlertTransition t = EvaluateHot(rule_, &k.hot, w.average(slot), w.count(slot), r.time_us);
  if (t != AlertTransition::kNone) Emit("hot", t == AlertTransition::kFiring, slot, r.time_us);
  return true;
}

TimeMicros Pipeline::CheckStale(TimeMicros now_us) {
  if (stale_after_us_ <= 0) return kNever;
  TimeMicros next = kNever;
  for (uint32_t slot = 0; slot < keys_.size(); ++slot) {
    KeyState& k = keys_[slot];
    if (k.stale) continue;
    if (now_us - k.last_seen_us >= stale_after_us_) {
      k.stale = true;
      Emit("stale", true, slot, now_us);
    } else {
      next = std::min(next, k.last_seen_us + stale_after_us_);
    }
  }
  return next;
}

Status Pipeline::Reconfigure(const Config& config, RecordFormat format) {
  // The new windows first: a table that cannot be had changes nothing.
  std::unique_ptr<WindowTable> resized;
  if (config.window.size != windows_->size() || config.window.max_keys != windows_->max_keys()) {
    resized = WindowTable::Create(config.window.size, config.window.max_keys);
    if (!resized) {
      return Status::Error("[window] size = " + std::to_string(config.window.size) +
                           ", max_keys = " + std::to_string(config.window.max_keys) +
                           ": the windows cannot be allocated");
    }
  }
  alert_enabled_ = config.alert.enabled;
  rule_ = RuleFrom(config.alert);
  stale_after_us_ = config.alert.enabled ? config.alert.stale_after_us : 0;
  if (!alert_enabled_) {
    for (uint32_t slot = 0; slot < keys_.size(); ++slot) {
      keys_[slot].hot = AlertState();
      MarkChanged(slot);
    }
  }
  parser_ = std::make_unique<RecordParser>(config.reading, format);
  SetMqtt(config);
  if (resized) {
    auto old = std::move(windows_);
    std::vector<KeyState> old_keys = std::move(keys_);
    windows_ = std::move(resized);
    keys_.clear();
    keys_.reserve(config.window.max_keys);
    if (tracking_) {
      changed_.clear();
      changed_.reserve(config.window.max_keys);
      is_changed_.assign(config.window.max_keys, 0);
    }
    for (Sink* s : sinks_) s->OnWindowsReset();
    uint32_t dropped = 0;
    for (uint32_t slot = 0; slot < old->key_count(); ++slot) {
      if (!RestoreKey(old->key(slot), old->Values(slot), old->total(slot), old->last_time(slot),
                      old_keys[slot])) {
        ++dropped;
      }
    }
    if (dropped > 0) {
      Log(LogLevel::kWarning, "reload: [window] max_keys = %u: %u keys and their windows dropped",
          config.window.max_keys, dropped);
    }
  }
  return Status::Ok();
}

bool Pipeline::RestoreKey(std::string_view key, const std::vector<double>& values, uint64_t total,
                          TimeMicros last_time, const KeyState& state) {
  const uint32_t slot = windows_->FindOrInsert(key);
  if (slot == WindowTable::kNoSlot) return false;
  if (slot == keys_.size()) keys_.emplace_back();
  if (!values.empty()) windows_->Restore(slot, values, total, last_time);
  keys_[slot] = state;
  MarkChanged(slot);
  return true;
}

void Pipeline::RejectTooLong(const RecordOrigin& origin) {
  ++counters_.records;
  Reject(RejectReason::kTooLong, origin, {});
}

void Pipeline::Reject(RejectReason why, const RecordOrigin& origin, std::string_view record) {
  ++counters_.rejected[static_cast<size_t>(why)];
  if (!LogEnabled(LogLevel::kWarning) || !reject_log_.Allow(clock_->MonotonicUs())) return;
  // Files have lines; an MQTT message is named by its topic.
  const std::string where = origin.line ? std::string(origin.source) + ":" + std::to_string(origin.line)
                                        : "mqtt topic " + std::string(origin.source);
  if (record.empty()) {
    Log(LogLevel::kWarning, "%s: record rejected (%s)", where.c_str(), RejectReasonName(why));
  } else {
    Log(LogLevel::kWarning, "%s: record rejected (%s): %s", where.c_str(), RejectReasonName(why),
        Snippet(record).c_str());
  }
}

Status Pipeline::SetCsvHeader(std::string_view header, const RecordOrigin& origin) {
  Status s = parser_->SetCsvHeader(header);
  if (!s.ok()) {
    Log(LogLevel::kError, "%.*s:%llu: %s; its records will be rejected",
        static_cast<int>(origin.source.size()), origin.source.data(),
        static_cast<unsigned long long>(origin.line), s.message().c_str());
  }
  return s;
}

}  // namespace sensorgate
