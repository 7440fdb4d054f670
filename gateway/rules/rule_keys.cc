// [window], [alert] and [rule.NAME]: the key tables of the rules.
//
// A [rule.NAME] value is parsed here into the section's RuleConfig
// (ApplyRuleKey): the window into its kind and lengths, aggregates and
// conditions into their typed form, `where` into a syntax tree (where.h).
#include "gateway/rules/rule_keys.h"

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/base/time_util.h"
#include "gateway/config/sink_keys.h"
#include "gateway/config/where.h"

namespace sensorgate {
namespace {

constexpr double kS = 1e6;  // microseconds per second, for duration bounds

// --- [rule.NAME] values ---

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Items of a comma list, trimmed; "" gives no item.
std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  if (Trim(s).empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    out.push_back(Trim(s.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

// Words separated by blanks.
std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

bool IsField(std::string_view s) {
  if (s.rfind("@topic.", 0) == 0) return TopicKeyLevel(s) >= 0;
  return IsDottedPath(s) && s.find_first_of(" \t,()\"") == std::string_view::npos;
}

// One aggregate as written ("avg", "distinct(F)"); false if it is none.
bool ParseAggregate(std::string_view text, Aggregate* out) {
  static constexpr std::pair<std::string_view, AggregateKind> kNames[] = {
      {"count", AggregateKind::kCount}, {"sum", AggregateKind::kSum},       {"avg", AggregateKind::kAvg},
      {"min", AggregateKind::kMin},     {"max", AggregateKind::kMax},       {"stddev", AggregateKind::kStddev},
      {"last", AggregateKind::kLast},   {"slope", AggregateKind::kSlope}};
  for (const auto& [name, kind] : kNames) {
    if (text == name) {
      *out = Aggregate{kind, "", std::string(name)};
      return true;
    }
  }
  constexpr std::string_view kDistinct = "distinct(";
  if (text.substr(0, kDistinct.size()) == kDistinct && text.size() > kDistinct.size() + 1 && text.back() == ')') {
    const std::string field = Trim(text.substr(kDistinct.size(), text.size() - kDistinct.size() - 1));
    if (!IsField(field)) return false;
    *out = Aggregate{AggregateKind::kDistinct, field, "distinct(" + field + ")"};
    return true;
  }
  return false;
}

bool UsesValue(AggregateKind k) { return k != AggregateKind::kCount && k != AggregateKind::kDistinct; }

// "AGG OP NUMBER" or "zscore(AGG) OP NUMBER"; empty text: no condition.
bool ParseCondition(std::string_view text, RuleCondition* out) {
  RuleCondition c;
  const std::string t = Trim(text);
  if (t.empty()) {
    *out = c;
    return true;
  }
  const size_t op_at = t.find_first_of("<>");
  if (op_at == std::string::npos || op_at == 0) return false;
  const bool eq = op_at + 1 < t.size() && t[op_at + 1] == '=';
  c.op = t[op_at] == '>' ? (eq ? CompareOp::kGe : CompareOp::kGt) : (eq ? CompareOp::kLe : CompareOp::kLt);
  std::string left = Trim(std::string_view(t).substr(0, op_at));
  const std::string right = Trim(std::string_view(t).substr(op_at + (eq ? 2 : 1)));
  constexpr std::string_view kZ = "zscore(";
  if (left.rfind(kZ, 0) == 0 && left.back() == ')') {
    c.zscore = true;
    left = Trim(std::string_view(left).substr(kZ.size(), left.size() - kZ.size() - 1));
  }
  Aggregate agg;
  if (!ParseAggregate(left, &agg)) return false;
  c.aggregate = agg.name;
  auto [p, ec] = std::from_chars(right.data(), right.data() + right.size(), c.threshold);
  if (right.empty() || ec != std::errc() || p != right.data() + right.size() || !std::isfinite(c.threshold)) {
    return false;
  }
  c.enabled = true;
  *out = c;
  return true;
}

constexpr int64_t kMinWindowUs = 100 * 1000;
constexpr int64_t kMaxWindowUs = 7 * 86400 * int64_t{1000000};
constexpr uint64_t kMaxPanes = 10000;

bool ParseWindowDuration(const std::string& text, int64_t* us) {
  return ParseDuration(text, us) && *us >= kMinWindowUs && *us <= kMaxWindowUs;
}

// window = count N | tumbling D | sliding D every S | total. Returns "" or
// the problem.
std::string ParseWindow(const std::string& text, const std::string& allowed, RuleConfig* r) {
  const std::vector<std::string> w = Words(text);
  if (w.size() == 2 && w[0] == "count") {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), n);
    if (ec != std::errc() || p != w[1].data() + w[1].size() || n < 1 || n > 100000) return allowed;
    r->window = WindowKind::kCount;
    r->count = static_cast<uint32_t>(n);
    r->length_us = r->every_us = 0;
    return "";
  }
  if (w.size() == 2 && w[0] == "tumbling") {
    int64_t d = 0;
    if (!ParseWindowDuration(w[1], &d)) return allowed;
    r->window = WindowKind::kTumbling;
    r->length_us = r->every_us = d;
    r->count = 0;
    return "";
  }
  if (w.size() == 4 && w[0] == "sliding" && w[2] == "every") {
    int64_t d = 0, e = 0;
    if (!ParseWindowDuration(w[1], &d) || !ParseWindowDuration(w[3], &e)) return allowed;
    if (d % e != 0) return w[1] + " is not a multiple of " + w[3] + " (a window is made of whole panes)";
    if (static_cast<uint64_t>(d / e) > kMaxPanes) {
      return w[1] + " / " + w[3] + " is " + std::to_string(d / e) + " panes; at most " +
             std::to_string(kMaxPanes);
    }
    r->window = WindowKind::kSliding;
    r->length_us = d;
    r->every_us = e;
    r->count = 0;
    return "";
  }
  if (w.size() == 1 && w[0] == "total") {
    r->window = WindowKind::kTotal;
    r->count = 0;
    r->length_us = r->every_us = 0;
    return "";
  }
  return allowed;
}

// Stores one checked value of a [rule.NAME] key into r. `column` is the
// 1-based column of the value in its line, for `where` faults. Returns "" or
// the problem.
std::string ApplyRuleKey(RuleConfig& r, std::string_view key, const ConfigValue& v, const std::string& allowed,
                         size_t column) {
  const std::string& t = v.text;
  if (key == "where") {
    r.has_where = false;
    r.where = WhereExpr();
    if (Trim(t).empty()) return "";
    WhereError e;
    if (!ParseWhere(t, &r.where, &e)) {
      r.where = WhereExpr();
      return "column " + std::to_string(column - 1 + e.column) + ": " + e.what;
    }
    r.has_where = true;
  } else if (key == "key") {
    std::vector<std::string> fields = SplitComma(t);
    if (fields.size() > 8) return allowed;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!IsField(fields[i])) return allowed;
      for (size_t j = 0; j < i; ++j) {
        if (fields[j] == fields[i]) return fields[i] + " given twice";
      }
    }
    r.key_fields = std::move(fields);
  } else if (key == "value") {
    if (!t.empty() && !IsField(t)) return allowed;
    r.value = t;
  } else if (key == "time") {
    if (t == "@arrival") {
      r.time.clear();
    } else if (IsDottedPath(t) && t[0] != '@' && IsField(t)) {
      r.time = t;
    } else {
      return allowed;
    }
  } else if (key == "window") {
    return ParseWindow(t, allowed, &r);
  } else if (key == "lateness") {
    r.lateness_us = v.i;
  } else if (key == "aggregates") {
    std::vector<Aggregate> aggs;
    const std::vector<std::string> items = SplitComma(t);
    if (items.empty()) return allowed;
    for (const std::string& item : items) {
      Aggregate a;
      if (!ParseAggregate(item, &a)) return allowed;
      for (const Aggregate& b : aggs) {
        if (b.name == a.name) return a.name + " given twice";
      }
      aggs.push_back(std::move(a));
    }
    r.aggregates = std::move(aggs);
  } else if (key == "alert" || key == "clear") {
    RuleCondition c;
    if (!ParseCondition(t, &c)) return allowed;
    (key == "alert" ? r.alert : r.clear) = c;
  } else if (key == "for") {
    r.for_us = v.i;
  } else if (key == "min_samples") {
    r.min_samples = static_cast<uint32_t>(v.i);
  } else if (key == "baseline") {
    r.baseline = static_cast<uint32_t>(v.i);
  } else if (key == "outlier_z") {
    r.outlier_z = v.d;
  } else if (key == "min") {
    r.min = v.d;
  } else if (key == "max") {
    r.max = v.d;
  } else if (key == "max_keys") {
    r.max_keys = static_cast<uint32_t>(v.i);
  } else if (key == "max_distinct") {
    r.max_distinct = static_cast<uint32_t>(v.i);
  } else if (key == "kafka_topic") {
    r.kafka_topic = t;
  }
  return "";
}

bool HasAggregate(const RuleConfig& r, const std::string& name) {
  for (const Aggregate& a : r.aggregates) {
    if (a.name == name) return true;
  }
  return false;
}

std::string AggregateNames(const RuleConfig& r) {
  std::string out;
  for (const Aggregate& a : r.aggregates) out += (out.empty() ? "" : ", ") + a.name;
  return out;
}

void FinishAlert(ConfigCheck& check) {
  Config& c = check.config();
  c.alert.enabled = check.Present("alert");
  if (!check.Given("alert", "clear_below")) c.alert.clear_below = c.alert.above;
}

// clear_below <= above, and min_samples within the [window] ring.
void ValidateAlert(ConfigCheck& check) {
  const Config& c = check.config();
  if (c.alert.enabled && check.Good("alert", "above") && check.Given("alert", "above") &&
      check.Good("alert", "clear_below") && c.alert.clear_below > c.alert.above) {
    check.Error(check.LineOf("alert", "clear_below"), check.Where("alert", "clear_below") +
                                                          ": must not be greater than above (" +
                                                          NumberText(c.alert.above) + ")");
  }
  if (c.alert.enabled && check.Good("alert", "min_samples") && check.Good("window", "size") &&
      c.alert.min_samples > c.window.size) {
    check.Error(check.LineOf("alert", "min_samples"), check.Where("alert", "min_samples") +
                                                          ": must be at most [window] size (" +
                                                          std::to_string(c.window.size) + ")");
  }
}

// The rule `hot` ([reading], [window], [alert]) exists when the file has one
// of those sections, or no [rule.*] (DESIGN.md 13.1).
void FinishRules(ConfigCheck& check) {
  Config& c = check.config();
  c.hot_rule =
      check.Present("reading") || check.Present("window") || check.Present("alert") || c.rules.empty();
}

// What the keys of one [rule.NAME] must agree on (DESIGN.md 13.2 to 13.4).
void CheckRuleFieldCount(ConfigCheck& check);

void ValidateRules(ConfigCheck& check) {
  CheckRuleFieldCount(check);
  Config& cfg = check.config();
  for (RuleConfig& r : cfg.rules) {
    const std::string s = "rule." + r.name;
    if (r.name == "hot" && cfg.hot_rule) {
      check.Error(r.line,
                  "[" + s + "]: the name hot is taken by the rule of [reading], [window] and [alert]");
    }
    if (!check.Given(s, "time") && check.Good("reading", "time")) r.time = cfg.reading.time;
    if (r.kafka_topic.empty() && cfg.kafka.enabled) r.kafka_topic = cfg.kafka.topic;
    const bool window_ok = check.GivenGood(s, "window");
    const bool count_window = window_ok && r.window == WindowKind::kCount;
    const bool pane_window =
        window_ok && (r.window == WindowKind::kTumbling || r.window == WindowKind::kSliding);
    const bool aggs_ok = check.Good(s, "aggregates");
    if (check.GivenGood(s, "lateness") && r.lateness_us > 0 && window_ok) {
      if (count_window) {
        check.Error(check.LineOf(s, "lateness"),
                    check.Where(s, "lateness") + ": a count window has no lateness");
      } else if (!r.event_time() && check.Good(s, "time")) {
        check.Error(
            check.LineOf(s, "lateness"),
            check.Where(s, "lateness") + ": needs event time (time is @arrival: windows close by the clock)");
      }
    }
    if (aggs_ok && r.value.empty() && check.Good(s, "value")) {
      for (const Aggregate& a : r.aggregates) {
        if (UsesValue(a.kind)) {
          check.Error(check.LineOf(s, "aggregates"), check.Where(s, "aggregates") + ": " + a.name +
                                                         " needs a value (set [" + s + "] value)");
          break;
        }
      }
    }
    for (const char* key : {"alert", "clear"}) {
      const RuleCondition& c = std::string_view(key) == "alert" ? r.alert : r.clear;
      if (!c.enabled || !check.Good(s, key)) continue;
      if (aggs_ok && !HasAggregate(r, c.aggregate)) {
        check.Error(check.LineOf(s, key), check.Where(s, key) + ": " + c.aggregate +
                                              " is not in aggregates (" + AggregateNames(r) + ")");
      } else if (c.zscore && window_ok && !pane_window) {
        check.Error(check.LineOf(s, key),
                    check.Where(s, key) + ": zscore() needs a tumbling or sliding window");
      }
    }
    if (r.clear.enabled && check.Good(s, "clear") && !r.alert.enabled && check.Good(s, "alert")) {
      check.Error(check.LineOf(s, "clear"), check.Where(s, "clear") + ": needs an alert to clear");
    }
    if (check.GivenGood(s, "outlier_z") && r.outlier_z > 0) {
      if (window_ok && !count_window) {
        check.Error(check.LineOf(s, "outlier_z"),
                    check.Where(s, "outlier_z") + ": needs a count window (window = count N)");
      } else if (r.value.empty() && check.Good(s, "value")) {
        check.Error(check.LineOf(s, "outlier_z"),
                    check.Where(s, "outlier_z") + ": needs a value (set [" + s + "] value)");
      }
    }
    if (check.GivenGood(s, "min_samples") && count_window && r.min_samples > r.count) {
      check.Error(check.LineOf(s, "min_samples"), check.Where(s, "min_samples") +
                                                      ": must be at most the window's count (" +
                                                      std::to_string(r.count) + ")");
    }
    if (aggs_ok) {
      size_t distinct = 0;
      for (const Aggregate& a : r.aggregates) distinct += a.kind == AggregateKind::kDistinct;
      if (distinct > kMaxDistinctAggregates) {
        check.Error(check.LineOf(s, "aggregates"), check.Where(s, "aggregates") + ": at most " +
                                                       std::to_string(kMaxDistinctAggregates) +
                                                       " distinct() aggregates in a rule");
      }
    }
    if (check.Good(s, "min") && check.Good(s, "max") && r.min >= r.max) {
      if (check.Given(s, "max")) {
        check.Error(check.LineOf(s, "max"),
                    check.Where(s, "max") + ": must be greater than min (" + NumberText(r.min) + ")");
      } else {
        check.Error(check.LineOf(s, "min"),
                    check.Where(s, "min") + ": must be less than max (" + NumberText(r.max) + ")");
      }
    }
  }
}

// The parser extracts at most kMaxRuleFields distinct fields for all rules
// together (record_parser.h): said at the rule that goes past it.
void CheckRuleFieldCount(ConfigCheck& check) {
  std::vector<std::string> names;
  auto add = [&](const std::string& f) {
    if (f.empty()) return;
    for (const std::string& n : names) {
      if (n == f) return;
    }
    names.push_back(f);
  };
  for (const RuleConfig& r : check.config().rules) {
    for (const std::string& k : r.key_fields) add(k);
    add(r.value);
    add(r.time);
    for (const Aggregate& a : r.aggregates) {
      if (a.kind == AggregateKind::kDistinct) add(a.field);
    }
    if (r.has_where) {
      for (const std::string& f : WhereFields(r.where)) add(f);
    }
    if (names.size() > kMaxRuleFields) {
      check.Error(r.line, "[rule." + r.name + "]: the rules read " + std::to_string(names.size()) +
                              " different fields up to here; at most " + std::to_string(kMaxRuleFields) +
                              " are allowed in all");
      return;
    }
  }
}

#define STORE(expr) [](Config& c, const ConfigValue& v) { (void)v; expr; }

}  // namespace

SectionSpec WindowKeys() {
  SectionSpec section;
  section.name = "window";
  section.keys = {
    {"size", KeyType::kInt, "60", false, 1, 100000, nullptr,
     "readings kept per key, a ring buffer", STORE(c.window.size = static_cast<uint32_t>(v.i)),
     nullptr, nullptr},
    {"max_keys", KeyType::kInt, "10000", false, 1, 1000000, nullptr,
     "readings for further new keys are rejected and counted",
     STORE(c.window.max_keys = static_cast<uint32_t>(v.i)), nullptr, nullptr},
  };
  return section;
}

SectionSpec AlertKeys() {
  SectionSpec section;
  section.name = "alert";
  section.keys = {
    {"above", KeyType::kNumber, "", true, -1e6, 1e6, nullptr,
     "a window average above this is hot", STORE(c.alert.above = v.d), nullptr, nullptr},
    {"clear_below", KeyType::kNumber, "", false, -1e6, 1e6, nullptr,
     "a firing alert resolves when the average falls below this [= above]",
     STORE(c.alert.clear_below = v.d), nullptr, nullptr},
    {"for", KeyType::kDuration, "0s", false, 0, 7 * 86400 * kS, nullptr,
     "the average must stay hot this long (reading time) before firing",
     STORE(c.alert.for_us = v.i), nullptr, nullptr},
    {"min_samples", KeyType::kInt, "1", false, 1, 100000, nullptr,
     "no alert while the window holds fewer readings",
     STORE(c.alert.min_samples = static_cast<uint32_t>(v.i)), nullptr, nullptr},
    {"stale_after", KeyType::kDuration, "off", false, 1 * kS, 30 * 86400 * kS, "off",
     "alert when a key sends nothing this long (daemon only)", STORE(c.alert.stale_after_us = v.i),
     nullptr, nullptr},
  };
  section.finish = FinishAlert;
  section.validate = ValidateAlert;
  return section;
}

// [rule.NAME]: stored by ApplyRuleKey() into the section's RuleConfig.
SectionSpec RuleKeys() {
  SectionSpec section;
  section.name = "rule.NAME";
  section.keys = {
    {"where", KeyType::kString, "", false, 0, 1024, nullptr,
     "optional filter on the record's fields, e.g. DstPort in (443, 8000) [none]", nullptr, nullptr,
     "must be empty or a filter: FIELD OP LITERAL, FIELD [not] in (LITERAL, ...) or exists(FIELD), "
     "joined by and, or, not, ( ); OP one of =, !=, <, <=, >, >="},
    {"key", KeyType::kString, "", false, 0, 1024, nullptr,
     "group by these fields (joined with \"/\"); empty: one group, \"*\"", nullptr, nullptr,
     "must be empty or a comma-separated list of 1 to 8 fields (dotted paths a.b.c, CSV columns or @topic.N)"},
    {"value", KeyType::kString, "", false, 0, 1024, nullptr,
     "the number that sum, avg, min, max, stddev, last and slope use [none]", nullptr, nullptr,
     "must be empty or a field (a dotted path a.b.c, a CSV column or @topic.N)"},
    {"time", KeyType::kString, "", false, 0, 1024, nullptr,
     "event-time field, or @arrival (processing time) [[reading] time]", nullptr, nullptr,
     "must be @arrival, a dotted path (a.b.c) or a CSV column"},
    {"window", KeyType::kString, "", true, 1, 1024, nullptr,
     "count N | tumbling D | sliding D every S | total", nullptr, nullptr,
     "must be count N (N from 1 to 100000), tumbling D, sliding D every S (D a multiple of S) or total; "
     "D and S from 100ms to 7d"},
    {"lateness", KeyType::kDuration, "0s", false, 0, 86400 * kS, nullptr,
     "event time only: how long a window waits for late records", nullptr, nullptr, nullptr},
    {"aggregates", KeyType::kString, "count", false, 1, 1024, nullptr,
     "what is computed over each window", nullptr, nullptr,
     "must be a comma-separated list of count, sum, avg, min, max, stddev, last, slope, distinct(FIELD), each once"},
    {"alert", KeyType::kString, "", false, 0, 1024, nullptr,
     "optional: AGG OP NUMBER, or zscore(AGG) OP NUMBER", nullptr, nullptr,
     "must be empty, AGG OP NUMBER or zscore(AGG) OP NUMBER, with AGG one of the aggregates and OP one of >, >=, <, <="},
    {"clear", KeyType::kString, "", false, 0, 1024, nullptr,
     "resolves a firing alert [the alert condition is false]", nullptr, nullptr,
     "must be empty, AGG OP NUMBER or zscore(AGG) OP NUMBER, with AGG one of the aggregates and OP one of >, >=, <, <="},
    {"for", KeyType::kDuration, "0s", false, 0, 7 * 86400 * kS, nullptr,
     "the alert condition must hold this long before firing", nullptr, nullptr, nullptr},
    {"min_samples", KeyType::kInt, "1", false, 1, 100000, nullptr,
     "no alert while the window holds fewer values", nullptr, nullptr, nullptr},
    {"baseline", KeyType::kInt, "30", false, 2, 10000, nullptr,
     "closed windows of history for zscore()", nullptr, nullptr, nullptr},
    {"outlier_z", KeyType::kNumber, "off", false, 0.1, 1000, "off",
     "count windows: flag a value this many stddev from its window", nullptr, nullptr, nullptr},
    {"min", KeyType::kNumber, "-1000000", false, -1e300, 1e300, nullptr,
     "values below this are skipped (value_out_of_range)", nullptr, nullptr, nullptr},
    {"max", KeyType::kNumber, "1000000", false, -1e300, 1e300, nullptr,
     "values above this are skipped (value_out_of_range)", nullptr, nullptr, nullptr},
    {"max_keys", KeyType::kInt, "10000", false, 1, 1000000, nullptr,
     "records of further new keys are skipped and counted", nullptr, nullptr, nullptr},
    {"max_distinct", KeyType::kInt, "100000", false, 1, 10000000, nullptr,
     "distinct values held by this rule in all", nullptr, nullptr, nullptr},
    {"kafka_topic", KeyType::kString, "", false, 0, 249, nullptr,
     "where the rule's results go [[kafka] topic]", nullptr, CheckKafkaTopic,
     "must be empty or a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"},
  };
  section.finish = FinishRules;
  section.validate = ValidateRules;
  section.store_rule = ApplyRuleKey;
  return section;
}

#undef STORE

}  // namespace sensorgate
