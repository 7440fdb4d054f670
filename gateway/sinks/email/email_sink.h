// EmailSink: the [email] sink (DESIGN.md section 8). Alert events go to a
// MailGrouper; each notification it releases is composed (mail_composer.h),
// written to the durable outbox in state_dir/outbox/ (mail_outbox.h) and then
// sent, one mail at a time, by an SmtpTransport whose sockets and timer the
// daemon's loop drives through fd(), next_tick_us() and Tick().
//
// A failed attempt stays in the outbox and is retried with capped, jittered
// backoff (also after a restart); a mail older than max_age moves to
// outbox/dead/. Each failure is counted by reason; a new reason is logged once
// (not every retry). Flush() at stop hands everything the grouper holds to
// the outbox and makes one bounded attempt to send what is queued; what is
// left stays in the outbox for the next start.
//
// The grouper's state (alerts waiting for group_wait, which ones a mail
// listed firing, the sends of the last hour) is saved to outbox/group.state
// before every checkpoint (PrepareCheckpoint), after mails are queued and at
// stop, and read back at Start(): a crash between an alert and its mail
// loses neither, and `repeat` reminders go on after a restart. A mail that
// cannot be queued (a full disk) leaves its alerts in the grouper, tried
// again a few seconds later.
//
// Thread: the loop thread only, like every Sink.
#ifndef SENSORGATE_GATEWAY_SINKS_EMAIL_EMAIL_SINK_H_
#define SENSORGATE_GATEWAY_SINKS_EMAIL_EMAIL_SINK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "alerts/mail_composer.h"
#include "alerts/mail_grouper.h"
#include "alerts/mail_outbox.h"
#include "alerts/smtp_transport.h"
#include "gateway/config/config.h"
#include "gateway/sinks/sink.h"

namespace sensorgate {

struct EmailSinkSettings {
  EmailConfig email;
  std::string gateway;        // [gateway] name
  std::string outbox_dir;     // state_dir + "/outbox"
  std::string dashboard_url;  // "" without [http]
  OutboxOptions outbox;       // max_age from email.max_age_us
};

class EmailSink : public Sink {
 public:
  EmailSink(EmailSinkSettings settings, Clock* clock);
  ~EmailSink() override;

  // Reads the password, opens the outbox (picking up mails left there) and
  // sets up the transport. An error names the file or the cause.
  Status Start();
  // True when password_file now holds another password than the one in use.
  bool PasswordChanged() const;

  std::string_view name() const override { return "email"; }
  void OnAlert(const AlertEvent& event) override;
  int fd() const override { return transport_.fd(); }
  int64_t next_tick_us() const override;
  void Tick(int64_t now_us) override;
  Status Flush(int64_t deadline_us) override;
  Status PrepareCheckpoint() override;
  void AppendMetrics(std::string* out) const override;
  LinkState Link() const override;

  // For tests.
  size_t queued() const { return outbox_.size(); }
  uint64_t sent() const { return sent_; }

 private:
  bool Compose(const MailNotification& n);
  Status SaveGroup();
  std::string GroupStatePath() const { return s_.outbox_dir + "/group.state"; }
  void Pump();
  void StartNext(bool ignore_backoff);
  void OnDone(const std::string& id, const SmtpResult& r);
  void Expire();
  uint64_t FailureCount() const;

  EmailSinkSettings s_;
  Clock* clock_;
  MailGrouper grouper_;
  MailOutbox outbox_;
  SmtpTransport transport_;
  std::string password_;
  uint64_t mail_seq_ = 0;
  int64_t hold_until_us_ = 0;      // after a failure: no attempt before this
  int64_t next_expire_us_ = 0;
  int64_t compose_hold_until_us_ = 0;  // after a mail could not be queued
  bool group_dirty_ = false;           // grouper changed since group.state
  bool flushing_ = false;
  // Counters.
  uint64_t sent_ = 0, retries_ = 0, dead_ = 0;
  std::map<std::string, uint64_t> failed_;  // by reason
  // Link.
  bool up_ = true;
  std::string last_error_;
  std::string last_logged_reason_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SINKS_EMAIL_EMAIL_SINK_H_
