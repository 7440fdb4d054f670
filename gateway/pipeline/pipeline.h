// Pipeline: record -> fields -> every rule -> events, on one thread.
//
// Each record is parsed once: the reading of the rule `hot` (sections 4 to
// 8) and the fields of every [rule.NAME] (section 13) come out of the same
// pass. Then the rule `hot` runs, then the named rules in file order; a
// record is accepted when one of them accepted it, else it is rejected (and
// logged) with the first rule's reason.
//
// Sources (file followers, MQTT, replay) hand records to Process*(); the
// pipeline parses them, updates the key's window, runs the hot-alert state
// machine (alerts/alert_rule.h) and tells the AlertSink about each event, in
// input order. Bad records are counted by reason and logged at a limited rate;
// they never change a window and never stop the pipeline. No heap allocation
// per record once a key has been seen.
//
// Not thread-safe: one pipeline thread owns it. Sinks are called on it.
#ifndef SENSORGATE_GATEWAY_PIPELINE_PIPELINE_H_
#define SENSORGATE_GATEWAY_PIPELINE_PIPELINE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_rule.h"
#include "gateway/config/config.h"
#include "gateway/base/log.h"
#include "gateway/parse/record_parser.h"
#include "gateway/rules/named_rule.h"
#include "gateway/rules/window.h"
#include "gateway/sinks/sink.h"
#include "gateway/sources/source.h"

namespace sensorgate {

struct PipelineCounters {
  uint64_t records = 0;  // non-blank records seen
  uint64_t accepted = 0;  // by the rule hot or a named rule
  std::array<uint64_t, kRejectReasonCount> rejected{};
  uint64_t alerts_firing = 0;  // rule "hot"
  uint64_t alerts_resolved = 0;
  uint64_t stale_firing = 0;   // rule "stale"
  uint64_t stale_resolved = 0;
  uint64_t rejected_total() const {
    uint64_t n = 0;
    for (uint64_t r : rejected) n += r;
    return n;
  }
};

// Everything the pipeline keeps about a key besides its window.
struct KeyState {
  AlertState hot;
  bool stale = false;         // a stale alert is firing
  TimeMicros last_seen_us = 0;  // arrival (wall clock) of its last reading
};

class Pipeline : public RecordReceiver, private RuleEvents {
 public:
  // `sink` (may be null) is the first sink; AddSink() adds more. Sinks and
  // `clock` must outlive the pipeline.
  Pipeline(const Config& config, RecordFormat format, Sink* sink, Clock* clock = SystemClock());
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // False when the windows could not be allocated (the configuration's memory
  // plan is checked first, so only when the machine is out of memory); such
  // a pipeline must not be used.
  bool ok() const { return windows_ != nullptr && rules_error_.empty(); }
  // Why !ok(): what could not be allocated.
  std::string error() const;

  // Events go to every sink added, in the order they were added.
  void AddSink(Sink* sink);
  void RemoveSink(Sink* sink);

  // RecordReceiver: the sources' records.
  void OnHeader(std::string_view line, const RecordOrigin& origin) override { (void)SetCsvHeader(line, origin); }
  void OnRecord(const char* data, size_t len, TimeMicros arrival_us, const RecordOrigin& origin) override {
    ProcessRecord(data, len, arrival_us, origin);
  }
  void OnMessage(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us) override {
    ProcessMessage(topic, payload, len, arrival_us);
  }
  void OnTooLong(const RecordOrigin& origin) override { RejectTooLong(origin); }

  // Starts keeping track of the keys whose window or alert state changes
  // (every key counts as changed now), for PublishWindows(). Costs 5 bytes per
  // key of max_keys; replay does not call it.
  void TrackWindowChanges();
  // Calls every sink's OnWindow() for each key whose window changed since
  // the last call (in the order they changed first). Returns the number of
  // keys published. Publishes nothing unless TrackWindowChanges() was called.
  size_t PublishWindows();
  // True when a window or alert state changed since PublishWindows().
  bool has_changes() const { return !changed_.empty(); }

  // Processes one record (no line terminator). Blank records are ignored.
  // REQUIRES: kRecordPadding readable bytes after data + len.
  // Returns true if the record became a reading.
  bool ProcessRecord(const char* data, size_t len, TimeMicros arrival_us, const RecordOrigin& origin);
  // Processes one MQTT message: the payload is JSON, or a bare number with
  // [mqtt] payload = number; with [reading] key = @topic.N the key is that
  // level of `topic`. An empty payload is a record (rejected), not a blank line.
  // REQUIRES: kRecordPadding readable bytes after payload + len.
  bool ProcessMessage(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us);

  // Counts a record too long to be read (the line reader skipped it).
  void RejectTooLong(const RecordOrigin& origin);
  // CSV: a new file's header line. Logs and returns the error if a column is missing.
  Status SetCsvHeader(std::string_view header, const RecordOrigin& origin);

  // Daemon only: fires a "stale" alert for every key with no reading since
  // now_us - stale_after (wall clock); it resolves at the key's next reading.
  // Does nothing when stale_after is off. Returns the wall time at which the
  // next key would turn stale if nothing arrives (kNever: none, or off); a
  // reading never makes it earlier, a new key makes it now_us + stale_after
  // at the earliest.
  TimeMicros CheckStale(TimeMicros now_us);

  // Swaps in a new configuration (SIGHUP): windows, alert states and counters
  // are kept; windows are carried over when size or max_keys change (the
  // newest readings kept; keys beyond a lower max_keys are dropped, logged).
  // Returns an error, and changes nothing, when the resized windows cannot be
  // allocated.
  Status Reconfigure(const Config& config, RecordFormat format);

  // Restores one key (from a checkpoint). Returns false if the table is full.
  bool RestoreKey(std::string_view key, const std::vector<double>& values, uint64_t total,
                  TimeMicros last_time, const KeyState& state);
  const KeyState& key_state(uint32_t slot) const { return keys_[slot]; }

  // The rule `hot` exists (DESIGN.md 13.1). Without it the window table is
  // an empty one of one key, and no record reaches it.
  bool hot_rule() const { return hot_; }
  // The [rule.NAME] rules, in file order.
  const std::vector<std::unique_ptr<NamedRule>>& rules() const { return rules_; }
  // @arrival rules: closes the windows the wall clock `now_us` has passed.
  // Returns the wall time of the next window end of such a rule, or kNever.
  TimeMicros AdvanceRuleClocks(TimeMicros now_us);
  // At the end of a replay: every rule's window lines and open windows (13.5).
  void FinishRules();
  // Restores a [rule.NAME]'s state from a checkpoint (NamedRule::SaveState).
  // A state that does not fit the rule's configuration (it changed since)
  // leaves the rule empty and says why; no such rule is not an error.
  Status RestoreRule(std::string_view name, std::string_view state);
  // Some rule runs on @arrival time (replay must give the wall clock).
  bool uses_arrival_time() const { return uses_arrival_; }

  const WindowTable& windows() const { return *windows_; }
  const PipelineCounters& counters() const { return counters_; }
  AlertPhase alert_phase(uint32_t slot) const { return keys_[slot].hot.phase; }
  // Messages about bad records not logged because of the rate limit.
  uint64_t TakeSuppressedLogs() { return reject_log_.TakeSuppressed(); }

 private:
  void SetMqtt(const Config& config);
  // Builds the named rules, adding their fields to the parsers.
  void BuildRules(const Config& config);
  // RuleEvents: a named rule's objects, to the sinks.
  void OnRuleEvent(const RuleEvent& event) override;
  // A parsed record becomes a reading (true), or is rejected and counted.
  bool Conclude(const RecordParser& parser, bool ok, const Reading& r, RejectReason why, TimeMicros arrival_us,
                const RecordOrigin& origin, std::string_view record);
  bool Accept(const Reading& r, TimeMicros arrival_us);
  void Reject(RejectReason why, const RecordOrigin& origin, std::string_view record);
  void Emit(std::string_view rule, bool firing, uint32_t slot, TimeMicros time_us);
  // On the hot path: one branch when nothing tracks changes (replay).
  void MarkChanged(uint32_t slot) {
    if (tracking_) MarkChangedSlow(slot);
  }
  void MarkChangedSlow(uint32_t slot);

  bool hot_;
  bool alert_enabled_;
  HotRule rule_;
  int64_t stale_after_us_;
  std::unique_ptr<RecordParser> parser_;
  std::unique_ptr<RecordParser> mqtt_parser_;  // JSON, for [mqtt] (files may be CSV)
  int topic_level_ = -1;                       // [reading] key = @topic.N: N
  bool number_payload_ = false;                // [mqtt] payload = number
  std::unique_ptr<WindowTable> windows_;
  std::vector<std::unique_ptr<NamedRule>> rules_;
  bool uses_arrival_ = false;
  std::string rules_error_;
  std::vector<KeyState> keys_;  // per slot
  std::vector<Sink*> sinks_;
  Clock* const clock_;
  std::vector<uint32_t> changed_;  // slots changed since PublishWindows(), each once
  std::vector<uint8_t> is_changed_;  // per slot
  bool tracking_ = false;            // TrackWindowChanges() was called
  PipelineCounters counters_;
  RateLimiter reject_log_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_PIPELINE_PIPELINE_H_
