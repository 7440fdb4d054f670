// KafkaSpool: framing, CRC, fsync gating, acknowledgement and segment
// removal, rewind after failures, the spool_max bound with exact drop counts,
// torn and corrupt segments, reopening with seq kept.
#if SENSORGATE_WITH_KAFKA
#include "gateway/sinks/kafka/kafka_spool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gateway/base/crc32c.h"
#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using testing_util::TempDir;

SpoolOptions Options(const TempDir& dir, uint64_t max_bytes = 64 << 20, uint64_t segment_bytes = 0) {
  return SpoolOptions{dir / "spool", max_bytes, segment_bytes};
}

void AppendN(KafkaSpool* spool, int n, const std::string& value = "{\"v\":1}") {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(spool->Append(1000 + i, "t", "key" + std::to_string(i), value).ok());
  }
}

// Takes every record Peek() offers, in order, marking them in flight.
std::vector<std::pair<SpoolRecord, RecordRef>> TakeAll(KafkaSpool* spool) {
  std::vector<std::pair<SpoolRecord, RecordRef>> out;
  SpoolRecord rec;
  RecordRef ref;
  while (spool->Peek(&rec, &ref)) {
    spool->Advance();
    out.emplace_back(rec, ref);
  }
  return out;
}

std::vector<std::string> Segments(const TempDir& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir / "spool")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("seg-", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(KafkaSpool, FrameIsLengthCrcAndPayload) {
  const std::string f = KafkaSpool::EncodeFrame(7, 1234, "topic", "key", "value");
  ASSERT_EQ(f.size(), 8u + 20 + 5 + 3 + 5);
  const uint32_t len = static_cast<uint8_t>(f[0]) | static_cast<uint8_t>(f[1]) << 8 |
                       static_cast<uint8_t>(f[2]) << 16 | static_cast<uint32_t>(static_cast<uint8_t>(f[3])) << 24;
  EXPECT_EQ(len, 33u);
  uint32_t crc = 0;
  for (int i = 3; i >= 0; --i) crc = (crc << 8) | static_cast<uint8_t>(f[4 + i]);
  EXPECT_EQ(crc, Crc32c(Crc32c(0, f.substr(0, 4)), f.substr(8)));
  EXPECT_EQ(f.substr(f.size() - 13), "topickeyvalue");
}

TEST(KafkaSpool, OffersRecordsOnlyAfterSyncInSeqOrder) {
  TempDir dir;
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_EQ(spool.next_seq(), 1u);
  AppendN(&spool, 3);
  SpoolRecord rec;
  RecordRef ref;
  EXPECT_TRUE(spool.dirty());
  EXPECT_FALSE(spool.Peek(&rec, &ref));  // not fsynced yet
  ASSERT_TRUE(spool.Sync().ok());
  EXPECT_FALSE(spool.dirty());
  const auto all = TakeAll(&spool);
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].first.seq, i + 1);
    EXPECT_EQ(all[i].first.topic, "t");
    EXPECT_EQ(all[i].first.key, "key" + std::to_string(i));
    EXPECT_EQ(all[i].first.value, "{\"v\":1}");
    EXPECT_EQ(all[i].first.timestamp_ms, static_cast<int64_t>(1000 + i));
  }
  EXPECT_EQ(spool.in_flight(), 3u);
  EXPECT_EQ(spool.records(), 3u);
}

TEST(KafkaSpool, RemovesASegmentWhenEveryRecordIsAcknowledged) {
  TempDir dir;
  KafkaSpool spool(Options(dir, 1 << 20, 100));
  ASSERT_TRUE(spool.Open().ok());
  AppendN(&spool, 10);  // 40 bytes each: 3 records a segment
  ASSERT_TRUE(spool.Sync().ok());
  const size_t segments = Segments(dir).size();
  ASSERT_GT(segments, 2u);
  const auto all = TakeAll(&spool);
  ASSERT_EQ(all.size(), 10u);
  spool.Ack(all[1].second);  // not the first: its segment stays
  EXPECT_EQ(Segments(dir).size(), segments);
  spool.Ack(all[0].second);
  spool.Ack(all[2].second);
  EXPECT_EQ(Segments(dir).size(), segments - 1);
  for (const auto& r : all) spool.Ack(r.second);
  EXPECT_EQ(spool.records(), 0u);
  EXPECT_EQ(spool.in_flight(), 0u);
  EXPECT_EQ(spool.bytes(), 0u);
  EXPECT_TRUE(Segments(dir).empty());
  EXPECT_EQ(spool.dropped(), 0u);
}

TEST(KafkaSpool, RewindOffersFailedRecordsAgainInOrder) {
  TempDir dir;
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  AppendN(&spool, 5);
  ASSERT_TRUE(spool.Sync().ok());
  auto all = TakeAll(&spool);
  spool.Ack(all[0].second);
  spool.Nack(all[1].second);
  spool.Ack(all[2].second);
  spool.Nack(all[3].second);
  spool.Ack(all[4].second);
  SpoolRecord rec;
  RecordRef ref;
  EXPECT_FALSE(spool.Peek(&rec, &ref));
  spool.Rewind();
  all = TakeAll(&spool);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first.seq, 2u);
  EXPECT_EQ(all[1].first.seq, 4u);
}

TEST(KafkaSpool, ReopenOffersUnacknowledgedRecordsAndKeepsSeq) {
  TempDir dir;
  {
    KafkaSpool spool(Options(dir));
    ASSERT_TRUE(spool.Open().ok());
    AppendN(&spool, 4);
    ASSERT_TRUE(spool.Sync().ok());
    auto all = TakeAll(&spool);
    spool.Ack(all[0].second);  // the acknowledgement is not on disk: sent again
  }
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_EQ(spool.next_seq(), 5u);
  EXPECT_EQ(spool.records(), 4u);
  const auto all = TakeAll(&spool);
  ASSERT_EQ(all.size(), 4u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].first.seq, i + 1);
  EXPECT_EQ(spool.corrupt(), 0u);
}

TEST(KafkaSpool, SeqSurvivesAnEmptiedSpool) {
  TempDir dir;
  {
    KafkaSpool spool(Options(dir));
    ASSERT_TRUE(spool.Open().ok());
    AppendN(&spool, 3);
    ASSERT_TRUE(spool.Sync().ok());
    for (const auto& r : TakeAll(&spool)) spool.Ack(r.second);
    EXPECT_TRUE(Segments(dir).empty());
  }
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_EQ(spool.next_seq(), 4u);
  EXPECT_EQ(spool.records(), 0u);
}

TEST(KafkaSpool, DropsOldestSegmentsWhenFullAndCountsExactly) {
  TempDir dir;
  const std::string value(100, 'x');
  KafkaSpool spool(Options(dir, 2000, 300));
  ASSERT_TRUE(spool.Open().ok());
  AppendN(&spool, 100, value);
  ASSERT_TRUE(spool.Sync().ok());
  EXPECT_LE(spool.bytes(), 2000u);
  EXPECT_GT(spool.dropped(), 0u);
  EXPECT_EQ(spool.dropped() + spool.records(), 100u);
  const auto all = TakeAll(&spool);
  ASSERT_EQ(all.size(), spool.records());
  // The newest survive, gap-free.
  EXPECT_EQ(all.front().first.seq, spool.dropped() + 1);
  EXPECT_EQ(all.back().first.seq, 100u);
}

TEST(KafkaSpool, RecordsInFlightWhenTheirSegmentIsDroppedCountOnlyIfTheyFail) {
  TempDir dir;
  const std::string value(100, 'x');
  KafkaSpool spool(Options(dir, 2000, 300));
  ASSERT_TRUE(spool.Open().ok());
  AppendN(&spool, 4, value);
  ASSERT_TRUE(spool.Sync().ok());
  const auto first = TakeAll(&spool);  // 4 records in flight, ~2 segments
  ASSERT_EQ(first.size(), 4u);
  AppendN(&spool, 30, value);  // pushes them out
  EXPECT_EQ(spool.dropped() + spool.records() + 4, 34u);
  const uint64_t dropped = spool.dropped();
  spool.Ack(first[0].second);  // delivered after all: not lost
  spool.Ack(first[1].second);
  spool.Nack(first[2].second);  // lost now
  spool.Nack(first[3].second);
  EXPECT_EQ(spool.dropped(), dropped + 2);
  EXPECT_EQ(spool.in_flight(), 0u);
}

TEST(KafkaSpool, TornTailIsCountedAndSkipped) {
  TempDir dir;
  {
    KafkaSpool spool(Options(dir));
    ASSERT_TRUE(spool.Open().ok());
    AppendN(&spool, 5);
    ASSERT_TRUE(spool.Sync().ok());
  }
  const auto segs = Segments(dir);
  ASSERT_EQ(segs.size(), 1u);
  const auto size = std::filesystem::file_size(segs[0]);
  ASSERT_EQ(::truncate(segs[0].c_str(), static_cast<off_t>(size - 5)), 0);
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_EQ(spool.corrupt(), 1u);
  EXPECT_GT(spool.corrupt_bytes(), 0u);
  EXPECT_EQ(spool.records(), 4u);
  EXPECT_EQ(spool.next_seq(), 5u);  // seq 5 never reached the producer: given again
  const auto all = TakeAll(&spool);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.back().first.seq, 4u);
  // Appending goes on in a new segment.
  ASSERT_TRUE(spool.Append(1, "t", "k", "v").ok());
  ASSERT_TRUE(spool.Sync().ok());
  EXPECT_EQ(TakeAll(&spool).size(), 1u);
}

TEST(KafkaSpool, FlippedByteSkipsOnlyTheDamagedRecord) {
  TempDir dir;
  {
    KafkaSpool spool(Options(dir));
    ASSERT_TRUE(spool.Open().ok());
    AppendN(&spool, 5);
    ASSERT_TRUE(spool.Sync().ok());
  }
  const auto segs = Segments(dir);
  ASSERT_EQ(segs.size(), 1u);
  const size_t frame = KafkaSpool::EncodeFrame(1, 1000, "t", "key0", "{\"v\":1}").size();
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(frame + frame / 2));  // inside the second record
    f.put('\xff');
  }
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_EQ(spool.corrupt(), 1u);
  EXPECT_EQ(spool.corrupt_bytes(), frame);
  EXPECT_EQ(spool.records(), 4u);
  const auto all = TakeAll(&spool);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].first.seq, 1u);
  EXPECT_EQ(all[1].first.seq, 3u);
  EXPECT_EQ(all[3].first.seq, 5u);
}

TEST(KafkaSpool, SegmentWithoutAValidRecordIsRemoved) {
  TempDir dir;
  ::mkdir((dir / "spool").c_str(), 0750);
  std::ofstream(dir / "spool/seg-00000000000000000001.log", std::ios::binary) << std::string(100, '\x5a');
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_EQ(spool.corrupt(), 1u);
  EXPECT_EQ(spool.corrupt_bytes(), 100u);
  EXPECT_EQ(spool.records(), 0u);
  EXPECT_TRUE(Segments(dir).empty());
}

TEST(KafkaSpool, RejectsARecordLargerThanAFrame) {
  TempDir dir;
  KafkaSpool spool(Options(dir));
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_FALSE(spool.Append(0, "t", "k", std::string(KafkaSpool::kMaxPayload, 'x')).ok());
  EXPECT_EQ(spool.next_seq(), 1u);
}

}  // namespace
}  // namespace sensorgate
#endif  // SENSORGATE_WITH_KAFKA
