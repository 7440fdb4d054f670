// MailOutbox: the durable queue of composed mails (DESIGN.md section 8).
//
// Each mail is one file `DIR/<wall µs>-<seq>.eml` holding the whole message
// (its Message-ID inside, so a resend is the same mail). Add() writes it
// (temporary file, fsync, rename, directory fsync) before anyone may send it;
// Remove() deletes it only after the server's final 250. A failed attempt
// puts the mail back with capped, jittered exponential backoff:
//   delay = min(cap, base × 2^(attempts−1)) × a random factor in [0.5, 1]
// Open() picks up the mails a previous run left, due at once, so retries go
// on across restarts. A mail older than max_age (by the wall clock, from the
// time in its name) moves to `DIR/dead/`, counted.
//
// Not thread-safe: one owner (the loop thread). Times: backoff on the
// monotonic clock, age on the wall clock, both from the Clock.
#ifndef SENSORGATE_ALERTS_MAIL_OUTBOX_H_
#define SENSORGATE_ALERTS_MAIL_OUTBOX_H_

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/status.h"

namespace sensorgate {

struct OutboxOptions {
  int64_t max_age_us = 86400LL * 1'000'000;
  int64_t backoff_base_us = 5'000'000;   // first retry after about this long
  int64_t backoff_cap_us = 600'000'000;  // no retry waits longer
  uint64_t seed = 0;                     // of the jitter; 0: from the clock
};

class MailOutbox {
 public:
  MailOutbox(std::string dir, const OutboxOptions& options, Clock* clock);

  // Creates DIR and DIR/dead if needed and loads the mails left there
  // (temporary files of an interrupted Add() are removed).
  Status Open();

  // Writes `message` durably; on success `*id` names it (the file name).
  Status Add(const std::string& message, std::string* id);

  // The oldest mail due for an attempt at the clock's time; false if none.
  // `ignore_backoff`: any mail (a bounded flush at stop).
  bool NextDue(std::string* id, bool ignore_backoff = false) const;
  // The message text of mail `id` (read from its file).
  Status Read(const std::string& id, std::string* message) const;

  // The server accepted mail `id`: deletes its file (and fsyncs the folder).
  Status Remove(const std::string& id);
  // An attempt at `id` failed: schedules the next one. Returns the delay.
  int64_t Failed(const std::string& id);
  // Moves every mail older than max_age to dead/; returns how many moved
  // (their ids appended to `moved` when not null).
  size_t ExpireOld(std::vector<std::string>* moved = nullptr);

  size_t size() const { return mails_.size(); }
  // The mails' ids, oldest first.
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : mails_) out.push_back(name);
    return out;
  }
  // Age in seconds of the oldest mail (wall clock), 0 when empty.
  double OldestAgeSeconds() const;
  // Monotonic µs of the next due attempt; kNever when empty.
  int64_t next_due_us() const;
  uint32_t attempts(const std::string& id) const;
  const std::string& dir() const { return dir_; }
  std::string dead_dir() const { return dir_ + "/dead"; }

 private:
  struct Entry {
    int64_t created_wall_us = 0;
    uint32_t attempts = 0;
    int64_t next_try_us = 0;  // monotonic
  };
  std::string dir_;
  OutboxOptions opt_;
  Clock* clock_;
  std::map<std::string, Entry> mails_;  // by name: oldest first
  uint64_t seq_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_ALERTS_MAIL_OUTBOX_H_
