// EventLoop: the daemon's one loop (DESIGN.md section 10). It watches the
// descriptors of every source and sink (and the daemon's own: the signalfd)
// in one epoll instance, runs periodic timers, and never blocks on work:
//  - each turn waits until a descriptor is readable or the earliest due time
//    (a timer, a source's next_poll_us(), a sink's next_tick_us());
//  - every source that is readable, due, or still pending from the last turn
//    is polled with the budget (at most `budget` records per source per
//    turn), so a large backlog is read in slices; between two slices the
//    other descriptors, the timers (watchdog, checkpoint) and the sinks are
//    served;
//  - then due timers run, then sinks that are readable or due are ticked;
//  - a source whose hold_fd() is true after a poll is not woken by its
//    descriptor before its next_poll_us() (its descriptor leaves epoll until
//    then): a steady stream is read in batches.
// Time comes from the injected Clock, so tests drive turns with a FakeClock
// and RunOnce(0).
//
// Not thread-safe: one thread creates, runs and destroys it. Sources, sinks
// and callbacks are called on that thread and must outlive their registration.
#ifndef SENSORGATE_GATEWAY_DAEMON_EVENT_LOOP_H_
#define SENSORGATE_GATEWAY_DAEMON_EVENT_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/status.h"
#include "gateway/sinks/sink.h"
#include "gateway/sources/source.h"

namespace sensorgate {

class EventLoop {
 public:
  // Records read at most per source and turn: about 2 ms of parsing on a
  // Raspberry Pi 4, a few hundred microseconds here.
  static constexpr size_t kDefaultBudget = 4096;

  explicit EventLoop(Clock* clock, size_t budget = kDefaultBudget);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Creates the epoll instance. REQUIRES: called once, before the rest.
  Status Open();

  // Calls `on_ready` in a turn in which `fd` is readable.
  void Watch(int fd, std::function<void()> on_ready);
  void Unwatch(int fd);

  // Sources and sinks are served in the order they were added.
  void AddSource(Source* source);
  void RemoveSource(Source* source);
  void AddSink(Sink* sink);
  void RemoveSink(Sink* sink);

  // Runs `fn(now_us)` every `interval_us` (monotonic), the first time one
  // interval from now. Returns an id for SetInterval/RemoveTimer.
  int AddTimer(int64_t interval_us, std::function<void(int64_t now_us)> fn);
  // Changes a timer's interval; the next run is one new interval from now.
  void SetInterval(int id, int64_t interval_us);
  // Makes the timer due at the next turn.
  void Expire(int id);

  // Called once a turn after the sources were polled (the daemon publishes
  // windows there).
  void set_after_sources(std::function<void()> fn) { after_sources_ = std::move(fn); }

  // One turn, waiting at most `max_wait_us` (also bounded by what is due,
  // and not at all while a source is pending). An error only when epoll
  // itself fails.
  Status RunOnce(int64_t max_wait_us = kNever);

  // True when a source said it has more to read: the next turn will not wait.
  bool busy() const;
  size_t budget() const { return budget_; }
  // Turns so far.
  uint64_t turns() const { return turns_; }

 private:
  struct SourceEntry {
    Source* source;
    int fd;
    bool ready = false;    // fd readable since the last poll
    bool pending = true;   // Poll() said more is available (true: poll at start)
    bool held = false;     // fd taken out of epoll until next_poll_us() (hold_fd())
  };
  struct SinkEntry {
    Sink* sink;
    int fd;
    bool ready = false;
  };
  struct Timer {
    int64_t interval_us;
    int64_t due_us;
    std::function<void(int64_t)> fn;
  };

  void AddFd(int fd);
  void DelFd(int fd);
  int64_t NextDue(int64_t now) const;
  void HoldFd(SourceEntry* s, bool hold);

  Clock* const clock_;
  const size_t budget_;
  int epoll_fd_ = -1;
  std::map<int, std::function<void()>> watched_;
  std::vector<SourceEntry> sources_;
  std::vector<SinkEntry> sinks_;
  std::vector<Timer> timers_;
  std::function<void()> after_sources_;
  uint64_t turns_ = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_DAEMON_EVENT_LOOP_H_
