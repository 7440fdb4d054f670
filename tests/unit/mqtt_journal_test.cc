// MqttJournal: order, restart from a checkpointed position, torn frames,
// rotation and removal, oversized payloads, a concurrent writer; and the
// pipeline's handling of MQTT messages (@topic.N keys, number payloads).
#include "gateway/sources/mqtt/mqtt_journal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/parse/record_parser.h"

#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using Dir = testing_util::TempDir;

struct Message {
  std::string topic;
  std::string payload;
  TimeMicros arrival;
  bool too_long;
  bool padded;  // kRecordPadding readable bytes follow the payload (checked by touching them)
};

class Collect : public MqttJournal::Reader {
 public:
  void OnJournaled(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us,
                   bool too_long) override {
    volatile char sink = 0;
    for (size_t i = 0; i < kRecordPadding; ++i) sink = static_cast<char>(sink ^ payload[len + i]);
    (void)sink;
    got.push_back({std::string(topic), std::string(payload, len), arrival_us, too_long, true});
  }
  std::vector<Message> got;
};

void ReadAll(MqttJournal* j, Collect* c) {
  while (j->Read(c, 7)) {
  }
}

TEST(MqttJournal, ReadsBackWhatWasAppendedInOrder) {
  Dir dir;
  MqttJournal j(dir.path());
  ASSERT_TRUE(j.Open({}).ok());
  for (int i = 0; i < 100; ++i) j.Append("plant/k" + std::to_string(i % 3), "{\"v\":" + std::to_string(i) + "}", i);
  Collect c;
  ReadAll(&j, &c);
  ASSERT_EQ(c.got.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(c.got[i].topic, "plant/k" + std::to_string(i % 3));
    EXPECT_EQ(c.got[i].payload, "{\"v\":" + std::to_string(i) + "}");
    EXPECT_EQ(c.got[i].arrival, i);
    EXPECT_FALSE(c.got[i].too_long);
  }
  EXPECT_EQ(j.backlog_bytes(), 0u);
  EXPECT_FALSE(j.Read(&c, 10));  // nothing more
}

TEST(MqttJournal, AfterACrashReadsAgainWhatFollowsTheCheckpointedPosition) {
  Dir dir;
  MqttPosition saved;
  {
    MqttJournal j(dir.path());
    ASSERT_TRUE(j.Open({}).ok());
    for (int i = 0; i < 10; ++i) j.Append("t", std::to_string(i), i);
    Collect c;
    j.Read(&c, 4);
    ASSERT_EQ(c.got.size(), 4u);
    saved = j.position();  // the checkpoint is taken here
    j.Read(&c, 100);       // processed, but no checkpoint after it: lost with the crash
    ASSERT_EQ(c.got.size(), 10u);
  }
  MqttJournal again(dir.path());
  ASSERT_TRUE(again.Open(saved).ok());
  again.Append("t", "new", 99);  // arrives after the restart
  Collect c;
  ReadAll(&again, &c);
  ASSERT_EQ(c.got.size(), 7u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c.got[i].payload, std::to_string(i + 4));
  EXPECT_EQ(c.got[6].payload, "new");
  EXPECT_EQ(again.stats().replayed, 6u);
  // A checkpoint past the old generation removes its file.
  EXPECT_EQ(dir.Count("mqtt-journal."), 2);
  again.Checkpointed(again.position());
  EXPECT_EQ(dir.Count("mqtt-journal."), 1);
}

TEST(MqttJournal, SkipsATornFrameAtTheEndOfAFile) {
  Dir dir;
  {
    MqttJournal j(dir.path());
    ASSERT_TRUE(j.Open({}).ok());
    for (int i = 0; i < 3; ++i) j.Append("t", "payload-" + std::to_string(i), i);
  }
  // A crash in the middle of the third write: its last bytes never landed.
  const std::string file = dir.path() + "/mqtt-journal.00000001";
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  ASSERT_EQ(truncate(file.c_str(), st.st_size - 3), 0);
  MqttJournal j(dir.path());
  ASSERT_TRUE(j.Open({}).ok());
  j.Append("t", "after", 10);
  Collect c;
  ReadAll(&j, &c);
  ASSERT_EQ(c.got.size(), 3u);
  EXPECT_EQ(c.got[0].payload, "payload-0");
  EXPECT_EQ(c.got[1].payload, "payload-1");
  EXPECT_EQ(c.got[2].payload, "after");
  EXPECT_EQ(j.stats().torn, 1u);
}

TEST(MqttJournal, RotatesAndRemovesGenerationsOnlyAfterACheckpointPassesThem) {
  Dir dir;
  MqttJournal j(dir.path());
  ASSERT_TRUE(j.Open({}).ok());
  const std::string big(60000, 'x');
  const int n = static_cast<int>(MqttJournal::kRotateBytes / big.size()) * 2 + 5;  // over two generations
  Collect c;
  for (int i = 0; i < n; ++i) {
    j.Append("t", std::to_string(i) + big, i);
    if (i % 50 == 0) j.Read(&c, 20);  // a reader that lags behind
  }
  EXPECT_EQ(dir.Count("mqtt-journal."), 3);
  ReadAll(&j, &c);
  ASSERT_EQ(c.got.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(c.got[i].payload, std::to_string(i) + big) << i;
  EXPECT_EQ(dir.Count("mqtt-journal."), 3);  // not before a checkpoint
  j.Checkpointed(j.position());
  EXPECT_EQ(dir.Count("mqtt-journal."), 1);
}

TEST(MqttJournal, KeepsOnlyTheFactOfAnOversizedPayload) {
  Dir dir;
  MqttJournal j(dir.path());
  ASSERT_TRUE(j.Open({}).ok());
  j.Append("t", std::string(kMaxRecordBytes + 1, 'y'), 1);
  j.Append("t", std::string(kMaxRecordBytes, 'z'), 2);
  Collect c;
  ReadAll(&j, &c);
  ASSERT_EQ(c.got.size(), 2u);
  EXPECT_TRUE(c.got[0].too_long);
  EXPECT_EQ(c.got[0].payload, "");
  EXPECT_FALSE(c.got[1].too_long);
  EXPECT_EQ(c.got[1].payload.size(), kMaxRecordBytes);
}

TEST(MqttJournal, AConcurrentWriterLosesNothingAndKeepsOrder) {
  Dir dir;
  MqttJournal j(dir.path());
  ASSERT_TRUE(j.Open({}).ok());
  constexpr int kN = 200000;
  std::thread writer([&] {
    for (int i = 0; i < kN; ++i) j.Append("plant/x", std::to_string(i), i);
  });
  Collect c;
  while (c.got.size() < static_cast<size_t>(kN)) {
    if (!j.Read(&c, 1000)) std::this_thread::yield();
  }
  writer.join();
  EXPECT_FALSE(j.Read(&c, 1000));
  ASSERT_EQ(c.got.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) ASSERT_EQ(c.got[i].payload, std::to_string(i)) << i;
}

TEST(MqttJournal, DropsARedeliveryOfAMessageAlreadyReceivedAlsoAfterACleanRestart) {
  Dir dir;
  {
    MqttJournal j(dir.path());
    ASSERT_TRUE(j.Open({}, "gw tcp://b:1883").ok());
    EXPECT_TRUE(j.Append("t", "one", 1, 7, false));
    EXPECT_FALSE(j.Append("t", "one", 2, 7, true));   // the same id and content, flagged DUP
    EXPECT_TRUE(j.Append("t", "one", 3, 8, true));    // another id: never received
    EXPECT_TRUE(j.Append("t", "two", 4, 7, true));    // id 7 again, other content: new
    EXPECT_TRUE(j.Append("t", "two", 5, 7, false));   // not flagged DUP: a new message
    EXPECT_TRUE(j.Append("t", "zero", 6, 0, true));   // QoS 0 has no id: never dropped
    EXPECT_EQ(j.stats().duplicates.load(), 1u);
    j.SaveRecent();
  }
  MqttJournal again(dir.path());
  ASSERT_TRUE(again.Open({}, "gw tcp://b:1883").ok());
  EXPECT_FALSE(again.Append("t", "one", 7, 8, true));  // received before the restart
  EXPECT_FALSE(again.Append("t", "two", 8, 7, true));
  // Another session's packet ids mean nothing here.
  again.ResetRecent("other tcp://b:1883");
  EXPECT_TRUE(again.Append("t", "two", 9, 7, true));
  Collect c;
  ReadAll(&again, &c);
  ASSERT_EQ(c.got.size(), 6u);  // the five kept before the restart, one after
}

TEST(MqttJournal, RebuildsTheRedeliveryTableFromTheJournalAfterACrash) {
  Dir dir;
  {
    MqttJournal j(dir.path());
    ASSERT_TRUE(j.Open({}, "s").ok());
    EXPECT_TRUE(j.Append("t", "kept", 1, 42, false));
  }  // no SaveRecent: a crash
  MqttJournal again(dir.path());
  ASSERT_TRUE(again.Open({}, "s").ok());
  EXPECT_FALSE(again.Append("t", "kept", 2, 42, true));
}

// The pipeline's side of MQTT messages.
Config MqttConfig(const std::string& extra) {
  ConfigResult r = LoadConfigText(
      "[gateway]\nstate_dir = /tmp/x\n[mqtt]\nuri = tcp://127.0.0.1:1883\ntopics = plant/#\n" + extra,
      "t.ini", ConfigMode::kDaemon);
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
  return r.config;
}

bool Send(Pipeline& p, const std::string& topic, const std::string& payload) {
  std::vector<char> buf(payload.begin(), payload.end());
  buf.resize(payload.size() + kRecordPadding, '9');  // padding content must not matter
  return p.ProcessMessage(topic, buf.data(), payload.size(), 1700000000LL * 1000000);
}

// A full disk (every write refused) while the reader keeps up: messages wait
// in memory and the disk is tried again after a growing backoff, in the same
// file. Before, every message after the reader had taken the memory made a
// new journal file (20,105 empty files in 8 s were seen, each with fsyncs).
TEST(MqttJournal, AFullDiskMakesNoNewFilePerMessageAndIsRetriedWithBackoff) {
  Dir dir;
  FakeClock clock;
  MqttJournal j(dir.path(), &clock);
  ASSERT_TRUE(j.Open({}).ok());
  const int files_before = dir.Count("mqtt-journal.");
  j.ForceWriteErrorsForTest(true);
  Collect c;
  for (int i = 0; i < 1000; ++i) {
    j.Append("t", std::to_string(i), i);
    ReadAll(&j, &c);  // the reader keeps up: the memory empties every time
    clock.Advance(1000);  // 1 ms between messages: 1 s in all
  }
  EXPECT_EQ(dir.Count("mqtt-journal."), files_before);
  // Every message went to memory instead (counted), none was lost.
  EXPECT_EQ(j.stats().write_errors.load(), 1000u);
  j.ForceWriteErrorsForTest(false);
  clock.Advance(MqttJournal::kMaxRetryUs);
  for (int i = 1000; i < 1010; ++i) j.Append("t", std::to_string(i), i);
  ReadAll(&j, &c);
  ASSERT_EQ(c.got.size(), 1010u);
  for (int i = 0; i < 1010; ++i) ASSERT_EQ(c.got[i].payload, std::to_string(i));
  EXPECT_EQ(j.stats().lost.load(), 0u);
  EXPECT_EQ(dir.Count("mqtt-journal."), files_before);  // written to the same file once the disk took it
}

TEST(PipelineMqtt, TakesTheKeyFromATopicLevelWithJsonPayloads) {
  const Config c = MqttConfig("[reading]\nkey = @topic.1\nvalue = t\ntime =\n");
  Pipeline p(c, c.file.format, nullptr);
  EXPECT_TRUE(Send(p, "plant/press-1/temperature", "{\"t\":70.5,\"sensor\":\"ignored\"}"));
  EXPECT_TRUE(Send(p, "plant/press-1", "{\"t\":71.5}"));
  EXPECT_FALSE(Send(p, "plant", "{\"t\":71.5}"));                // no level 1
  EXPECT_FALSE(Send(p, "plant//temperature", "{\"t\":71.5}"));   // an empty level
  EXPECT_FALSE(Send(p, "plant/press-2/temperature", "{\"t\":"));  // broken JSON
  EXPECT_FALSE(Send(p, "plant/press-2/temperature", ""));        // empty: a record, rejected
  ASSERT_EQ(p.windows().key_count(), 1u);
  EXPECT_EQ(p.windows().key(0), "press-1");
  EXPECT_EQ(p.windows().count(0), 2u);
  EXPECT_DOUBLE_EQ(p.windows().average(0), 71.0);
  const auto& r = p.counters().rejected;
  EXPECT_EQ(r[static_cast<size_t>(RejectReason::kKeyMissing)], 2u);
  EXPECT_EQ(r[static_cast<size_t>(RejectReason::kParseError)], 2u);
  EXPECT_EQ(p.counters().records, 6u);
}

TEST(PipelineMqtt, ReadsBareNumbersWithTheArrivalTime) {
  const Config c = MqttConfig("payload = number\n[reading]\nkey = @topic.2\n");
  Pipeline p(c, c.file.format, nullptr);
  EXPECT_TRUE(Send(p, "a/b/k9", "42.25"));
  EXPECT_FALSE(Send(p, "a/b/k9", "42,25"));
  EXPECT_FALSE(Send(p, "a/b/k9", "nan"));
  ASSERT_EQ(p.windows().key_count(), 1u);
  EXPECT_EQ(p.windows().last_time(0), 1700000000LL * 1000000);
  EXPECT_DOUBLE_EQ(p.windows().average(0), 42.25);
}

TEST(PipelineMqtt, JsonPayloadsWhileFilesAreCsv) {
  const Config c =
      MqttConfig("[file]\npath = /tmp/*.csv\nformat = csv\n[reading]\nkey = sensor\nvalue = temp\ntime =\n");
  Pipeline p(c, c.file.format, nullptr);
  EXPECT_TRUE(Send(p, "plant/x", "{\"sensor\":\"s1\",\"temp\":20}"));
  EXPECT_EQ(p.windows().key_count(), 1u);
}

TEST(ConfigMqtt, TopicKeysWithFilesAreRefused) {
  const ConfigResult r = LoadConfigText(
      "[gateway]\nstate_dir = /tmp/x\n[file]\npath = /tmp/*.log\n[mqtt]\nuri = tcp://127.0.0.1:1883\ntopics = a/#\n"
      "[reading]\nkey = @topic.1\n",
      "t.ini", ConfigMode::kDaemon);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind("t.ini:9: [reading] key = @topic.1: @topic keys cannot be used with [file]", 0), 0u)
      << r.errors[0];
}

}  // namespace
}  // namespace sensorgate
