// The checkpoint (gateway/daemon/checkpoint.h): a CRC-32C over the file,
// the previous generation kept beside it, and restore under the rules of a
// reading, so a damaged or hostile file cannot put impossible values into
// the windows.
#include "gateway/daemon/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/base/crc32c.h"

#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using testing_util::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAllText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

void Feed(Pipeline* p, const std::string& key, double v, int second) {
  char rec[200];
  std::snprintf(rec, sizeof rec,
                "{\"sensor\":\"%s\",\"data_evento\":\"2023-03-15T12:00:%02d.000000Z\","
                "\"padrao\":{\"leitura\":{\"temperatura\":%g}}}",
                key.c_str(), second, v);
  std::string buf = rec;
  const size_t len = buf.size();
  buf.append(kRecordPadding, ' ');
  p->ProcessRecord(buf.data(), len, 0, RecordOrigin{"t", 1});
}

TEST(Crc32c, MatchesTheCastagnoliCheckValue) {
  EXPECT_EQ(Crc32c(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(Crc32c(0, "1234"), "56789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(0, ""), 0u);
}

TEST(Checkpoint, RoundTripsAndKeepsThePreviousGeneration) {
  TempDir dir;
  const std::string path = dir.File("checkpoint.json");
  const Config c = DefaultConfig();
  Pipeline p(c, RecordFormat::kJson, nullptr);
  Feed(&p, "a", 20.5, 1);
  ASSERT_TRUE(WriteCheckpoint(path, p, {}, CheckpointMeta{}).ok());
  const std::string first = ReadAll(path);
  Feed(&p, "b", 30, 2);
  ASSERT_TRUE(WriteCheckpoint(path, p, {}, CheckpointMeta{}).ok());
  EXPECT_EQ(ReadAll(PreviousCheckpointPath(path)), first);
  Pipeline q(c, RecordFormat::kJson, nullptr);
  std::vector<FilePosition> files;
  CheckpointMeta meta;
  bool found = false;
  ASSERT_TRUE(ReadCheckpoint(path, c.reading, &q, &files, &meta, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(q.windows().key_count(), 2u);
  EXPECT_EQ(meta.skipped_keys, 0u);
}

// A flipped bit that still reads as JSON (a digit of a value) is caught by
// the CRC; before the CRC such a checkpoint was restored with the wrong value.
TEST(Checkpoint, AFlippedBitIsRefusedByTheCrc) {
  TempDir dir;
  const std::string path = dir.File("checkpoint.json");
  const Config c = DefaultConfig();
  Pipeline p(c, RecordFormat::kJson, nullptr);
  Feed(&p, "a", 20.5, 1);
  ASSERT_TRUE(WriteCheckpoint(path, p, {}, CheckpointMeta{}).ok());
  std::string text = ReadAll(path);
  const size_t at = text.find("20.5");
  ASSERT_NE(at, std::string::npos);
  text[at + 1] ^= 0x01;  // "20.5" -> "21.5"
  WriteAllText(path, text);
  Pipeline q(c, RecordFormat::kJson, nullptr);
  std::vector<FilePosition> files;
  CheckpointMeta meta;
  bool found = false;
  const Status s = ReadCheckpoint(path, c.reading, &q, &files, &meta, &found);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("CRC-32C mismatch"), std::string::npos) << s.message();
  for (const std::string& damaged : {std::string(), text.substr(0, text.size() / 2)}) {
    WriteAllText(path, damaged);
    Pipeline r(c, RecordFormat::kJson, nullptr);
    EXPECT_FALSE(ReadCheckpoint(path, c.reading, &r, &files, &meta, &found).ok()) << damaged.size();
  }
}

// Values, times and keys that no reading could have brought are not restored
// (before: a sum that overflowed printed "avg":-nan, a total of 2^64-1 printed
// -1, a key with a control character came back, an extreme `since` kept an
// alert from ever firing).
TEST(Checkpoint, RestoresOnlyWhatAReadingCouldHaveBrought) {
  TempDir dir;
  const std::string path = dir.File("checkpoint.json");
  const std::string ok = "\"total\":1,\"time\":1678881600000000,\"hot\":\"ok\",\"since\":0,\"stale\":false,\"seen\":0}\n";
  std::string text = "{\"sensorgate_checkpoint\":1,\"seq\":0}\n";
  text += "{\"key\":\"good\",\"values\":[20.5]," + ok;
  text += "{\"key\":\"huge\",\"values\":[1e308,1e308]," + ok;                        // outside [min, max]
  text += "{\"key\":\"ctl\\u0001\",\"values\":[1]," + ok;                            // control character
  text += "{\"key\":\"" + std::string(200, 'k') + "\",\"values\":[1]," + ok;          // key over 128 bytes
  text += "{\"key\":\"total\",\"values\":[1],\"total\":18446744073709551615,\"time\":0,\"hot\":\"ok\","
          "\"since\":0,\"stale\":false,\"seen\":0}\n";
  text += "{\"key\":\"time\",\"values\":[1],\"total\":1,\"time\":-5,\"hot\":\"ok\",\"since\":0,\"stale\":false,"
          "\"seen\":0}\n";
  text += "{\"key\":\"since\",\"values\":[1],\"total\":1,\"time\":0,\"hot\":\"pending\","
          "\"since\":-9000000000000000000,\"stale\":false,\"seen\":0}\n";
  text += "{\"end\":true,\"files\":0,\"keys\":7}\n";
  WriteAllText(path, text);
  const Config c = DefaultConfig();
  Pipeline p(c, RecordFormat::kJson, nullptr);
  std::vector<FilePosition> files;
  CheckpointMeta meta;
  bool found = false;
  const Status s = ReadCheckpoint(path, c.reading, &p, &files, &meta, &found);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(found);
  EXPECT_EQ(meta.skipped_keys, 6u);
  ASSERT_EQ(p.windows().key_count(), 1u);
  EXPECT_EQ(p.windows().key(0), "good");
  EXPECT_EQ(p.windows().average(0), 20.5);
}

}  // namespace
}  // namespace sensorgate
