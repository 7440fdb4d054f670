#include "gateway/sources/file/line_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gateway/parse/record_parser.h"

namespace sensorgate {
namespace {

// A temporary file holding `content`, open for reading.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char path[] = "/tmp/sensorgate_lr_XXXXXX";
    fd_ = mkstemp(path);
    path_ = path;
    Append(content);
    lseek(fd_, 0, SEEK_SET);
  }
  ~TempFile() {
    close(fd_);
    unlink(path_.c_str());
  }
  void Append(const std::string& s) {
    const off_t pos = lseek(fd_, 0, SEEK_CUR);
    lseek(fd_, 0, SEEK_END);
    ASSERT_EQ(write(fd_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    lseek(fd_, pos, SEEK_SET);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::string path_;
};

std::vector<std::string> All(LineReader& r, bool final_partial, int* too_long) {
  std::vector<std::string> out;
  std::string_view line;
  while (true) {
    const auto res = r.Next(&line, final_partial);
    if (res == LineReader::Result::kLine) out.emplace_back(line);
    else if (res == LineReader::Result::kTooLong) ++*too_long;
    else break;
  }
  return out;
}

TEST(LineReader, SplitsLinesStripsCarriageReturnsAndKeepsEmptyLines) {
  TempFile f("a\r\nbb\n\nccc\r\n");
  LineReader r(f.fd(), 100, 16);
  int too_long = 0;
  EXPECT_EQ(All(r, true, &too_long), (std::vector<std::string>{"a", "bb", "", "ccc"}));
  EXPECT_EQ(too_long, 0);
  EXPECT_EQ(r.consumed(), 12u);
}

TEST(LineReader, ReturnsTheLastLineWithoutNewlineOnlyWhenFinal) {
  TempFile f("one\ntw");
  LineReader r(f.fd(), 100, 16);
  int too_long = 0;
  EXPECT_EQ(All(r, false, &too_long), (std::vector<std::string>{"one"}));
  EXPECT_EQ(r.consumed(), 4u);
  f.Append("o\nthree");
  EXPECT_EQ(All(r, false, &too_long), (std::vector<std::string>{"two"}));
  EXPECT_EQ(All(r, true, &too_long), (std::vector<std::string>{"three"}));
  EXPECT_EQ(r.consumed(), 13u);
}

TEST(LineReader, SkipsOverlongLinesWithoutBufferingThem) {
  std::string content = "ok1\n" + std::string(1000, 'x') + "\nok2\n" + std::string(11, 'y') + "\n" +
                        std::string(10, 'z') + "\r\n" + std::string(500, 'w');
  TempFile f(content);
  LineReader r(f.fd(), 10, 32);  // buffer far smaller than the long line
  int too_long = 0;
  EXPECT_EQ(All(r, true, &too_long), (std::vector<std::string>{"ok1", "ok2", std::string(10, 'z')}));
  EXPECT_EQ(too_long, 3);
  EXPECT_EQ(r.consumed(), content.size());
}

TEST(LineReader, HandlesManyLinesAcrossBufferRefills) {
  std::string content;
  std::vector<std::string> want;
  for (int i = 0; i < 5000; ++i) {
    want.push_back(std::string(static_cast<size_t>(i % 37), 'a' + i % 26));
    content += want.back() + "\n";
  }
  TempFile f(content);
  LineReader r(f.fd(), 64, 100);
  int too_long = 0;
  EXPECT_EQ(All(r, true, &too_long), want);
}

// A mapped file gives what reading it gives: the same lines, too-long
// lines and bytes consumed, for files of random lines (empty, CRLF, too
// long, the last one without a newline, some ending within the padding of
// the end), and every line has kRecordPadding readable bytes after it.
TEST(LineReader, AMappedFileGivesWhatReadingItGives) {
  std::mt19937_64 rng(20261201);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (int round = 0; round < 300; ++round) {
    // Small files, and files of many windows of two pages (lines across
    // their ends, lines longer than a window).
    const bool big = round % 3 == 0;
    std::string content;
    const int lines = static_cast<int>(rng() % (big ? 3000 : 40));
    for (int i = 0; i < lines; ++i) {
      const size_t n = big && rng() % 200 == 0 ? rng() % (5 * page)
                       : rng() % 8 == 0        ? 20 + rng() % 30
                                               : rng() % 20;
      for (size_t k = 0; k < n; ++k) content += static_cast<char>('a' + rng() % 26);
      if (rng() % 4 == 0) content += '\r';
      if (i + 1 < lines || rng() % 2 == 0) content += '\n';
    }
    TempFile f(content);
    LineReader read_it(f.fd(), 24, 64);
    int too_long_read = 0;
    const std::vector<std::string> want = All(read_it, true, &too_long_read);
    lseek(f.fd(), 0, SEEK_SET);
    LineReader mapped(f.fd(), 24, 64);
    ASSERT_EQ(mapped.Map(2 * page), !content.empty());
    int too_long_mapped = 0;
    std::vector<std::string> got;
    std::string_view line;
    while (true) {
      const auto res = mapped.Next(&line, true);
      if (res == LineReader::Result::kTooLong) {
        ++too_long_mapped;
        continue;
      }
      if (res != LineReader::Result::kLine) break;
      got.emplace_back(line);
      // The padding is readable (ASan and valgrind would see it otherwise).
      volatile char last = line.data()[line.size() + kRecordPadding - 1];
      (void)last;
    }
    ASSERT_EQ(got, want) << round;
    ASSERT_EQ(too_long_mapped, too_long_read) << round;
    ASSERT_EQ(mapped.consumed(), read_it.consumed()) << round;
  }
}

// Only a regular file from its beginning is mapped.
TEST(LineReader, MapsOnlyARegularFileFromItsStart) {
  TempFile f("a\nb\n");
  {
    LineReader r(f.fd(), 10);
    std::string_view line;
    ASSERT_EQ(r.Next(&line, true), LineReader::Result::kLine);
    EXPECT_FALSE(r.Map());  // already reading
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  LineReader p(fds[0], 10);
  EXPECT_FALSE(p.Map());
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace sensorgate
