// What sensorgate-sim writes: the sample's record shape, keys, time,
// determinism, value ranges, counts, line endings, appending, pacing and a
// clean stop on SIGTERM.
#include <gtest/gtest.h>
#include <unistd.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

// The sample's shape, written from the sample file (tests/sim/data holds its
// first lines): the same id suffix twice, key, RFC 3339 UTC with
// microseconds, one decimal.
bool HasSampleShape(std::string_view line) {
  static const char kShape[] =
      "{\"id_sensor\":\"Sensor-1503-###@@\",\"id_equipamento\":\"Equipament-0323XH-###@@\","
      "\"sensor\":\"sensor#*\", \"data_evento\":\"####-##-##T##:##:##.######Z\", "
      "\"padrao\":{\"formato\":\"iot:leitura:sensor:temp\", \"leitura\":{\"temperatura\":~}}}";
  if (!MatchesShape(line, kShape)) return false;
  const size_t first = std::string_view("{\"id_sensor\":\"Sensor-1503-").size();
  const size_t second = line.find("0323XH-") + 7;
  return line.substr(first, 5) == line.substr(second, 5);
}

// The line with its timestamp blanked out.
std::string WithoutTime(std::string line) {
  const std::string field = "\"data_evento\":\"";
  const size_t at = line.find(field);
  if (at != std::string::npos) line.replace(at + field.size(), 27, "T");
  return line;
}

std::vector<std::string> RunLines(const std::vector<std::string>& args) {
  const ProcessResult r = RunSim(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Lines(r.out);
}

// The shape check itself is checked against the real sample, read from
// ../shared/data (never copied into the repository).
TEST(SimOutput, ShapeCheckMatchesTheSampleFile) {
  if (access(SENSORGATE_SIM_SAMPLE, R_OK) != 0) {
    GTEST_SKIP() << SENSORGATE_SIM_SAMPLE << " is absent: the sample data lives in ../shared/data";
  }
  const std::vector<std::string> sample = Lines(ReadFile(SENSORGATE_SIM_SAMPLE));
  ASSERT_EQ(sample.size(), 10000u);
  for (std::string line : sample) {
    ASSERT_EQ(line.back(), '\r');  // the sample uses CRLF
    line.pop_back();
    EXPECT_TRUE(HasSampleShape(line)) << line;
  }
}

TEST(SimOutput, GoodLinesHaveTheSampleShape) {
  const std::vector<std::string> lines =
      RunLines({"--count", "5000", "--seed", "7", "--start-time", kStart});
  ASSERT_EQ(lines.size(), 5000u);
  const std::vector<std::string> order = {
      "id_sensor", "id_equipamento", "sensor",         "data_evento",
      "padrao",    "padrao.formato", "padrao.leitura", "padrao.leitura.temperatura"};
  for (const std::string& line : lines) {
    ASSERT_TRUE(HasSampleShape(line)) << line;
    const CheckedRecord r = CheckRecord(line);
    ASSERT_TRUE(r.ok) << r.reason << ": " << line;
    EXPECT_EQ(r.field_order, order) << line;
    // One decimal, as written.
    const size_t dot = r.value_text.find('.');
    ASSERT_NE(dot, std::string::npos) << r.value_text;
    EXPECT_EQ(r.value_text.size() - dot, 2u) << r.value_text;
  }
}

TEST(SimOutput, SameSeedGivesTheSameBytes) {
  TempDir dir;
  const std::vector<std::string> args = {"--count",      "20000", "--seed", "42",
                                         "--start-time", kStart,  "--late", "0.1",
                                         "--bad",        "0.1",   "--hot",  "2"};
  std::vector<std::string> a = args;
  a.insert(a.end(), {"--truth", dir.File("truth-a")});
  std::vector<std::string> b = args;
  b.insert(b.end(), {"--truth", dir.File("truth-b")});
  const ProcessResult ra = RunSim(a);
  const ProcessResult rb = RunSim(b);
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_GT(ra.out.size(), 20000u * 200);
  EXPECT_TRUE(ra.out == rb.out);
  const std::string truth = ReadFile(dir.File("truth-a"));
  EXPECT_EQ(Lines(truth).size(), 2u);
  EXPECT_EQ(truth, ReadFile(dir.File("truth-b")));
}

TEST(SimOutput, DifferentSeedGivesDifferentBytes) {
  const ProcessResult a = RunSim({"--count", "1000", "--seed", "1", "--start-time", kStart});
  const ProcessResult b = RunSim({"--count", "1000", "--seed", "2", "--start-time", kStart});
  ASSERT_EQ(a.exit_code, 0);
  ASSERT_EQ(b.exit_code, 0);
  const std::vector<std::string> la = Lines(a.out);
  const std::vector<std::string> lb = Lines(b.out);
  ASSERT_EQ(la.size(), lb.size());
  size_t same = 0;
  for (size_t i = 0; i < la.size(); ++i) same += la[i] == lb[i];
  EXPECT_LT(same, la.size() / 10);
}

TEST(SimOutput, WallClockTimestampsAreCurrentAndTheRestIsDeterministic) {
  const auto now_micros = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = now_micros();
  const ProcessResult a = RunSim({"--count", "3000", "--seed", "5", "--late", "0.1"});
  const ProcessResult b = RunSim({"--count", "3000", "--seed", "5", "--late", "0.1"});
  const int64_t after = now_micros();
  ASSERT_EQ(a.exit_code, 0);
  ASSERT_EQ(b.exit_code, 0);
  const std::vector<std::string> la = Lines(a.out);
  const std::vector<std::string> lb = Lines(b.out);
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) ASSERT_EQ(WithoutTime(la[i]), WithoutTime(lb[i]));
  for (const std::string& line : Lines(a.out)) {
    const CheckedRecord r = CheckRecord(line);
    ASSERT_TRUE(r.ok) << line;
    EXPECT_GE(r.micros, before - 1000000);  // allow a clock step of a second
    EXPECT_LE(r.micros, after + 1000000);
  }
}

TEST(SimOutput, KeysArePaddedToTheWidthOfTheEquipmentCount) {
  const auto keys_of = [](int equipment) {
    std::set<std::string> keys;
    for (const std::string& line :
         RunLines({"--equipment", std::to_string(equipment), "--count",
                   std::to_string(equipment * 3), "--start-time", kStart})) {
      keys.insert(CheckRecord(line).key);
    }
    return keys;
  };
  EXPECT_EQ(keys_of(1), (std::set<std::string>{"sensor01"}));
  EXPECT_EQ(keys_of(5),
            (std::set<std::string>{"sensor01", "sensor02", "sensor03", "sensor04", "sensor05"}));
  const std::set<std::string> k150 = keys_of(150);
  ASSERT_EQ(k150.size(), 150u);
  EXPECT_EQ(*k150.begin(), "sensor001");
  EXPECT_EQ(*k150.rbegin(), "sensor150");
  const std::set<std::string> k50 = keys_of(50);
  ASSERT_EQ(k50.size(), 50u);
  EXPECT_EQ(*k50.begin(), "sensor01");
  EXPECT_EQ(*k50.rbegin(), "sensor50");
}

TEST(SimOutput, EachCycleHasOneReadingPerEquipmentWithinOneStep) {
  const int kEquipment = 20;
  const int64_t kStepMicros = 250000;
  const std::vector<std::string> lines =
      RunLines({"--equipment", "20", "--count", "2000", "--start-time", kStart, "--step", "250ms",
                "--seed", "3"});
  ASSERT_EQ(lines.size(), 2000u);
  std::vector<std::string> first_order;
  int cycles_in_another_order = 0;
  for (size_t cycle = 0; cycle < 100; ++cycle) {
    std::vector<std::string> order;
    int64_t previous = 0;
    for (size_t i = 0; i < kEquipment; ++i) {
      const CheckedRecord r = CheckRecord(lines[cycle * kEquipment + i]);
      ASSERT_TRUE(r.ok);
      order.push_back(r.key);
      const int64_t base = kStartMicros + static_cast<int64_t>(cycle) * kStepMicros;
      EXPECT_GE(r.micros, base);
      EXPECT_LT(r.micros, base + kStepMicros);
      EXPECT_GE(r.micros, previous);  // in time order within the cycle
      previous = r.micros;
    }
    EXPECT_EQ(std::set<std::string>(order.begin(), order.end()).size(), 20u);
    if (cycle == 0) first_order = order;
    cycles_in_another_order += order != first_order;
  }
  EXPECT_GT(cycles_in_another_order, 90);  // shuffled every cycle
}

TEST(SimOutput, NormalEquipmentStaysBetween10And70) {
  const std::vector<std::string> lines =
      RunLines({"--count", "100000", "--seed", "11", "--start-time", kStart});
  std::map<std::string, std::pair<double, int>> sums;
  for (const std::string& line : lines) {
    const CheckedRecord r = CheckRecord(line);
    ASSERT_TRUE(r.ok);
    ASSERT_GE(r.value, 10.0) << line;
    ASSERT_LE(r.value, 70.0) << line;
    sums[r.key].first += r.value;
    sums[r.key].second += 1;
  }
  ASSERT_EQ(sums.size(), 50u);
  double lowest = 1000;
  double highest = -1000;
  for (const auto& [key, s] : sums) {
    const double mean = s.first / s.second;
    EXPECT_GE(mean, 20.0 - 3.5) << key;
    EXPECT_LE(mean, 62.0 + 3.5) << key;
    lowest = std::min(lowest, mean);
    highest = std::max(highest, mean);
  }
  EXPECT_GT(highest - lowest, 20.0);  // the means are spread, as in the sample
}

TEST(SimOutput, CountCountsGoodReadingsOnly) {
  const std::vector<std::string> lines =
      RunLines({"--count", "1234", "--bad", "0.2", "--late", "0.2", "--start-time", kStart});
  size_t good = 0;
  for (const std::string& line : lines) good += CheckRecord(line).ok;
  EXPECT_EQ(good, 1234u);
  EXPECT_GT(lines.size(), 1234u);
}

TEST(SimOutput, LinesEndWithLfOrWithCrLfWhenAsked) {
  const ProcessResult lf = RunSim({"--count", "500", "--start-time", kStart});
  const ProcessResult crlf = RunSim({"--count", "500", "--start-time", kStart, "--crlf"});
  ASSERT_EQ(lf.exit_code, 0);
  ASSERT_EQ(crlf.exit_code, 0);
  EXPECT_EQ(lf.out.find('\r'), std::string::npos);
  const std::vector<std::string> lines = Lines(crlf.out);
  ASSERT_EQ(lines.size(), 500u);
  for (const std::string& line : lines) {
    ASSERT_EQ(line.back(), '\r');
    EXPECT_EQ(line.find('\r'), line.size() - 1);
  }
  EXPECT_EQ(crlf.out.size(), lf.out.size() + 500);
}

TEST(SimOutput, OutputFileIsAppendedTo) {
  TempDir dir;
  const std::string file = dir.File("out.txt");
  const ProcessResult a = RunSim({"--count", "300", "--seed", "1", "--start-time", kStart});
  const ProcessResult b = RunSim({"--count", "200", "--seed", "2", "--start-time", kStart});
  ASSERT_EQ(RunSim({"--count", "300", "--seed", "1", "--start-time", kStart, "-o", file}).exit_code,
            0);
  ASSERT_EQ(
      RunSim({"--count", "200", "--seed", "2", "--start-time", kStart, "--output", file}).exit_code,
      0);
  EXPECT_EQ(ReadFile(file), a.out + b.out);
}

TEST(SimPacing, RateSpreadsReadingsOverTime) {
  // 300 readings at 600/s: the last is due 299/600 s after the start.
  const ProcessResult r = RunSim({"--count", "300", "--rate", "600", "--start-time", kStart});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(Lines(r.out).size(), 300u);
  EXPECT_GE(r.seconds, 0.45);
  EXPECT_LT(r.seconds, 30.0);
}

TEST(SimPacing, DurationEndsTheRun) {
  const ProcessResult r = RunSim({"--duration", "1s", "--rate", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(r.seconds, 0.9);
  EXPECT_LT(r.seconds, 30.0);
  const size_t lines = Lines(r.out).size();
  EXPECT_GE(lines, 150u);
  EXPECT_LE(lines, 201u);
}

TEST(SimSignals, SigtermStopsCleanlyWithWholeLines) {
  TempDir dir;
  const std::string file = dir.File("out.txt");
  const pid_t pid =
      StartProcess(SimCommand({"--rate", "5000", "--late", "0.3", "--start-time", kStart, "-o",
                               file, "--hot", "1", "--truth", dir.File("truth")}),
                   "", dir.File("err"));
  ASSERT_GT(pid, 0);
  // Wait (by polling the file) until it has written something.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ReadFile(file).size() < 200000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const int code = WaitProcess(pid, std::chrono::seconds(30));
  if (code == -1) KillProcess(pid);
  EXPECT_EQ(code, 0) << ReadFile(dir.File("err"));
  const std::string content = ReadFile(file);
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(content.back(), '\n');
  std::set<std::pair<std::string, int64_t>> seen;
  for (const std::string& line : Lines(content)) {
    const CheckedRecord r = CheckRecord(line);
    ASSERT_TRUE(r.ok) << line;
    EXPECT_TRUE(seen.insert({r.key, r.micros}).second) << "duplicate " << line;
  }
  // Held late readings were written too: every cycle but the last is complete.
  std::map<int64_t, int> per_cycle;
  for (const auto& [key, micros] : seen) ++per_cycle[(micros - kStartMicros) / 100000];
  ASSERT_GE(per_cycle.size(), 2u);
  per_cycle.erase(std::prev(per_cycle.end()));
  for (const auto& [cycle, n] : per_cycle) EXPECT_EQ(n, 50) << "cycle " << cycle;
  EXPECT_TRUE(FileExists(dir.File("truth")));
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
