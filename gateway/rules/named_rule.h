// NamedRule: one [rule.NAME] run over extracted records (DESIGN.md 13.2 to
// 13.5): the where filter, the rule's own checks of its fields, its windows
// (count, tumbling, sliding, total), aggregates, outliers and the alert
// machine, and the JSON objects of 13.5 it emits.
//
// A record arrives as the values of every field the parser extracted
// (FieldValue, where_eval.h); RuleFieldMap says which of them this rule
// reads. The outcome of each record is counted: filtered, skipped (with the
// reason), late, or accepted. Objects go to a RuleEvents in the order 13.5
// gives: for a record, the windows it closes by end then key, each result
// followed by the alert event it causes; for a count window, an outlier
// event, then the alert event. Finish() writes the end of a replay: count
// windows as window lines by key, then the open time and total windows by
// start then key.
//
// Not wired to the pipeline yet (issue 15 continues: the parser's extraction
// of every rule's fields, replay, the daemon's outputs, the checkpoint).
// Not thread-safe: the pipeline thread owns it.
#ifndef SENSORGATE_GATEWAY_RULES_NAMED_RULE_H_
#define SENSORGATE_GATEWAY_RULES_NAMED_RULE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_rule.h"
#include "gateway/config/config.h"
#include "gateway/rules/count_windows.h"
#include "gateway/rules/rule_alert.h"
#include "gateway/rules/rule_event.h"
#include "gateway/rules/time_windows.h"
#include "gateway/rules/where_eval.h"

namespace sensorgate {

// A rule's key is at most as long as a reading's (section 4).
constexpr size_t kMaxRuleKeyBytes = 128;

// Where the rule's fields are among the extracted values.
struct RuleFieldMap {
  std::vector<uint32_t> key;       // group by, joined with "/"; empty: "*"
  int32_t value = -1;              // -1: none
  int32_t time = -1;               // -1: @arrival
  std::vector<uint32_t> distinct;  // per distinct() aggregate, in order
  std::vector<uint32_t> where;     // index of each field the filter names, in WhereFields() order
};

enum class RuleSkip : uint8_t {
  kKeyMissing,
  kKeyEmpty,
  kKeyTooLong,
  kKeyControlChar,
  kKeyNotText,
  kValueMissing,
  kValueNotNumber,
  kValueNotFinite,
  kValueOutOfRange,
  kTimeMissing,
  kTimeInvalid,
  kFieldMissing,  // a distinct() field is missing, null or not a scalar
  kTooManyKeys,
};
constexpr size_t kRuleSkipCount = 13;
const char* RuleSkipName(RuleSkip s);

struct RuleCounters {
  uint64_t filtered = 0, late = 0, accepted = 0, results = 0, alerts = 0, outliers = 0;
  std::array<uint64_t, kRuleSkipCount> skipped{};
};

class RuleEvents {
 public:
  virtual ~RuleEvents() = default;
  // Views are valid during the call only.
  virtual void OnRuleEvent(const RuleEvent& event) = 0;
};

// What a rule made of one record (DESIGN.md 13.2).
enum class RuleOutcome : uint8_t { kAccepted, kFiltered, kSkipped, kLate };

class NamedRule : private ResultReceiver {
 public:
  // nullptr and *error when the windows cannot be allocated.
  static std::unique_ptr<NamedRule> Create(const RuleConfig& rule, RuleFieldMap fields, std::string* error);

  // last_skip() tells why, for kSkipped.
  RuleOutcome OnRecord(const FieldValue* values, TimeMicros arrival_us, RuleEvents* out);
  RuleSkip last_skip() const { return last_skip_; }
  // @arrival time windows: closes what the clock has passed.
  void AdvanceClock(TimeMicros now_us, RuleEvents* out);
  // The end of a replay (nothing is closed).
  void Finish(RuleEvents* out);

  const RuleCounters& counters() const { return counters_; }
  const RuleFieldMap& fields() const { return fields_; }
  // A reload carries the counters over (they are the process's metrics).
  void set_counters(const RuleCounters& c) { counters_ = c; }

  // The checkpoint: the windows (open time windows, panes, count rings,
  // distinct() values, watermark), the zscore() histories and every key's
  // alert state, to restore into a rule freshly built from the same
  // configuration. LoadState() refuses a state of another configuration or a
  // damaged one (false, *error); the rule must then be built again.
  void SaveState(std::string* out) const;
  bool LoadState(std::string_view in, std::string* error);
  // Time windows: the largest time accepted; INT64_MIN before the first
  // record, and for count windows.
  TimeMicros watermark() const { return time_ ? time_->watermark() : INT64_MIN; }
  // distinct() values not counted because the pool was full.
  uint64_t distinct_overflow() const { return count_ ? count_->distinct_overflow() : time_->distinct_overflow(); }
  // "count 60", "tumbling 1m", "sliding 2m every 10s", "total".
  std::string WindowText() const;
  const RuleConfig& config() const { return rule_; }

 private:
  NamedRule(const RuleConfig& rule, RuleFieldMap fields);
  bool Skip(RuleSkip why);
  bool BuildKey(const FieldValue* values);
  void OnResult(const WindowResult& r) override;
  void Alert(uint32_t slot, const Accumulator& acc, const uint32_t* distinct, TimeMicros t_us);
  void Send(RuleEvent::Kind kind, std::string_view key, TimeMicros time_us, bool open = false);
  // Appends ,"name":value for every configured aggregate (but count, when
  // skip_count: a window line has it already).
  void AppendAggregates(const Accumulator& acc, const uint32_t* distinct, const bool* exact, bool skip_count);
  bool ConditionValue(const RuleCondition& c, const Accumulator& acc, const uint32_t* distinct, double* x);
  Accumulator WindowLine(uint32_t slot);

  const RuleConfig rule_;
  const RuleFieldMap fields_;
  std::unique_ptr<CompiledWhere> where_;
  std::unique_ptr<CountWindows> count_;
  std::unique_ptr<TimeWindows> time_;
  std::unique_ptr<Baselines> baselines_;
  int zscore_aggregate_ = -1;  // the aggregate zscore() is about
  std::string zscore_name_;    // "zscore(AGG)"
  std::vector<AlertState> alert_states_;
  std::vector<FieldValue> where_values_;
  RuleCounters counters_;
  RuleSkip last_skip_ = RuleSkip::kKeyMissing;
  char key_[kMaxRuleKeyBytes + 1];
  size_t key_len_ = 0;
  uint64_t hashes_[16];
  std::string json_;
  RuleEvents* out_ = nullptr;
  // Count windows: the alert and clear conditions read min, max, stddev or
  // slope, which only the ring gives (O(N) a record); else the running
  // moments do (O(1)).
  bool alert_reads_ring_ = false;
  // Count windows: the key whose window line Alert() writes, only when it
  // emits an event (formatting it for every record would cost more than
  // the rest of the rule).
  uint32_t window_line_slot_ = UINT32_MAX;
  std::string_view alert_key_;  // the key Alert() is about, during the call  // during a call that can close windows
  // The zscore of the result being handled, for its alert event.
  bool has_zscore_ = false;
  double zscore_ = 0;

 public:
  static constexpr size_t kMaxDistinct = kMaxDistinctAggregates;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_NAMED_RULE_H_
