// The command line of the profiles: --help documents them, and options that
// make no sense together exit 64 with one line naming the option.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

TEST(SimProfileCommandLine, HelpDocumentsProfilesRecordsAndTruth) {
  const ProcessResult r = RunSim({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* option : {"--profile", "--glitch", "--spike", "--cycles", "--cycle-records",
                             "--late-records", "--split"}) {
    EXPECT_NE(r.out.find(std::string(option) + " "), std::string::npos) << option;
  }
  for (const char* word : {"\"latency_ms\"", "\"kind\":\"surge\"", "\"late\":2", "\"web_servers\"",
                           "\"SrcPort\"", "\"kind\":\"glitch\"", "\"kind\":\"spike\"", "PROFILES",
                           "Port + 5 digits", "-999.9", "flows-1.log"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  for (const std::string& line : Lines(r.out)) EXPECT_LE(line.size(), 80u) << line;
}

TEST(SimProfileCommandLine, BadCombinationsExit64WithOneLineNamingTheOption) {
  TempDir dir;
  const std::string file = dir.File("out.log");
  struct Case {
    std::vector<std::string> args;
    const char* names;  // expected in the message
  };
  const std::vector<Case> cases = {
      {{"--profile", "weather"}, "--profile"},
      {{"--profile", "traffic", "--late", "0.1"}, "--late"},
      {{"--profile", "flows", "--hot-temp", "90"}, "--hot-temp"},
      {{"--profile", "processes", "--glitch", "0.1"}, "--glitch"},
      {{"--profile", "traffic", "--spike", "0.1"}, "--spike"},
      {{"--spike", "0.1", "--glitch", "1.5"}, "--glitch"},
      {{"--cycles", "3"}, "--cycles"},
      {{"--profile", "flows", "--cycle-records", "1-2"}, "--cycle-records"},
      {{"--profile", "traffic", "--late-records", "1-2"}, "--late-records"},
      {{"--split", "3", "-o", file, "--count", "10"}, "--split"},
      {{"--profile", "traffic", "--hot", "3", "--equipment", "5"}, "--hot"},
      {{"--profile", "traffic", "--hot", "1", "--equipment", "10", "--count", "7000"}, "--count"},
      {{"--profile", "processes", "--count", "100"}, "--count"},
      {{"--profile", "processes", "--hot", "1"}, "--hot"},
      {{"--profile", "processes", "--step", "1500ms"}, "--step"},
      {{"--profile", "processes", "--start-time", "2023-03-15T12:00:05Z"}, "--start-time"},
      {{"--profile", "processes", "--cycle-records", "5"}, "--cycle-records"},
      {{"--profile", "processes", "--cycle-records", "9-3"}, "--cycle-records"},
      {{"--profile", "processes", "--cycle-records", "0-0", "--late-records", "0-0"},
       "--cycle-records"},
      {{"--profile", "flows", "--hot", "0"}, "--hot"},
      {{"--profile", "flows", "--hot", "11", "--equipment", "10"}, "--hot"},
      {{"--profile", "flows", "--count", "5", "--hot", "6"}, "--count"},
      {{"--profile", "flows", "--split", "2", "--count", "10"}, "--split"},
      {{"--profile", "flows", "--split", "2", "-o", file}, "--split"},
      {{"--profile", "flows", "--split", "20", "-o", file, "--count", "10"}, "--split"},
      {{"--profile", "flows", "--split", "2", "-o", file, "--count", "10", "--rotate-lines", "5"},
       "--split"},
      {{"--profile", "traffic", "--step", "1s"}, "--step"},
  };
  for (const Case& c : cases) {
    std::string shown;
    for (const std::string& a : c.args) shown += a + " ";
    const ProcessResult r = RunSim(c.args);
    EXPECT_EQ(r.exit_code, 64) << shown << r.err;
    EXPECT_TRUE(r.out.empty()) << shown;
    EXPECT_EQ(Lines(r.err).size(), 1u) << shown << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << shown << r.err;
  }
  EXPECT_FALSE(FileExists(file));
}

TEST(SimProfileCommandLine, ProcessesStepWithoutStartTimeAlignsToTheWallClock) {
  // Wall-clock cycles start at the wall clock rounded down to the step.
  const ProcessResult r =
      RunSim({"--profile", "processes", "--equipment", "2", "--cycles", "1", "--step", "1m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_FALSE(lines.empty());
  const int64_t ts = std::stoll(lines[0].substr(6, 10));
  EXPECT_GT(ts, 1700000000);
  for (const std::string& line : lines) {
    EXPECT_EQ(std::stoll(line.substr(6, 10)) / 60, ts / 60) << line;
  }
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
