#include "gateway/sources/file/file_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/parse/record_parser.h"

#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using testing_util::TempDir;

void Append(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::string NumberedLines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "{\"n\": " + std::to_string(i) + "}\n";
  return out;
}

// Records what a source hands on.
class FakeReceiver : public RecordReceiver {
 public:
  struct Event {
    char kind;  // 'H' header, 'R' record, 'M' message, 'T' too long
    std::string text;
    std::string source;
    uint64_t line;
    TimeMicros arrival_us;
  };
  void OnHeader(std::string_view line, const RecordOrigin& origin) override {
    events.push_back(Event{'H', std::string(line), std::string(origin.source), origin.line, 0});
  }
  void OnRecord(const char* data, size_t len, TimeMicros arrival_us,
                const RecordOrigin& origin) override {
    volatile char pad = data[len + kRecordPadding - 1];  // readable padding (ASan checks it)
    (void)pad;
    events.push_back(
        Event{'R', std::string(data, len), std::string(origin.source), origin.line, arrival_us});
  }
  void OnMessage(std::string_view topic, const char* payload, size_t len,
                 TimeMicros arrival_us) override {
    events.push_back(Event{'M', std::string(payload, len), std::string(topic), 0, arrival_us});
  }
  void OnTooLong(const RecordOrigin& origin) override {
    events.push_back(Event{'T', "", std::string(origin.source), origin.line, 0});
  }
  size_t records() const {
    size_t n = 0;
    for (const Event& e : events) n += e.kind == 'R' ? 1 : 0;
    return n;
  }
  std::vector<Event> events;
};

class FileSourceTest : public ::testing::Test {
 protected:
  FileSourceTest() {
    config_.enabled = true;
    config_.paths = {dir_ / "*.log"};
    config_.format = RecordFormat::kJson;
    config_.from_beginning = true;
  }
  std::unique_ptr<FileSource> Started(const std::vector<FilePosition>& restored = {}) {
    auto s = std::make_unique<FileSource>(config_, &receiver_, &clock_);
    EXPECT_TRUE(s->Start(restored).ok());
    return s;
  }

  TempDir dir_;
  FileConfig config_;
  FakeClock clock_{5'000'000, 1'700'000'000'000'000};
  FakeReceiver receiver_;
};

TEST_F(FileSourceTest, ForwardsRecordsWithTheClocksWallTimeAsArrival) {
  Append(dir_ / "a.log", "{\"v\": 1}\n{\"v\": 2}\n");
  auto s = Started();
  EXPECT_EQ(s->name(), "file");
  EXPECT_GE(s->fd(), 0);
  EXPECT_FALSE(s->Poll(100));
  clock_.Advance(250);
  Append(dir_ / "a.log", "{\"v\": 3}\n");
  EXPECT_FALSE(s->Poll(100));
  ASSERT_EQ(receiver_.events.size(), 3u);
  EXPECT_EQ(receiver_.events[0].kind, 'R');
  EXPECT_EQ(receiver_.events[0].text, "{\"v\": 1}");
  EXPECT_EQ(receiver_.events[0].source, dir_ / "a.log");
  EXPECT_EQ(receiver_.events[0].line, 1u);
  EXPECT_EQ(receiver_.events[0].arrival_us, 1'700'000'000'000'000);
  EXPECT_EQ(receiver_.events[1].line, 2u);
  EXPECT_EQ(receiver_.events[2].text, "{\"v\": 3}");
  EXPECT_EQ(receiver_.events[2].arrival_us, 1'700'000'000'000'250);
}

TEST_F(FileSourceTest, ForwardsCsvHeadersAndTooLongLines) {
  config_.format = RecordFormat::kCsv;
  Append(dir_ / "a.log", "key,value\nk,1\n" + std::string(kMaxRecordBytes + 1, 'x') + "\nk,2\n");
  auto s = Started();
  EXPECT_FALSE(s->Poll(100));
  std::string got;
  for (const auto& e : receiver_.events) got += std::string(1, e.kind) + e.text + ";";
  EXPECT_EQ(got, "Hkey,value;Rk,1;T;Rk,2;");
  EXPECT_EQ(receiver_.events[0].line, 1u);
  EXPECT_EQ(receiver_.events[2].line, 3u);
}

TEST_F(FileSourceTest, PollHandsOnAtMostTheBudgetAndSaysWhenMoreIsPending) {
  Append(dir_ / "a.log", NumberedLines(1000));
  auto s = Started();
  EXPECT_TRUE(s->Poll(100));
  EXPECT_EQ(receiver_.records(), 100u);
  int polls = 1;
  while (s->Poll(100)) ++polls;
  EXPECT_EQ(polls + 1, 10);
  ASSERT_EQ(receiver_.records(), 1000u);
  for (size_t i = 0; i < receiver_.events.size(); ++i) {
    EXPECT_EQ(receiver_.events[i].text, "{\"n\": " + std::to_string(i) + "}");
  }
}

TEST_F(FileSourceTest, NextPollIsNowWhilePendingAndTenSecondsAfterTheScanOnceCaughtUpAndSettled) {
  Append(dir_ / "a.log", NumberedLines(300));
  auto s = Started();
  const int64_t started_us = clock_.MonotonicUs();
  EXPECT_EQ(s->next_poll_us(), started_us + FileSource::kSettledRescanUs);  // the scan of Start()
  clock_.Advance(10);
  EXPECT_TRUE(s->Poll(100));
  EXPECT_EQ(s->next_poll_us(), clock_.MonotonicUs());
  clock_.Advance(10);
  EXPECT_EQ(s->next_poll_us(), clock_.MonotonicUs());  // still now
  const int64_t scan_us = started_us + 10;             // the first Poll scanned
  EXPECT_TRUE(s->Poll(100));
  EXPECT_FALSE(s->Poll(100));  // the last lines, then a new scan
  EXPECT_GT(clock_.MonotonicUs(), scan_us);
  // Lines were handed on: the next batch is read kBatchUs later, whatever inotify says.
  EXPECT_TRUE(s->hold_fd());
  EXPECT_EQ(s->next_poll_us(), clock_.MonotonicUs() + FileSource::kBatchUs);
  clock_.Advance(FileSource::kBatchUs);
  EXPECT_FALSE(s->Poll(100));  // nothing new: inotify wakes it again
  EXPECT_FALSE(s->hold_fd());
  // inotify watches the folder and no file waits for a timer: the scan is a slow fallback.
  EXPECT_TRUE(s->follower().settled());
  EXPECT_EQ(s->next_poll_us(), s->follower().last_scan_us() + FileSource::kSettledRescanUs);
  EXPECT_GT(s->next_poll_us(), clock_.MonotonicUs());
}

// Issue 14 (idle): a rotated file is closed after rotate_wait, which only a
// timer can tell: scans stay at one a second until it is closed.
TEST_F(FileSourceTest, ScansEverySecondWhileARotatedFileWaitsToBeClosed) {
  Append(dir_ / "a.log", NumberedLines(3));
  auto s = Started();
  EXPECT_FALSE(s->Poll(100));
  ASSERT_TRUE(s->follower().settled());
  std::filesystem::rename(dir_ / "a.log", dir_ / "a.old");  // out of the globs
  clock_.Advance(10);
  EXPECT_FALSE(s->Poll(100));
  EXPECT_FALSE(s->follower().settled());
  EXPECT_EQ(s->next_poll_us(), s->follower().last_scan_us() + FileSource::kRescanUs);
  for (int i = 0; i < 7 && s->file_count() > 0; ++i) {  // rotate_wait is 5 s
    clock_.Advance(FileSource::kRescanUs);
    s->Poll(100);
  }
  EXPECT_EQ(s->file_count(), 0u);
  EXPECT_TRUE(s->follower().settled());
  EXPECT_EQ(s->next_poll_us(), s->follower().last_scan_us() + FileSource::kSettledRescanUs);
}

TEST_F(FileSourceTest, PollDrainsTheInotifyEventsThatWokeIt) {
  auto s = Started();
  ASSERT_GE(s->fd(), 0);
  EXPECT_FALSE(s->Poll(100));
  Append(dir_ / "new.log", NumberedLines(3));
  struct pollfd p = {s->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_FALSE(s->Poll(100));
  EXPECT_EQ(receiver_.records(), 3u);
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

TEST_F(FileSourceTest, SavedPositionsBetweenSlicesResumeWithoutLossOrRepeat) {
  Append(dir_ / "a.log", NumberedLines(1000));
  auto s = Started();
  EXPECT_TRUE(s->Poll(250));
  SourcePositions positions;
  positions.mqtt = MqttPosition{7, 42};
  s->SavePosition(&positions);
  ASSERT_EQ(positions.files.size(), 1u);
  EXPECT_EQ(positions.files[0].offset, NumberedLines(250).size());
  EXPECT_EQ(positions.mqtt.generation, 7u);  // left alone
  EXPECT_EQ(positions.mqtt.offset, 42u);
  s.reset();
  auto t = Started(positions.files);
  while (t->Poll(100)) {
  }
  ASSERT_EQ(receiver_.records(), 1000u);
  for (size_t i = 0; i < receiver_.events.size(); ++i) {
    EXPECT_EQ(receiver_.events[i].text, "{\"n\": " + std::to_string(i) + "}");
  }
}

TEST_F(FileSourceTest, MetricsHaveTheSevenFileFamilies) {
  Append(dir_ / "a.log", "{\"v\": 1}\n");
  auto s = Started();
  s->Poll(100);
  std::string out;
  s->AppendMetrics(&out);
  EXPECT_NE(out.find("# HELP sensorgate_files_followed Files followed now.\n"
                     "# TYPE sensorgate_files_followed gauge\n"
                     "sensorgate_files_followed 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("# TYPE sensorgate_file_bytes_read_total counter\n"
                     "sensorgate_file_bytes_read_total 9\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("# HELP sensorgate_file_bytes_read_total Bytes read from sensor files.\n"),
            std::string::npos);
  EXPECT_NE(out.find("# HELP sensorgate_file_rotations_total File rotations (renames) seen.\n"
                     "# TYPE sensorgate_file_rotations_total counter\n"),
            std::string::npos);
  EXPECT_NE(out.find("# HELP sensorgate_file_truncations_total File truncations seen.\n"
                     "# TYPE sensorgate_file_truncations_total counter\n"),
            std::string::npos);
  EXPECT_NE(out.find("# HELP sensorgate_file_recovered_lines_total Lines read from a copytruncate "
                     "copy that a plain tail would have lost.\n"
                     "# TYPE sensorgate_file_recovered_lines_total counter\n"),
            std::string::npos);
  EXPECT_NE(out.find("# TYPE sensorgate_files_unfollowed gauge\nsensorgate_files_unfollowed 0\n"),
            std::string::npos);
  EXPECT_NE(out.find("# TYPE sensorgate_file_open_budget gauge\nsensorgate_file_open_budget " +
                     std::to_string(FileSource::OpenFileBudget()) + "\n"),
            std::string::npos);
  size_t families = 0;
  for (size_t at = out.find("# TYPE "); at != std::string::npos; at = out.find("# TYPE ", at + 1)) {
    ++families;
  }
  EXPECT_EQ(families, 7u);
}

TEST_F(FileSourceTest, LinkSaysHowManyFilesAndTheBacklog) {
  Append(dir_ / "a.log", NumberedLines(100));
  Append(dir_ / "b.log", "{}\n");
  auto s = Started();
  LinkState link = s->Link();
  EXPECT_EQ(link.name, "file");
  EXPECT_TRUE(link.up);
  EXPECT_EQ(link.state, "following 2 files");
  EXPECT_EQ(link.backlog, NumberedLines(100).size() + 3);
  EXPECT_EQ(link.backlog_unit, "bytes");
  EXPECT_EQ(s->file_count(), 2u);
  EXPECT_TRUE(s->Poll(10));
  EXPECT_EQ(s->Link().state, "following 2 files, catching up");
  while (s->Poll(10)) {
  }
  EXPECT_EQ(s->Link().backlog, 0u);
  EXPECT_EQ(s->follower().stats().lines, 101u);
}

}  // namespace
}  // namespace sensorgate
