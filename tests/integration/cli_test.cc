// The command line contract of DESIGN.md section 2: options and exit codes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/run_command.h"

namespace sensorgate {
namespace {

using testing_util::RunCommand;
using testing_util::TempDir;

TEST(Cli, VersionAndHelpExitZero) {
  const auto v = RunCommand({SENSORGATE_BIN, "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("sensorgate ", 0), 0u) << v.out;
  const auto h = RunCommand({SENSORGATE_BIN, "--help"});
  EXPECT_EQ(h.exit_code, 0);
  for (const char* word : {"--config", "--check", "--replay", "--version", "78"}) {
    EXPECT_NE(h.out.find(word), std::string::npos) << word;
  }
}

TEST(Cli, BadCommandLinesExit64WithUsage) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {SENSORGATE_BIN},
           {SENSORGATE_BIN, "--bogus"},
           {SENSORGATE_BIN, "--config"},
           {SENSORGATE_BIN, "--config", "a.ini", "--replay"},
           {SENSORGATE_BIN, "--config", "a.ini", "--check", "--replay", "x"},
           {SENSORGATE_BIN, "--config", "a.ini", "--config", "b.ini"},
           {SENSORGATE_BIN, "--config", "a.ini", "stray"}}) {
    const auto r = RunCommand(args);
    EXPECT_EQ(r.exit_code, 64) << args.back();
    EXPECT_NE(r.err.find("usage:"), std::string::npos) << r.err;
  }
}

TEST(Cli, CheckExitsZeroForAValidFileAnd78ListingEveryError) {
  TempDir dir;
  const std::string good = dir.Write("good.ini", "[gateway]\nstate_dir = /var/lib/sensorgate\n[file]\npath = /tmp/*.log\n");
  const auto ok = RunCommand({SENSORGATE_BIN, "--config", good, "--check"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  const std::string bad = dir.Write("bad.ini",
                                    "[gateway]\nstate_dir = /var/lib/sensorgate\n[file]\npath = /tmp/*.log\n"
                                    "[window]\nsize = 0\n[alert]\nabove = 75\nclear_below = 80\n");
  const auto r = RunCommand({SENSORGATE_BIN, "--config", bad, "--check"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find(bad + ":6: [window] size = 0: must be an integer from 1 to 100000"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + ":9: [alert] clear_below = 80: must not be greater than above (75)"), std::string::npos) << r.err;
}

// The memory plan (DESIGN section 3): valid-looking windows too large for
// [gateway] memory_max stop --check, the daemon and --replay with FILE:LINE,
// before anything is allocated; --check prints the plan of a good file.
TEST(Cli, AMemoryPlanOverMemoryMaxExits78EverywhereAndCheckPrintsThePlan) {
  TempDir dir;
  const std::string base = "[gateway]\nstate_dir = " + dir.path() + "/state\n[file]\npath = " + dir.path() +
                           "/*.log\n";
  const std::string huge = dir.Write("huge.ini", base + "[window]\nsize = 100000\nmax_keys = 1000000\n");
  const std::string small = dir.Write("small.ini", "[gateway]\nstate_dir = " + dir.path() +
                                                       "/state\nmemory_max = 1MiB\n[file]\npath = " + dir.path() +
                                                       "/*.log\n[window]\nsize = 60\nmax_keys = 10000\n");
  for (const std::string& ini : {huge, small}) {
    const std::string where = ini + (ini == huge ? ":7: [window] max_keys = 1000000: " : ":8: [window] max_keys = 10000: ");
    const auto check = RunCommand({SENSORGATE_BIN, "--config", ini, "--check"});
    EXPECT_EQ(check.exit_code, 78) << check.err;
    EXPECT_NE(check.err.find(where), std::string::npos) << check.err;
    EXPECT_NE(check.err.find("over [gateway] memory_max"), std::string::npos) << check.err;
    const auto replay = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", "-"}, "{}\n");
    EXPECT_EQ(replay.exit_code, 78) << replay.err;
    EXPECT_NE(replay.err.find(where), std::string::npos) << replay.err;
    EXPECT_EQ(replay.out, "");
    const auto daemon = RunCommand({SENSORGATE_BIN, "--config", ini});
    EXPECT_EQ(daemon.exit_code, 78) << daemon.err;
    EXPECT_NE(daemon.err.find(where), std::string::npos) << daemon.err;
  }
  const std::string good = dir.Write("good.ini", base);
  const auto ok = RunCommand({SENSORGATE_BIN, "--config", good, "--check"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // 60 readings x 10,000 keys x 8 bytes, plus the keys: the hot rule's plan.
  EXPECT_NE(ok.out.find("memory plan: rule hot "), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("size 60 × max_keys 10000 × 8 bytes"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("memory plan: total "), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(" of memory_max 64 MiB"), std::string::npos) << ok.out;
}

// --config must name a regular file: a directory was read as an empty file
// (a replay ran on defaults), /dev/zero grew until the process aborted, and a
// FIFO hung the start-up.
TEST(Cli, AConfigurationThatIsNoRegularFileExits78WithTheReason) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.ini";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.path(), "is a directory: --config takes a regular file"},
      {"/dev/zero", "not a regular file (a device, pipe or socket)"},
      {fifo, "not a regular file (a device, pipe or socket)"}};
  for (const auto& [path, why] : cases) {
    for (const char* mode : {"--check", "--replay"}) {
      std::vector<std::string> argv = {SENSORGATE_BIN, "--config", path, mode};
      if (std::string(mode) == "--replay") argv.push_back("-");
      const auto r = RunCommand(argv, "{}\n");
      EXPECT_EQ(r.exit_code, 78) << path << " " << mode << ": " << r.err;
      EXPECT_NE(r.err.find(path + ": " + why), std::string::npos) << r.err;
      EXPECT_EQ(r.out, "");
    }
  }
  std::string big(1100000, ';');
  const std::string huge = dir.Write("huge.ini", big);
  const auto r = RunCommand({SENSORGATE_BIN, "--config", huge, "--check"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find(huge + ": is 1100000 bytes: a configuration is at most 1048576 bytes"), std::string::npos)
      << r.err;
}

TEST(Cli, ReplayWithABadConfigurationExits78AndReadsNothing) {
  TempDir dir;
  const std::string bad = dir.Write("bad.ini", "[windw]\n");
  const auto r = RunCommand({SENSORGATE_BIN, "--config", bad, "--replay", "-"}, "{}\n");
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_EQ(r.out, "");
}

TEST(Cli, MissingConfigOrReplayFileExitsOne) {
  TempDir dir;
  const auto no_config = RunCommand({SENSORGATE_BIN, "--config", dir.path() + "/none.ini", "--check"});
  EXPECT_EQ(no_config.exit_code, 78);  // an unreadable configuration is a configuration error
  EXPECT_NE(no_config.err.find("cannot open"), std::string::npos);
  const std::string ini = dir.Write("r.ini", "");
  const auto no_input = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", dir.path() + "/none.txt"});
  EXPECT_EQ(no_input.exit_code, 1);
  EXPECT_NE(no_input.err.find("none.txt: cannot open"), std::string::npos) << no_input.err;
  EXPECT_EQ(no_input.out, "");
}

TEST(Cli, ReplayReadsStandardInput) {
  TempDir dir;
  const std::string ini = dir.Write("r.ini", "[reading]\nkey = k\nvalue = v\ntime = t\n");
  const auto r = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", "-"},
                            "{\"k\":\"b\",\"v\":2,\"t\":1}\n{\"k\":\"a\",\"v\":1.5,\"t\":1678882537166}\n"
                            "{\"k\":\"b\",\"v\":4,\"t\":\"2023-03-15T12:15:37.5+01:00\"}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"event\":\"window\",\"key\":\"a\",\"count\":1,\"total\":1,\"avg\":1.5,\"min\":1.5,\"max\":1.5,"
            "\"last\":1.5,\"time\":\"2023-03-15T12:15:37.166000Z\"}\n"
            "{\"event\":\"window\",\"key\":\"b\",\"count\":2,\"total\":2,\"avg\":3,\"min\":2,\"max\":4,"
            "\"last\":4,\"time\":\"2023-03-15T11:15:37.500000Z\"}\n");
}

}  // namespace
}  // namespace sensorgate
