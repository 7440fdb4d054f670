// MailGrouper: Alertmanager's grouping, driven by a FakeClock.
#include "alerts/mail_grouper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sensorgate {
namespace {

constexpr int64_t kS = 1'000'000;

MailAlert Alert(const std::string& key, bool firing) {
  MailAlert a;
  a.rule = "hot";
  a.key = key;
  a.firing = firing;
  a.avg = firing ? 80 : 70;
  a.threshold = firing ? 75 : 73;
  a.count = 60;
  return a;
}

MailGroupOptions Options() {
  MailGroupOptions o;
  o.group_wait_us = 10 * kS;
  o.group_interval_us = 300 * kS;
  o.repeat_us = 4 * 3600 * kS;
  o.send_resolved = true;
  o.max_per_hour = 20;
  return o;
}

std::vector<std::string> Lines(const MailNotification& n) {
  std::vector<std::string> out;
  for (const MailEntry& e : n.entries) {
    out.push_back(e.alert.key + ":" +
                  (e.line == MailLine::kFiring ? "firing" : e.line == MailLine::kResolved ? "resolved" : "fired+resolved"));
  }
  return out;
}

TEST(MailGrouper, GroupWaitCollectsEveryAlertIntoOneMail) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  MailNotification n;
  EXPECT_EQ(g.next_due_us(), kNever);
  g.Add(Alert("b", true));
  EXPECT_EQ(g.next_due_us(), clock.MonotonicUs() + 10 * kS);
  clock.Advance(4 * kS);
  g.Add(Alert("a", true));
  EXPECT_FALSE(g.Poll(&n));
  clock.Advance(6 * kS - 1);
  EXPECT_FALSE(g.Poll(&n));
  clock.Advance(1);
  ASSERT_TRUE(g.Poll(&n));
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:firing", "b:firing"}));
  EXPECT_EQ(n.firing, 2u);
  EXPECT_EQ(n.resolved, 0u);
  EXPECT_FALSE(n.reminder);
  EXPECT_FALSE(g.Poll(&n));
}

TEST(MailGrouper, LaterChangesWaitForGroupInterval) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  MailNotification n;
  g.Add(Alert("a", true));
  clock.Advance(10 * kS);
  ASSERT_TRUE(g.Poll(&n));
  const int64_t first = clock.MonotonicUs();
  clock.Advance(20 * kS);
  g.Add(Alert("b", true));
  EXPECT_EQ(g.next_due_us(), first + 300 * kS);
  clock.Advance(279 * kS);
  EXPECT_FALSE(g.Poll(&n));
  clock.Advance(1 * kS);
  ASSERT_TRUE(g.Poll(&n));
  // The whole group is listed; b is the change.
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:firing", "b:firing"}));
}

TEST(MailGrouper, RemindsOfFiringAlertsEveryRepeat) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  MailNotification n;
  g.Add(Alert("a", true));
  clock.Advance(10 * kS);
  ASSERT_TRUE(g.Poll(&n));
  EXPECT_EQ(g.next_due_us(), clock.MonotonicUs() + 4 * 3600 * kS);
  clock.Advance(4 * 3600 * kS - 1);
  EXPECT_FALSE(g.Poll(&n));
  clock.Advance(1);
  ASSERT_TRUE(g.Poll(&n));
  EXPECT_TRUE(n.reminder);
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:firing"}));
}

TEST(MailGrouper, ResolvedIsMailedOnceWhenSendResolved) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  MailNotification n;
  g.Add(Alert("a", true));
  clock.Advance(10 * kS);
  ASSERT_TRUE(g.Poll(&n));
  clock.Advance(60 * kS);
  g.Add(Alert("a", false));
  clock.Advance(240 * kS);
  ASSERT_TRUE(g.Poll(&n));
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:resolved"}));
  EXPECT_EQ(n.resolved, 1u);
  EXPECT_EQ(g.size(), 0u);
  EXPECT_EQ(g.next_due_us(), kNever);
}

TEST(MailGrouper, ResolvedIsNotMailedWithoutSendResolved) {
  FakeClock clock;
  MailGroupOptions o = Options();
  o.send_resolved = false;
  MailGrouper g(o, &clock);
  MailNotification n;
  g.Add(Alert("a", true));
  clock.Advance(10 * kS);
  ASSERT_TRUE(g.Poll(&n));
  g.Add(Alert("a", false));
  clock.Advance(3600 * kS);
  EXPECT_FALSE(g.Poll(&n));
  EXPECT_EQ(g.next_due_us(), kNever);
}

TEST(MailGrouper, FiredAndResolvedBeforeTheFirstMailIsStillReported) {
  for (bool send_resolved : {true, false}) {
    FakeClock clock;
    MailGroupOptions o = Options();
    o.send_resolved = send_resolved;
    MailGrouper g(o, &clock);
    MailNotification n;
    g.Add(Alert("a", true));
    clock.Advance(2 * kS);
    g.Add(Alert("a", false));
    clock.Advance(8 * kS);
    ASSERT_TRUE(g.Poll(&n)) << send_resolved;
    EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:fired+resolved"}));
    EXPECT_EQ(n.firing, 0u);
    EXPECT_EQ(n.resolved, 1u);
  }
}

TEST(MailGrouper, HourlyLimitCarriesEventsIntoTheNextAllowedMail) {
  FakeClock clock;
  MailGroupOptions o = Options();
  o.group_wait_us = 0;
  o.group_interval_us = 0;
  o.max_per_hour = 2;
  MailGrouper g(o, &clock);
  MailNotification n;
  const int64_t start = clock.MonotonicUs();
  g.Add(Alert("k0", true));
  ASSERT_TRUE(g.Poll(&n));
  clock.Advance(kS);
  g.Add(Alert("k1", true));
  ASSERT_TRUE(g.Poll(&n));
  // The limit is reached: the next 50 events wait, none is dropped.
  for (int i = 2; i < 52; ++i) {
    clock.Advance(kS);
    g.Add(Alert("k" + std::to_string(i), true));
    EXPECT_FALSE(g.Poll(&n));
  }
  EXPECT_EQ(g.rate_limited(), 1u);
  EXPECT_EQ(g.next_due_us(), start + 3600 * kS);
  clock.Advance(start + 3600 * kS - clock.MonotonicUs() - 1);
  EXPECT_FALSE(g.Poll(&n));
  clock.Advance(1);
  ASSERT_TRUE(g.Poll(&n));
  EXPECT_EQ(n.entries.size(), 52u);  // all keys, the 50 carried included
  EXPECT_EQ(n.firing, 52u);
}

TEST(MailGrouper, TakePendingIgnoresTimersAtStop) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  MailNotification n;
  EXPECT_FALSE(g.TakePending(&n));
  g.Add(Alert("a", true));
  ASSERT_TRUE(g.TakePending(&n));
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:firing"}));
  EXPECT_FALSE(g.TakePending(&n));
}

TEST(MailGrouper, ANewGroupOpensWithGroupWaitAfterAllResolved) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  MailNotification n;
  g.Add(Alert("a", true));
  clock.Advance(10 * kS);
  ASSERT_TRUE(g.Poll(&n));
  g.Add(Alert("a", false));
  clock.Advance(300 * kS);
  ASSERT_TRUE(g.Poll(&n));
  clock.Advance(kS);
  g.Add(Alert("b", true));
  EXPECT_EQ(g.next_due_us(), clock.MonotonicUs() + 10 * kS);
}

// --- across a restart (Save / Load) -----------------------------------------

// The clock of the next run: its monotonic time starts again elsewhere, its
// wall time is `down_us` after `before`'s.
FakeClock NextRun(const FakeClock& before, int64_t down_us) {
  return FakeClock(7 * kS, before.WallUs() + down_us);
}

TEST(MailGrouper, AlertsWaitingForGroupWaitSurviveARestart) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  g.Add(Alert("b", true));
  clock.Advance(4 * kS);
  g.Add(Alert("a", true));
  const std::string saved = g.Save();
  // Down for 3 s: the mail is due 10 - 4 - 3 = 3 s into the next run.
  FakeClock next = NextRun(clock, 3 * kS);
  MailGrouper h(Options(), &next);
  ASSERT_TRUE(h.Load(saved).ok());
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.next_due_us(), next.MonotonicUs() + 3 * kS);
  MailNotification n;
  next.Advance(3 * kS - 1);
  EXPECT_FALSE(h.Poll(&n));
  next.Advance(1);
  ASSERT_TRUE(h.Poll(&n));
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:firing", "b:firing"}));
}

TEST(MailGrouper, RemindersAndResolutionsGoOnAfterARestart) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  MailNotification n;
  g.Add(Alert("a", true));
  clock.Advance(10 * kS);
  ASSERT_TRUE(g.Poll(&n));
  const std::string saved = g.Save();
  FakeClock next = NextRun(clock, 3600 * kS);
  MailGrouper h(Options(), &next);
  ASSERT_TRUE(h.Load(saved).ok());
  // The reminder is due 4 h after the mail, 3 h into the next run.
  EXPECT_EQ(h.next_due_us(), next.MonotonicUs() + 3 * 3600 * kS);
  // The same firing event read again (records after the last checkpoint)
  // changes nothing to tell.
  h.Add(Alert("a", true));
  EXPECT_EQ(h.next_due_us(), next.MonotonicUs() + 3 * 3600 * kS);
  next.Advance(3 * 3600 * kS);
  ASSERT_TRUE(h.Poll(&n));
  EXPECT_TRUE(n.reminder);
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:firing"}));
  // Its end is a resolution, not "fired and resolved": a mail listed it.
  h.Add(Alert("a", false));
  next.Advance(300 * kS);
  ASSERT_TRUE(h.Poll(&n));
  EXPECT_EQ(Lines(n), (std::vector<std::string>{"a:resolved"}));
}

TEST(MailGrouper, TheHourlyLimitCountsTheSendsOfTheLastRun) {
  FakeClock clock;
  MailGroupOptions o = Options();
  o.group_wait_us = 0;
  o.group_interval_us = 0;
  o.max_per_hour = 2;
  MailGrouper g(o, &clock);
  MailNotification n;
  const int64_t first_wall = clock.WallUs();
  g.Add(Alert("k0", true));
  ASSERT_TRUE(g.Poll(&n));
  clock.Advance(kS);
  g.Add(Alert("k1", true));
  ASSERT_TRUE(g.Poll(&n));
  FakeClock next = NextRun(clock, 60 * kS);
  MailGrouper h(o, &next);
  ASSERT_TRUE(h.Load(g.Save()).ok());
  h.Add(Alert("k2", true));
  EXPECT_FALSE(h.Poll(&n));
  // Allowed again an hour after the first send.
  EXPECT_EQ(h.next_due_us(), next.MonotonicUs() + (first_wall + 3600 * kS - next.WallUs()));
}

TEST(MailGrouper, ADamagedStateIsRefusedAndLeavesNothing) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  g.Add(Alert("a", true));
  const std::string saved = g.Save();
  MailGrouper h(Options(), &clock);
  ASSERT_TRUE(h.Load(saved).ok());
  EXPECT_EQ(h.size(), 1u);
  std::string flipped = saved;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_FALSE(h.Load(flipped).ok());
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.next_due_us(), kNever);
  for (size_t cut : {size_t{0}, size_t{3}, saved.size() / 2, saved.size() - 1}) {
    EXPECT_FALSE(h.Load(std::string_view(saved).substr(0, cut)).ok()) << cut;
    EXPECT_EQ(h.size(), 0u);
  }
  EXPECT_FALSE(h.Load("not a state file at all, just text").ok());
}

TEST(MailGrouper, KeysOfAnyBytesRoundTrip) {
  FakeClock clock;
  MailGrouper g(Options(), &clock);
  static constexpr char kKey[] = "line\r\nBcc: x\0\xff";
  MailAlert a = Alert(std::string(kKey, sizeof kKey - 1), true);
  a.recent = {1.5, -0.0, 1e300};
  g.Add(a);
  MailGrouper h(Options(), &clock);
  ASSERT_TRUE(h.Load(g.Save()).ok());
  MailNotification n;
  ASSERT_TRUE(h.TakePending(&n));
  ASSERT_EQ(n.entries.size(), 1u);
  EXPECT_EQ(n.entries[0].alert.key, a.key);
  EXPECT_EQ(n.entries[0].alert.recent, a.recent);
  EXPECT_EQ(n.entries[0].alert.avg, a.avg);
  EXPECT_EQ(n.entries[0].alert.count, a.count);
}

}  // namespace
}  // namespace sensorgate
