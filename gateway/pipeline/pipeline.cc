#include "gateway/pipeline/pipeline.h"

#include <string>
#include <utility>

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
    : hot_(config.hot_rule),
      alert_enabled_(config.hot_rule && config.alert.enabled),
      rule_(RuleFrom(config.alert)),
      stale_after_us_(alert_enabled_ ? config.alert.stale_after_us : 0),
      parser_(std::make_unique<RecordParser>(config.reading, format, config.hot_rule)),
      windows_(config.hot_rule ? WindowTable::Create(config.window.size, config.window.max_keys)
                               : WindowTable::Create(1, 1)),
      clock_(clock),
      reject_log_(10, 1) {
  if (sink) sinks_.push_back(sink);
  keys_.reserve(config.hot_rule ? config.window.max_keys : 1);
  SetMqtt(config);
  BuildRules(config);
}

std::string Pipeline::error() const {
  if (!rules_error_.empty()) return rules_error_;
  if (windows_ == nullptr) return "the windows of the rule hot cannot be allocated";
  return "";
}

void Pipeline::SetMqtt(const Config& config) {
  topic_level_ = config.hot_rule ? TopicKeyLevel(config.reading.key) : -1;
  number_payload_ = config.mqtt.enabled && config.mqtt.payload == PayloadFormat::kNumber;
  mqtt_parser_.reset();
  if (config.mqtt.enabled && !number_payload_) {
    mqtt_parser_ = std::make_unique<RecordParser>(config.reading, RecordFormat::kJson, config.hot_rule);
  }
}

void Pipeline::BuildRules(const Config& config) {
  rules_.clear();
  rules_error_.clear();
  uses_arrival_ = false;
  for (const RuleConfig& rc : config.rules) {
    // The same names in the same order: both parsers give the same indexes.
    auto add = [&](const std::string& name) {
      const uint32_t i = parser_->AddField(name);
      if (mqtt_parser_) (void)mqtt_parser_->AddField(name);
      return i;
    };
    RuleFieldMap m;
    for (const std::string& k : rc.key_fields) m.key.push_back(add(k));
    if (!rc.value.empty()) m.value = static_cast<int32_t>(add(rc.value));
    if (rc.event_time()) m.time = static_cast<int32_t>(add(rc.time));
    for (const Aggregate& a : rc.aggregates) {
      if (a.kind == AggregateKind::kDistinct) m.distinct.push_back(add(a.field));
    }
    if (rc.has_where) {
      for (const std::string& f : WhereFields(rc.where)) m.where.push_back(add(f));
    }
    uses_arrival_ |= !rc.event_time();
    std::string error;
    std::unique_ptr<NamedRule> rule = NamedRule::Create(rc, std::move(m), &error);
    if (!rule) {
      rules_error_ = error;
      rules_.clear();
      return;
    }
    rules_.push_back(std::move(rule));
  }
}

void Pipeline::OnRuleEvent(const RuleEvent& e) {
  if (sinks_.empty()) return;
  if (e.kind != RuleEvent::Kind::kAlert) {
    for (Sink* s : sinks_) s->OnRuleEvent(e);
    return;
  }
  AlertEvent a{e.rule, e.firing ? "firing" : "resolved", e.key, e.value, static_cast<uint32_t>(e.count), e.time_us};
  a.threshold = e.threshold;
  a.json = e.json;
  a.aggregate = e.aggregate;
  a.op = e.op;
  for (Sink* s : sinks_) s->OnAlert(a);
}

TimeMicros Pipeline::AdvanceRuleClocks(TimeMicros now_us) {
  TimeMicros next = kNever;
  for (auto& r : rules_) {
    if (r->config().event_time()) continue;
    r->AdvanceClock(now_us, this);
    // Windows end on the grid of `every` (count and total windows never close).
    const int64_t step = r->config().every_us;
    if (step > 0) {
      const int64_t end = (now_us / step + 1) * step + r->config().lateness_us;
      next = std::min(next, end);
    }
  }
  return next;
}

Status Pipeline::RestoreRule(std::string_view name, std::string_view state) {
  for (auto& r : rules_) {
    if (r->config().name != name) continue;
    std::string error;
    if (r->LoadState(state, &error)) return Status::Ok();
    // Whatever the failed load left is dropped: the rule starts empty.
    std::unique_ptr<NamedRule> fresh = NamedRule::Create(r->config(), r->fields(), &error);
    if (fresh) r = std::move(fresh);
    return Status::Error("[rule." + std::string(name) + "]: its saved windows were not restored (" + error +
                         "); it starts empty");
  }
  return Status::Ok();
}

void Pipeline::FinishRules() {
  for (auto& r : rules_) r->Finish(this);
}

namespace {

// Level `level` (0-based) of an MQTT topic; empty when the topic is shorter.
// The key level of a topic: empty when the topic has fewer levels.
std::string_view KeyLevel(std::string_view topic, int level) {
  std::string_view key;
  return TopicLevel(topic, level, &key) ? key : std::string_view();
}

}  // namespace

bool Pipeline::ProcessMessage(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us) {
  ++counters_.records;
  const RecordOrigin origin{topic, 0};
  Reading r;
  RejectReason why = RejectReason::kParseError;
  bool ok;
  RecordParser* parser = number_payload_ || mqtt_parser_ == nullptr ? parser_.get() : mqtt_parser_.get();
  parser->set_topic(topic);
  if (!rules_.empty() && topic_level_ >= 0 && KeyLevel(topic, topic_level_).empty()) {
    // No key for the rule hot, but the named rules read the record.
    ok = false;
    if (number_payload_ || mqtt_parser_ == nullptr) {
      (void)parser->ParseNumber({}, std::string_view(payload, len), arrival_us, &r, &why);
    } else {
      (void)parser->ParseWithKey({}, payload, len, arrival_us, &r, &why);
    }
    if (parser->parsed()) why = RejectReason::kKeyMissing;
  } else if (topic_level_ >= 0 && KeyLevel(topic, topic_level_).empty()) {
    // The topic has no such level (or it is empty): there is no key.
    ok = false;
    why = RejectReason::kKeyMissing;
  } else if (number_payload_) {
    ok = parser_->ParseNumber(KeyLevel(topic, topic_level_), std::string_view(payload, len), arrival_us, &r,
                              &why);
  } else if (mqtt_parser_ == nullptr) {
    ok = false;
    why = RejectReason::kParseError;  // no [mqtt] section: not expected
  } else if (topic_level_ >= 0) {
    ok = mqtt_parser_->ParseWithKey(KeyLevel(topic, topic_level_), payload, len, arrival_us, &r, &why);
  } else {
    ok = mqtt_parser_->Parse(payload, len, arrival_us, &r, &why);
  }
  const bool accepted = Conclude(*parser, ok, r, why, arrival_us, origin, std::string_view(payload, len));
  parser->set_topic({});
  return accepted;
}

namespace {

RejectReason ReasonOf(RuleOutcome o, RuleSkip skip) {
  if (o == RuleOutcome::kFiltered) return RejectReason::kFiltered;
  if (o == RuleOutcome::kLate) return RejectReason::kLate;
  switch (skip) {
    case RuleSkip::kKeyMissing: return RejectReason::kKeyMissing;
    case RuleSkip::kKeyEmpty: return RejectReason::kKeyEmpty;
    case RuleSkip::kKeyTooLong: return RejectReason::kKeyTooLong;
    case RuleSkip::kKeyControlChar: return RejectReason::kKeyControlChar;
    case RuleSkip::kKeyNotText: return RejectReason::kKeyNotText;
    case RuleSkip::kValueMissing: return RejectReason::kValueMissing;
    case RuleSkip::kValueNotNumber: return RejectReason::kValueNotNumber;
    case RuleSkip::kValueNotFinite: return RejectReason::kValueNotFinite;
    case RuleSkip::kValueOutOfRange: return RejectReason::kValueOutOfRange;
    case RuleSkip::kTimeMissing: return RejectReason::kTimeMissing;
    case RuleSkip::kTimeInvalid: return RejectReason::kTimeInvalid;
    case RuleSkip::kFieldMissing: return RejectReason::kFieldMissing;
    case RuleSkip::kTooManyKeys: return RejectReason::kTooManyKeys;
  }
  return RejectReason::kParseError;
}

}  // namespace

bool Pipeline::Conclude(const RecordParser& parser, bool ok, const Reading& r, RejectReason why,
                        TimeMicros arrival_us, const RecordOrigin& origin, std::string_view record) {
  if (rules_.empty()) {
    // The simple form: the reading of the rule hot, or its reason.
    if (!ok) {
      Reject(why, origin, record);
      return false;
    }
    if (!Accept(r, arrival_us)) {
      Reject(RejectReason::kTooManyKeys, origin, record);
      return false;
    }
    ++counters_.accepted;
    return true;
  }
  if (!parser.parsed()) {
    Reject(why, origin, record);
    return false;
  }
  bool accepted = false;
  if (hot_) {
    if (!ok) {
      // why stands
    } else if (Accept(r, arrival_us)) {
      accepted = true;
    } else {
      why = RejectReason::kTooManyKeys;
    }
  }
  const FieldValue* values = parser.fields();
  for (size_t i = 0; i < rules_.size(); ++i) {
    const RuleOutcome o = rules_[i]->OnRecord(values, arrival_us, this);
    if (o == RuleOutcome::kAccepted) {
      accepted = true;
    } else if (i == 0 && !hot_) {
      why = ReasonOf(o, rules_[i]->last_skip());
    }
  }
  if (!accepted) {
    Reject(why, origin, record);
    return false;
  }
  ++counters_.accepted;
  return true;
}

bool Pipeline::ProcessRecord(const char* data, size_t len, TimeMicros arrival_us,
                             const RecordOrigin& origin) {
  if (IsBlank(std::string_view(data, len))) return false;
  ++counters_.records;
  Reading r;
  RejectReason why = RejectReason::kParseError;
  const bool ok = parser_->Parse(data, len, arrival_us, &r, &why);
  return Conclude(*parser_, ok, r, why, arrival_us, origin, std::string_view(data, len));
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
  parser_ = std::make_unique<RecordParser>(config.reading, format, hot_);
  Config same_hot = config;
  same_hot.hot_rule = hot_;  // the table of the rule hot stays as it was built
  SetMqtt(same_hot);
  if (!rules_.empty() || !config.rules.empty()) {
    // The rules are built again from the new configuration; a rule of the
    // same name takes its windows, histories and alert states with it when
    // they fit its new configuration (same window, max_keys, max_distinct,
    // distinct() fields), else starts empty, logged.
    struct Saved {
      std::string name, state;
      RuleCounters counters;
    };
    std::vector<Saved> saved;
    for (const auto& r : rules_) {
      saved.push_back({r->config().name, std::string(), r->counters()});
      r->SaveState(&saved.back().state);
    }
    BuildRules(config);
    if (!rules_error_.empty()) return Status::Error(rules_error_);
    for (const Saved& old : saved) {
      const Status restored = RestoreRule(old.name, old.state);
      if (!restored.ok()) Log(LogLevel::kWarning, "reload: %s", restored.message().c_str());
      for (auto& r : rules_) {
        if (r->config().name == old.name) r->set_counters(old.counters);
      }
    }
  }
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
