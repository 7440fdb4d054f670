// MQTT output, received through a real mosquitto broker that each test
// starts on 127.0.0.1 (a free port) and stops. A mosquitto_sub started
// before publishing counts the messages; the broker's own log says when its
// subscription is in place, so nothing waits on a fixed sleep.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/mosquitto_broker.h"
#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

using testing_util::mqtt_test::BrokerOptions;
using testing_util::mqtt_test::FreePort;
using testing_util::mqtt_test::MosquittoBroker;
using testing_util::mqtt_test::PollUntil;

// Broker options: with `persistent`, sessions and queued messages survive a
// restart. (The broker's folder is the test's TempDir, which MosquittoBroker
// opens to the user mosquitto, to whom the broker drops when run as root.)
BrokerOptions Persistent(bool persistent) {
  BrokerOptions o;
  o.persistent = persistent;
  return o;
}

struct Received {
  std::vector<std::pair<std::string, std::string>> messages;  // topic, payload
  int exit_code = -1;
};

// Subscribes to `filter` at QoS 1 and returns once `count` messages arrived
// (or the time-out passed) and the run of `publish` finished.
Received SubscribeAndRun(MosquittoBroker* broker, const TempDir& dir, const std::string& filter,
                         size_t count, const std::vector<std::string>& publish,
                         ProcessResult* published) {
  Received received;
  const std::string out = dir.File("sub.out");
  const pid_t sub = StartProcess(
      {MOSQUITTO_SUB_EXECUTABLE, "-h", "127.0.0.1", "-p", std::to_string(broker->port()), "-i",
       "sim-test-sub", "-q", "1", "-t", filter, "-v", "-C", std::to_string(count)},
      out, dir.File("sub.err"));
  EXPECT_GT(sub, 0);
  if (sub <= 0) return received;
  if (!broker->WaitForSubscription("sim-test-sub", 10000)) {
    ADD_FAILURE() << "no subscription: " << ReadFile(broker->log_path());
    KillProcess(sub);
    return received;
  }
  *published = RunSim(publish);
  received.exit_code = WaitProcess(sub, std::chrono::seconds(60));
  if (received.exit_code == -1) KillProcess(sub);
  for (const std::string& line : Lines(ReadFile(out))) {
    const size_t space = line.find(' ');
    if (space == std::string::npos) {
      received.messages.emplace_back(line, "");
    } else {
      received.messages.emplace_back(line.substr(0, space), line.substr(space + 1));
    }
  }
  return received;
}

TEST(SimMqtt, PublishesEveryReadingAtQos1) {
  TempDir dir;
  MosquittoBroker broker(dir.path(), Persistent(false));
  ASSERT_TRUE(broker.Start()) << broker.error();
  // More than 65535 messages: message ids wrap, and nothing may be lost.
  const size_t kCount = 70000;
  const std::vector<std::string> options = {
      "--count", std::to_string(kCount), "--seed", "3", "--start-time", kStart, "--late", "0.05"};
  std::vector<std::string> publish = options;
  publish.insert(publish.end(), {"--mqtt", broker.uri(), "--qos", "1"});
  ProcessResult published;
  const Received got =
      SubscribeAndRun(&broker, dir, "plant/+/temperature", kCount, publish, &published);
  EXPECT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(got.exit_code, 0) << "mosquitto_sub did not get all messages";
  ASSERT_EQ(got.messages.size(), kCount);

  // Each message is the file record of the same run, on its key's topic.
  const ProcessResult file = RunSim(options);
  std::vector<std::string> expected = Lines(file.out);
  std::vector<std::string> payloads;
  for (const auto& [topic, payload] : got.messages) {
    const CheckedRecord r = CheckRecord(payload);
    ASSERT_TRUE(r.ok) << payload;
    EXPECT_EQ(topic, "plant/" + r.key + "/temperature");
    payloads.push_back(payload);
  }
  std::sort(expected.begin(), expected.end());
  std::sort(payloads.begin(), payloads.end());
  EXPECT_TRUE(payloads == expected);
}

// Every profile publishes its records on the topic of the record's key:
// the cell, the machine, or a flow's SrcDevice.
TEST(SimMqtt, ProfilesPublishOnTheirRecordsKey) {
  TempDir dir;
  MosquittoBroker broker(dir.path(), Persistent(false));
  ASSERT_TRUE(broker.Start()) << broker.error();
  struct Profile {
    std::vector<std::string> args;
    const char* key_field;
  };
  const std::vector<Profile> profiles = {
      {{"--profile", "traffic", "--equipment", "8", "--count", "800"}, "\"cell\":\""},
      {{"--profile", "processes", "--equipment", "4", "--cycles", "10"}, "\"machine\":\""},
      {{"--profile", "flows", "--equipment", "40", "--count", "700"}, "\"SrcDevice\":\""},
  };
  int run = 0;
  for (const Profile& p : profiles) {
    std::vector<std::string> options = p.args;
    options.insert(options.end(), {"--seed", "5", "--start-time", kStart});
    const ProcessResult file = RunSim(options);
    ASSERT_EQ(file.exit_code, 0) << file.err;
    std::vector<std::string> expected = Lines(file.out);
    std::vector<std::string> publish = options;
    const std::string prefix = "run" + std::to_string(++run);
    publish.insert(publish.end(), {"--mqtt", broker.uri(), "--topic", prefix + "/{key}"});
    ProcessResult published;
    const Received got =
        SubscribeAndRun(&broker, dir, prefix + "/#", expected.size(), publish, &published);
    EXPECT_EQ(published.exit_code, 0) << published.err;
    ASSERT_EQ(got.messages.size(), expected.size()) << p.args[1];
    std::vector<std::string> payloads;
    for (const auto& [topic, payload] : got.messages) {
      const size_t at = payload.find(p.key_field);
      ASSERT_NE(at, std::string::npos) << payload;
      const size_t from = at + std::string(p.key_field).size();
      const std::string key = payload.substr(from, payload.find('"', from) - from);
      EXPECT_EQ(topic, prefix + "/" + key);
      payloads.push_back(payload);
    }
    std::sort(expected.begin(), expected.end());
    std::sort(payloads.begin(), payloads.end());
    EXPECT_TRUE(payloads == expected) << p.args[1];
  }
}

TEST(SimMqtt, NumberPayloadOnATopicTemplate) {
  TempDir dir;
  MosquittoBroker broker(dir.path(), Persistent(false));
  ASSERT_TRUE(broker.Start()) << broker.error();
  const size_t kCount = 3000;
  ProcessResult published;
  const Received got = SubscribeAndRun(
      &broker, dir, "lab/#", kCount,
      {"--count", std::to_string(kCount), "--equipment", "7", "--mqtt", broker.uri(), "--topic",
       "lab/{key}/t/{key}", "--payload", "number", "--qos", "0", "--client-id", "sim-under-test"},
      &published);
  EXPECT_EQ(published.exit_code, 0) << published.err;
  ASSERT_EQ(got.messages.size(), kCount);
  std::map<std::string, size_t> per_topic;
  for (const auto& [topic, payload] : got.messages) {
    ASSERT_TRUE(MatchesShape(topic, "lab/sensor0#/t/sensor0#")) << topic;
    EXPECT_EQ(topic.substr(4, 8), topic.substr(15, 8)) << topic;
    EXPECT_GE(topic[11], '1');
    EXPECT_LE(topic[11], '7');
    EXPECT_TRUE(MatchesShape(payload, "~")) << payload;
    const double value = std::stod(payload);
    EXPECT_GE(value, 10.0);
    EXPECT_LE(value, 70.0);
    ++per_topic[topic];
  }
  EXPECT_EQ(per_topic.size(), 7u);
  for (const auto& [topic, n] : per_topic) {
    EXPECT_GE(n, kCount / 7) << topic;
    EXPECT_LE(n, kCount / 7 + 1) << topic;
  }
  EXPECT_NE(ReadFile(broker.log_path()).find("sim-under-test"), std::string::npos);
}

TEST(SimMqtt, BrokerRestartLosesNothingAtQos1) {
  TempDir dir;
  MosquittoBroker broker(dir.path(), Persistent(true));
  ASSERT_TRUE(broker.Start()) << broker.error();
  // A subscriber with a persistent session (-c), line-buffered so its output
  // can be watched while it runs.
  const std::string out = dir.File("sub.out");
  const pid_t sub = StartProcess({"stdbuf", "-oL", MOSQUITTO_SUB_EXECUTABLE, "-h", "127.0.0.1",
                                  "-p", std::to_string(broker.port()), "-i", "sim-test-sub", "-c",
                                  "-q", "1", "-v", "-t", "plant/+/temperature"},
                                 out, dir.File("sub.err"));
  ASSERT_GT(sub, 0);
  ASSERT_TRUE(broker.WaitForSubscription("sim-test-sub", 10000));

  const size_t kCount = 10000;
  const std::vector<std::string> options = {
      "--count", std::to_string(kCount), "--seed", "6", "--start-time", kStart, "--rate", "2500"};
  std::vector<std::string> publish = options;
  publish.insert(publish.end(), {"--mqtt", broker.uri(), "--client-id", "sim-under-test"});
  const pid_t sim = StartProcess(SimCommand(publish), "", dir.File("sim.err"));
  ASSERT_GT(sim, 0);
  // Restart the broker once a fifth of the messages got through.
  const auto received = [&] { return Lines(ReadFile(out)).size(); };
  EXPECT_TRUE(PollUntil([&] { return received() >= kCount / 5; }, 30000));
  ASSERT_EQ(WaitProcess(sim, std::chrono::milliseconds(0)), -1) << "finished before the restart";
  ASSERT_TRUE(broker.Restart()) << broker.error();
  const int sim_exit = WaitProcess(sim, std::chrono::seconds(90));
  if (sim_exit == -1) KillProcess(sim);
  EXPECT_EQ(sim_exit, 0) << ReadFile(dir.File("sim.err"));

  // Every message arrives (a few may arrive twice: at-least-once).
  const ProcessResult file = RunSim(options);
  std::vector<std::string> expected;
  for (const std::string& line : Lines(file.out)) {
    expected.push_back("plant/" + CheckRecord(line).key + "/temperature " + line);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> unique;
  PollUntil(
      [&] {
        unique = Lines(ReadFile(out));
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        return unique.size() >= kCount;
      },
      30000);
  kill(sub, SIGTERM);
  if (WaitProcess(sub, std::chrono::seconds(10)) == -1) KillProcess(sub);
  EXPECT_EQ(unique.size(), kCount);
  EXPECT_TRUE(unique == expected);
}

TEST(SimMqtt, UnreachableBrokerExits1) {
  const int port = FreePort();  // nothing listens there
  const ProcessResult r =
      RunSim({"--count", "10", "--mqtt", "tcp://127.0.0.1:" + std::to_string(port)},
             std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
