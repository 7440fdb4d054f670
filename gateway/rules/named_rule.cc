#include "gateway/rules/named_rule.h"

#include <cmath>
#include <cstring>

#include "gateway/base/json_format.h"

namespace sensorgate {

const char* RuleSkipName(RuleSkip s) {
  switch (s) {
    case RuleSkip::kKeyMissing: return "key_missing";
    case RuleSkip::kKeyEmpty: return "key_empty";
    case RuleSkip::kKeyTooLong: return "key_too_long";
    case RuleSkip::kKeyControlChar: return "key_control_char";
    case RuleSkip::kKeyNotText: return "key_not_text";
    case RuleSkip::kValueMissing: return "value_missing";
    case RuleSkip::kValueNotNumber: return "value_not_number";
    case RuleSkip::kValueNotFinite: return "value_not_finite";
    case RuleSkip::kValueOutOfRange: return "value_out_of_range";
    case RuleSkip::kTimeMissing: return "time_missing";
    case RuleSkip::kTimeInvalid: return "time_invalid";
    case RuleSkip::kFieldMissing: return "field_missing";
    case RuleSkip::kTooManyKeys: return "too_many_keys";
  }
  return "unknown";
}

std::unique_ptr<NamedRule> NamedRule::Create(const RuleConfig& rule, RuleFieldMap fields, std::string* error) {
  if (fields.distinct.size() > kMaxDistinct) {
    *error = "[rule." + rule.name + "]: at most " + std::to_string(kMaxDistinct) + " distinct() aggregates";
    return nullptr;
  }
  std::unique_ptr<NamedRule> r(new NamedRule(rule, std::move(fields)));
  if (rule.window == WindowKind::kCount ? !r->count_ : !r->time_) {
    *error = "[rule." + rule.name + "]: its windows cannot be allocated";
    return nullptr;
  }
  return r;
}

NamedRule::NamedRule(const RuleConfig& rule, RuleFieldMap fields) : rule_(rule), fields_(std::move(fields)) {
  if (rule_.has_where) {
    const std::vector<std::string> names = WhereFields(rule_.where);
    where_ = std::make_unique<CompiledWhere>(rule_.where, [&](const std::string& f) {
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == f) return static_cast<uint32_t>(i);
      }
      return uint32_t{0};
    });
    where_values_.resize(names.size());
  }
  if (rule_.window == WindowKind::kCount) {
    count_ = CountWindows::Create(rule_);
  } else {
    time_ = TimeWindows::Create(rule_);
  }
  for (const RuleCondition* c : {&rule_.alert, &rule_.clear}) {
    if (!c->enabled) continue;
    for (const Aggregate& a : rule_.aggregates) {
      if (a.name != c->aggregate) continue;
      alert_reads_ring_ = alert_reads_ring_ || a.kind == AggregateKind::kMin || a.kind == AggregateKind::kMax ||
                          a.kind == AggregateKind::kStddev || a.kind == AggregateKind::kSlope;
    }
  }
  for (const RuleCondition* c : {&rule_.alert, &rule_.clear}) {
    if (!c->enabled || !c->zscore) continue;
    for (size_t i = 0; i < rule_.aggregates.size(); ++i) {
      if (rule_.aggregates[i].name == c->aggregate) zscore_aggregate_ = static_cast<int>(i);
    }
  }
  if (zscore_aggregate_ >= 0) {
    baselines_ = std::make_unique<Baselines>(rule_.baseline, rule_.max_keys);
    zscore_name_ = "zscore(" + rule_.aggregates[static_cast<size_t>(zscore_aggregate_)].name + ")";
  }
  alert_states_.reserve(rule_.max_keys);
}

bool NamedRule::Skip(RuleSkip why) {
  ++counters_.skipped[static_cast<size_t>(why)];
  last_skip_ = why;
  return false;
}

void NamedRule::Send(RuleEvent::Kind kind, std::string_view key, TimeMicros time_us, bool open) {
  RuleEvent e;
  e.kind = kind;
  e.rule = rule_.name;
  e.key = key;
  e.json = json_;
  e.time_us = time_us;
  e.open = open;
  out_->OnRuleEvent(e);
}

// The key: the group-by fields' texts joined with "/", checked as section 4
// checks a reading's key.
bool NamedRule::BuildKey(const FieldValue* values) {
  key_len_ = 0;
  if (fields_.key.empty()) {
    key_[0] = '*';
    key_len_ = 1;
    return true;
  }
  for (size_t i = 0; i < fields_.key.size(); ++i) {
    const FieldValue& f = values[fields_.key[i]];
    if (f.kind == FieldValue::Kind::kAbsent || f.kind == FieldValue::Kind::kNull) return Skip(RuleSkip::kKeyMissing);
    if (f.kind != FieldValue::Kind::kString && f.kind != FieldValue::Kind::kNumber) {
      return Skip(RuleSkip::kKeyNotText);
    }
    if (f.text.empty()) return Skip(RuleSkip::kKeyEmpty);
    if (key_len_ + (i > 0) + f.text.size() > kMaxRuleKeyBytes) return Skip(RuleSkip::kKeyTooLong);
    if (i > 0) key_[key_len_++] = '/';
    std::memcpy(key_ + key_len_, f.text.data(), f.text.size());
    key_len_ += f.text.size();
  }
  for (size_t i = 0; i < key_len_; ++i) {
    const unsigned char c = static_cast<unsigned char>(key_[i]);
    if (c < 0x20 || c == 0x7f) return Skip(RuleSkip::kKeyControlChar);
  }
  return true;
}

RuleOutcome NamedRule::OnRecord(const FieldValue* values, TimeMicros arrival_us, RuleEvents* out) {
  if (where_) {
    for (size_t i = 0; i < where_values_.size(); ++i) where_values_[i] = values[fields_.where[i]];
    if (!where_->Matches(where_values_.data())) {
      ++counters_.filtered;
      return RuleOutcome::kFiltered;
    }
  }
  if (!BuildKey(values)) return RuleOutcome::kSkipped;
  double value = 0;
  if (fields_.value >= 0) {
    const FieldValue& v = values[fields_.value];
    if (v.kind == FieldValue::Kind::kAbsent || v.kind == FieldValue::Kind::kNull) {
      Skip(RuleSkip::kValueMissing);
      return RuleOutcome::kSkipped;
    }
    if (v.kind != FieldValue::Kind::kNumber) {
      Skip(RuleSkip::kValueNotNumber);
      return RuleOutcome::kSkipped;
    }
    if (!std::isfinite(v.number)) {
      Skip(RuleSkip::kValueNotFinite);
      return RuleOutcome::kSkipped;
    }
    if (v.number < rule_.min || v.number > rule_.max) {
      Skip(RuleSkip::kValueOutOfRange);
      return RuleOutcome::kSkipped;
    }
    value = v.number;
  }
  TimeMicros t = arrival_us;
  if (fields_.time >= 0) {
    const FieldValue& f = values[fields_.time];
    if (f.kind == FieldValue::Kind::kAbsent || f.kind == FieldValue::Kind::kNull) {
      Skip(RuleSkip::kTimeMissing);
      return RuleOutcome::kSkipped;
    }
    if ((f.kind != FieldValue::Kind::kString && f.kind != FieldValue::Kind::kNumber) || !ParseTimeText(f.text, &t)) {
      Skip(RuleSkip::kTimeInvalid);
      return RuleOutcome::kSkipped;
    }
  }
  for (size_t d = 0; d < fields_.distinct.size(); ++d) {
    const FieldValue& f = values[fields_.distinct[d]];
    if (f.kind == FieldValue::Kind::kString) {
      hashes_[d] = DistinctHash(f.text);
    } else if (f.kind == FieldValue::Kind::kNumber) {
      hashes_[d] = DistinctHash(f.number);
    } else {
      Skip(RuleSkip::kFieldMissing);
      return RuleOutcome::kSkipped;
    }
  }
  const std::string_view key(key_, key_len_);
  out_ = out;
  if (count_) {
    const CountWindows::Added a = count_->Add(key, value, t, hashes_);
    if (a.slot == KeyIndex::kNoSlot) {
      Skip(RuleSkip::kTooManyKeys);
      return RuleOutcome::kSkipped;
    }
    ++counters_.accepted;
    if (a.outlier) {
      ++counters_.outliers;
      json_.assign("{\"event\":\"outlier\",\"rule\":");
      AppendJsonString(&json_, rule_.name);
      json_.append(",\"key\":");
      AppendJsonString(&json_, key);
      json_.append(",\"value\":");
      AppendJsonNumber(&json_, value);
      json_.append(",\"avg\":");
      AppendJsonNumber(&json_, a.before_avg);
      json_.append(",\"stddev\":");
      AppendJsonNumber(&json_, a.before_stddev);
      json_.append(",\"time\":");
      AppendJsonTime(&json_, t);
      json_.push_back('}');
      Send(RuleEvent::Kind::kOutlier, key, t);
    }
    if (rule_.alert.enabled) {
      const Accumulator acc = alert_reads_ring_ ? count_->Values(a.slot) : count_->running(a.slot);
      uint32_t distinct[kMaxDistinct];
      for (size_t d = 0; d < fields_.distinct.size(); ++d) distinct[d] = count_->distinct(a.slot, d);
      alert_key_ = key;
      window_line_slot_ = a.slot;
      Alert(a.slot, acc, distinct, t);
      window_line_slot_ = UINT32_MAX;
    }
    return RuleOutcome::kAccepted;
  }
  switch (time_->Add(key, value, t, hashes_, this)) {
    case TimeWindows::Outcome::kAccepted: ++counters_.accepted; return RuleOutcome::kAccepted;
    case TimeWindows::Outcome::kLate: ++counters_.late; return RuleOutcome::kLate;
    case TimeWindows::Outcome::kTooManyKeys: Skip(RuleSkip::kTooManyKeys); return RuleOutcome::kSkipped;
  }
  return RuleOutcome::kSkipped;
}

namespace {

CompareOp Negated(CompareOp op) {
  switch (op) {
    case CompareOp::kGt: return CompareOp::kLe;
    case CompareOp::kGe: return CompareOp::kLt;
    case CompareOp::kLt: return CompareOp::kGe;
    case CompareOp::kLe: return CompareOp::kGt;
    case CompareOp::kEq: return CompareOp::kNe;
    case CompareOp::kNe: return CompareOp::kEq;
  }
  return op;
}

std::string DurationText(int64_t us) {
  if (us % 3600000000 == 0) return std::to_string(us / 3600000000) + "h";
  if (us % 60000000 == 0) return std::to_string(us / 60000000) + "m";
  if (us % 1000000 == 0) return std::to_string(us / 1000000) + "s";
  if (us % 1000 == 0) return std::to_string(us / 1000) + "ms";
  return std::to_string(us) + "us";
}

}  // namespace

std::string NamedRule::WindowText() const {
  switch (rule_.window) {
    case WindowKind::kCount: return "count " + std::to_string(rule_.count);
    case WindowKind::kTumbling: return "tumbling " + DurationText(rule_.length_us);
    case WindowKind::kSliding: return "sliding " + DurationText(rule_.length_us) + " every " + DurationText(rule_.every_us);
    case WindowKind::kTotal: return "total";
  }
  return "";
}

namespace {
constexpr std::string_view kRuleStateTag = "SGR1";
}  // namespace

void NamedRule::SaveState(std::string* out) const {
  out->append(kRuleStateTag.data(), kRuleStateTag.size());
  if (count_) {
    count_->SaveState(out);
  } else {
    time_->SaveState(out);
  }
  PutU8(out, baselines_ ? 1 : 0);
  if (baselines_) baselines_->SaveState(out);
  PutU32(out, static_cast<uint32_t>(alert_states_.size()));
  for (const AlertState& a : alert_states_) {
    PutU8(out, static_cast<uint8_t>(a.phase));
    PutI64(out, a.since_us);
  }
}

bool NamedRule::LoadState(std::string_view in, std::string* error) {
  StateReader r(&in);
  if (!r.Tag(kRuleStateTag)) {
    *error = "not a rule state";
    return false;
  }
  if (!(count_ ? count_->LoadState(&in, error) : time_->LoadState(&in, error))) return false;
  uint8_t has_baselines = 0;
  if (!r.U8(&has_baselines) || has_baselines != (baselines_ ? 1 : 0)) {
    *error = "zscore() histories of another configuration";
    return false;
  }
  if (baselines_ && !baselines_->LoadState(&in, error)) return false;
  uint32_t n = 0;
  if (!r.U32(&n) || n > rule_.max_keys) {
    *error = "alert states cut short or out of range";
    return false;
  }
  alert_states_.assign(n, AlertState());
  for (AlertState& a : alert_states_) {
    uint8_t phase = 0;
    if (!r.U8(&phase) || phase > static_cast<uint8_t>(AlertPhase::kFiring) || !r.I64(&a.since_us) ||
        !StateTimeInRange(a.since_us)) {
      *error = "alert states cut short or out of range";
      return false;
    }
    a.phase = static_cast<AlertPhase>(phase);
  }
  if (r.remaining() != 0) {
    *error = "bytes after the state";
    return false;
  }
  return true;
}

void NamedRule::AdvanceClock(TimeMicros now_us, RuleEvents* out) {
  if (!time_) return;
  out_ = out;
  time_->AdvanceTo(now_us, this);
}

bool NamedRule::ConditionValue(const RuleCondition& c, const Accumulator& acc, const uint32_t* distinct,
                               double* x) {
  size_t d = 0;
  for (const Aggregate& a : rule_.aggregates) {
    if (a.name == c.aggregate) {
      if (!AggregateValue(a, acc, a.kind == AggregateKind::kDistinct ? distinct[d] : 0, x)) return false;
      if (!c.zscore) return true;
      *x = zscore_;
      return has_zscore_;
    }
    d += a.kind == AggregateKind::kDistinct;
  }
  return false;
}

void NamedRule::AppendAggregates(const Accumulator& acc, const uint32_t* distinct, const bool* exact,
                                 bool skip_count) {
  size_t d = 0;
  bool all_exact = true;
  for (const Aggregate& a : rule_.aggregates) {
    if (skip_count && a.kind == AggregateKind::kCount) continue;
    json_.push_back(',');
    AppendJsonString(&json_, a.name);
    json_.push_back(':');
    double x = 0;
    const uint32_t n = a.kind == AggregateKind::kDistinct ? distinct[d] : 0;
    if (a.kind == AggregateKind::kDistinct) {
      if (exact != nullptr && !exact[d]) all_exact = false;
      ++d;
    }
    if (a.kind == AggregateKind::kCount) {
      AppendJsonInt(&json_, static_cast<int64_t>(acc.count));
    } else if (a.kind == AggregateKind::kDistinct && acc.count > 0) {
      AppendJsonInt(&json_, n);
    } else if (AggregateValue(a, acc, n, &x) && std::isfinite(x)) {
      AppendJsonNumber(&json_, x);
    } else {
      json_.append("null");
    }
  }
  if (!all_exact) json_.append(",\"exact\":false");
}

void NamedRule::Alert(uint32_t slot, const Accumulator& acc, const uint32_t* distinct, TimeMicros t_us) {
  if (!rule_.alert.enabled) return;
  if (slot >= alert_states_.size()) alert_states_.resize(slot + 1);
  double x = 0;
  const bool cond = ConditionValue(rule_.alert, acc, distinct, &x) && Compares(rule_.alert.op, x, rule_.alert.threshold);
  const bool hot = acc.count >= rule_.min_samples && cond;
  bool clear;
  if (rule_.clear.enabled) {
    double y = 0;
    clear = ConditionValue(rule_.clear, acc, distinct, &y) && Compares(rule_.clear.op, y, rule_.clear.threshold);
  } else {
    double y = 0;
    // The alert condition is false, also when its aggregate is null.
    clear = !(ConditionValue(rule_.alert, acc, distinct, &y) && Compares(rule_.alert.op, y, rule_.alert.threshold));
  }
  const AlertTransition tr = EvaluateAlert(&alert_states_[slot], hot, clear, rule_.for_us, t_us);
  if (tr == AlertTransition::kNone) return;
  ++counters_.alerts;
  if (window_line_slot_ != UINT32_MAX) WindowLine(window_line_slot_);
  // What the result (or window line) carries, plus the state and zscore().
  std::string line = json_;
  json_.assign("{\"event\":\"alert\",\"rule\":");
  AppendJsonString(&json_, rule_.name);
  json_.append(",\"state\":");
  json_.append(tr == AlertTransition::kFiring ? "\"firing\"" : "\"resolved\"");
  // The body of the line it follows, after its "event" and "rule" members.
  const std::string_view body = line;
  const size_t from = body.find(",\"key\":");
  if (from != std::string_view::npos) json_.append(body.substr(from, body.size() - 1 - from));
  if (has_zscore_ || zscore_aggregate_ >= 0) {
    json_.append(",\"zscore(");
    json_.append(rule_.aggregates[static_cast<size_t>(zscore_aggregate_ >= 0 ? zscore_aggregate_ : 0)].name);
    json_.append(")\":");
    if (has_zscore_) {
      AppendJsonNumber(&json_, zscore_);
    } else {
      json_.append("null");
    }
  }
  json_.push_back('}');
  RuleEvent e;
  e.kind = RuleEvent::Kind::kAlert;
  e.rule = rule_.name;
  e.key = alert_key_;
  e.json = json_;
  e.time_us = t_us;
  e.firing = tr == AlertTransition::kFiring;
  const RuleCondition& c = e.firing || !rule_.clear.enabled ? rule_.alert : rule_.clear;
  e.aggregate = zscore_name_.empty() || !c.zscore ? std::string_view(c.aggregate) : std::string_view(zscore_name_);
  e.threshold = c.threshold;
  e.op = CompareOpText(c.op);
  if (!e.firing && !rule_.clear.enabled) e.op = CompareOpText(Negated(c.op));  // resolved: the condition is false
  e.value = x;
  if (!e.firing && rule_.clear.enabled) (void)ConditionValue(rule_.clear, acc, distinct, &e.value);
  e.count = acc.count;
  out_->OnRuleEvent(e);
}

void NamedRule::OnResult(const WindowResult& r) {
  if (!r.open) ++counters_.results;
  json_.assign("{\"event\":\"result\",\"rule\":");
  AppendJsonString(&json_, rule_.name);
  json_.append(",\"key\":");
  AppendJsonString(&json_, r.key);
  json_.append(",\"start\":");
  AppendJsonTime(&json_, r.start_us);
  json_.append(",\"end\":");
  AppendJsonTime(&json_, r.end_us);
  AppendAggregates(*r.values, r.distinct, r.distinct_exact, false);
  if (r.open) json_.append(",\"open\":true");
  json_.push_back('}');
  if (r.open) {
    Send(RuleEvent::Kind::kResult, r.key, r.end_us, true);
    return;
  }
  // zscore() against the key's earlier windows, then this window joins them.
  has_zscore_ = false;
  if (baselines_) {
    const Aggregate& a = rule_.aggregates[static_cast<size_t>(zscore_aggregate_)];
    size_t d = 0;
    for (int i = 0; i < zscore_aggregate_; ++i) d += rule_.aggregates[static_cast<size_t>(i)].kind == AggregateKind::kDistinct;
    double x = 0;
    if (AggregateValue(a, *r.values, a.kind == AggregateKind::kDistinct ? r.distinct[d] : 0, &x)) {
      has_zscore_ = baselines_->Zscore(r.slot, x, &zscore_);
      baselines_->Push(r.slot, x);
    }
  }
  const std::string result = json_;
  Send(RuleEvent::Kind::kResult, r.key, r.end_us);
  json_ = result;
  alert_key_ = r.key;
  Alert(r.slot, *r.values, r.distinct, r.end_us);
  has_zscore_ = false;
}

void NamedRule::Finish(RuleEvents* out) {
  out_ = out;
  if (time_) {
    time_->EmitOpen(this);
    return;
  }
  for (uint32_t slot : count_->SlotsByKey()) {
    WindowLine(slot);
    Send(RuleEvent::Kind::kWindow, count_->key(slot), count_->last_time(slot));
  }
}

// {"event":"window","rule":..,"key":..,"count":..,"total":..,"time":..,
// aggregates...} into json_; returns the window's values.
Accumulator NamedRule::WindowLine(uint32_t slot) {
  const Accumulator acc = count_->Values(slot);
  uint32_t distinct[kMaxDistinct];
  bool exact[kMaxDistinct];
  for (size_t d = 0; d < fields_.distinct.size(); ++d) {
    distinct[d] = count_->distinct(slot, d);
    exact[d] = count_->distinct_exact(slot, d);
  }
  json_.assign("{\"event\":\"window\",\"rule\":");
  AppendJsonString(&json_, rule_.name);
  json_.append(",\"key\":");
  AppendJsonString(&json_, count_->key(slot));
  json_.append(",\"count\":");
  AppendJsonInt(&json_, static_cast<int64_t>(acc.count));
  json_.append(",\"total\":");
  AppendJsonInt(&json_, static_cast<int64_t>(count_->total(slot)));
  json_.append(",\"time\":");
  AppendJsonTime(&json_, count_->last_time(slot));
  AppendAggregates(acc, distinct, exact, true);
  json_.push_back('}');
  return acc;
}

}  // namespace sensorgate
