// sensorgate-sim's output through the gateway: every good line is accepted by
// the reading parser, every malformed one rejected, and a replay fires for
// exactly the equipment the truth file says were made hot, within their
// episode.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/run_command.h"

namespace sensorgate {
namespace {

using testing_util::Lines;
using testing_util::ReadFile;
using testing_util::RunCommand;
using testing_util::TempDir;

const char kAlertIni[] =
    "[window]\nsize = 60\n[alert]\nabove = 75\nclear_below = 73\nmin_samples = 10\n";

// The number after `label ` in the replay summary.
uint64_t Count(const std::string& summary, const std::string& label) {
  const size_t at = summary.find(label);
  EXPECT_NE(at, std::string::npos) << label << " in " << summary;
  if (at == std::string::npos) return 0;
  size_t start = summary.rfind(' ', at - 2);
  return std::stoull(summary.substr(start + 1, at - start - 1));
}

TEST(SimThroughGateway, EveryGoodLineIsAcceptedAndEveryBadOneRejected) {
  TempDir dir;
  const std::string good = dir.path() + "/good.log", mixed = dir.path() + "/mixed.log";
  auto g = RunCommand({SENSORGATE_SIM_BIN, "--equipment", "37", "--count", "20000", "--seed", "3",
                       "--start-time", "2023-03-15T12:00:00Z", "--late", "0.1", "-o", good});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto m = RunCommand({SENSORGATE_SIM_BIN, "--equipment", "37", "--count", "20000", "--seed", "3",
                       "--start-time", "2023-03-15T12:00:00Z", "--late", "0.1", "--bad", "0.2", "-o", mixed});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const std::string ini = dir.Write("r.ini", "[window]\nsize = 60\n");
  const auto r_good = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", good});
  ASSERT_EQ(r_good.exit_code, 0);
  EXPECT_NE(r_good.err.find("20000 records read, 20000 accepted, 0 rejected, 37 keys"), std::string::npos)
      << r_good.err;

  const auto r_mixed = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", mixed});
  ASSERT_EQ(r_mixed.exit_code, 0);
  // The good readings are the same, so the windows are too.
  EXPECT_EQ(r_mixed.out, r_good.out);
  const uint64_t lines = Lines(ReadFile(mixed)).size();
  EXPECT_EQ(Count(r_mixed.err, "accepted"), 20000u) << r_mixed.err;
  // Blank lines are not records; every other bad line is a rejected record.
  uint64_t blank = 0;
  for (const auto& l : Lines(ReadFile(mixed))) blank += l.find_first_not_of(" \t\r") == std::string::npos;
  EXPECT_EQ(Count(r_mixed.err, "records read"), lines - blank);
  const double bad_fraction = static_cast<double>(lines - 20000) / static_cast<double>(lines);
  EXPECT_NEAR(bad_fraction, 0.2, 0.02);
}

struct Truth {
  std::string key;
  std::string from, to;  // the readings above --hot-temp
};

std::map<std::string, Truth> ReadTruth(const std::string& path) {
  std::map<std::string, Truth> out;
  simdjson::dom::parser p;
  for (const std::string& line : Lines(ReadFile(path))) {
    simdjson::dom::element e;
    if (p.parse(line).get(e)) continue;
    std::string_view key, from, to;
    if (e["key"].get(key) || e["from"].get(from) || e["to"].get(to)) continue;
    out[std::string(key)] = Truth{std::string(key), std::string(from), std::string(to)};
  }
  return out;
}

void CheckHotRun(const std::vector<std::string>& extra_args) {
  TempDir dir;
  const std::string log = dir.path() + "/hot.log", truth = dir.path() + "/truth.jsonl";
  std::vector<std::string> args = {SENSORGATE_SIM_BIN, "--equipment", "40", "--count", "40000", "--seed", "11",
                                   "--start-time", "2023-03-15T12:00:00Z", "--hot", "6", "--truth", truth,
                                   "-o", log};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const auto sim = RunCommand(args);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  const auto want = ReadTruth(truth);
  ASSERT_EQ(want.size(), 6u);

  const std::string ini = dir.Write("r.ini", kAlertIni);
  const auto r = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", log});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> events;  // key -> (state, time)
  simdjson::dom::parser p;
  for (const std::string& line : Lines(r.out)) {
    simdjson::dom::element e;
    ASSERT_FALSE(p.parse(line).get(e));
    std::string_view type, key, state, time;
    ASSERT_FALSE(e["event"].get(type));
    if (type != "alert") continue;
    ASSERT_FALSE(e["key"].get(key) || e["state"].get(state) || e["time"].get(time));
    events[std::string(key)].emplace_back(std::string(state), std::string(time));
  }
  std::set<std::string> fired, hot;
  for (const auto& [k, ev] : events) fired.insert(k);
  for (const auto& [k, t] : want) hot.insert(k);
  EXPECT_EQ(fired, hot) << r.out;
  for (const auto& [k, ev] : events) {
    ASSERT_EQ(ev.size(), 2u) << k << ": one firing, one resolved";
    EXPECT_EQ(ev[0].first, "firing");
    EXPECT_EQ(ev[1].first, "resolved");
    // RFC 3339 with the same layout compares as text: it fires while the
    // equipment reads hot, and resolves after it stopped.
    EXPECT_GE(ev[0].second, want.at(k).from) << k;
    EXPECT_LE(ev[0].second, want.at(k).to) << k;
    EXPECT_GT(ev[1].second, want.at(k).to) << k;
  }
}

TEST(SimThroughGateway, ReplayFiresForExactlyTheHotEquipmentOfTheTruthFile) { CheckHotRun({}); }

TEST(SimThroughGateway, LateReadingsDoNotChangeWhichEquipmentFire) { CheckHotRun({"--late", "0.05"}); }

}  // namespace
}  // namespace sensorgate
