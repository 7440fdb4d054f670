// The daemon (`sensorgate --config FILE`) as systemd and an operator see it:
// sd_notify messages on a real AF_UNIX datagram socket, SIGHUP with a good and
// a bad configuration, stale alerts, /metrics checked by promtool, and the
// checkpoint across SIGTERM and SIGKILL.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/daemon_process.h"
#include "tests/integration/run_command.h"

namespace sensorgate {
namespace {

using testing_util::AwaitHttp;
using testing_util::DaemonProcess;
using testing_util::HttpGet;
using testing_util::NowMs;
using testing_util::RunCommand;
using testing_util::TempDir;

std::string Record(const std::string& key, double value, int second = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"sensor\":\"%s\",\"data_evento\":\"2023-03-15T12:00:%02d.000000Z\","
                "\"padrao\":{\"leitura\":{\"temperatura\":%g}}}\n",
                key.c_str(), second % 60, value);
  return buf;
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app | std::ios::binary) << text;
}

std::string BaseIni(const TempDir& dir, const std::string& extra = "", const std::string& file = "in.log") {
  return "[gateway]\nname = test\nstate_dir = " + dir.path() + "/state\ncheckpoint_interval = 1s\n\n[file]\npath = " +
         dir.path() + "/" + file + "\nfrom = beginning\n\n[http]\nlisten = 127.0.0.1:0\n\n" + extra;
}

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  // Reads the datagrams waiting now, without waiting; returns how many hold `text`.
  int Drain(const std::string& text) {
    int found = 0;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      found += std::string(buf, static_cast<size_t>(n)).find(text) != std::string::npos;
    }
    return found;
  }
  // Waits for a datagram holding `text`; returns every datagram seen meanwhile.
  bool Await(const std::string& text, int timeout_ms, std::vector<std::string>* seen) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (NowMs() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(deadline - NowMs())) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      seen->emplace_back(buf, static_cast<size_t>(n));
      if (seen->back().find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::string path_;
  int fd_;
};

TEST(Daemon, TellsSystemdReadyWatchdogReloadingStoppingAndStatus) {
  TempDir dir;
  Append(dir.path() + "/in.log", Record("a", 1));
  const std::string ini = dir.Write("g.ini", BaseIni(dir));
  NotifySocket sock(dir.path() + "/notify");
  DaemonProcess d(SENSORGATE_BIN, ini,
                  {"NOTIFY_SOCKET=" + dir.path() + "/notify", "WATCHDOG_USEC=400000"});
  std::vector<std::string> seen;
  ASSERT_TRUE(sock.Await("READY=1", 10000, &seen)) << d.log();
  EXPECT_NE(seen.back().find("STATUS="), std::string::npos) << seen.back();
  EXPECT_NE(seen.back().find("keys"), std::string::npos) << seen.back();
  ASSERT_TRUE(sock.Await("WATCHDOG=1", 5000, &seen)) << d.log();
  ASSERT_TRUE(sock.Await("WATCHDOG=1", 5000, &seen)) << d.log();  // again: it keeps pinging
  d.Signal(SIGHUP);
  ASSERT_TRUE(sock.Await("RELOADING=1", 5000, &seen)) << d.log();
  ASSERT_TRUE(sock.Await("READY=1", 5000, &seen)) << d.log();
  d.Signal(SIGTERM);
  ASSERT_TRUE(sock.Await("STOPPING=1", 5000, &seen)) << d.log();
  EXPECT_EQ(d.Wait(10000), 0) << d.log();
}

TEST(Daemon, ReloadSwapsAValidConfigurationAndKeepsWindows) {
  TempDir dir;
  const std::string in = dir.path() + "/in.log";
  for (int v = 1; v <= 5; ++v) Append(in, Record("a", v));
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[window]\nsize = 3\n"));
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int port = d.HttpPort(10000);
  ASSERT_GT(port, 0) << d.log();
  std::string body = AwaitHttp(port, "/api/windows", [](const std::string& b) {
    return b.find("\"total\":5") != std::string::npos;
  });
  EXPECT_NE(body.find("\"count\":3,\"total\":5,\"avg\":4,"), std::string::npos) << body;

  dir.Write("g.ini", BaseIni(dir, "[window]\nsize = 5\n"));
  d.Signal(SIGHUP);
  ASSERT_NE(d.WaitForLog("reload: configuration applied", 10000), std::string::npos) << d.log();
  Append(in, Record("a", 6) + Record("a", 7));
  body = AwaitHttp(port, "/api/windows", [](const std::string& b) { return b.find("\"total\":7") != std::string::npos; });
  // The three kept readings (3, 4, 5) and the two new ones: a window of five.
  EXPECT_NE(body.find("\"count\":5,\"total\":7,\"avg\":5,\"min\":3,\"max\":7"), std::string::npos) << body;

  const size_t mark = d.log().size();
  dir.Write("g.ini", BaseIni(dir, "[window]\nsize = 0\n"));
  d.Signal(SIGHUP);
  ASSERT_NE(d.WaitForLog("reload refused", 10000, mark), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("[window] size = 0: must be an integer from 1 to 100000", mark), std::string::npos);
  Append(in, Record("a", 8));
  body = AwaitHttp(port, "/api/windows", [](const std::string& b) { return b.find("\"total\":8") != std::string::npos; });
  EXPECT_NE(body.find("\"count\":5,\"total\":8,\"avg\":6,\"min\":4,\"max\":8"), std::string::npos) << body;

  // Windows over the memory plan: refused, the running configuration kept.
  const size_t mark2 = d.log().size();
  dir.Write("g.ini", BaseIni(dir, "[window]\nsize = 100000\nmax_keys = 1000000\n"));
  d.Signal(SIGHUP);
  ASSERT_NE(d.WaitForLog("reload refused", 10000, mark2), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("g.ini:15: [window] max_keys = 1000000: the windows need ", mark2), std::string::npos)
      << d.log().substr(mark2);
  EXPECT_NE(d.log().find("over [gateway] memory_max = 64MiB", mark2), std::string::npos) << d.log().substr(mark2);
  Append(in, Record("a", 9));
  body = AwaitHttp(port, "/api/windows", [](const std::string& b) { return b.find("\"total\":9") != std::string::npos; });
  EXPECT_NE(body.find("\"count\":5,\"total\":9,\"avg\":7,\"min\":5,\"max\":9"), std::string::npos) << body;
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(10000), 0) << d.log();
}

// /api/windows and /api/alerts are read from the pipeline's table when asked:
// a reload that drops keys (a lower max_keys) drops them from both at once.
TEST(Daemon, HttpStateFollowsTheWindowsAReloadKeeps) {
  TempDir dir;
  const std::string in = dir.path() + "/in.log";
  Append(in, Record("a", 80) + Record("b", 20) + Record("c", 90));
  const std::string alert = "[alert]\nabove = 75\n";
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[window]\nmax_keys = 3\n" + alert));
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int port = d.HttpPort(10000);
  ASSERT_GT(port, 0) << d.log();
  std::string body = AwaitHttp(port, "/api/windows", [](const std::string& b) {
    return b.find("\"key\":\"c\"") != std::string::npos;
  });
  EXPECT_LT(body.find("\"key\":\"a\""), body.find("\"key\":\"b\"")) << body;  // sorted by key
  EXPECT_LT(body.find("\"key\":\"b\""), body.find("\"key\":\"c\"")) << body;
  body = AwaitHttp(port, "/api/alerts", [](const std::string& b) { return b.find("\"key\":\"c\"") != std::string::npos; });
  EXPECT_NE(body.find("\"rule\":\"hot\",\"key\":\"a\""), std::string::npos) << body;

  dir.Write("g.ini", BaseIni(dir, "[window]\nmax_keys = 2\n" + alert));
  d.Signal(SIGHUP);
  ASSERT_NE(d.WaitForLog("reload: configuration applied", 10000), std::string::npos) << d.log();
  // c came last: its window is the one dropped, and its alert with it.
  body = AwaitHttp(port, "/api/windows", [](const std::string& b) { return b.find("\"key\":\"c\"") == std::string::npos; });
  EXPECT_NE(body.find("\"key\":\"a\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"key\":\"b\""), std::string::npos) << body;
  EXPECT_EQ(body.find("\"key\":\"c\""), std::string::npos) << body;
  body = AwaitHttp(port, "/api/alerts", [](const std::string&) { return true; });
  EXPECT_EQ(body,
            "[{\"rule\":\"hot\",\"key\":\"a\",\"avg\":80,\"count\":1,\"time\":\"2023-03-15T12:00:00.000000Z\"}]");
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(10000), 0) << d.log();
}

TEST(Daemon, FiresAStaleAlertAndResolvesItAtTheNextReading) {
  TempDir dir;
  const std::string in = dir.path() + "/in.log";
  Append(in, Record("quiet", 20) + Record("busy", 20));
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[alert]\nabove = 75\nstale_after = 1s\n"));
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int64_t start = NowMs();
  ASSERT_NE(d.WaitForLog("\"rule\":\"stale\",\"state\":\"firing\",\"key\":\"quiet\"", 10000), std::string::npos)
      << d.log();
  EXPECT_GE(NowMs() - start, 900);  // not before stale_after
  const size_t mark = d.log().size();
  Append(in, Record("quiet", 21));
  ASSERT_NE(d.WaitForLog("\"rule\":\"stale\",\"state\":\"resolved\",\"key\":\"quiet\"", 10000, mark),
            std::string::npos)
      << d.log();
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(10000), 0);
}

TEST(Daemon, LogsWithSyslogPrioritiesUnderJournaldAndRateLimitsBadRecords) {
  TempDir dir;
  std::string bad;
  for (int i = 0; i < 100; ++i) bad += "{not json " + std::to_string(i) + "\n";
  Append(dir.path() + "/in.log", Record("a", 1) + bad);
  const std::string ini = dir.Write("g.ini", BaseIni(dir));
  DaemonProcess d(SENSORGATE_BIN, ini, {"JOURNAL_STREAM=8:12345"});
  ASSERT_NE(d.WaitForLog("<6>sensorgate", 10000), std::string::npos) << d.log();  // info: "started"
  const int port = d.HttpPort(10000);
  AwaitHttp(port, "/metrics", [](const std::string& b) { return b.find("sensorgate_records_read_total 101") != std::string::npos; });
  d.Signal(SIGTERM);
  ASSERT_EQ(d.Wait(10000), 0);
  size_t warnings = 0;
  for (const std::string& line : testing_util::Lines(d.log())) {
    EXPECT_EQ(line[0], '<') << line;  // every line carries its priority
    warnings += line.rfind("<4>", 0) == 0 && line.find("record rejected (parse_error)") != std::string::npos;
  }
  // 100 bad records at once: a burst of 10 is logged, the rest only counted.
  EXPECT_EQ(warnings, 10u) << d.log();
}

TEST(Daemon, MetricsPassPromtool) {
  const std::string promtool = "/usr/bin/promtool";
  if (access(promtool.c_str(), X_OK) != 0) GTEST_SKIP() << "promtool is absent (Debian package prometheus)";
  TempDir dir;
  Append(dir.path() + "/in.log", Record("a", 1) + Record("b\\\"x", 2) + "{bad\n" + Record("a", 3));
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[alert]\nabove = 1\nstale_after = 1s\n"));
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int port = d.HttpPort(10000);
  ASSERT_GT(port, 0) << d.log();
  const std::string metrics = AwaitHttp(port, "/metrics", [](const std::string& b) {
    return b.find("sensorgate_records_read_total 4") != std::string::npos;
  });
  ASSERT_NE(metrics.find("sensorgate_records_rejected_total{reason=\"parse_error\"} 1"), std::string::npos) << metrics;
  const auto r = RunCommand({promtool, "check", "metrics"}, metrics);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "promtool found problems";
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(10000), 0);
}

TEST(Daemon, ResumesFromTheCheckpointAfterSigtermAndSigkill) {
  TempDir dir;
  const std::string in = dir.path() + "/in.log";
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[window]\nsize = 4\n"));
  std::string all;
  for (int i = 0; i < 10; ++i) all += Record(i % 2 ? "a" : "b", i);
  Append(in, all);
  {
    DaemonProcess d(SENSORGATE_BIN, ini);
    const int port = d.HttpPort(10000);
    AwaitHttp(port, "/metrics", [](const std::string& b) { return b.find("sensorgate_records_read_total 10") != std::string::npos; });
    d.Signal(SIGTERM);
    ASSERT_EQ(d.Wait(10000), 0) << d.log();
  }
  // While stopped: more lines. A clean restart reads only those.
  std::string more;
  for (int i = 10; i < 16; ++i) more += Record(i % 2 ? "a" : "b", i);
  Append(in, more);
  all += more;
  {
    DaemonProcess d(SENSORGATE_BIN, ini);
    const int port = d.HttpPort(10000);
    AwaitHttp(port, "/metrics", [](const std::string& b) { return b.find("sensorgate_records_read_total 6\n") != std::string::npos; });
    // SIGKILL after the next checkpoint: nothing is written at exit.
    ASSERT_NE(d.WaitForLog("resumed from", 1000), std::string::npos) << d.log();
    const std::string cp = dir.path() + "/state/checkpoint.json";
    const int64_t deadline = NowMs() + 10000;
    // Polls a file another process writes (a real daemon: no clock to advance).
    while (NowMs() < deadline && testing_util::ReadFile(cp).find("\"total\":8") == std::string::npos) usleep(50000);
    d.Kill9();
  }
  std::string last;
  for (int i = 16; i < 20; ++i) last += Record(i % 2 ? "a" : "b", i);
  Append(in, last);
  all += last;
  const std::string replay_ini = dir.Write("r.ini", "[window]\nsize = 4\n");
  const std::string all_file = dir.Write("all.log", all);
  const auto want = RunCommand({SENSORGATE_BIN, "--config", replay_ini, "--replay", all_file});
  ASSERT_EQ(want.exit_code, 0);
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int port = d.HttpPort(10000);
  const std::string windows = AwaitHttp(port, "/api/windows", [](const std::string& b) {
    return b.find("\"total\":10") != std::string::npos && b.rfind("\"total\":10") != b.find("\"total\":10");
  });
  // /api/windows is the replay's window lines as a JSON array.
  std::string expected = "[";
  for (const auto& line : testing_util::Lines(want.out)) expected += (expected.size() > 1 ? "," : "") + line;
  expected += "]";
  EXPECT_EQ(windows, expected);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(10000), 0);
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// Starts argv in the background with stdout and stderr to /dev/null.
pid_t Spawn(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

uint64_t TotalOf(const std::string& windows_json) {
  uint64_t total = 0;
  for (size_t at = windows_json.find("\"total\":"); at != std::string::npos;
       at = windows_json.find("\"total\":", at + 1)) {
    total += std::strtoull(windows_json.c_str() + at + 8, nullptr, 10);
  }
  return total;
}

// Acceptance test of the daemon issue: sensorgate-sim writes into a log file
// while the daemon follows it, rotating it by rename, then by copytruncate,
// then truncating and rewriting it; the daemon is killed with SIGKILL at
// random points (seeded, printed) and restarted. In the end /api/windows must
// equal the window lines of --replay over the same records in order.
TEST(DaemonFollow, WindowsEqualReplayAfterRotationsTruncationsAndKills) {
  TempDir dir;
  const std::string log = dir.path() + "/sensors.log";
  const std::string alert = "[window]\nsize = 60\n\n[alert]\nabove = 75\nclear_below = 73\nmin_samples = 10\n";
    // The glob matches the rotated names too, so a generation rotated twice
  // while the daemon was down is still found (see gateway/file_follower.h).
  const std::string ini = dir.Write("g.ini", BaseIni(dir, alert, "sensors.log*"));
  const uint32_t seed = static_cast<uint32_t>(NowMs());
  std::printf("kill schedule seed: %u\n", seed);
  uint32_t rng = seed;
  auto next = [&rng](uint32_t n) {
    rng = rng * 1664525u + 1013904223u;
    return (rng >> 8) % n;
  };

  struct Phase {
    std::vector<std::string> common;  // what is generated
    std::vector<std::string> layout;  // how the simulator writes it; empty: rewrite rounds by the test
  };
  // The third phase is a generator that truncates and rewrites its file every
  // round of 500 readings. Such a generator destroys what was not read before
  // the truncation; a real one leaves the reader a cycle of seconds, so here
  // the test writes the rounds itself and awaits the daemon between them.
  const std::vector<Phase> phases = {
      {{"--seed", "1", "--start-time", "2023-03-15T12:00:00Z", "--count", "12000", "--hot", "3"},
       {"--rate", "8000", "--rotate-lines", "3000", "--rotate-keep", "50"}},
      {{"--seed", "2", "--start-time", "2023-03-15T13:00:00Z", "--count", "12000"},
       {"--rate", "8000", "--rotate-lines", "3000", "--rotate-keep", "50", "--copytruncate"}},
      {{"--seed", "3", "--start-time", "2023-03-15T14:00:00Z", "--count", "3000"}, {}},
  };
  const uint64_t records = 12000 + 12000 + 3000;
  std::string expected_stream;
  for (const Phase& p : phases) {
    std::vector<std::string> args = {SENSORGATE_SIM_BIN, "--equipment", "20", "-o", "-"};
    args.insert(args.end(), p.common.begin(), p.common.end());
    const auto r = RunCommand(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expected_stream += r.out;
  }

  auto daemon = std::make_unique<DaemonProcess>(SENSORGATE_BIN, ini);
  ASSERT_GT(daemon->HttpPort(10000), 0) << daemon->log();
  int kills = 0;
  uint64_t written = 0;
  for (size_t i = 0; i < phases.size(); ++i) {
    const Phase& p = phases[i];
    std::vector<std::string> args = {SENSORGATE_SIM_BIN, "--equipment", "20", "-o", "-"};
    args.insert(args.end(), p.common.begin(), p.common.end());
    const std::vector<std::string> lines = testing_util::Lines(RunCommand(args).out);
    if (p.layout.empty()) {
      // A rewrite destroys what was not read: the daemon, restarted from a
      // checkpoint taken before its last catch-up, first reads the rest.
      AwaitHttp(daemon->HttpPort(10000), "/api/windows", [&](const std::string& b) { return TotalOf(b) >= written; },
                30000);
      // Rewrite rounds: truncate, write a round, await the daemon, again.
      for (size_t at = 0; at < lines.size(); at += 500) {
        std::string round;
        for (size_t j = at; j < std::min(lines.size(), at + 500); ++j) round += lines[j] + "\n";
        std::ofstream(log, std::ios::trunc | std::ios::binary) << round;
        written += std::min<size_t>(500, lines.size() - at);
        AwaitHttp(daemon->HttpPort(10000), "/api/windows", [&](const std::string& b) { return TotalOf(b) >= written; });
      }
      continue;
    }
    std::vector<std::string> sim_args = {SENSORGATE_SIM_BIN, "--equipment", "20", "-o", log};
    sim_args.insert(sim_args.end(), p.common.begin(), p.common.end());
    sim_args.insert(sim_args.end(), p.layout.begin(), p.layout.end());
    const pid_t sim = Spawn(sim_args);
    int status = 0;
    while (waitpid(sim, &status, WNOHANG) == 0) {
      // The kill points are random: the pause picks the moment, it awaits nothing.
      usleep(100000 + next(300000));
      daemon->Kill9();
      ++kills;
      daemon = std::make_unique<DaemonProcess>(SENSORGATE_BIN, ini);
      ASSERT_GT(daemon->HttpPort(10000), 0) << daemon->log();
    }
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "sensorgate-sim failed";
    written += lines.size();
  }
  std::printf("SIGKILLed and restarted the daemon %d times\n", kills);
  EXPECT_GE(kills, 4);

  const std::string stream_file = dir.Write("expected.log", expected_stream);
  const std::string replay_ini = dir.Write("r.ini", alert);
  const auto want = RunCommand({SENSORGATE_BIN, "--config", replay_ini, "--replay", stream_file});
  ASSERT_EQ(want.exit_code, 0) << want.err;
  std::string expected = "[";
  for (const auto& line : testing_util::Lines(want.out)) {
    if (line.find("\"event\":\"window\"") != std::string::npos) expected += (expected.size() > 1 ? "," : "") + line;
  }
  expected += "]";

  const std::string windows = AwaitHttp(daemon->HttpPort(10000), "/api/windows", [&](const std::string& b) { return TotalOf(b) >= records; }, 30000);
  EXPECT_EQ(TotalOf(windows), records) << "readings lost or counted twice; the last daemon's log:\n" << daemon->log();
  EXPECT_EQ(windows, expected);
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(10000), 0) << daemon->log();
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// The value of an unlabelled sample in a Prometheus text body; -1 if absent.
double MetricValue(const std::string& body, const std::string& name) {
  const size_t at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atof(body.c_str() + at + name.size() + 2);
}

// A backlog far larger than one slice of the loop (EventLoop::kDefaultBudget
// records) is read in slices: READY comes before any of it is read, and while
// it is read /healthz and /metrics answer and the watchdog is pinged between
// slices. (How long each slice takes is measured by tests/bench/daemon_bench.sh,
// not asserted here.)
TEST(DaemonBacklog, TwoMillionLinesAreReadInSlicesServingHttpAndTheWatchdog) {
  constexpr int kLines = 2000000;
  TempDir dir;
  {
    std::string chunk;
    std::ofstream out(dir.path() + "/in.log", std::ios::binary);
    for (int i = 0; i < kLines; ++i) {
      chunk += "{\"k\":\"s" + std::to_string(i % 50) + "\",\"v\":" + std::to_string(i % 100) + "}\n";
      if (chunk.size() > (1 << 20)) {
        out << chunk;
        chunk.clear();
      }
    }
    out << chunk;
  }
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[reading]\nkey = k\nvalue = v\ntime =\n"));
  NotifySocket sock(dir.path() + "/notify");
  DaemonProcess d(SENSORGATE_BIN, ini,
                  {"NOTIFY_SOCKET=" + dir.path() + "/notify", "WATCHDOG_USEC=100000"});
  std::vector<std::string> seen;
  ASSERT_TRUE(sock.Await("READY=1", 30000, &seen)) << d.log();
  // READY says what was read so far: nothing.
  EXPECT_NE(seen.back().find(", 0 keys,"), std::string::npos) << seen.back();
  const int port = d.HttpPort(10000);
  ASSERT_GT(port, 0) << d.log();

  int answers_during_catch_up = 0, healthy_during_catch_up = 0, pings_during_catch_up = 0;
  double read = 0;
  const int64_t deadline = NowMs() + 300000;
  while (read < kLines && NowMs() < deadline) {
    // Pings sent before the answer below (the socket is not waited on).
    const int pings = sock.Drain("WATCHDOG=1");
    const testing_util::HttpResponse m = HttpGet(port, "/metrics");
    ASSERT_EQ(m.status, 200) << d.log();
    read = MetricValue(m.body, "sensorgate_records_read_total");
    if (read >= kLines) break;
    ++answers_during_catch_up;
    pings_during_catch_up += pings;
    if (HttpGet(port, "/healthz").status == 200) ++healthy_during_catch_up;
  }
  ASSERT_EQ(read, kLines) << d.log();
  // Served between slices: several answers while the backlog was being read.
  EXPECT_GE(answers_during_catch_up, 2);
  EXPECT_GE(healthy_during_catch_up, 1);
  EXPECT_GE(pings_during_catch_up, 1);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(30000), 0) << d.log();
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// SIGHUP and SIGTERM that arrive while a large checkpoint is read wait for the
// loop: a reload, or a clean stop with STOPPING=1 and a checkpoint (before:
// the default action ended the process, SIGHUP included).
TEST(DaemonStartup, SignalsWhileTheCheckpointIsReadAreHandledOnceTheLoopRuns) {
  TempDir dir;
  constexpr int kKeys = 200000;
  {
    std::string text;
    for (int i = 0; i < kKeys; ++i) text += Record("k" + std::to_string(i), 20, i % 60);
    Append(dir.path() + "/in.log", text);
  }
  const std::string ini = dir.Write(
      "g.ini", BaseIni(dir, "[window]\nsize = 4\nmax_keys = 200000\n").replace(
                   0, std::string("[gateway]\n").size(), "[gateway]\nmemory_max = 1GiB\n"));
  {
    DaemonProcess d(SENSORGATE_BIN, ini);
    const int port = d.HttpPort(10000);
    ASSERT_GT(port, 0) << d.log();
    AwaitHttp(port, "/metrics", [](const std::string& b) {
      return b.find("sensorgate_records_read_total 200000\n") != std::string::npos;
    }, 60000);
    d.Signal(SIGTERM);
    ASSERT_EQ(d.Wait(60000), 0) << d.log();
  }
  for (const int sig : {SIGHUP, SIGTERM}) {
    NotifySocket sock(dir.path() + "/notify");
    DaemonProcess d(SENSORGATE_BIN, ini, {"NOTIFY_SOCKET=" + dir.path() + "/notify"});
    ASSERT_NE(d.WaitForLog("reading the checkpoint", 10000), std::string::npos) << d.log();
    d.Signal(sig);
    std::vector<std::string> seen;
    ASSERT_TRUE(sock.Await("READY=1", 60000, &seen)) << d.log();
    if (sig == SIGHUP) {
      ASSERT_NE(d.WaitForLog("reload: configuration applied", 10000), std::string::npos) << d.log();
      EXPECT_NE(d.log().find("resumed from"), std::string::npos) << d.log();
      d.Signal(SIGTERM);
    }
    ASSERT_TRUE(sock.Await("STOPPING=1", 30000, &seen)) << d.log();
    EXPECT_EQ(d.Wait(60000), 0) << d.log();
    EXPECT_NE(d.log().find("stopping: writing the checkpoint"), std::string::npos) << d.log();
  }
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// One damaged checkpoint (empty, cut short, or a flipped bit) no longer stops
// the gateway (before: exit 1 at every start, a restart loop): it is moved
// aside, the previous generation is used (older positions: the lines after
// them are read again, nothing lost), and the log, /healthz and the metrics
// say so.
TEST(DaemonCheckpoint, ADamagedNewestGenerationFallsBackToThePreviousOne) {
  TempDir dir;
  const std::string in = dir.path() + "/in.log";
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += Record("k" + std::to_string(i % 4), 20 + i, i);
  Append(in, lines);
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[window]\nsize = 5\n"));
  const std::string cp = dir.path() + "/state/checkpoint.json";
  std::string want;
  {
    DaemonProcess d(SENSORGATE_BIN, ini);
    const int port = d.HttpPort(10000);
    ASSERT_GT(port, 0) << d.log();
    want = AwaitHttp(port, "/api/windows", [](const std::string& b) { return TotalOf(b) >= 40; });
    ASSERT_EQ(TotalOf(want), 40u);
    d.Signal(SIGTERM);
    ASSERT_EQ(d.Wait(10000), 0) << d.log();
  }
  const std::string newest = testing_util::ReadFile(cp), previous = testing_util::ReadFile(cp + ".1");
  ASSERT_FALSE(newest.empty());
  ASSERT_FALSE(previous.empty());
  std::string flipped = newest;
  flipped[flipped.find("\"values\":[") + 11] ^= 0x01;  // a digit of a value: still JSON
  for (const std::string& damaged : {std::string(), newest.substr(0, newest.size() / 2), flipped}) {
    dir.Write("state/checkpoint.json", damaged);
    dir.Write("state/checkpoint.json.1", previous);
    DaemonProcess d(SENSORGATE_BIN, ini);
    const int port = d.HttpPort(10000);
    ASSERT_GT(port, 0) << d.log();
    EXPECT_NE(d.log().find(cp + " is damaged, moved aside to " + cp + ".damaged; trying the previous generation"),
              std::string::npos)
        << d.log();
    EXPECT_NE(d.log().find("resumed from " + cp + ".1"), std::string::npos) << d.log();
    EXPECT_EQ(testing_util::ReadFile(cp + ".damaged"), damaged);
    const testing_util::HttpResponse health = HttpGet(port, "/healthz");
    EXPECT_EQ(health.status, 503);
    EXPECT_NE(health.body.find(cp + " was damaged at start"), std::string::npos) << health.body;
    EXPECT_NE(HttpGet(port, "/metrics").body.find("\nsensorgate_checkpoint_damaged_total 1\n"), std::string::npos);
    // The lines after the previous generation's positions are read again.
    const std::string windows =
        AwaitHttp(port, "/api/windows", [](const std::string& b) { return TotalOf(b) >= 40; });
    EXPECT_EQ(windows, want);
    d.Signal(SIGTERM);
    EXPECT_EQ(d.Wait(10000), 0) << d.log();
  }
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// Connects to 127.0.0.1:port; -1 on failure.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The HTTP server at its connection limit (64 clients holding half-sent
// requests) while the loop is busy reading a large append, then the clients
// drop: it must answer again (before: it never accepted again, the new
// connections piled up in CLOSE-WAIT while the watchdog was still fed).
TEST(DaemonHttp, AnswersAgainAfterHeldConnectionsDropWhileTheLoopWasBusy) {
  TempDir dir;
  Append(dir.path() + "/in.log", "");
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "[reading]\nkey = k\nvalue = v\ntime =\n"));
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int port = d.HttpPort(10000);
  ASSERT_GT(port, 0) << d.log();
  ASSERT_EQ(HttpGet(port, "/healthz").status, 200);
  std::vector<int> held;
  for (int i = 0; i < 64; ++i) {
    const int fd = Connect(port);
    ASSERT_GE(fd, 0);
    const std::string part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // never finished
    ASSERT_EQ(write(fd, part.data(), part.size()), static_cast<ssize_t>(part.size()));
    held.push_back(fd);
  }
  {
    std::string chunk;
    std::ofstream out(dir.path() + "/in.log", std::ios::binary | std::ios::app);
    for (int i = 0; i < 1000000; ++i) {
      chunk += "{\"k\":\"s" + std::to_string(i % 50) + "\",\"v\":1}\n";
      if (chunk.size() > (1 << 20)) {
        out << chunk;
        chunk.clear();
      }
    }
    out << chunk;
  }
  for (int fd : held) close(fd);
  // Answers again: requests are retried until one is answered (a request in
  // the instant before the closes are seen may be refused).
  int status = 0;
  const int64_t deadline = NowMs() + 30000;
  while (status != 200 && NowMs() < deadline) {
    status = HttpGet(port, "/healthz").status;
    if (status != 200) usleep(100000);  // a poll interval between requests to a real process
  }
  EXPECT_EQ(status, 200) << d.log();
  const std::string m = AwaitHttp(port, "/metrics", [](const std::string& b) {
    return b.find("sensorgate_records_read_total 1000000\n") != std::string::npos;
  }, 60000);
  EXPECT_NE(m.find("sensorgate_records_read_total 1000000\n"), std::string::npos);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(30000), 0) << d.log();
}

// Issue 10 (3): 1,100 matching files under a limit of 1,024 descriptors. Before:
// 85 files were never read, without a word. Now the gateway keeps descriptors
// for itself, HTTP answers, and the files over the budget are named in
// /healthz, /api/links and the metrics; once followed files go away, the
// waiting ones are read.
TEST(DaemonFiles, MoreMatchingFilesThanDescriptorsAreReportedAndHttpKeepsAnswering) {
  TempDir dir;
  const int kFiles = 1100;
  ASSERT_EQ(mkdir((dir.path() + "/logs").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i) {
    Append(dir.path() + "/logs/f" + std::to_string(i) + ".log", Record("s" + std::to_string(i), 20));
  }
  const std::string ini = dir.Write("g.ini", BaseIni(dir, "", "logs/*.log"));
  DaemonProcess d(SENSORGATE_BIN, ini, {}, 1024);
  const int port = d.HttpPort(20000);
  ASSERT_GT(port, 0) << d.log();
  // Start-up logs a line per file: read them (the pipe must not fill) until it is done.
  ASSERT_NE(d.WaitForLog(" started: ", 60000), std::string::npos) << d.log();
  // Awaits a metric, reading the log meanwhile (a line per file: the pipe must not fill).
  const auto await_metric = [&](const std::string& line) {
    std::string body;
    for (const int64_t deadline = NowMs() + 90000; NowMs() < deadline; d.Pump(100)) {
      body = HttpGet(port, "/metrics").body;
      if (body.find(line) != std::string::npos) break;
    }
    return body;
  };
  const testing_util::HttpResponse health = HttpGet(port, "/healthz");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_NE(health.body.find("matching files are not followed"), std::string::npos) << health.body;
  const std::string links = HttpGet(port, "/api/links").body;
  EXPECT_NE(links.find("over the open-file budget of 768"), std::string::npos) << links;
  const std::string m = await_metric("sensorgate_records_accepted_total 768\n");
  EXPECT_NE(m.find("sensorgate_files_followed 768\n"), std::string::npos) << m;
  EXPECT_NE(m.find("sensorgate_files_unfollowed 332\n"), std::string::npos) << m;
  EXPECT_NE(m.find("sensorgate_file_open_budget 768\n"), std::string::npos) << m;
  EXPECT_NE(d.log().find("332 matching files are not followed"), std::string::npos) << d.log();
  // The files read so far go away (as logrotate's maxage would): the rest are read.
  const std::string w = HttpGet(port, "/api/windows").body;
  int removed = 0;
  for (int i = 0; i < kFiles; ++i) {
    if (w.find("\"key\":\"s" + std::to_string(i) + "\"") != std::string::npos) {
      ASSERT_EQ(unlink((dir.path() + "/logs/f" + std::to_string(i) + ".log").c_str()), 0);
      ++removed;
    }
  }
  EXPECT_EQ(removed, 768);
  const std::string all = await_metric("sensorgate_records_accepted_total 1100\n");
  EXPECT_NE(all.find("sensorgate_files_unfollowed 0\n"), std::string::npos) << all;
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(30000), 0) << d.log();
}

// Issue 10 (3): a source that cannot start stopped the whole gateway (exit 1,
// a restart loop), HTTP listener included. Here the state_dir has no inode
// left, so the MQTT journal cannot be created: the file source and HTTP go
// on, /healthz and /api/links say which source and why, and it is tried again
// until it starts. Needs root (a small tmpfs is mounted); skipped otherwise.
TEST(DaemonSources, ASourceThatCannotStartLeavesHttpAndTheOthersRunningAndIsRetried) {
  TempDir dir;
  const std::string state = dir.path() + "/state";
  ASSERT_EQ(mkdir(state.c_str(), 0750), 0);
  if (RunCommand({"/bin/mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=64", "sensorgate-test", state}).exit_code != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << state;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { RunCommand({"/bin/umount", path}); }
  } unmount{state};
  Append(state + "/lock", "");
  std::vector<std::string> fillers;
  for (int i = 0; i < 100; ++i) {  // every inode taken
    const std::string path = state + "/filler" + std::to_string(i);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) break;
    close(fd);
    fillers.push_back(path);
  }
  ASSERT_LT(fillers.size(), 100u);
  Append(dir.path() + "/in.log", Record("a", 20));
  const std::string ini = dir.Write(
      "g.ini", BaseIni(dir, "[mqtt]\nuri = tcp://127.0.0.1:1\ntopics = t/#\nclient_id = sg-test-full\n"));
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int port = d.HttpPort(20000);
  ASSERT_GT(port, 0) << d.log();
  const testing_util::HttpResponse health = HttpGet(port, "/healthz");
  EXPECT_EQ(health.status, 503);
  EXPECT_NE(health.body.find("source mqtt cannot start"), std::string::npos) << health.body;
  const std::string links = HttpGet(port, "/api/links").body;
  EXPECT_NE(links.find("\"name\":\"mqtt\",\"up\":false,\"state\":\"not started\""), std::string::npos) << links;
  AwaitHttp(port, "/metrics", [](const std::string& b) {
    return b.find("sensorgate_records_accepted_total 1\n") != std::string::npos;
  }, 20000);
  // Room again: the retry starts it.
  for (const std::string& f : fillers) unlink(f.c_str());
  EXPECT_NE(d.WaitForLog("retry: source mqtt started", 30000), std::string::npos) << d.log();
  EXPECT_EQ(HttpGet(port, "/api/links").body.find("not started"), std::string::npos);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(30000), 0) << d.log();
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// [rule.NAME] in the daemon (DESIGN.md 13.5): /api/rules/NAME shows a
// rule's counters and windows as a replay ending now would print them, the
// metrics carry every rule's counters (checked by promtool when present),
// and an @arrival rule's windows close by the wall clock with no record.
TEST(DaemonRules, ServedOverHttpCountedInMetricsAndArrivalWindowsCloseByTheClock) {
  TempDir dir;
  const std::string in = dir.path() + "/in.log";
  Append(in, Record("a", 80, 1) + Record("b", 20, 2) + Record("a", 90, 3) + "{\"other\":1}\n");
  const std::string rules =
      "[rule.per_key]\nkey = sensor\nvalue = padrao.leitura.temperatura\nwindow = tumbling 1m\n"
      "aggregates = count, max\n\n"
      "[rule.hot_a]\nkey = sensor\nvalue = padrao.leitura.temperatura\nwhere = sensor = \"a\"\n"
      "window = count 2\naggregates = count, avg\n\n"
      "[rule.arrivals]\ntime = @arrival\nwindow = tumbling 1s\naggregates = count\n";
  const std::string ini = dir.Write("g.ini", BaseIni(dir, rules));
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int port = d.HttpPort(10000);
  ASSERT_GT(port, 0) << d.log();
  std::string body = AwaitHttp(port, "/api/rules/per_key", [](const std::string& b) {
    return b.find("\"accepted\":3") != std::string::npos;
  });
  EXPECT_NE(body.find("{\"rule\":\"per_key\",\"window\":\"tumbling 1m\",\"accepted\":3,\"filtered\":0,\"late\":0,"
                      "\"skipped\":{\"key_missing\":1},\"results\":0"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\"watermark\":\"2023-03-15T12:00:03.000000Z\""), std::string::npos) << body;
  // The open window of each key, by start then key.
  EXPECT_NE(body.find("{\"event\":\"result\",\"rule\":\"per_key\",\"key\":\"a\",\"start\":\"2023-03-15T12:00:00.000000Z\","
                      "\"end\":\"2023-03-15T12:01:00.000000Z\",\"count\":2,\"max\":90,\"open\":true},"
                      "{\"event\":\"result\",\"rule\":\"per_key\",\"key\":\"b\""),
            std::string::npos)
      << body;
  body = HttpGet(port, "/api/rules/hot_a").body;
  EXPECT_NE(body.find("\"filtered\":2"), std::string::npos) << body;  // b, and the record without sensor
  EXPECT_NE(body.find("{\"event\":\"window\",\"rule\":\"hot_a\",\"key\":\"a\",\"count\":2,\"total\":2,"
                      "\"time\":\"2023-03-15T12:00:03.000000Z\",\"avg\":85}"),
            std::string::npos)
      << body;
  EXPECT_EQ(HttpGet(port, "/api/rules/nope").status, 404);
  body = HttpGet(port, "/api/rules").body;
  EXPECT_EQ(body.front(), '[');
  EXPECT_LT(body.find("\"rule\":\"per_key\""), body.find("\"rule\":\"arrivals\"")) << body;  // file order
  // The @arrival window of the four records (two if they were read across
  // a second's turn) closes within about a second, with nothing more read.
  body = AwaitHttp(port, "/api/rules/arrivals", [](const std::string& b) {
    return b.find("\"results\":0,") == std::string::npos && b.find("\"windows\":[]") != std::string::npos;
  });
  EXPECT_NE(body.find("\"accepted\":4"), std::string::npos) << body;
  const std::string metrics = HttpGet(port, "/metrics").body;
  EXPECT_NE(metrics.find("sensorgate_rule_records_total{rule=\"hot_a\",outcome=\"filtered\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("sensorgate_rule_skipped_total{rule=\"per_key\",reason=\"key_missing\"} 1"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("sensorgate_rule_results_total{rule=\"arrivals\"} 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("sensorgate_rule_results_total{rule=\"arrivals\"} "), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("sensorgate_records_accepted_total 4"), std::string::npos) << metrics;
  const std::string promtool = "/usr/bin/promtool";
  if (access(promtool.c_str(), X_OK) == 0) {
    const auto r = RunCommand({promtool, "check", "metrics"}, metrics);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // A reload keeps a rule's windows and counters when they fit its new
  // configuration (here: another aggregate, the same window).
  const std::string mark = d.log();
  std::string per_key = rules;
  per_key.replace(per_key.find("aggregates = count, max"), 23, "aggregates = count, max, min");
  dir.Write("g.ini", BaseIni(dir, per_key));
  d.Signal(SIGHUP);
  ASSERT_NE(d.WaitForLog("reload: configuration applied", 10000, mark.size()), std::string::npos) << d.log();
  body = HttpGet(port, "/api/rules/per_key").body;
  EXPECT_NE(body.find("\"accepted\":3"), std::string::npos) << body;
  EXPECT_NE(body.find("\"key\":\"a\",\"start\":\"2023-03-15T12:00:00.000000Z\",\"end\":\"2023-03-15T12:01:00.000000Z\","
                      "\"count\":2,\"max\":90,\"min\":80,\"open\":true}"),
            std::string::npos)
      << body;
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(10000), 0) << d.log();
}

}  // namespace
}  // namespace sensorgate
