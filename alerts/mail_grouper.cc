#include "alerts/mail_grouper.h"

#include <algorithm>

namespace sensorgate {
namespace {
constexpr int64_t kHourUs = 3600LL * 1'000'000;
}  // namespace

void MailGrouper::Add(MailAlert alert) {
  const int64_t now = clock_->MonotonicUs();
  auto id = std::make_pair(alert.rule, alert.key);
  auto it = alerts_.find(id);
  if (it == alerts_.end()) {
    // A resolution of an alert this grouper never saw fire (it fired before
    // a restart, whose mail left then): a plain resolved notice.
    if (!alert.firing && !opt_.send_resolved) return;
    if (!open_ || alerts_.empty()) {
      open_ = true;
      opened_us_ = now;
      sent_ = false;
    }
    Tracked t;
    t.notified_firing = !alert.firing;
    it = alerts_.emplace(std::move(id), std::move(t)).first;
  }
  Tracked& t = it->second;
  const bool firing = alert.firing;
  t.latest = std::move(alert);
  t.changed = true;
  if (!firing && t.notified_firing && !opt_.send_resolved) alerts_.erase(it);  // its end is not mailed
}

int64_t MailGrouper::DueIgnoringRate() const {
  if (!open_ || alerts_.empty()) return kNever;
  bool changed = false, firing = false;
  for (const auto& [id, t] : alerts_) {
    changed = changed || t.changed;
    firing = firing || t.latest.firing;
  }
  if (changed) return sent_ ? last_sent_us_ + opt_.group_interval_us : opened_us_ + opt_.group_wait_us;
  if (firing && sent_) return last_sent_us_ + opt_.repeat_us;
  return kNever;
}

int64_t MailGrouper::next_due_us() const {
  int64_t due = DueIgnoringRate();
  if (due != kNever && sends_.size() >= opt_.max_per_hour) due = std::max(due, sends_.front() + kHourUs);
  return due;
}

void MailGrouper::ExpireSends(int64_t now) {
  while (!sends_.empty() && sends_.front() + kHourUs <= now) sends_.pop_front();
}

bool MailGrouper::Poll(MailNotification* out) {
  const int64_t now = clock_->MonotonicUs();
  ExpireSends(now);
  const int64_t due = DueIgnoringRate();
  if (due == kNever || due > now) return false;
  if (sends_.size() >= opt_.max_per_hour) {
    if (!limited_now_) ++rate_limited_;
    limited_now_ = true;
    return false;
  }
  bool changed = false;
  for (const auto& [id, t] : alerts_) changed = changed || t.changed;
  Build(out, !changed);
  sends_.push_back(now);
  last_sent_us_ = now;
  sent_ = true;
  limited_now_ = false;
  return true;
}

bool MailGrouper::TakePending(MailNotification* out) {
  bool changed = false;
  for (const auto& [id, t] : alerts_) changed = changed || t.changed;
  if (!changed) return false;
  Build(out, false);
  last_sent_us_ = clock_->MonotonicUs();
  sent_ = true;
  return true;
}

void MailGrouper::Build(MailNotification* out, bool reminder) {
  *out = MailNotification();
  out->reminder = reminder;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Tracked& t = it->second;
    t.changed = false;
    if (t.latest.firing) {
      t.notified_firing = true;
      out->entries.push_back(MailEntry{MailLine::kFiring, t.latest});
      ++out->firing;
      ++it;
      continue;
    }
    out->entries.push_back(
        MailEntry{t.notified_firing ? MailLine::kResolved : MailLine::kFiredAndResolved, t.latest});
    ++out->resolved;
    it = alerts_.erase(it);
  }
}

}  // namespace sensorgate
