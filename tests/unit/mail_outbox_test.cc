// MailOutbox: durable files, removal only after success, backoff, max_age.
#include "alerts/mail_outbox.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using testing_util::TempDir;
constexpr int64_t kS = 1'000'000;

OutboxOptions Options() {
  OutboxOptions o;
  o.max_age_us = 3600 * kS;
  o.backoff_base_us = 5 * kS;
  o.backoff_cap_us = 600 * kS;
  o.seed = 42;
  return o;
}

TEST(MailOutbox, AMailIsOnDiskBeforeItIsDueAndSurvivesAReopen) {
  TempDir tmp;
  FakeClock clock;
  const std::string dir = tmp / "outbox";
  std::string id;
  {
    MailOutbox box(dir, Options(), &clock);
    ASSERT_TRUE(box.Open().ok());
    ASSERT_TRUE(box.Add("Subject: one\r\n\r\nbody\r\n", &id).ok());
    struct stat st;
    ASSERT_EQ(stat((dir + "/" + id).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::string due;
    ASSERT_TRUE(box.NextDue(&due));
    EXPECT_EQ(due, id);
    box.Failed(id);  // the server was down
  }
  MailOutbox again(dir, Options(), &clock);
  ASSERT_TRUE(again.Open().ok());
  ASSERT_EQ(again.size(), 1u);
  std::string due, text;
  ASSERT_TRUE(again.NextDue(&due));  // due at once after a restart
  ASSERT_TRUE(again.Read(due, &text).ok());
  EXPECT_EQ(text, "Subject: one\r\n\r\nbody\r\n");
}

TEST(MailOutbox, RemovesOnlyWhenToldAndLeavesNoTemporaryFiles) {
  TempDir tmp;
  FakeClock clock;
  const std::string dir = tmp / "outbox";
  MailOutbox box(dir, Options(), &clock);
  ASSERT_TRUE(box.Open().ok());
  std::string a, b;
  ASSERT_TRUE(box.Add("a", &a).ok());
  ASSERT_TRUE(box.Add("b", &b).ok());
  EXPECT_LT(a, b);  // oldest first
  box.Failed(a);
  EXPECT_EQ(box.size(), 2u);
  ASSERT_TRUE(box.Remove(b).ok());
  EXPECT_EQ(box.size(), 1u);
  struct stat st;
  EXPECT_NE(stat((dir + "/" + b).c_str(), &st), 0);
  EXPECT_EQ(stat((dir + "/" + a).c_str(), &st), 0);
  // A torn Add() (a .tmp left by a crash) is cleaned up on Open().
  FILE* f = fopen((dir + "/x.eml.tmp").c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  MailOutbox again(dir, Options(), &clock);
  ASSERT_TRUE(again.Open().ok());
  EXPECT_EQ(again.size(), 1u);
  EXPECT_NE(stat((dir + "/x.eml.tmp").c_str(), &st), 0);
}

TEST(MailOutbox, BackoffDoublesIsJitteredAndCapped) {
  TempDir tmp;
  FakeClock clock;
  MailOutbox box(tmp / "outbox", Options(), &clock);
  ASSERT_TRUE(box.Open().ok());
  std::string id;
  ASSERT_TRUE(box.Add("m", &id).ok());
  std::vector<int64_t> delays;
  for (int i = 0; i < 12; ++i) delays.push_back(box.Failed(id));
  int64_t nominal = 5 * kS;
  bool jittered = false;
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_GE(delays[i], nominal / 2) << i;
    EXPECT_LE(delays[i], nominal) << i;
    jittered = jittered || delays[i] != nominal;
    nominal = std::min<int64_t>(nominal * 2, 600 * kS);
  }
  EXPECT_TRUE(jittered);
  EXPECT_LE(delays.back(), 600 * kS);
  // Not due before its delay, due after it.
  std::string due;
  EXPECT_FALSE(box.NextDue(&due));
  EXPECT_TRUE(box.NextDue(&due, /*ignore_backoff=*/true));
  clock.Advance(delays.back());
  EXPECT_TRUE(box.NextDue(&due));
}

TEST(MailOutbox, MailsOlderThanMaxAgeMoveToDead) {
  TempDir tmp;
  FakeClock clock;
  const std::string dir = tmp / "outbox";
  MailOutbox box(dir, Options(), &clock);
  ASSERT_TRUE(box.Open().ok());
  std::string old_id, new_id;
  ASSERT_TRUE(box.Add("old", &old_id).ok());
  clock.Advance(1800 * kS);
  ASSERT_TRUE(box.Add("new", &new_id).ok());
  EXPECT_NEAR(box.OldestAgeSeconds(), 1800, 1e-6);
  EXPECT_EQ(box.ExpireOld(), 0u);
  clock.Advance(1800 * kS);
  std::vector<std::string> moved;
  EXPECT_EQ(box.ExpireOld(&moved), 1u);
  EXPECT_EQ(moved, std::vector<std::string>{old_id});
  EXPECT_EQ(box.size(), 1u);
  struct stat st;
  EXPECT_EQ(stat((dir + "/dead/" + old_id).c_str(), &st), 0);
  EXPECT_NE(stat((dir + "/" + old_id).c_str(), &st), 0);
  // Dead mails are not picked up again.
  MailOutbox again(dir, Options(), &clock);
  ASSERT_TRUE(again.Open().ok());
  EXPECT_EQ(again.size(), 1u);
}

}  // namespace
}  // namespace sensorgate
