// MailGrouper: which alert events go into which mail, with the semantics of
// Prometheus Alertmanager (DESIGN.md section 8).
//
// All alerts of the gateway form one group. The first event while the group
// is empty opens it; `group_wait` later one notification lists every alert of
// the group. After a notification, changes (a new alert firing, one resolving)
// wait until `group_interval` after it; alerts still firing are listed again
// `repeat` after the last notification. An alert that fired and resolved
// before any notification listed it firing is reported as "fired and
// resolved", whatever `send_resolved` says. At most `max_per_hour`
// notifications leave in any hour; beyond that the changes are carried into
// the next allowed notification, never dropped.
//
// Time comes from the Clock (monotonic); tests pass a FakeClock. Not thread-
// safe: one owner (the loop thread) calls every method.
//
// Save() and Load() carry the whole state across a restart (EmailSink keeps
// it in outbox/group.state, written before each checkpoint): alerts waiting
// for group_wait, which alerts a notification listed firing (so `repeat`
// reminders and resolved notices go on), and the sends of the last hour. A
// firing event for an alert already firing (the same records read again
// after a crash) changes nothing but its latest values.
#ifndef SENSORGATE_ALERTS_MAIL_GROUPER_H_
#define SENSORGATE_ALERTS_MAIL_GROUPER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/status.h"

namespace sensorgate {

struct MailGroupOptions {
  int64_t group_wait_us = 10'000'000;
  int64_t group_interval_us = 300'000'000;
  int64_t repeat_us = 4LL * 3600 * 1'000'000;
  bool send_resolved = true;
  uint32_t max_per_hour = 20;  // >= 1
};

// One alert event as the grouper keeps it (copied: owns its strings).
struct MailAlert {
  std::string rule;  // "hot", "stale", a rule name
  std::string key;   // any bytes (from a reading): for the body only
  bool firing = true;
  double avg = 0;
  double threshold = 0;  // above (firing) or clear_below (resolved)
  uint32_t count = 0;
  int64_t time_us = 0;   // the event's reading time, µs since the epoch
  std::vector<double> recent;  // the key's window when it happened, oldest first
  // A [rule.NAME]'s alert: what its condition is about and how it compares,
  // e.g. aggregate "max" (avg is its value), op ">"; empty for hot and stale.
  std::string aggregate;
  std::string op;
};

// How an alert appears in one notification.
enum class MailLine { kFiring, kResolved, kFiredAndResolved };

struct MailEntry {
  MailLine line;
  MailAlert alert;  // the latest event of the alert
};

struct MailNotification {
  std::vector<MailEntry> entries;  // by rule, then key (bytewise)
  uint32_t firing = 0;             // entries listed as firing
  uint32_t resolved = 0;           // resolved or fired and resolved
  bool reminder = false;           // nothing changed: a `repeat` reminder
};

class MailGrouper {
 public:
  MailGrouper(const MailGroupOptions& options, Clock* clock) : opt_(options), clock_(clock) {}

  // An alert event; opens the group if it is empty.
  void Add(MailAlert alert);

  // The notification due at the clock's time, if any (true: *out is filled
  // and the send is counted against max_per_hour). Call again after
  // next_due_us() has come.
  bool Poll(MailNotification* out);

  // Everything not yet notified, now, ignoring group_wait, group_interval
  // and max_per_hour (at stop, so nothing is lost). False when there is
  // nothing to tell.
  bool TakePending(MailNotification* out);

  // The state as bytes (a versioned binary record ending with its CRC-32C).
  // Times are kept relative to the clock's wall time, so they survive a
  // restart, when the monotonic clock starts again.
  std::string Save() const;
  // Replaces the state with one Save() made (by this run or an earlier one);
  // the time between the two moves every deadline closer. A record that is
  // cut, of another version or whose CRC does not match is an error and
  // leaves the state empty.
  Status Load(std::string_view data);

  // Monotonic µs at which Poll() may have something; kNever when idle.
  int64_t next_due_us() const;

  // Alerts in the group (firing, or waiting to be reported resolved).
  size_t size() const { return alerts_.size(); }
  // Notifications held back by max_per_hour so far.
  uint64_t rate_limited() const { return rate_limited_; }

 private:
  struct Tracked {
    MailAlert latest;
    bool notified_firing = false;  // a notification listed it firing
    // latest.firing false: resolved, not yet listed as such (kept until then)
    bool changed = false;          // since the last notification
  };
  int64_t DueIgnoringRate() const;
  void Build(MailNotification* out, bool reminder);
  void ExpireSends(int64_t now);

  MailGroupOptions opt_;
  Clock* clock_;
  std::map<std::pair<std::string, std::string>, Tracked> alerts_;  // (rule, key)
  bool open_ = false;
  int64_t opened_us_ = 0;
  bool sent_ = false;  // a notification left since the group opened
  int64_t last_sent_us_ = 0;
  std::deque<int64_t> sends_;  // monotonic times of the sends of the last hour
  uint64_t rate_limited_ = 0;
  bool limited_now_ = false;
};

}  // namespace sensorgate

#endif  // SENSORGATE_ALERTS_MAIL_GROUPER_H_
