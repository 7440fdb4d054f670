#include "alerts/mail_outbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "gateway/base/file_util.h"

namespace sensorgate {
namespace {

bool EndsWith(const std::string& s, const char* tail) {
  const size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

Status MakeDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Error(dir + ": cannot create: " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

MailOutbox::MailOutbox(std::string dir, const OutboxOptions& options, Clock* clock)
    : dir_(std::move(dir)), opt_(options), clock_(clock),
      rng_(options.seed ? options.seed : static_cast<uint64_t>(clock->WallUs()) ^ static_cast<uint64_t>(getpid())) {}

Status MailOutbox::Open() {
  Status s = MakeDir(dir_);
  if (s.ok()) s = MakeDir(dead_dir());
  if (!s.ok()) return s;
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return Status::Error(dir_ + ": cannot read: " + std::strerror(errno));
  mails_.clear();
  const int64_t now = clock_->MonotonicUs();
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (EndsWith(name, ".tmp")) {
      unlink((dir_ + "/" + name).c_str());  // an Add() cut short: never handed to anyone
      continue;
    }
    if (!EndsWith(name, ".eml")) continue;
    Entry entry;
    long long created = 0;
    if (std::sscanf(name.c_str(), "%lld", &created) != 1) created = 0;
    entry.created_wall_us = created;
    entry.next_try_us = now;
    mails_.emplace(name, entry);
  }
  closedir(d);
  return Status::Ok();
}

Status MailOutbox::Add(const std::string& message, std::string* id) {
  const int64_t wall = clock_->WallUs();
  char name[64];
  std::snprintf(name, sizeof name, "%020" PRId64 "-%08" PRIu64 ".eml", wall, seq_++);
  const Status s = ReplaceFile(dir_ + "/" + name, message, 0600);
  if (!s.ok()) return s;
  Entry entry;
  entry.created_wall_us = wall;
  entry.next_try_us = clock_->MonotonicUs();
  mails_.emplace(name, entry);
  *id = name;
  return Status::Ok();
}

bool MailOutbox::NextDue(std::string* id, bool ignore_backoff) const {
  const int64_t now = clock_->MonotonicUs();
  for (const auto& [name, e] : mails_) {
    if (ignore_backoff || e.next_try_us <= now) {
      *id = name;
      return true;
    }
  }
  return false;
}

Status MailOutbox::Read(const std::string& id, std::string* message) const {
  return ReadWholeFile(dir_ + "/" + id, message);
}

Status MailOutbox::Remove(const std::string& id) {
  mails_.erase(id);
  const std::string path = dir_ + "/" + id;
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::Error(path + ": cannot remove: " + std::strerror(errno));
  }
  SyncDir(dir_);
  return Status::Ok();
}

int64_t MailOutbox::Failed(const std::string& id) {
  auto it = mails_.find(id);
  if (it == mails_.end()) return 0;
  Entry& e = it->second;
  ++e.attempts;
  int64_t delay = opt_.backoff_base_us;
  for (uint32_t i = 1; i < e.attempts && delay < opt_.backoff_cap_us; ++i) delay *= 2;
  delay = std::min(delay, opt_.backoff_cap_us);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  delay = static_cast<int64_t>(static_cast<double>(delay) * jitter(rng_));
  e.next_try_us = clock_->MonotonicUs() + delay;
  return delay;
}

size_t MailOutbox::ExpireOld(std::vector<std::string>* moved) {
  const int64_t wall = clock_->WallUs();
  size_t n = 0;
  for (auto it = mails_.begin(); it != mails_.end();) {
    if (wall - it->second.created_wall_us < opt_.max_age_us) {
      ++it;
      continue;
    }
    const std::string from = dir_ + "/" + it->first;
    const std::string to = dead_dir() + "/" + it->first;
    if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      ++it;  // tried again at the next expiry
      continue;
    }
    if (moved) moved->push_back(it->first);
    it = mails_.erase(it);
    ++n;
  }
  if (n > 0) {
    SyncDir(dead_dir());
    SyncDir(dir_);
  }
  return n;
}

double MailOutbox::OldestAgeSeconds() const {
  if (mails_.empty()) return 0;
  int64_t oldest = INT64_MAX;
  for (const auto& [name, e] : mails_) oldest = std::min(oldest, e.created_wall_us);
  return std::max<double>(0, static_cast<double>(clock_->WallUs() - oldest) / 1e6);
}

int64_t MailOutbox::next_due_us() const {
  int64_t due = kNever;
  for (const auto& [name, e] : mails_) due = std::min(due, e.next_try_us);
  return due;
}

uint32_t MailOutbox::attempts(const std::string& id) const {
  auto it = mails_.find(id);
  return it == mails_.end() ? 0 : it->second.attempts;
}

}  // namespace sensorgate
