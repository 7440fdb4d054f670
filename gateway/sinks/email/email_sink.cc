#include "gateway/sinks/email/email_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "gateway/base/file_util.h"
#include "gateway/base/log.h"
#include "gateway/base/metrics.h"

namespace sensorgate {
namespace {

constexpr int64_t kComposeRetryUs = 5'000'000;

MailGroupOptions GroupOptions(const EmailConfig& c) {
  MailGroupOptions o;
  o.group_wait_us = c.group_wait_us;
  o.group_interval_us = c.group_interval_us;
  o.repeat_us = c.repeat_us;
  o.send_resolved = c.send_resolved;
  o.max_per_hour = std::max<uint32_t>(1, c.max_per_hour);
  return o;
}

OutboxOptions WithMaxAge(OutboxOptions o, int64_t max_age_us) {
  o.max_age_us = max_age_us;
  return o;
}

SmtpSecurity Security(StartTls t) {
  switch (t) {
    case StartTls::kTry: return SmtpSecurity::kStartTlsTry;
    case StartTls::kOff: return SmtpSecurity::kStartTlsOff;
    case StartTls::kRequired: break;
  }
  return SmtpSecurity::kStartTlsRequired;
}

}  // namespace

EmailSink::EmailSink(EmailSinkSettings settings, Clock* clock)
    : s_(std::move(settings)),
      clock_(clock),
      grouper_(GroupOptions(s_.email), clock),
      outbox_(s_.outbox_dir, WithMaxAge(s_.outbox, s_.email.max_age_us), clock) {}

EmailSink::~EmailSink() = default;

Status EmailSink::Start() {
  if (!s_.email.password_file.empty() && !ReadSecretLine(s_.email.password_file, &password_)) {
    return Status::Error("[email] password_file = " + s_.email.password_file + ": cannot read: " +
                         std::strerror(errno));
  }
  Status st = outbox_.Open();
  if (!st.ok()) return Status::Error("[email] outbox: " + st.message());
  SmtpOptions o;
  o.url = s_.email.url;
  o.starttls = Security(s_.email.starttls);
  o.username = s_.email.username;
  o.password = password_;
  o.ca_file = s_.email.ca_file;
  o.from = s_.email.from;
  o.to = s_.email.to;
  o.timeout_us = s_.email.timeout_us;
  st = transport_.Init(o);
  if (!st.ok()) return Status::Error("[email]: " + st.message());
  std::string group;
  if (ReadWholeFile(GroupStatePath(), &group).ok()) {
    st = grouper_.Load(group);
    if (!st.ok()) {
      // Damaged: the alerts it held are lost to mail (the checkpoint says
      // they fired); say so plainly and keep the file for a post-mortem.
      Log(LogLevel::kError, "email: %s: %s; alerts waiting for their first mail are forgotten (kept as %s.bad)",
          GroupStatePath().c_str(), st.message().c_str(), GroupStatePath().c_str());
      ::rename(GroupStatePath().c_str(), (GroupStatePath() + ".bad").c_str());
    } else if (grouper_.size() > 0) {
      Log(LogLevel::kInfo, "email: %zu alerts of an earlier run carried on", grouper_.size());
    }
  }
  if (outbox_.size() > 0) {
    Log(LogLevel::kInfo, "email: %zu mails left in %s from an earlier run, sending them", outbox_.size(),
        s_.outbox_dir.c_str());
  }
  next_expire_us_ = clock_->MonotonicUs();
  return Status::Ok();
}

bool EmailSink::PasswordChanged() const {
  std::string now;
  return !s_.email.password_file.empty() && ReadSecretLine(s_.email.password_file, &now) && now != password_;
}

void EmailSink::OnAlert(const AlertEvent& e) {
  MailAlert a;
  a.rule = std::string(e.rule);
  a.key = std::string(e.key);
  a.firing = e.state == "firing";
  a.avg = e.avg;
  a.threshold = e.threshold;
  a.count = e.count;
  a.time_us = e.time_us;
  a.recent.assign(e.recent, e.recent + std::min(e.recent_count, AlertEvent::kMaxRecent));
  a.aggregate.assign(e.aggregate);
  a.op.assign(e.op);
  grouper_.Add(std::move(a));
  group_dirty_ = true;
  // group_wait = 0s: the mail leaves now, not at the next turn.
  if (grouper_.next_due_us() <= clock_->MonotonicUs()) Pump();
}

int64_t EmailSink::next_tick_us() const {
  int64_t due = std::min(std::max(grouper_.next_due_us(), compose_hold_until_us_), transport_.next_due_us());
  if (!transport_.busy() && outbox_.size() > 0) due = std::min(due, std::max(outbox_.next_due_us(), hold_until_us_));
  if (!transport_.busy() && outbox_.size() > 0) due = std::min(due, next_expire_us_);
  return due;
}

void EmailSink::Tick(int64_t now_us) {
  transport_.Drive(now_us);
  Pump();
}

bool EmailSink::Compose(const MailNotification& n) {
  MailHeaderInfo h;
  h.gateway = s_.gateway;
  h.from = s_.email.from;
  h.to = s_.email.to;
  h.dashboard_url = s_.dashboard_url;
  h.date_us = clock_->WallUs();
  static std::random_device rd;
  const uint64_t random = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  h.message_id = MakeMessageId(s_.gateway, h.date_us, mail_seq_++, random);
  std::string id;
  const Status st = outbox_.Add(ComposeMail(h, n), &id);
  if (!st.ok()) {
    ++failed_["outbox"];
    last_error_ = st.message();
    Log(LogLevel::kError, "email: cannot queue a mail of %zu alerts: %s (kept, trying again in %llds)",
        n.entries.size(), st.message().c_str(), static_cast<long long>(kComposeRetryUs / 1'000'000));
    return false;
  }
  Log(LogLevel::kDebug, "email: queued %s (%u firing, %u resolved)", id.c_str(), n.firing, n.resolved);
  return true;
}

Status EmailSink::SaveGroup() {
  const Status st = ReplaceFile(GroupStatePath(), grouper_.Save(), 0600);
  if (st.ok()) group_dirty_ = false;
  return st;
}

Status EmailSink::PrepareCheckpoint() {
  if (!group_dirty_) return Status::Ok();
  const Status st = SaveGroup();
  if (!st.ok()) return Status::Error("email: alerts waiting for a mail: " + st.message());
  return st;
}

void EmailSink::Expire() {
  const int64_t now = clock_->MonotonicUs();
  // Not while an attempt is under way: its mail must not move under it.
  if (now < next_expire_us_ || transport_.busy()) return;
  const int64_t step = std::clamp<int64_t>(s_.email.max_age_us / 4, 100'000, 60'000'000);
  next_expire_us_ = now + step;
  std::vector<std::string> moved;
  const size_t n = outbox_.ExpireOld(&moved);
  dead_ += n;
  for (const std::string& id : moved) {
    Log(LogLevel::kError, "email: %s undelivered after max_age, moved to %s (last error: %s)", id.c_str(),
        outbox_.dead_dir().c_str(), last_error_.empty() ? "none" : last_error_.c_str());
  }
}

void EmailSink::Pump() {
  const int64_t now = clock_->MonotonicUs();
  bool queued = false;
  if (now >= compose_hold_until_us_ && grouper_.next_due_us() <= now) {
    // A mail that cannot be queued gives its alerts back to the grouper.
    MailGrouper before = grouper_;
    MailNotification n;
    while (grouper_.Poll(&n)) {
      if (!Compose(n)) {
        grouper_ = before;
        compose_hold_until_us_ = now + kComposeRetryUs;
        break;
      }
      queued = true;
      before = grouper_;
    }
  }
  Expire();
  if (!flushing_ && !transport_.busy() && clock_->MonotonicUs() >= hold_until_us_) StartNext(false);
  if (queued) {
    // The alerts a queued mail lists are no longer pending: say so on disk
    // now (after the send has started, so it does not wait for this fsync),
    // or a crash before the next checkpoint would mail them twice.
    const Status st = SaveGroup();
    if (!st.ok()) Log(LogLevel::kError, "email: %s", st.message().c_str());
  }
}

void EmailSink::StartNext(bool ignore_backoff) {
  std::string id;
  if (!outbox_.NextDue(&id, ignore_backoff)) return;
  std::string message;
  Status st = outbox_.Read(id, &message);
  if (!st.ok()) {
    // The file went away (or cannot be read): forget it rather than loop.
    Log(LogLevel::kError, "email: %s", st.message().c_str());
    ++failed_["outbox"];
    (void)outbox_.Remove(id);
    return;
  }
  if (outbox_.attempts(id) > 0) ++retries_;
  st = transport_.Send(std::move(message), [this, id](const SmtpResult& r) { OnDone(id, r); });
  if (!st.ok()) {
    ++failed_["other"];
    last_error_ = st.message();
    hold_until_us_ = clock_->MonotonicUs() + outbox_.Failed(id);
  }
}

void EmailSink::OnDone(const std::string& id, const SmtpResult& r) {
  if (r.ok) {
    const Status st = outbox_.Remove(id);
    if (!st.ok()) Log(LogLevel::kError, "email: %s", st.message().c_str());
    ++sent_;
    if (!up_) Log(LogLevel::kInfo, "email: delivering again to %s", s_.email.url.c_str());
    up_ = true;
    hold_until_us_ = 0;
    last_logged_reason_.clear();
    Log(LogLevel::kDebug, "email: %s delivered", id.c_str());
    if (!flushing_) StartNext(false);
    return;
  }
  ++failed_[r.reason];
  up_ = false;
  last_error_ = r.reason + ": " + r.error;
  const int64_t delay = outbox_.Failed(id);
  hold_until_us_ = clock_->MonotonicUs() + delay;
  if (r.reason != last_logged_reason_) {
    last_logged_reason_ = r.reason;
    Log(LogLevel::kWarning, "email: cannot send to %s (%s): %s; %zu mails kept in the outbox, retrying",
        s_.email.url.c_str(), r.reason.c_str(), r.error.c_str(), outbox_.size());
  }
}

Status EmailSink::Flush(int64_t deadline_us) {
  MailNotification n;
  const MailGrouper before = grouper_;
  if (grouper_.TakePending(&n) && !Compose(n)) grouper_ = before;
  // What is left (alerts still firing, reminders due, or a mail that could
  // not be queued) waits in group.state for the next start.
  const Status saved = SaveGroup();
  if (!saved.ok()) Log(LogLevel::kError, "email: %s", saved.message().c_str());
  flushing_ = true;
  // The transport's waits are on the real monotonic clock.
  const int64_t real_deadline = MonotonicMicros() + (deadline_us - clock_->MonotonicUs());
  // One attempt per queued mail, oldest first (after the one under way, if
  // any), stopping at the first failure: the server will not do better
  // within the stop timeout.
  const uint64_t failures_at_start = FailureCount();
  transport_.WaitFor(real_deadline);
  for (const std::string& id : outbox_.ids()) {
    if (transport_.busy() || FailureCount() != failures_at_start || MonotonicMicros() >= real_deadline) break;
    std::string message;
    if (!outbox_.Read(id, &message).ok()) continue;
    if (outbox_.attempts(id) > 0) ++retries_;
    if (!transport_.Send(std::move(message), [this, id](const SmtpResult& r) { OnDone(id, r); }).ok()) break;
    transport_.WaitFor(real_deadline);
  }
  if (transport_.busy()) transport_.Cancel();  // stays in the outbox
  flushing_ = false;
  if (outbox_.size() > 0) {
    return Status::Error(std::to_string(outbox_.size()) + " mails left in " + s_.outbox_dir + " for the next start");
  }
  return Status::Ok();
}

uint64_t EmailSink::FailureCount() const {
  uint64_t n = 0;
  for (const auto& [reason, count] : failed_) n += count;
  return n;
}

void EmailSink::AppendMetrics(std::string* out) const {
  AppendMetric(out, "sensorgate_mail_sent_total", MetricType::kCounter, "Alert mails the server accepted (250).",
               static_cast<double>(sent_));
  AppendMetric(out, "sensorgate_mail_queued", MetricType::kGauge, "Alert mails waiting in the outbox.",
               static_cast<double>(outbox_.size()));
  AppendMetric(out, "sensorgate_mail_retries_total", MetricType::kCounter,
               "Delivery attempts that repeat a failed one.", static_cast<double>(retries_));
  AppendMetricHeader(out, "sensorgate_mail_failed_total", MetricType::kCounter,
                     "Failed delivery attempts, by reason.");
  for (const char* reason : {"connect", "timeout", "tls", "starttls", "auth", "recipient", "sender", "rejected",
                             "outbox", "other"}) {
    auto it = failed_.find(reason);
    AppendMetricSample(out, "sensorgate_mail_failed_total", {{"reason", reason}},
                       it == failed_.end() ? 0.0 : static_cast<double>(it->second));
  }
  AppendMetric(out, "sensorgate_mail_dead_total", MetricType::kCounter,
               "Mails older than max_age moved to outbox/dead/.", static_cast<double>(dead_));
  AppendMetric(out, "sensorgate_mail_outbox_oldest_age_seconds", MetricType::kGauge,
               "Age of the oldest mail in the outbox (0 when empty).", outbox_.OldestAgeSeconds());
}

LinkState EmailSink::Link() const {
  LinkState l;
  l.name = "email";
  l.up = up_;
  l.backlog = outbox_.size();
  l.backlog_unit = "mails";
  l.last_error = last_error_;
  if (transport_.busy()) {
    l.state = "sending to " + s_.email.url;
  } else if (!up_) {
    l.state = "retrying " + s_.email.url;
  } else {
    l.state = "ready, " + s_.email.url;
  }
  return l;
}

}  // namespace sensorgate
