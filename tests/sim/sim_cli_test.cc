// The command line of sensorgate-sim: --help, --version, and exit status 64
// with one clear line for every bad option.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

TEST(SimCommandLine, HelpDocumentsEveryOption) {
  const ProcessResult r = RunSim({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const char* option : {"--equipment",    "--count",
                             "--duration",     "--rate",
                             "--seed",         "--start-time",
                             "--step",         "--hot",
                             "--hot-temp",     "--truth",
                             "--late",         "--bad",
                             "--output",       "-o",
                             "--crlf",         "--rotate-size",
                             "--rotate-lines", "--rotate-keep",
                             "--copytruncate", "--rewrite-every",
                             "--mqtt",         "--topic",
                             "--qos",          "--client-id",
                             "--payload",      "--help",
                             "--version"}) {
    const bool listed = r.out.find(std::string(option) + " ") != std::string::npos ||
                        r.out.find(std::string(option) + ",") != std::string::npos;
    EXPECT_TRUE(listed) << option;
  }
  // The truth file and the malformed records are explained, with the fields.
  for (const char* word : {"hot_from_reading", "hot_to_reading", "\"from\"", "\"to\"", "peak",
                           "0-based", "\\u0001", "64 KiB", "Exit status"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
}

TEST(SimCommandLine, VersionPrintsNameAndVersion) {
  const ProcessResult r = RunSim({"--version"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("sensorgate-sim ", 0), 0u) << r.out;
  EXPECT_EQ(Lines(r.out).size(), 1u);
}

TEST(SimCommandLine, BadOptionsExit64WithOneLine) {
  TempDir dir;
  const std::string file = dir.File("out.txt");
  const std::vector<std::vector<std::string>> cases = {
      {"--bogus"},
      {"positional"},
      {"--equipment", "0"},
      {"--equipment", "12x"},
      {"--equipment=-3"},
      {"--count"},
      {"--count", "0"},
      {"--duration", "30"},
      {"--duration", "0s"},
      {"--rate", "-1"},
      {"--rate", "fast"},
      {"--seed", "-1"},
      {"--seed", "18446744073709551616"},
      {"--start-time", "yesterday"},
      {"--step", "100ms"},
      {"--start-time", "2023-03-15T12:00:00Z", "--step", "0s"},
      {"--hot", "51"},
      {"--hot", "1", "--count", "100"},
      {"--hot-temp", "60"},
      {"--late", "1.5"},
      {"--bad", "1"},
      {"--bad", "nan"},
      {"--crlf=yes"},
      {"--rotate-size", "10MiB"},
      {"--rotate-size", "10XB", "-o", file},
      {"--rotate-size", "0", "-o", file},
      {"--rotate-lines", "0", "-o", file},
      {"--rotate-keep", "3", "-o", file},
      {"--copytruncate", "-o", file},
      {"--rewrite-every", "3"},
      {"--rewrite-every", "3", "--rotate-lines", "5", "-o", file},
      {"--topic", "x/{key}"},
      {"--qos", "1"},
      {"--payload", "number"},
      {"--mqtt", "tcp://127.0.0.1:1", "--qos", "2"},
      {"--mqtt", "tcp://127.0.0.1:1", "-o", file},
      {"--output"},
  };
  for (const std::vector<std::string>& args : cases) {
    std::string shown;
    for (const std::string& a : args) shown += a + " ";
    const ProcessResult r = RunSim(args);
    EXPECT_EQ(r.exit_code, 64) << shown << r.err;
    EXPECT_TRUE(r.out.empty()) << shown;
    EXPECT_EQ(r.err.rfind("sensorgate-sim: ", 0), 0u) << shown << r.err;
    EXPECT_EQ(Lines(r.err).size(), 1u) << shown << r.err;
    EXPECT_EQ(r.err.back(), '\n') << shown;
  }
  EXPECT_FALSE(FileExists(file));
}

TEST(SimCommandLine, ErrorNamesTheOptionAndWhatIsAllowed) {
  const ProcessResult r = RunSim({"--equipment", "0"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("--equipment 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("from 1 to 1000000"), std::string::npos) << r.err;
}

TEST(SimCommandLine, UnwritableOutputExits1) {
  const ProcessResult r = RunSim({"--count", "10", "-o", "/nonexistent-dir/x/out.txt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent-dir/x/out.txt"), std::string::npos) << r.err;
}

#ifndef SENSORGATE_SIM_TEST_MQTT
TEST(SimCommandLine, MqttWithoutSupportExits64SayingSo) {
  const ProcessResult r = RunSim({"--mqtt", "tcp://127.0.0.1:1883", "--count", "1"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("without MQTT support"), std::string::npos) << r.err;
}
#endif

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
