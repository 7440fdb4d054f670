// MQTT output, received through a real mosquitto broker that each test
// starts on 127.0.0.1 (a free port) and stops. A mosquitto_sub started
// before publishing counts the messages; the broker's own log says when its
// subscription is in place, so nothing waits on a fixed sleep.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

// A port the kernel says is free now (it may be taken again before use: the
// broker start is retried on another port).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Polls `done` every 10 ms until it is true or `timeout` passes.
template <typename Predicate>
bool PollUntil(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class MosquittoBroker {
 public:
  // With `persistent`, the broker keeps sessions and queued messages in
  // dir/db across a restart.
  MosquittoBroker(const TempDir& dir, bool persistent) : dir_(dir), persistent_(persistent) {}
  ~MosquittoBroker() { Stop(); }

  // Starts the broker on a free port and waits until it accepts connections.
  bool Start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (StartOn(FreePort())) return true;
    }
    return false;
  }

  // Stops the broker (which then saves its sessions) and starts it again on
  // the same port.
  bool Restart() {
    Stop();
    return StartOn(port_);
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      if (WaitProcess(pid_, std::chrono::seconds(10)) == -1) KillProcess(pid_);
      pid_ = -1;
    }
  }

  // Waits until the broker logged a subscription of `client_id`.
  bool WaitForSubscription(const std::string& client_id) {
    return PollUntil(
        [&] { return ReadFile(log_path()).find(": " + client_id + " 1 ") != std::string::npos; },
        std::chrono::seconds(10));
  }

  int port() const { return port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::string log_path() const { return dir_.File("mosquitto.log"); }

 private:
  bool StartOn(int port) {
    port_ = port;
    const std::string conf = dir_.File("mosquitto.conf");
    // max_queued_messages 0: a lagging subscriber must not lose messages.
    // The log goes to stderr. mosquitto started as root drops to the
    // 'mosquitto' user, so the persistence folder is made writable for it.
    std::string text = "listener " + std::to_string(port_) +
                       " 127.0.0.1\n"
                       "allow_anonymous true\n"
                       "max_queued_messages 0\n"
                       "log_dest stderr\n"
                       "log_type error\nlog_type warning\nlog_type notice\n"
                       "log_type information\nlog_type subscribe\n";
    if (persistent_) {
      const std::string db = dir_.File("db");
      mkdir(db.c_str(), 0777);
      chmod(dir_.path().c_str(), 0755);
      chmod(db.c_str(), 0777);
      text += "persistence true\npersistence_location " + db + "/\n";
    } else {
      text += "persistence false\n";
    }
    WriteFile(conf, text);
    pid_ = StartProcess({MOSQUITTO_EXECUTABLE, "-c", conf}, "", log_path());
    if (pid_ <= 0) return false;
    const bool up = PollUntil(
        [this] {
          return CanConnect(port_) || WaitProcess(pid_, std::chrono::milliseconds(0)) != -1;
        },
        std::chrono::seconds(10));
    if (up && CanConnect(port_)) return true;
    Stop();
    return false;
  }

  const TempDir& dir_;
  const bool persistent_;
  int port_ = -1;
  pid_t pid_ = -1;
};

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
  if (!broker->WaitForSubscription("sim-test-sub")) {
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
  MosquittoBroker broker(dir, false);
  ASSERT_TRUE(broker.Start()) << ReadFile(broker.log_path());
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

TEST(SimMqtt, NumberPayloadOnATopicTemplate) {
  TempDir dir;
  MosquittoBroker broker(dir, false);
  ASSERT_TRUE(broker.Start()) << ReadFile(broker.log_path());
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
  MosquittoBroker broker(dir, true);
  ASSERT_TRUE(broker.Start()) << ReadFile(broker.log_path());
  // A subscriber with a persistent session (-c), line-buffered so its output
  // can be watched while it runs.
  const std::string out = dir.File("sub.out");
  const pid_t sub = StartProcess({"stdbuf", "-oL", MOSQUITTO_SUB_EXECUTABLE, "-h", "127.0.0.1",
                                  "-p", std::to_string(broker.port()), "-i", "sim-test-sub", "-c",
                                  "-q", "1", "-v", "-t", "plant/+/temperature"},
                                 out, dir.File("sub.err"));
  ASSERT_GT(sub, 0);
  ASSERT_TRUE(broker.WaitForSubscription("sim-test-sub"));

  const size_t kCount = 10000;
  const std::vector<std::string> options = {
      "--count", std::to_string(kCount), "--seed", "6", "--start-time", kStart, "--rate", "2500"};
  std::vector<std::string> publish = options;
  publish.insert(publish.end(), {"--mqtt", broker.uri(), "--client-id", "sim-under-test"});
  const pid_t sim = StartProcess(SimCommand(publish), "", dir.File("sim.err"));
  ASSERT_GT(sim, 0);
  // Restart the broker once a fifth of the messages got through.
  const auto received = [&] { return Lines(ReadFile(out)).size(); };
  EXPECT_TRUE(PollUntil([&] { return received() >= kCount / 5; }, std::chrono::seconds(30)));
  ASSERT_EQ(WaitProcess(sim, std::chrono::milliseconds(0)), -1) << "finished before the restart";
  ASSERT_TRUE(broker.Restart()) << ReadFile(broker.log_path());
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
      std::chrono::seconds(30));
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
