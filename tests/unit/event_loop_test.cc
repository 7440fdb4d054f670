// The loop's contract (gateway/daemon/event_loop.h): sources are read in
// slices of at most the budget, and timers and sinks are served between two
// slices; a source that has caught up is not polled again before its fd is
// readable or its time has come. Driven with a FakeClock: no test waits.
#include "gateway/daemon/event_loop.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace sensorgate {
namespace {

// A source holding `left` records; records what happened, in order.
class FakeSource : public Source {
 public:
  FakeSource(size_t left, std::vector<std::string>* trace) : left_(left), trace_(trace) {}
  std::string_view name() const override { return "fake"; }
  int64_t next_poll_us() const override { return next_poll_us_; }
  bool Poll(size_t budget) override {
    const size_t n = std::min(budget, left_);
    left_ -= n;
    read_ += n;
    trace_->push_back("poll " + std::to_string(n));
    return left_ > 0;
  }
  void SavePosition(SourcePositions* p) override { p->mqtt.offset = read_; }
  void AppendMetrics(std::string* out) const override { out->append("fake\n"); }
  LinkState Link() const override { return LinkState{"fake", true, "fake", left_, "records", ""}; }

  void Add(size_t n) { left_ += n; }
  size_t read() const { return read_; }
  int64_t next_poll_us_ = kNever;

 private:
  size_t left_, read_ = 0;
  std::vector<std::string>* trace_;
};

class FakeSink : public Sink {
 public:
  explicit FakeSink(std::vector<std::string>* trace) : trace_(trace) {}
  std::string_view name() const override { return "fake"; }
  void OnAlert(const AlertEvent&) override {}
  int64_t next_tick_us() const override { return next_tick_us_; }
  void Tick(int64_t now_us) override {
    trace_->push_back("tick");
    next_tick_us_ = now_us + 1000;
  }
  LinkState Link() const override { return {}; }
  int64_t next_tick_us_ = 0;

 private:
  std::vector<std::string>* trace_;
};

TEST(EventLoop, ReadsABacklogInSlicesOfTheBudgetServingTimersAndSinksBetween) {
  FakeClock clock;
  std::vector<std::string> trace;
  EventLoop loop(&clock, 100);
  ASSERT_TRUE(loop.Open().ok());
  FakeSource source(350, &trace);
  FakeSink sink(&trace);
  loop.AddSource(&source);
  loop.AddSink(&sink);
  loop.AddTimer(10, [&](int64_t) { trace.push_back("timer"); });
  for (int turn = 0; turn < 4; ++turn) {
    clock.Advance(1000);
    ASSERT_TRUE(loop.RunOnce(0).ok());
  }
  EXPECT_EQ(source.read(), 350u);
  EXPECT_FALSE(loop.busy());
  const std::vector<std::string> want = {"poll 100", "timer", "tick", "poll 100", "timer", "tick",
                                         "poll 100", "timer", "tick", "poll 50",  "timer", "tick"};
  EXPECT_EQ(trace, want);
}

TEST(EventLoop, ACaughtUpSourceWaitsForItsFdOrItsTime) {
  FakeClock clock;
  std::vector<std::string> trace;
  EventLoop loop(&clock, 100);
  ASSERT_TRUE(loop.Open().ok());
  FakeSource source(10, &trace);
  loop.AddSource(&source);
  ASSERT_TRUE(loop.RunOnce(0).ok());  // first turn: everything is polled once
  EXPECT_EQ(trace, std::vector<std::string>{"poll 10"});
  ASSERT_TRUE(loop.RunOnce(0).ok());  // caught up, no fd, no time: not polled
  EXPECT_EQ(trace.size(), 1u);
  source.next_poll_us_ = clock.MonotonicUs() + 500;
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(trace.size(), 1u);
  clock.Advance(500);
  source.Add(5);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(trace.back(), "poll 5");
}

// A source whose descriptor becomes readable is polled in the next turn.
class FdSource : public FakeSource {
 public:
  FdSource(int fd, std::vector<std::string>* trace) : FakeSource(0, trace), fd_(fd) {}
  int fd() const override { return fd_; }
  bool Poll(size_t budget) override {
    uint64_t v;
    (void)!::read(fd_, &v, sizeof v);
    return FakeSource::Poll(budget);
  }

 private:
  int fd_;
};

TEST(EventLoop, PollsASourceWhenItsFdIsReadable) {
  FakeClock clock;
  std::vector<std::string> trace;
  EventLoop loop(&clock, 100);
  ASSERT_TRUE(loop.Open().ok());
  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  FdSource source(efd, &trace);
  loop.AddSource(&source);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(trace.size(), 1u);
  source.Add(3);
  const uint64_t one = 1;
  ASSERT_EQ(write(efd, &one, sizeof one), 8);
  ASSERT_TRUE(loop.RunOnce(1000).ok());
  EXPECT_EQ(trace.back(), "poll 3");
  close(efd);
}

// Issue 14 (steady input in batches): a source that holds its descriptor
// after a poll is not woken by it before its next poll time; then it is
// polled on time and its descriptor watched again.
class HoldingSource : public FdSource {
 public:
  using FdSource::FdSource;
  bool hold_fd() const override { return hold_; }
  bool hold_ = true;
};

TEST(EventLoop, ASourceHoldingItsFdIsPolledAtItsTimeNotAtEachWrite) {
  FakeClock clock;
  std::vector<std::string> trace;
  EventLoop loop(&clock, 100);
  ASSERT_TRUE(loop.Open().ok());
  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  HoldingSource source(efd, &trace);
  source.next_poll_us_ = kNever;
  loop.AddSource(&source);
  ASSERT_TRUE(loop.RunOnce(0).ok());  // the first poll: then the fd is held
  ASSERT_EQ(trace.size(), 1u);
  source.next_poll_us_ = clock.MonotonicUs() + 10000;
  const uint64_t one = 1;
  source.Add(3);
  ASSERT_EQ(write(efd, &one, sizeof one), 8);
  ASSERT_TRUE(loop.RunOnce(0).ok());  // readable, but held: not polled
  EXPECT_EQ(trace.size(), 1u);
  clock.Advance(10000);
  source.hold_ = false;
  ASSERT_TRUE(loop.RunOnce(0).ok());  // its time: polled, the fd watched again
  EXPECT_EQ(trace.back(), "poll 3");
  source.next_poll_us_ = kNever;
  source.Add(2);
  ASSERT_EQ(write(efd, &one, sizeof one), 8);
  ASSERT_TRUE(loop.RunOnce(1000).ok());
  EXPECT_EQ(trace.back(), "poll 2");
  close(efd);
}

TEST(EventLoop, WatchedDescriptorsAndTimersRunOnTheFakeClock) {
  FakeClock clock;
  EventLoop loop(&clock);
  ASSERT_TRUE(loop.Open().ok());
  int fired = 0, watched = 0;
  const int id = loop.AddTimer(1000000, [&](int64_t) { ++fired; });
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 0);
  clock.Advance(999999);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 0);
  clock.Advance(1);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 1);
  loop.Expire(id);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 2);
  loop.SetInterval(id, kNever);
  clock.Advance(10000000);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 2);

  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  loop.Watch(efd, [&] {
    uint64_t v;
    (void)!read(efd, &v, sizeof v);
    ++watched;
  });
  const uint64_t one = 1;
  ASSERT_EQ(write(efd, &one, sizeof one), 8);
  ASSERT_TRUE(loop.RunOnce(1000).ok());
  EXPECT_EQ(watched, 1);
  loop.Unwatch(efd);
  close(efd);
}

// A timer armed for kNever (the daemon's publication timer between two
// publications) never fires, and arming it does not overflow (UBSan checks).
TEST(EventLoop, ATimerOfNeverNeverFiresUntilItIsGivenAnInterval) {
  FakeClock clock(int64_t{1} << 40);
  EventLoop loop(&clock);
  ASSERT_TRUE(loop.Open().ok());
  int fired = 0;
  const int id = loop.AddTimer(kNever, [&](int64_t) { ++fired; });
  clock.Advance(int64_t{1} << 50);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 0);
  loop.SetInterval(id, 50);
  clock.Advance(50);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 1);
  loop.SetInterval(id, kNever);
  clock.Advance(int64_t{1} << 50);
  ASSERT_TRUE(loop.RunOnce(0).ok());
  EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace sensorgate
