// MqttSource as a Source, without a broker: reading the journal into a
// RecordReceiver (order, budget, oversized payloads), the batch timer, the
// position for the checkpoint, Stop() leaving the journal unread, metrics and
// link state, and the reconnection backoff on a FakeClock against a port that
// refuses connections. No test sleeps: the backoff test waits on fd() for
// the connection's outcome, never for time to pass. The client against a
// real broker: mqtt_connection_test.cc.
#include "gateway/sources/mqtt/mqtt_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/parse/record_parser.h"

#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using Dir = testing_util::TempDir;

struct Got {
  std::string topic;
  std::string payload;
  TimeMicros arrival;
  bool too_long;
};

class FakeReceiver : public RecordReceiver {
 public:
  void OnHeader(std::string_view, const RecordOrigin&) override { ++unexpected; }
  void OnRecord(const char*, size_t, TimeMicros, const RecordOrigin&) override { ++unexpected; }
  void OnMessage(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us) override {
    volatile char sink = 0;  // the promised padding is readable
    for (size_t i = 0; i < kRecordPadding; ++i) sink = static_cast<char>(sink ^ payload[len + i]);
    (void)sink;
    got.push_back({std::string(topic), std::string(payload, len), arrival_us, false});
  }
  void OnTooLong(const RecordOrigin& origin) override {
    EXPECT_EQ(origin.line, 0u);
    got.push_back({std::string(origin.source), "", 0, true});
  }
  std::vector<Got> got;
  int unexpected = 0;
};

MqttConfig TestConfig(const std::string& uri = "tcp://127.0.0.1:1883") {
  MqttConfig c;
  c.enabled = true;
  c.uri = uri;
  c.topics = {"plant/#"};
  c.qos = 1;
  c.client_id = "sensorgate-test";
  c.clean_session = true;
  c.payload = PayloadFormat{};
  return c;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

// Everything until Poll() says it has caught up.
void PollAll(MqttSource* s) {
  while (s->Poll(5)) {
  }
}

TEST(MqttSource, AfterOpenItsFdIsReadableAndPollHandsOnWhatTheJournalKeptInOrder) {
  Dir dir;
  {
    MqttJournal j(dir.path());  // written before a crash
    ASSERT_TRUE(j.Open({}).ok());
    for (int i = 0; i < 9; ++i) j.Append("plant/k" + std::to_string(i), "{\"v\":" + std::to_string(i) + "}", 100 + i);
    j.Append("plant/big", std::string(kMaxRecordBytes + 1, 'x'), 200);
  }
  FakeClock clock;
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  ASSERT_TRUE(s.Open({}, TestConfig()).ok());
  EXPECT_EQ(s.name(), "mqtt");
  ASSERT_GE(s.fd(), 0);
  EXPECT_TRUE(Readable(s.fd(), 0)) << "nothing would make the loop read the replay";

  EXPECT_TRUE(s.Poll(4));
  EXPECT_EQ(r.got.size(), 4u);
  EXPECT_TRUE(s.Poll(4));
  EXPECT_EQ(r.got.size(), 8u);
  EXPECT_FALSE(s.Poll(4));  // the last two: caught up
  ASSERT_EQ(r.got.size(), 10u);
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(r.got[i].topic, "plant/k" + std::to_string(i));
    EXPECT_EQ(r.got[i].payload, "{\"v\":" + std::to_string(i) + "}");
    EXPECT_EQ(r.got[i].arrival, 100 + i);
    EXPECT_FALSE(r.got[i].too_long);
  }
  EXPECT_TRUE(r.got[9].too_long);
  EXPECT_EQ(r.got[9].topic, "plant/big");
  EXPECT_EQ(r.unexpected, 0);
  EXPECT_EQ(s.journal().stats().replayed, 10u);
}

TEST(MqttSource, PollStaysWithinItsBudget) {
  Dir dir;
  FakeClock clock;
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  ASSERT_TRUE(s.Open({}, TestConfig()).ok());
  EXPECT_FALSE(s.Poll(10));  // nothing yet: the wake-up is armed
  EXPECT_EQ(s.next_poll_us(), kNever);
  EXPECT_FALSE(Readable(s.fd(), 0));

  for (int i = 0; i < 100; ++i) s.journal().Append("plant/x", std::to_string(i), i);
  size_t polls = 0;
  bool more = true;
  while (more) {
    const size_t before = r.got.size();
    more = s.Poll(30);
    EXPECT_LE(r.got.size() - before, 30u);
    ASSERT_LT(++polls, 10u);
  }
  EXPECT_EQ(polls, 4u);  // 30 + 30 + 30 + 10
  ASSERT_EQ(r.got.size(), 100u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(r.got[i].payload, std::to_string(i)) << i;
  // Nothing came from a broker: no batch timer.
  EXPECT_FALSE(s.hold_fd());
  EXPECT_EQ(s.next_poll_us(), kNever);
  EXPECT_EQ(s.journal().stats().replayed, 0u);
}

TEST(MqttSource, SavePositionAndCheckpointedRoundTripTheJournalPosition) {
  Dir dir;
  FakeClock clock;
  SourcePositions saved;
  saved.files.push_back(FilePosition{"/var/log/a.log", 1, 2, 3, 4});
  {
    FakeReceiver r;
    MqttSource s(dir.path(), &r, &clock);
    ASSERT_TRUE(s.Open({}, TestConfig()).ok());
    for (int i = 0; i < 5; ++i) s.journal().Append("plant/x", std::to_string(i), i);
    EXPECT_TRUE(s.Poll(3));
    s.SavePosition(&saved);
    EXPECT_EQ(saved.mqtt.generation, s.journal().position().generation);
    EXPECT_EQ(saved.mqtt.offset, s.journal().position().offset);
    EXPECT_NE(saved.mqtt.generation, 0u);
    ASSERT_EQ(saved.files.size(), 1u);  // not its part: left alone
    EXPECT_EQ(saved.files[0].path, "/var/log/a.log");
    s.Checkpointed(saved);
    PollAll(&s);  // handed on, but the process dies before the next checkpoint
    ASSERT_EQ(r.got.size(), 5u);
  }
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  ASSERT_TRUE(s.Open(saved.mqtt, TestConfig()).ok());
  s.journal().Append("plant/x", "new", 9);
  PollAll(&s);
  ASSERT_EQ(r.got.size(), 3u);  // right after the saved position
  EXPECT_EQ(r.got[0].payload, "3");
  EXPECT_EQ(r.got[1].payload, "4");
  EXPECT_EQ(r.got[2].payload, "new");

  EXPECT_EQ(dir.Count("mqtt-journal."), 2);
  SourcePositions now;
  s.SavePosition(&now);
  EXPECT_GT(now.mqtt.generation, saved.mqtt.generation);
  EXPECT_TRUE(now.files.empty());
  s.Checkpointed(now);  // the older generation is no longer needed
  EXPECT_EQ(dir.Count("mqtt-journal."), 1);
}

TEST(MqttSource, StopReadsNothingAndTheRestIsReadAfterTheNextStart) {
  Dir dir;
  FakeClock clock;
  SourcePositions saved;
  {
    FakeReceiver r;
    MqttSource s(dir.path(), &r, &clock);
    ASSERT_TRUE(s.Open({}, TestConfig()).ok());
    for (int i = 0; i < 6; ++i) s.journal().Append("plant/x", std::to_string(i), i, static_cast<uint16_t>(i + 1));
    EXPECT_TRUE(s.Poll(2));
    s.Stop(clock.MonotonicUs() + 2'000'000);
    EXPECT_EQ(r.got.size(), 2u);  // Stop() handed nothing on
    EXPECT_TRUE(dir.Has("mqtt-recent"));  // the redelivery table, for after the restart
    EXPECT_EQ(s.StateText(), "mqtt stopped");
    s.SavePosition(&saved);
    s.Checkpointed(saved);
  }
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  ASSERT_TRUE(s.Open(saved.mqtt, TestConfig()).ok());
  // A redelivery of a message received before the stop is recognized.
  EXPECT_FALSE(s.journal().Append("plant/x", "5", 99, 6, true));
  PollAll(&s);
  ASSERT_EQ(r.got.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.got[i].payload, std::to_string(i + 2));
}

TEST(MqttSource, PollAfterStopStillReadsTheJournal) {
  Dir dir;
  FakeClock clock;
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  ASSERT_TRUE(s.Open({}, TestConfig()).ok());
  for (int i = 0; i < 3; ++i) s.journal().Append("plant/x", std::to_string(i), i);
  s.Stop(clock.MonotonicUs());
  PollAll(&s);
  EXPECT_EQ(r.got.size(), 3u);
  EXPECT_EQ(s.StateText(), "mqtt stopped");
}

TEST(MqttSource, AppendMetricsWritesEveryMqttFamily) {
  Dir dir;
  FakeClock clock;
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  ASSERT_TRUE(s.Open({}, TestConfig()).ok());
  s.journal().Append("plant/x", "12345", 1);
  std::string out;
  s.AppendMetrics(&out);
  const std::vector<std::pair<std::string, std::string>> families = {
      {"sensorgate_mqtt_connected", "gauge"},
      {"sensorgate_mqtt_messages_total", "counter"},
      {"sensorgate_mqtt_redelivered_total", "counter"},
      {"sensorgate_mqtt_duplicates_dropped_total", "counter"},
      {"sensorgate_mqtt_connects_total", "counter"},
      {"sensorgate_mqtt_connection_losses_total", "counter"},
      {"sensorgate_mqtt_connect_failures_total", "counter"},
      {"sensorgate_mqtt_subscribe_failures_total", "counter"},
      {"sensorgate_mqtt_journal_backlog_bytes", "gauge"},
      {"sensorgate_mqtt_journal_replayed_total", "counter"},
      {"sensorgate_mqtt_journal_write_errors_total", "counter"},
      {"sensorgate_mqtt_journal_lost_total", "counter"},
      {"sensorgate_mqtt_journal_torn_total", "counter"},
  };
  for (const auto& [name, type] : families) {
    EXPECT_NE(out.find("# HELP " + name + " "), std::string::npos) << name;
    EXPECT_NE(out.find("# TYPE " + name + " " + type + "\n"), std::string::npos) << name;
  }
  EXPECT_NE(out.find("\nsensorgate_mqtt_connected 0\n"), std::string::npos) << out;
  const std::string backlog = std::to_string(MqttJournal::kHeaderBytes + 7 + 5);  // header, topic, payload
  EXPECT_NE(out.find("\nsensorgate_mqtt_journal_backlog_bytes " + backlog + "\n"), std::string::npos) << out;
  size_t families_written = 0;
  for (size_t at = 0; (at = out.find("# TYPE ", at)) != std::string::npos; ++at) ++families_written;
  EXPECT_EQ(families_written, families.size());
}

TEST(MqttSource, LinkReportsStateAndJournalBacklogInBytes) {
  Dir dir;
  FakeClock clock;
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  ASSERT_TRUE(s.Open({}, TestConfig()).ok());
  s.journal().Append("plant/x", "1", 1);
  LinkState link = s.Link();
  EXPECT_EQ(link.name, "mqtt");
  EXPECT_FALSE(link.up);
  EXPECT_EQ(link.state, "mqtt stopped");
  EXPECT_EQ(link.backlog, s.journal().backlog_bytes());
  EXPECT_GT(link.backlog, 0u);
  EXPECT_EQ(link.backlog_unit, "bytes");
  EXPECT_EQ(link.last_error, "");
  PollAll(&s);
  EXPECT_EQ(s.Link().backlog, 0u);
}

TEST(MqttSource, StartRequiresOpenAndReportsAnUnreadablePasswordFile) {
  Dir dir;
  FakeClock clock;
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  EXPECT_FALSE(s.Start(TestConfig()).ok());
  ASSERT_TRUE(s.Open({}, TestConfig()).ok());
  MqttConfig c = TestConfig();
  c.password_file = dir.path() + "/no-such-file";
  const Status st = s.Start(c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("password_file"), std::string::npos) << st.message();
  EXPECT_EQ(s.Link().last_error, st.message());
}

// A loopback port bound but not listening: connections to it are refused at
// once, and no other process can take it meanwhile.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      socklen_t len = sizeof a;
      if (getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) port_ = ntohs(a.sin_port);
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Polls whenever fd() is readable or a poll is due until the source waits
// to reconnect; returns the delay it chose. Waits on fd(), not for time.
int64_t AwaitRetry(MqttSource* s, Clock* clock) {
  for (int i = 0; i < 50; ++i) {
    if (s->next_poll_us() > clock->MonotonicUs() && !Readable(s->fd(), 10000)) break;
    s->Poll(16);
    if (s->StateText().rfind("mqtt disconnected", 0) == 0) return s->next_poll_us() - clock->MonotonicUs();
  }
  ADD_FAILURE() << "no connection failure reported; state: " << s->StateText();
  return -1;
}

TEST(MqttSource, ReconnectsAfterAJitteredDoublingBackoffOnTheInjectedClock) {
  RefusingPort port;
  ASSERT_NE(port.port(), 0);
  Dir dir;
  FakeClock clock;
  FakeReceiver r;
  MqttSource s(dir.path(), &r, &clock);
  const MqttConfig c = TestConfig("tcp://127.0.0.1:" + std::to_string(port.port()));
  ASSERT_TRUE(s.Open({}, c).ok());
  EXPECT_FALSE(s.Poll(16));  // the replay wake-up: nothing to replay
  ASSERT_TRUE(s.Start(c).ok());
  EXPECT_EQ(s.StateText(), "mqtt connecting to " + c.uri);
  EXPECT_EQ(s.next_poll_us(), clock.MonotonicUs());  // the connection starts at the next poll

  // First failure: 0.25 s, jittered between half and one and a half times.
  const int64_t first = AwaitRetry(&s, &clock);
  ASSERT_GE(first, 125'000);
  ASSERT_LE(first, 375'000);
  EXPECT_EQ(s.counters().connect_failures, 1u);
  EXPECT_FALSE(s.Link().up);
  EXPECT_NE(s.Link().last_error.find("cannot connect"), std::string::npos) << s.Link().last_error;
  EXPECT_NE(s.StateText().find("next attempt in"), std::string::npos) << s.StateText();

  // Not before it is due on the fake clock.
  const int64_t due = s.next_poll_us();
  clock.Advance(first - 1);
  s.Poll(16);
  EXPECT_EQ(s.next_poll_us(), due);
  EXPECT_EQ(s.StateText().rfind("mqtt disconnected", 0), 0u) << s.StateText();
  clock.Advance(1);
  s.Poll(16);
  EXPECT_EQ(s.StateText(), "mqtt connecting to " + c.uri);
  // Connecting: the next timer is at most the connect timeout (10 s) away.
  EXPECT_GE(s.next_poll_us(), clock.MonotonicUs());
  EXPECT_LE(s.next_poll_us(), clock.MonotonicUs() + 10'000'000);

  // Second failure: the backoff doubled.
  const int64_t second = AwaitRetry(&s, &clock);
  EXPECT_GE(second, 250'000);
  EXPECT_LE(second, 750'000);
  EXPECT_EQ(s.counters().connect_failures, 2u);

  s.Stop(clock.MonotonicUs());
  EXPECT_EQ(s.StateText(), "mqtt stopped");
  EXPECT_EQ(s.next_poll_us(), kNever);
}

}  // namespace
}  // namespace sensorgate
