// --profile processes: host events in cycles, some emitted a cycle late, and
// a truth file whose per-machine, per-cycle counts the test recomputes from
// the records and from the order in which they were emitted.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/sim/sim_profile_util.h"
#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

constexpr int64_t kStartSeconds = kStartMicros / 1000000;

struct Event {
  int64_t ts = 0;
  std::string machine;
};

std::vector<Event> ReadEvents(const std::string& out) {
  std::vector<Event> events;
  for (const std::string& line : Lines(out)) {
    std::vector<JsonField> f;
    EXPECT_TRUE(ParseFields(line, &f)) << line;
    EXPECT_EQ(FieldNames(f),
              (std::vector<std::string>{"ts", "machine", "pid", "cmd", "cpu", "mem"}))
        << line;
    Event e;
    int64_t pid = 0;
    std::string cmd;
    double cpu = 0;
    double mem = 0;
    EXPECT_TRUE(JsonInteger(FieldRaw(f, "ts"), &e.ts)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "machine"), &e.machine)) << line;
    EXPECT_TRUE(JsonInteger(FieldRaw(f, "pid"), &pid)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "cmd"), &cmd)) << line;
    EXPECT_TRUE(JsonOneDecimal(FieldRaw(f, "cpu"), &cpu)) << line;
    EXPECT_TRUE(JsonOneDecimal(FieldRaw(f, "mem"), &mem)) << line;
    EXPECT_TRUE(MatchesShape(e.machine, "M##")) << line;
    EXPECT_GT(pid, 0);
    EXPECT_FALSE(cmd.empty());
    EXPECT_GE(cpu, 0);
    EXPECT_LE(cpu, 100);
    events.push_back(e);
  }
  return events;
}

struct CycleTruth {
  int64_t records = 0;
  int64_t late = 0;
  int64_t from = 0;
  int64_t to = 0;
};

const std::vector<std::string> kArgs = {"--profile",    "processes", "--equipment", "6",
                                        "--cycles",     "40",        "--seed",      "2",
                                        "--start-time", kStart};

TEST(SimProcesses, TruthCountsEachMachinesRecordsAndLateOnesPerCycle) {
  TempDir dir;
  std::vector<std::string> args = kArgs;
  args.insert(args.end(), {"--truth", dir.File("truth")});
  const ProcessResult r = RunSim(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<Event> events = ReadEvents(r.out);

  std::map<std::pair<int64_t, std::string>, CycleTruth> truth;
  int64_t previous_cycle = -1;
  std::string previous_machine;
  for (const std::string& line : Lines(ReadFile(dir.File("truth")))) {
    std::vector<JsonField> f;
    ASSERT_TRUE(ParseFields(line, &f)) << line;
    EXPECT_EQ(FieldNames(f),
              (std::vector<std::string>{"machine", "cycle", "from", "to", "records", "late"}));
    std::string machine;
    int64_t cycle = 0;
    CycleTruth t;
    ASSERT_TRUE(JsonString(FieldRaw(f, "machine"), &machine));
    ASSERT_TRUE(JsonInteger(FieldRaw(f, "cycle"), &cycle));
    ASSERT_TRUE(JsonInteger(FieldRaw(f, "from"), &t.from));
    ASSERT_TRUE(JsonInteger(FieldRaw(f, "to"), &t.to));
    ASSERT_TRUE(JsonInteger(FieldRaw(f, "records"), &t.records));
    ASSERT_TRUE(JsonInteger(FieldRaw(f, "late"), &t.late));
    EXPECT_EQ(t.from, kStartSeconds + 10 * cycle);  // default step 10 s
    EXPECT_EQ(t.to, t.from + 10);
    EXPECT_GE(t.records - t.late, 5);  // --cycle-records 5-15
    EXPECT_LE(t.records - t.late, 15);
    EXPECT_GE(t.late, 0);  // --late-records 0-3
    EXPECT_LE(t.late, 3);
    // Sorted by cycle, then machine.
    EXPECT_TRUE(cycle > previous_cycle || (cycle == previous_cycle && machine > previous_machine))
        << line;
    previous_cycle = cycle;
    previous_machine = machine;
    truth[{cycle, machine}] = t;
  }
  ASSERT_EQ(truth.size(), 40u * 6u);

  // From the records: the cycle of each is its ts; a record of cycle c is late
  // when it comes after the first record of cycle c + 1. Those of the last
  // cycle come after all of its own, so the test counts them by position:
  // after the first late record of cycle 38, a record of cycle 39 is late.
  std::map<std::pair<int64_t, std::string>, CycleTruth> found;
  std::set<int64_t> cycles_seen;
  bool after_late_38 = false;
  for (const Event& e : events) {
    ASSERT_GE(e.ts, kStartSeconds);
    const int64_t cycle = (e.ts - kStartSeconds) / 10;
    ASSERT_LT(cycle, 40);
    CycleTruth& t = found[{cycle, e.machine}];
    ++t.records;
    const bool late = cycles_seen.count(cycle + 1) != 0 || (cycle == 39 && after_late_38);
    if (late) ++t.late;
    if (late && cycle == 38) after_late_38 = true;
    // Nothing of cycle c + 2 before a late record of cycle c: late means one
    // cycle late, not more.
    if (late) {
      EXPECT_EQ(cycles_seen.count(cycle + 2), 0u);
    }
    cycles_seen.insert(cycle);
  }
  int64_t late_total = 0;
  for (const auto& [at, t] : truth) {
    const auto it = found.find(at);
    ASSERT_NE(it, found.end()) << at.first << " " << at.second;
    EXPECT_EQ(it->second.records, t.records) << at.first << " " << at.second;
    EXPECT_EQ(it->second.late, t.late) << at.first << " " << at.second;
    late_total += t.late;
  }
  EXPECT_EQ(found.size(), truth.size());
  EXPECT_GT(late_total, 100);
}

TEST(SimProcesses, RangesStepAndSeed) {
  TempDir dir;
  const std::vector<std::string> args = {
      "--profile", "processes", "--equipment",     "3",    "--cycles",       "20",
      "--step",    "1m",        "--cycle-records", "2-2",  "--late-records", "1-1",
      "--seed",    "8",         "--start-time",    kStart, "--truth",        dir.File("truth")};
  const ProcessResult a = RunSim(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const std::vector<Event> events = ReadEvents(a.out);
  ASSERT_EQ(events.size(), 3u * 20u * 3u);
  for (const Event& e : events) {
    EXPECT_GE(e.ts, kStartSeconds);
    EXPECT_LT(e.ts, kStartSeconds + 20 * 60);
  }
  for (const std::string& line : Lines(ReadFile(dir.File("truth")))) {
    EXPECT_NE(line.find("\"records\":3,\"late\":1}"), std::string::npos) << line;
  }
  // The first cycle's 6 own records, then the second's, then the first's 3 late ones.
  for (size_t i = 0; i < 6; ++i) EXPECT_LT(events[i].ts, kStartSeconds + 60);
  for (size_t i = 6; i < 12; ++i) EXPECT_GE(events[i].ts, kStartSeconds + 60);
  for (size_t i = 12; i < 15; ++i) EXPECT_LT(events[i].ts, kStartSeconds + 60);

  EXPECT_EQ(RunSim(args).out, a.out);
  std::vector<std::string> other = args;
  other[13] = "9";
  EXPECT_NE(RunSim(other).out, a.out);
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
