// EmailSink without a mail server: what it does at stop and across a restart
// (the server's side is in tests/integration/mail_test.cc).
#if SENSORGATE_WITH_SMTP
#include "gateway/sinks/email/email_sink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

// A loopback port nobody listens on (bound, then closed).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

EmailSinkSettings Settings(const std::string& dir) {
  EmailSinkSettings s;
  s.email.enabled = true;
  s.email.url = "smtp://127.0.0.1:" + std::to_string(ClosedPort());
  s.email.starttls = StartTls::kOff;
  s.email.from = "sensorgate@plant.example";
  s.email.to = {"ops@plant.example"};
  s.email.group_wait_us = 10'000'000;
  s.email.group_interval_us = 300'000'000;
  s.email.repeat_us = 3600'000'000LL;
  s.email.send_resolved = true;
  s.email.max_per_hour = 20;
  s.email.timeout_us = 5'000'000;
  s.email.max_age_us = 86400'000'000LL;
  s.gateway = "line-2";
  s.outbox_dir = dir + "/outbox";
  return s;
}

TEST(EmailSink, FlushAtStopQueuesWhatIsGroupedAndKeepsWhatCannotBeSent) {
  testing_util::TempDir dir;
  FakeClock clock;
  {
    EmailSink sink(Settings(dir.path()), &clock);
    ASSERT_TRUE(sink.Start().ok());
    AlertEvent e{"hot", "firing", "boiler-1", 80, 60, 1678882537166944};
    e.threshold = 75;
    e.recent_count = 2;
    e.recent[0] = 79;
    e.recent[1] = 81;
    sink.OnAlert(e);
    EXPECT_EQ(sink.next_tick_us(), clock.MonotonicUs() + 10'000'000);  // group_wait
    EXPECT_EQ(sink.queued(), 0u);
    const Status s = sink.Flush(clock.MonotonicUs() + 3'000'000);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("1 mails left"), std::string::npos) << s.message();
    EXPECT_EQ(sink.queued(), 1u);
    std::string metrics;
    sink.AppendMetrics(&metrics);
    EXPECT_NE(metrics.find("sensorgate_mail_failed_total{reason=\"connect\"} 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("sensorgate_mail_queued 1"), std::string::npos);
    const LinkState l = sink.Link();
    EXPECT_FALSE(l.up);
    EXPECT_TRUE(l.healthy);
    EXPECT_EQ(l.backlog, 1u);
    EXPECT_NE(l.last_error.find("connect"), std::string::npos);
  }
  // The next start finds the mail and retries it at once.
  EmailSink again(Settings(dir.path()), &clock);
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(again.queued(), 1u);
  EXPECT_LE(again.next_tick_us(), clock.MonotonicUs());
}

TEST(EmailSink, StartFailsOnAnUnreadablePasswordFile) {
  testing_util::TempDir dir;
  FakeClock clock;
  EmailSinkSettings s = Settings(dir.path());
  s.email.password_file = dir.path() + "/absent";
  EmailSink sink(s, &clock);
  const Status st = sink.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("password_file"), std::string::npos);
}

AlertEvent Hot(const char* key) {
  AlertEvent e{"hot", "firing", key, 80, 60, 1678882537166944};
  e.threshold = 75;
  return e;
}

TEST(EmailSink, AlertsWaitingForGroupWaitAreOnDiskBeforeACheckpointAndSurviveACrash) {
  testing_util::TempDir dir;
  FakeClock clock;
  {
    EmailSink sink(Settings(dir.path()), &clock);
    ASSERT_TRUE(sink.Start().ok());
    sink.OnAlert(Hot("boiler-1"));
    clock.Advance(4'000'000);
    ASSERT_TRUE(sink.PrepareCheckpoint().ok());
    // Gone without Flush(), as after SIGKILL.
  }
  EmailSink again(Settings(dir.path()), &clock);
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(again.queued(), 0u);
  // group_wait goes on where it was: 6 s left.
  EXPECT_EQ(again.next_tick_us(), clock.MonotonicUs() + 6'000'000);
  clock.Advance(6'000'000);
  again.Tick(clock.MonotonicUs());
  EXPECT_EQ(again.queued(), 1u);
}

TEST(EmailSink, AMailThatCannotBeQueuedKeepsItsAlertsAndIsTriedAgain) {
  testing_util::TempDir dir;
  FakeClock clock;
  EmailSinkSettings settings = Settings(dir.path());
  settings.email.group_wait_us = 0;
  EmailSink sink(settings, &clock);
  ASSERT_TRUE(sink.Start().ok());
  // The outbox cannot take a file (as when the disk is full).
  const std::string outbox = dir.path() + "/outbox";
  ASSERT_EQ(rename(outbox.c_str(), (outbox + ".away").c_str()), 0);
  std::ofstream(outbox) << "not a folder\n";
  sink.OnAlert(Hot("boiler-1"));
  EXPECT_EQ(sink.queued(), 0u);
  std::string metrics;
  sink.AppendMetrics(&metrics);
  EXPECT_NE(metrics.find("sensorgate_mail_failed_total{reason=\"outbox\"} 1"), std::string::npos) << metrics;
  EXPECT_EQ(sink.next_tick_us(), clock.MonotonicUs() + 5'000'000);
  ASSERT_EQ(unlink(outbox.c_str()), 0);
  ASSERT_EQ(rename((outbox + ".away").c_str(), outbox.c_str()), 0);
  clock.Advance(5'000'000);
  sink.Tick(clock.MonotonicUs());
  EXPECT_EQ(sink.queued(), 1u);
}

}  // namespace
}  // namespace sensorgate
#endif  // SENSORGATE_WITH_SMTP
