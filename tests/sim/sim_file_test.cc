// File output as a real log behaves: rotation by size and by lines (rename or
// copytruncate), keeping K rotated files, and periodic rewriting. Every test
// compares what ended up on disk with what an unrotated run of the same seed
// wrote, so no line may be lost, duplicated or torn.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <string>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// FILE.n (oldest) ... FILE.1, FILE concatenated; sets *rotated to n.
std::string Concatenated(const std::string& file, int* rotated) {
  int n = 0;
  while (FileExists(file + "." + std::to_string(n + 1))) ++n;
  *rotated = n;
  std::string all;
  for (int i = n; i >= 1; --i) all += ReadFile(file + "." + std::to_string(i));
  return all + ReadFile(file);
}

std::vector<std::string> Base(const std::string& count) {
  return {"--count", count, "--seed", "17", "--start-time", kStart, "--bad", "0.01"};
}

std::string Unrotated(const std::string& count) {
  const ProcessResult r = RunSim(Base(count));
  EXPECT_EQ(r.exit_code, 0);
  return r.out;
}

void ExpectUniqueGoodReadings(const std::string& text, size_t expected) {
  std::set<std::pair<std::string, int64_t>> seen;
  for (const std::string& line : Lines(text)) {
    const CheckedRecord r = CheckRecord(line);
    if (!r.ok) continue;
    EXPECT_TRUE(seen.insert({r.key, r.micros}).second) << "duplicate " << line;
  }
  EXPECT_EQ(seen.size(), expected);
}

TEST(SimRotation, BySizeKeepsEveryLineExactlyOnce) {
  TempDir dir;
  const std::string file = dir.File("sensors.log");
  std::vector<std::string> args = Base("20000");
  args.insert(args.end(), {"-o", file, "--rotate-size", "500KiB", "--rotate-keep", "100"});
  const ProcessResult r = RunSim(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int rotated = 0;
  const std::string all = Concatenated(file, &rotated);
  EXPECT_EQ(all, Unrotated("20000"));
  ExpectUniqueGoodReadings(all, 20000);
  ASSERT_GE(rotated, 5);
  // Each file holds whole lines and stays within the size (the --bad lines
  // over 64 KiB included); rotated files are nearly full.
  for (int i = 1; i <= rotated; ++i) {
    const std::string part = ReadFile(file + "." + std::to_string(i));
    EXPECT_LE(part.size(), 500u * 1024) << i;
    EXPECT_GT(part.size(), 500u * 1024 - 80 * 1024) << i;
    EXPECT_EQ(part.back(), '\n') << i;
  }
  EXPECT_LE(ReadFile(file).size(), 500u * 1024);
}

TEST(SimRotation, ByLinesKeepsEveryLineExactlyOnce) {
  TempDir dir;
  const std::string file = dir.File("sensors.log");
  std::vector<std::string> args = Base("10000");
  args.insert(args.end(), {"-o", file, "--rotate-lines", "1000", "--rotate-keep", "50"});
  ASSERT_EQ(RunSim(args).exit_code, 0);
  int rotated = 0;
  const std::string all = Concatenated(file, &rotated);
  const std::string expected = Unrotated("10000");
  EXPECT_EQ(all, expected);
  const size_t total = Lines(expected).size();
  EXPECT_EQ(rotated, static_cast<int>((total - 1) / 1000));
  for (int i = 1; i <= rotated; ++i) {
    EXPECT_EQ(Lines(ReadFile(file + "." + std::to_string(i))).size(), 1000u) << i;
  }
  EXPECT_EQ(Lines(ReadFile(file)).size(), total - 1000 * static_cast<size_t>(rotated));
}

TEST(SimRotation, KeepsOnlyTheNewestKFiles) {
  TempDir dir;
  const std::string file = dir.File("sensors.log");
  std::vector<std::string> args = Base("10000");
  args.insert(args.end(), {"-o", file, "--rotate-lines", "1000", "--rotate-keep", "3"});
  ASSERT_EQ(RunSim(args).exit_code, 0);
  EXPECT_TRUE(FileExists(file + ".3"));
  EXPECT_FALSE(FileExists(file + ".4"));
  int rotated = 0;
  const std::string kept = Concatenated(file, &rotated);
  EXPECT_EQ(rotated, 3);
  const std::string all = Unrotated("10000");
  ASSERT_LT(kept.size(), all.size());
  EXPECT_EQ(all.substr(all.size() - kept.size()), kept);  // the newest lines, in order
}

TEST(SimRotation, RenameMakesANewFileAndCopytruncateKeepsTheInode) {
  TempDir dir;
  const std::string renamed = dir.File("renamed.log");
  const std::string copied = dir.File("copied.log");
  WriteFile(renamed, "");
  WriteFile(copied, "");
  const ino_t renamed_inode = Inode(renamed);
  const ino_t copied_inode = Inode(copied);
  std::vector<std::string> a = Base("5000");
  a.insert(a.end(), {"-o", renamed, "--rotate-lines", "1000"});
  std::vector<std::string> b = Base("5000");
  b.insert(b.end(), {"-o", copied, "--rotate-lines", "1000", "--copytruncate"});
  ASSERT_EQ(RunSim(a).exit_code, 0);
  ASSERT_EQ(RunSim(b).exit_code, 0);
  EXPECT_NE(Inode(renamed), renamed_inode);
  EXPECT_EQ(Inode(renamed + ".5"), renamed_inode);  // the original file, now the oldest
  EXPECT_EQ(Inode(copied), copied_inode);
  int rotated_a = 0;
  int rotated_b = 0;
  const std::string expected = Unrotated("5000");
  const std::string all_a = Concatenated(renamed, &rotated_a);
  const std::string all_b = Concatenated(copied, &rotated_b);
  EXPECT_EQ(rotated_a, rotated_b);
  EXPECT_EQ(all_a, all_b);
  EXPECT_EQ(expected.substr(expected.size() - all_b.size()), all_b);
}

TEST(SimRotation, CountsTheLinesAlreadyInTheFile) {
  TempDir dir;
  const std::string file = dir.File("sensors.log");
  std::vector<std::string> first = {"--count", "600", "--start-time", kStart, "-o", file};
  ASSERT_EQ(RunSim(first).exit_code, 0);
  std::vector<std::string> second = {"--count",        "700",  "--seed", "2",
                                     "--start-time",   kStart, "-o",     file,
                                     "--rotate-lines", "1000"};
  ASSERT_EQ(RunSim(second).exit_code, 0);
  EXPECT_EQ(Lines(ReadFile(file + ".1")).size(), 1000u);
  EXPECT_EQ(Lines(ReadFile(file)).size(), 300u);
}

TEST(SimRewrite, TruncatesTheFileEveryNCycles) {
  TempDir dir;
  const std::string file = dir.File("sensors.log");
  WriteFile(file, "old content\n");
  const ino_t inode = Inode(file);
  // 10 equipment, 10 cycles of 100 ms, rewritten at cycles 3, 6 and 9:
  // the file ends with cycle 9 only.
  ASSERT_EQ(RunSim({"--equipment", "10", "--count", "100", "--start-time", kStart,
                    "--rewrite-every", "3", "-o", file})
                .exit_code,
            0);
  EXPECT_EQ(Inode(file), inode);
  const std::vector<std::string> lines = Lines(ReadFile(file));
  ASSERT_EQ(lines.size(), 10u);
  std::set<std::string> keys;
  for (const std::string& line : lines) {
    const CheckedRecord r = CheckRecord(line);
    ASSERT_TRUE(r.ok) << line;
    keys.insert(r.key);
    EXPECT_GE(r.micros, kStartMicros + 900000);
    EXPECT_LT(r.micros, kStartMicros + 1000000);
  }
  EXPECT_EQ(keys.size(), 10u);
}

TEST(SimRewrite, KeepsTheCyclesSinceTheLastRewrite) {
  TempDir dir;
  const std::string file = dir.File("sensors.log");
  // 7 cycles and a half, rewritten every 2: cycles 6, 7 (half) remain.
  ASSERT_EQ(RunSim({"--equipment", "10", "--count", "75", "--start-time", kStart, "--rewrite-every",
                    "2", "-o", file})
                .exit_code,
            0);
  const std::vector<std::string> lines = Lines(ReadFile(file));
  ASSERT_EQ(lines.size(), 15u);
  for (const std::string& line : lines) {
    const CheckedRecord r = CheckRecord(line);
    ASSERT_TRUE(r.ok);
    EXPECT_GE(r.micros, kStartMicros + 600000);
  }
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
