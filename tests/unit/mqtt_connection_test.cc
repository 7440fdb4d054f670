// The gateway's MQTT 3.1.1 client: the packets it writes (against the bytes
// the standard gives), the splitting of what a broker sends (every cut of a
// stream, malformed lengths), and MqttSource with its connection against a
// real mosquitto on a FakeClock: a QoS 0 stream read in batches, QoS 1
// acknowledged only once journaled (nothing comes again after a
// reconnection), a payload too long to keep, and the keep-alive timers.
// No test sleeps: they wait on fd() (with a limit), never for time to pass.
#include "gateway/sources/mqtt/mqtt_packet.h"
#include "gateway/sources/mqtt/mqtt_source.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/parse/record_parser.h"
#include "tests/integration/mosquitto_broker.h"
#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

using testing_util::TempDir;
using testing_util::mqtt_test::BrokerOptions;
using testing_util::mqtt_test::FindTool;
using testing_util::mqtt_test::HaveTool;
using testing_util::mqtt_test::MosquittoBroker;

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// --- packets -----------------------------------------------------------------

TEST(MqttPacket, ConnectIsTheStandardsLayout) {
  std::string out;
  mqtt::ConnectOptions o;
  o.client_id = "c";
  o.clean_session = true;
  o.keep_alive_s = 30;
  mqtt::AppendConnect(o, &out);
  // 3.1.1 section 3.1: type 1, remaining 13; "MQTT", level 4, flags (clean
  // session 0x02), keep alive 0x001E; the client id.
  EXPECT_EQ(out, Bytes({0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 1, 'c'}));

  out.clear();
  o.clean_session = false;
  o.username = "u";
  o.password = "pw";
  mqtt::AppendConnect(o, &out);
  EXPECT_EQ(out, Bytes({0x10, 20, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xC0, 0, 30, 0, 1, 'c', 0, 1, 'u', 0, 2, 'p', 'w'}));

  // A password without a user name is not sent (3.1.2.9).
  out.clear();
  o.username = "";
  mqtt::AppendConnect(o, &out);
  EXPECT_EQ(out, Bytes({0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 30, 0, 1, 'c'}));
}

TEST(MqttPacket, SubscribeUnsubscribeAcksPingAndDisconnect) {
  std::string out;
  mqtt::AppendSubscribe(7, {"a/#", "b"}, 1, &out);
  EXPECT_EQ(out, Bytes({0x82, 12, 0, 7, 0, 3, 'a', '/', '#', 1, 0, 1, 'b', 1}));
  out.clear();
  mqtt::AppendUnsubscribe(0x0102, {"a/#"}, &out);
  EXPECT_EQ(out, Bytes({0xA2, 7, 1, 2, 0, 3, 'a', '/', '#'}));
  out.clear();
  mqtt::AppendAck(mqtt::kPubAck, 0x1234, &out);
  mqtt::AppendAck(mqtt::kPubRec, 1, &out);
  mqtt::AppendAck(mqtt::kPubComp, 2, &out);
  mqtt::AppendPingReq(&out);
  mqtt::AppendDisconnect(&out);
  EXPECT_EQ(out, Bytes({0x40, 2, 0x12, 0x34, 0x50, 2, 0, 1, 0x70, 2, 0, 2, 0xC0, 0, 0xE0, 0}));
}

TEST(MqttPacket, LongPacketsTakeAMultiByteRemainingLength) {
  std::string out;
  const std::string filter(400, 'f');
  mqtt::AppendSubscribe(1, {filter}, 0, &out);
  // 2 + 2 + 400 + 1 = 405 = 0x195: 0x95 | 0x80, 0x03 (section 2.2.3).
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x95);
  EXPECT_EQ(static_cast<uint8_t>(out[2]), 0x03);
  size_t header = 0;
  uint32_t body = 0;
  EXPECT_EQ(mqtt::MqttSplit(U8(out), out.size(), &header, &body), mqtt::Split::kPacket);
  EXPECT_EQ(header, 3u);
  EXPECT_EQ(body, 405u);
}

TEST(MqttPacket, SplitFindsWholePacketsAndNeverReadsPastTheBytesGiven) {
  // Three packets: a CONNACK, a QoS 1 PUBLISH, a PINGRESP.
  const std::string stream = Bytes({0x20, 2, 1, 0, 0x3A, 9, 0, 3, 't', '/', '1', 0, 5, 'h', 'i', 0xD0, 0});
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    // Copied so that ASan sees a read past the cut.
    std::vector<uint8_t> part(stream.begin(), stream.begin() + static_cast<long>(cut));
    size_t pos = 0;
    int whole = 0;
    for (;;) {
      size_t header = 0;
      uint32_t body = 0;
      const mqtt::Split r = mqtt::MqttSplit(part.data() + pos, part.size() - pos, &header, &body);
      ASSERT_NE(r, mqtt::Split::kBad) << cut;
      if (r == mqtt::Split::kNeedMore) break;
      pos += header + body;
      ++whole;
    }
    const int expected = cut >= 17 ? 3 : cut >= 15 ? 2 : cut >= 4 ? 1 : 0;
    EXPECT_EQ(whole, expected) << "cut at " << cut;
  }
}

TEST(MqttPacket, ARemainingLengthOfFiveBytesIsMalformed) {
  const std::string bad = Bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  size_t header = 0;
  uint32_t body = 0;
  EXPECT_EQ(mqtt::MqttSplit(U8(bad), bad.size(), &header, &body), mqtt::Split::kBad);
  // The largest that 4 bytes give is 268,435,455.
  const std::string max = Bytes({0x30, 0xFF, 0xFF, 0xFF, 0x7F});
  EXPECT_EQ(mqtt::MqttSplit(U8(max), max.size(), &header, &body), mqtt::Split::kNeedMore);
  EXPECT_EQ(header, 5u);
  EXPECT_EQ(body, mqtt::kMaxRemainingLength);
}

TEST(MqttPacket, PublishFieldsAndMalformedPublishes) {
  const std::string body = Bytes({0, 3, 't', '/', '1', 0, 5, 'h', 'i'});
  mqtt::Publish p;
  ASSERT_TRUE(mqtt::ParsePublish(0x3B, U8(body), 9, 9, &p));  // QoS 1, DUP, RETAIN
  EXPECT_EQ(p.topic, "t/1");
  EXPECT_EQ(p.payload, "hi");
  EXPECT_EQ(p.qos, 1);
  EXPECT_TRUE(p.dup);
  EXPECT_TRUE(p.retain);
  EXPECT_EQ(p.packet_id, 5);
  // At QoS 0 there is no packet id: its two bytes are payload.
  ASSERT_TRUE(mqtt::ParsePublish(0x30, U8(body), 9, 9, &p));
  EXPECT_EQ(p.packet_id, 0);
  EXPECT_EQ(p.payload, Bytes({0, 5, 'h', 'i'}));
  // Only the head present (a payload too long to keep).
  EXPECT_EQ(mqtt::PublishHeadLength(0x32, U8(body), 4), 0u);
  EXPECT_EQ(mqtt::PublishHeadLength(0x32, U8(body), 7), 7u);
  ASSERT_TRUE(mqtt::ParsePublish(0x32, U8(body), 100000, 7, &p));
  EXPECT_EQ(p.topic, "t/1");
  EXPECT_EQ(p.payload, "");

  EXPECT_FALSE(mqtt::ParsePublish(0x36, U8(body), 9, 9, &p));  // QoS 3
  const std::string long_topic = Bytes({0, 30, 't'});
  EXPECT_FALSE(mqtt::ParsePublish(0x30, U8(long_topic), 3, 3, &p));  // a topic past the body
  const std::string id0 = Bytes({0, 1, 't', 0, 0, 'x'});
  EXPECT_FALSE(mqtt::ParsePublish(0x32, U8(id0), 6, 6, &p));  // packet id 0 at QoS 1
  EXPECT_FALSE(mqtt::ParsePublish(0x30, U8(id0), 1, 1, &p));  // no room for a topic length
}

// --- MqttSource and its connection against mosquitto ---------------------------

#define SKIP_WITHOUT_MOSQUITTO()                                                                  \
  do {                                                                                            \
    if (!HaveTool("mosquitto") || !HaveTool("mosquitto_pub")) {                                   \
      GTEST_SKIP() << "mosquitto and mosquitto-clients are needed (apt-get install mosquitto "    \
                      "mosquitto-clients)";                                                       \
    }                                                                                             \
  } while (0)

struct Got {
  std::string topic, payload;
  bool too_long;
};

class Receiver : public RecordReceiver {
 public:
  void OnHeader(std::string_view, const RecordOrigin&) override {}
  void OnRecord(const char*, size_t, TimeMicros, const RecordOrigin&) override {}
  void OnMessage(std::string_view topic, const char* payload, size_t len, TimeMicros) override {
    got.push_back({std::string(topic), std::string(payload, len), false});
  }
  void OnTooLong(const RecordOrigin& origin) override { got.push_back({std::string(origin.source), "", true}); }
  std::vector<Got> got;
};

// Broker and source, on a fake clock that moves only when a test says so.
class Fixture {
 public:
  explicit Fixture(int qos, const std::string& client_id = "sg-conn-test", bool clean = true)
      : broker_dir_(Prepare(dir_)), broker_(broker_dir_) {
    config_.enabled = true;
    config_.topics = {"plant/#"};
    config_.qos = qos;
    config_.client_id = client_id;
    config_.clean_session = clean;
    config_.payload = PayloadFormat{};
  }
  bool Start() {
    if (!broker_.Start()) return false;
    config_.uri = broker_.uri();
    return true;
  }
  std::unique_ptr<MqttSource> NewSource(const std::string& state) {
    auto s = std::make_unique<MqttSource>(dir_.path() + "/" + state, &receiver, &clock);
    mkdir((dir_.path() + "/" + state).c_str(), 0755);
    EXPECT_TRUE(s->Open({}, config_).ok());
    EXPECT_TRUE(s->Start(config_).ok());
    return s;
  }
  // Polls `s` whenever fd() is readable or a poll is due (advancing the fake
  // clock by kBatchUs when only the batch timer holds it, and to a timer
  // less than 1 s away when nothing came for 20 ms) until `done` or 20 s of
  // real time. `after_poll` sees every Poll().
  bool PollUntil(MqttSource* s, const std::function<bool()>& done,
                 const std::function<void()>& after_poll = nullptr) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
      if (std::chrono::steady_clock::now() > limit) return false;
      if (s->hold_fd()) {
        clock.Advance(s->next_poll_us() - clock.MonotonicUs());
      } else if (s->next_poll_us() > clock.MonotonicUs()) {
        pollfd p{s->fd(), POLLIN, 0};
        if (poll(&p, 1, 20) != 1) {
          // Nothing came for 20 ms: a short timer (the name lookup is
          // checked every 20 ms) is let run out on the fake clock.
          const int64_t wait = s->next_poll_us() - clock.MonotonicUs();
          if (wait > 1'000'000) continue;
          clock.Advance(wait);
        }
      }
      while (s->Poll(1000)) {
      }
      if (after_poll) after_poll();
    }
    return true;
  }
  bool AwaitConnected(MqttSource* s) {
    return PollUntil(s, [s] { return s->connected(); });
  }
  void Publish(const std::string& topic, int qos, const std::string& lines) {
    const std::string file = dir_.path() + "/pub.txt";
    std::ofstream(file) << lines;
    const std::string cmd = FindTool("mosquitto_pub") + " " + broker_.ClientArgs() + " -q " + std::to_string(qos) +
                            " -t " + topic + " -l < " + file;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void PublishFile(const std::string& topic, const std::string& payload) {
    const std::string file = dir_.path() + "/payload.bin";
    std::ofstream(file, std::ios::binary) << payload;
    const std::string cmd = FindTool("mosquitto_pub") + " " + broker_.ClientArgs() + " -q 1 -t " + topic + " -f " + file;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  FakeClock clock;
  Receiver receiver;
  MqttConfig config_;
  MosquittoBroker& broker() { return broker_; }

 private:
  static std::string Prepare(const TempDir& dir) {
    chmod(dir.path().c_str(), 0755);  // mosquitto started as root runs as the user mosquitto
    const std::string b = dir.path() + "/broker";
    mkdir(b.c_str(), 0755);
    return b;
  }
  TempDir dir_;
  std::string broker_dir_;
  MosquittoBroker broker_;
};

std::string Lines(int n, const std::string& prefix) {
  std::string s;
  for (int i = 0; i < n; ++i) s += prefix + std::to_string(i) + "\n";
  return s;
}

TEST(MqttConnection, AQos0StreamIsReadInBatchesOnTheInjectedClock) {
  SKIP_WITHOUT_MOSQUITTO();
  Fixture f(0);
  ASSERT_TRUE(f.Start()) << f.broker().error();
  auto s = f.NewSource("state");
  ASSERT_TRUE(f.AwaitConnected(s.get())) << s->StateText();
  f.Publish("plant/a", 0, Lines(3000, "m"));
  int batches = 0;
  size_t seen = 0;
  ASSERT_TRUE(f.PollUntil(s.get(), [&] { return f.receiver.got.size() >= 3000; }, [&] {
    if (f.receiver.got.size() == seen) return;
    seen = f.receiver.got.size();
    ++batches;
    // Messages came: fd() is held, the next batch due kBatchUs later.
    EXPECT_TRUE(s->hold_fd());
    EXPECT_EQ(s->next_poll_us(), f.clock.MonotonicUs() + MqttSource::kBatchUs);
  })) << f.receiver.got.size();
  ASSERT_EQ(f.receiver.got.size(), 3000u);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(f.receiver.got[i].payload, "m" + std::to_string(i)) << i;
  EXPECT_GE(batches, 1);
  // Nothing more came: the next poll lets go of fd().
  f.clock.Advance(MqttSource::kBatchUs);
  EXPECT_FALSE(s->Poll(1000));
  EXPECT_FALSE(s->hold_fd());
  EXPECT_EQ(s->counters().messages, 3000u);
}

TEST(MqttConnection, Qos1IsAcknowledgedOnlyOnceJournaledAndNothingComesAgain) {
  SKIP_WITHOUT_MOSQUITTO();
  Fixture f(1, "sg-conn-q1", /*clean=*/false);
  ASSERT_TRUE(f.Start()) << f.broker().error();
  auto s = f.NewSource("state1");
  ASSERT_TRUE(f.AwaitConnected(s.get())) << s->StateText();
  f.Publish("plant/b", 1, Lines(2000, "q"));
  ASSERT_TRUE(f.PollUntil(s.get(), [&] { return f.receiver.got.size() >= 2000; }, [&] {
    EXPECT_FALSE(s->hold_fd());  // the broker waits for the acknowledgements: never held
  })) << f.receiver.got.size();
  EXPECT_EQ(s->journal().stats().appended, 2000u);
  EXPECT_EQ(f.receiver.got.size(), 2000u);
  s->Stop(kNever);
  s.reset();
  // Once the broker has read the acknowledgements and the DISCONNECT: a new
  // connection of the same client id makes mosquitto drop the old one with
  // whatever it has not read yet (acknowledgements in flight then bring
  // redeliveries, which the journal drops by packet id in the gateway).
  ASSERT_TRUE(testing_util::mqtt_test::PollUntil(
      [&] { return f.broker().Log().find("Client sg-conn-q1 disconnected") != std::string::npos; }, 10000))
      << f.broker().Log();

  // The same persistent session from a fresh state directory (no redelivery
  // table): a message the broker still held unacknowledged would come before
  // the marker published now.
  f.receiver.got.clear();
  auto again = f.NewSource("state2");
  ASSERT_TRUE(f.AwaitConnected(again.get())) << again->StateText();
  f.Publish("plant/b", 1, "marker\n");
  ASSERT_TRUE(f.PollUntil(again.get(), [&] { return !f.receiver.got.empty(); }));
  ASSERT_EQ(f.receiver.got.size(), 1u);
  EXPECT_EQ(f.receiver.got[0].payload, "marker");
  EXPECT_EQ(again->counters().redelivered, 0u);
}

TEST(MqttConnection, APayloadTooLongToKeepIsCountedAndTheStreamGoesOn) {
  SKIP_WITHOUT_MOSQUITTO();
  Fixture f(1);
  ASSERT_TRUE(f.Start()) << f.broker().error();
  auto s = f.NewSource("state");
  ASSERT_TRUE(f.AwaitConnected(s.get())) << s->StateText();
  // Far longer than the input buffer (a too long payload is skipped as it comes).
  f.PublishFile("plant/big", std::string(3 * 1024 * 1024 + 7, 'x'));
  f.PublishFile("plant/after", std::string(kMaxRecordBytes, 'y'));  // the longest kept
  f.Publish("plant/small", 1, "small\n");
  ASSERT_TRUE(f.PollUntil(s.get(), [&] { return f.receiver.got.size() >= 3; }));
  ASSERT_EQ(f.receiver.got.size(), 3u);
  EXPECT_TRUE(f.receiver.got[0].too_long);
  EXPECT_EQ(f.receiver.got[0].topic, "plant/big");
  EXPECT_FALSE(f.receiver.got[1].too_long);
  EXPECT_EQ(f.receiver.got[1].payload, std::string(kMaxRecordBytes, 'y'));
  EXPECT_EQ(f.receiver.got[2].payload, "small");
  EXPECT_TRUE(s->connected());
}

TEST(MqttConnection, ABrokerNamedByHostNameIsResolvedWithoutWaitingAndEveryAddressTried) {
  SKIP_WITHOUT_MOSQUITTO();
  Fixture f(0);
  ASSERT_TRUE(f.Start()) << f.broker().error();
  // The broker listens on 127.0.0.1 only; "localhost" may also give ::1,
  // which refuses: the next address is tried.
  const std::string ip_uri = f.config_.uri;
  f.config_.uri = "tcp://localhost:" + ip_uri.substr(ip_uri.rfind(':') + 1);
  auto s = f.NewSource("state");
  EXPECT_EQ(s->StateText(), "mqtt connecting to " + f.config_.uri);
  ASSERT_TRUE(f.AwaitConnected(s.get())) << s->StateText();
  EXPECT_EQ(s->counters().connect_failures, 0u);
  f.Publish("plant/n", 0, "by-name\n");
  ASSERT_TRUE(f.PollUntil(s.get(), [&] { return !f.receiver.got.empty(); }));
  EXPECT_EQ(f.receiver.got[0].payload, "by-name");

  // A name that does not resolve: a connection failure with the resolver's words.
  f.config_.uri = "tcp://no-such-host.invalid:1883";
  ASSERT_TRUE(s->Start(f.config_).ok());
  ASSERT_TRUE(f.PollUntil(s.get(), [&] { return s->StateText().rfind("mqtt disconnected", 0) == 0; }))
      << s->StateText();
  // (Where no DNS server answers, the 10 s connect timeout ends the lookup.)
  EXPECT_TRUE(s->StateText().find("cannot resolve no-such-host.invalid") != std::string::npos ||
              s->StateText().find("no answer in 10 s") != std::string::npos)
      << s->StateText();
  EXPECT_EQ(s->counters().connect_failures, 1u);
}

TEST(MqttConnection, KeepAlivePingsAndABrokerThatStopsAnsweringIsLost) {
  SKIP_WITHOUT_MOSQUITTO();
  Fixture f(0);
  ASSERT_TRUE(f.Start()) << f.broker().error();
  auto s = f.NewSource("state");
  ASSERT_TRUE(f.AwaitConnected(s.get())) << s->StateText();
  // 30 s without sending: a PINGREQ; the broker's PINGRESP keeps it up.
  const int64_t ping_due = s->next_poll_us();
  EXPECT_EQ(ping_due - f.clock.MonotonicUs(), 30'000'000) << "keep alive is 30 s";
  f.clock.Advance(ping_due - f.clock.MonotonicUs());
  s->Poll(100);
  EXPECT_EQ(s->next_poll_us(), f.clock.MonotonicUs() + 30'000'000);  // the answer is awaited
  {
    pollfd p{s->fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 10000), 1) << "no PINGRESP";
  }
  s->Poll(100);
  EXPECT_TRUE(s->connected());
  EXPECT_EQ(s->next_poll_us(), f.clock.MonotonicUs() + 30'000'000);  // answered: next PINGREQ in 30 s

  // A broker that stops answering: lost 30 s after the unanswered PINGREQ.
  ASSERT_EQ(kill(f.broker().pid(), SIGSTOP), 0);
  f.clock.Advance(30'000'000);
  s->Poll(100);
  EXPECT_TRUE(s->connected());
  f.clock.Advance(30'000'000);
  s->Poll(100);
  kill(f.broker().pid(), SIGCONT);
  EXPECT_FALSE(s->connected());
  EXPECT_NE(s->StateText().find("no answer from the broker in 30 s"), std::string::npos) << s->StateText();
  EXPECT_EQ(s->counters().connection_losses, 1u);
  // And it connects again once the retry is due.
  f.clock.Advance(s->next_poll_us() - f.clock.MonotonicUs());
  ASSERT_TRUE(f.AwaitConnected(s.get())) << s->StateText();
  EXPECT_EQ(s->counters().connects, 2u);
}

}  // namespace
}  // namespace sensorgate
