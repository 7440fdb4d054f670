#include "gateway/daemon/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sensorgate {

namespace {

// now + interval, kNever for an interval that never comes (no overflow).
int64_t After(int64_t now, int64_t interval_us) {
  return interval_us >= kNever - now ? kNever : now + interval_us;
}

}  // namespace

EventLoop::EventLoop(Clock* clock, size_t budget) : clock_(clock), budget_(budget) {}

EventLoop::~EventLoop() {
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status EventLoop::Open() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::Error(std::string("cannot create the event loop: ") + std::strerror(errno));
  return Status::Ok();
}

void EventLoop::AddFd(int fd) {
  if (fd < 0 || epoll_fd_ < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::HoldFd(SourceEntry* s, bool hold) {
  if (s->held == hold || s->fd < 0 || epoll_fd_ < 0) return;
  epoll_event ev{};
  ev.events = hold ? 0u : static_cast<uint32_t>(EPOLLIN);
  ev.data.fd = s->fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s->fd, &ev);
  s->held = hold;
}

void EventLoop::DelFd(int fd) {
  if (fd >= 0 && epoll_fd_ >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::Watch(int fd, std::function<void()> on_ready) {
  if (fd < 0) return;
  watched_[fd] = std::move(on_ready);
  AddFd(fd);
}

void EventLoop::Unwatch(int fd) {
  if (watched_.erase(fd)) DelFd(fd);
}

void EventLoop::AddSource(Source* source) {
  sources_.push_back(SourceEntry{source, source->fd()});
  AddFd(source->fd());
}

void EventLoop::RemoveSource(Source* source) {
  for (auto it = sources_.begin(); it != sources_.end(); ++it) {
    if (it->source == source) {
      DelFd(it->fd);
      sources_.erase(it);
      return;
    }
  }
}

void EventLoop::AddSink(Sink* sink) {
  sinks_.push_back(SinkEntry{sink, sink->fd()});
  AddFd(sink->fd());
}

void EventLoop::RemoveSink(Sink* sink) {
  for (auto it = sinks_.begin(); it != sinks_.end(); ++it) {
    if (it->sink == sink) {
      DelFd(it->fd);
      sinks_.erase(it);
      return;
    }
  }
}

int EventLoop::AddTimer(int64_t interval_us, std::function<void(int64_t)> fn) {
  timers_.push_back(Timer{interval_us, After(clock_->MonotonicUs(), interval_us), std::move(fn)});
  return static_cast<int>(timers_.size() - 1);
}

void EventLoop::SetInterval(int id, int64_t interval_us) {
  Timer& t = timers_[static_cast<size_t>(id)];
  t.interval_us = interval_us;
  t.due_us = After(clock_->MonotonicUs(), interval_us);
}

void EventLoop::Expire(int id) { timers_[static_cast<size_t>(id)].due_us = clock_->MonotonicUs(); }

bool EventLoop::busy() const {
  for (const SourceEntry& s : sources_) {
    if (s.pending || s.ready) return true;
  }
  return false;
}

int64_t EventLoop::NextDue(int64_t now) const {
  if (busy()) return now;
  int64_t due = kNever;
  for (const Timer& t : timers_) due = std::min(due, t.due_us);
  for (const SourceEntry& s : sources_) due = std::min(due, s.source->next_poll_us());
  for (const SinkEntry& s : sinks_) due = std::min(due, s.sink->next_tick_us());
  return due;
}

Status EventLoop::RunOnce(int64_t max_wait_us) {
  ++turns_;
  int64_t now = clock_->MonotonicUs();
  const int64_t due = NextDue(now);
  int64_t wait_us = due <= now ? 0 : due - now;
  wait_us = std::min(wait_us, max_wait_us);
  // Rounded up to whole milliseconds, so a timer is never woken for early.
  const int timeout_ms = wait_us >= int64_t{24} * 3600 * 1000000
                             ? 24 * 3600 * 1000
                             : static_cast<int>((wait_us + 999) / 1000);
  epoll_event events[32];
  const int n = ::epoll_wait(epoll_fd_, events, 32, timeout_ms);
  if (n < 0 && errno != EINTR) return Status::Error(std::string("epoll_wait: ") + std::strerror(errno));
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    auto w = watched_.find(fd);
    if (w != watched_.end()) {
      w->second();
      continue;
    }
    for (SourceEntry& s : sources_) {
      if (s.fd == fd) s.ready = true;
    }
    for (SinkEntry& s : sinks_) {
      if (s.fd == fd) s.ready = true;
    }
  }

  // Sources: one slice each. A callback above may have removed some: index.
  now = clock_->MonotonicUs();
  for (size_t i = 0; i < sources_.size(); ++i) {
    SourceEntry& s = sources_[i];
    if (!s.ready && !s.pending && now < s.source->next_poll_us()) continue;
    s.ready = false;
    s.pending = s.source->Poll(budget_);
    HoldFd(&s, !s.pending && s.source->hold_fd());
  }
  if (after_sources_) after_sources_();

  now = clock_->MonotonicUs();
  for (size_t i = 0; i < timers_.size(); ++i) {
    if (timers_[i].due_us > now) continue;
    timers_[i].due_us = After(now, timers_[i].interval_us);
    // Copied: the callback may add timers (and so move the vector).
    std::function<void(int64_t)> fn = timers_[i].fn;
    fn(now);
  }

  now = clock_->MonotonicUs();
  for (size_t i = 0; i < sinks_.size(); ++i) {
    SinkEntry& s = sinks_[i];
    if (!s.ready && now < s.sink->next_tick_us()) continue;
    s.ready = false;
    s.sink->Tick(now);
  }
  return Status::Ok();
}

}  // namespace sensorgate
