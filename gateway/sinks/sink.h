// Sink: where the pipeline's events go (DESIGN.md section 1, stage "sink").
//
// The pipeline fans every event out to each sink, in input order and in the
// order the sinks were added:
//  - OnAlert(): an alert event (firing, resolved), as it happens;
//  - OnWindow(): the state of one key's window, for the keys that changed
//    since the last publication (the daemon publishes after each slice of
//    records; replay does not publish).
// The views in an event are valid during the call only: a sink copies what it
// keeps (keys as strings, never window slots, which a reload renumbers).
// Sinks do their own I/O off the data path: the loop watches fd() (when not
// -1) and calls Tick() when it is readable or when next_tick_us() has come.
// Flush(deadline) gives a sink a bounded time at stop to make what it holds
// safe (sent, or on disk for the next start).
//
// Thread: every method is called on the loop (pipeline) thread. A sink must
// never block it; slow peers are driven through fd() and Tick().
#ifndef SENSORGATE_GATEWAY_SINKS_SINK_H_
#define SENSORGATE_GATEWAY_SINKS_SINK_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/base/clock.h"
#include "gateway/base/json_format.h"
#include "gateway/base/link_state.h"
#include "gateway/base/status.h"
#include "gateway/base/time_util.h"
#include "gateway/rules/rule_event.h"

namespace sensorgate {

struct AlertEvent {
  // Recent window values an event carries at most (for a mail's sparkline).
  static constexpr uint32_t kMaxRecent = 16;
  std::string_view rule;   // "hot" | "stale" | a [rule.NAME]'s NAME
  std::string_view state;  // "firing" | "resolved"
  std::string_view key;
  double avg = 0;          // the key's window average when it happened
  uint32_t count = 0;      // readings in the window then
  TimeMicros time_us = 0;  // time of the reading that caused it (stale: the wall clock)
  double threshold = 0;    // firing: the rule's `above`; resolved: its `clear_below`
  // The last recent_count values of the key's window, oldest first.
  uint32_t recent_count = 0;
  double recent[kMaxRecent] = {};
  // A [rule.NAME]'s alert: its object (DESIGN.md 13.5), which sinks that
  // write JSON send as it is, and the aggregate `avg` and `threshold` are
  // about ("count", "zscore(sum)"). Empty for "hot" and "stale".
  std::string_view json = {};
  std::string_view aggregate = {};
  std::string_view op = {};  // how avg compares with threshold: > >= < <=
};

// One key's window after it changed, with its alert states then.
struct WindowEvent {
  std::string_view rule;  // "hot"
  WindowSummary window;   // window.key: valid during the call only
  bool firing = false;    // the rule's alert is firing for the key
  bool stale = false;     // a stale alert is firing for the key
};

class Sink {
 public:
  virtual ~Sink() = default;
  // "log", "http", "email", "kafka": names the sink in logs and /api/links.
  virtual std::string_view name() const = 0;
  // An alert event. Must not block.
  virtual void OnAlert(const AlertEvent& event) = 0;
  // One key's window or alert state changed (published by the daemon a few
  // times a second, for the keys that changed since the last time).
  virtual void OnWindow(const WindowEvent& event) { (void)event; }
  // A [rule.NAME]'s result, outlier or window line (its alerts come as
  // OnAlert() with AlertEvent::json set), in input order.
  virtual void OnRuleEvent(const RuleEvent& event) { (void)event; }
  // The pipeline rebuilt its windows (a reload resized them): forget every
  // window kept; the current ones follow as OnWindow() events.
  virtual void OnWindowsReset() {}
  // The descriptor to watch for EPOLLIN, or -1.
  virtual int fd() const { return -1; }
  // Monotonic time by which Tick() is due even if fd() stays quiet; kNever.
  virtual int64_t next_tick_us() const { return kNever; }
  // Does the sink's own I/O without waiting: called when fd() is readable or
  // next_tick_us() has come (`now_us`, monotonic).
  virtual void Tick(int64_t now_us) { (void)now_us; }
  // At stop: makes what the sink holds safe, waiting at most until
  // `deadline_us` (monotonic). An error says what is left undone.
  virtual Status Flush(int64_t deadline_us) {
    (void)deadline_us;
    return Status::Ok();
  }
  // Before the daemon writes a checkpoint: makes durable every event taken
  // so far, since the checkpoint will say they happened and the records that
  // made them will not be read again after a crash. An error keeps that
  // checkpoint from being written (the records are read again instead).
  virtual Status PrepareCheckpoint() { return Status::Ok(); }
  // Prometheus families of this sink.
  virtual void AppendMetrics(std::string* out) const { (void)out; }
  virtual LinkState Link() const = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SINKS_SINK_H_
