// Hot equipment (--hot) and the truth file (--truth): what the truth file says
// matches the readings, and a gateway-like window (60 readings, above 75,
// clear below 73, min 10 samples) fires exactly once per hot key and never
// for the others. The window here is the test's own few lines, computed from
// the output in arrival order; the gateway's --replay check is separate.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

struct Truth {
  std::string key;
  int64_t hot_from = -1, hot_to = -1, episode_from = -1, episode_to = -1;
  int64_t from = -1, to = -1;  // micros
  double peak = 0;
};

std::map<std::string, Truth> ReadTruth(const std::string& path) {
  std::map<std::string, Truth> truth;
  simdjson::ondemand::parser parser;
  for (const std::string& line : Lines(ReadFile(path))) {
    simdjson::padded_string padded(line);
    simdjson::ondemand::document doc;
    EXPECT_FALSE(parser.iterate(padded).get(doc)) << line;
    Truth t;
    std::string_view text;
    EXPECT_FALSE(doc["key"].get_string().get(text)) << line;
    t.key = std::string(text);
    EXPECT_FALSE(doc["hot_from_reading"].get_int64().get(t.hot_from)) << line;
    EXPECT_FALSE(doc["hot_to_reading"].get_int64().get(t.hot_to)) << line;
    EXPECT_FALSE(doc["from"].get_string().get(text)) << line;
    EXPECT_TRUE(ParseTimestamp(text, &t.from)) << line;
    EXPECT_FALSE(doc["to"].get_string().get(text)) << line;
    EXPECT_TRUE(ParseTimestamp(text, &t.to)) << line;
    EXPECT_FALSE(doc["peak"].get_double().get(t.peak)) << line;
    EXPECT_FALSE(doc["episode_from_reading"].get_int64().get(t.episode_from)) << line;
    EXPECT_FALSE(doc["episode_to_reading"].get_int64().get(t.episode_to)) << line;
    truth[t.key] = t;
  }
  return truth;
}

struct Reading {
  int64_t micros;
  double value;
};

// Alert events of one key, by the index (in generation order) of the
// reading whose arrival caused them.
struct KeyAlerts {
  std::vector<int64_t> fired;
  std::vector<int64_t> resolved;
  double highest_average = 0;
};

void CheckHotRun(const std::vector<std::string>& extra, int hot, double hot_temp) {
  TempDir dir;
  std::vector<std::string> args = {"--start-time",      kStart,    "--hot",
                                   std::to_string(hot), "--truth", dir.File("truth")};
  args.insert(args.end(), extra.begin(), extra.end());
  const ProcessResult r = RunSim(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::map<std::string, Truth> truth = ReadTruth(dir.File("truth"));
  ASSERT_EQ(truth.size(), static_cast<size_t>(hot));

  // Arrival order per key, and each reading's generation index: readings of a
  // key have strictly increasing simulated times, one per cycle.
  std::map<std::string, std::vector<Reading>> arrival;
  for (const std::string& line : Lines(r.out)) {
    const CheckedRecord c = CheckRecord(line);
    if (!c.ok) continue;  // --bad lines
    arrival[c.key].push_back({c.micros, c.value});
  }
  for (const auto& [key, readings] : arrival) {
    std::vector<Reading> generated = readings;
    std::sort(generated.begin(), generated.end(),
              [](const Reading& a, const Reading& b) { return a.micros < b.micros; });
    std::map<int64_t, int64_t> index_of;  // micros -> generation index
    for (size_t i = 0; i < generated.size(); ++i) {
      ASSERT_TRUE(index_of.emplace(generated[i].micros, i).second) << key;
    }

    // Readings above the hot temperature are exactly the truth's range.
    std::vector<int64_t> above;
    double peak = 0;
    for (size_t i = 0; i < generated.size(); ++i) {
      if (generated[i].value > hot_temp) {
        above.push_back(static_cast<int64_t>(i));
        peak = std::max(peak, generated[i].value);
      }
    }
    const auto t = truth.find(key);
    if (t == truth.end()) {
      EXPECT_TRUE(above.empty()) << key;
      for (const Reading& g : generated) EXPECT_LE(g.value, 70.0) << key;
    } else {
      ASSERT_FALSE(above.empty()) << key;
      EXPECT_EQ(above.front(), t->second.hot_from) << key;
      EXPECT_EQ(above.back(), t->second.hot_to) << key;
      EXPECT_EQ(static_cast<int64_t>(above.size()), t->second.hot_to - t->second.hot_from + 1)
          << key << ": not one run";
      EXPECT_EQ(generated[static_cast<size_t>(t->second.hot_from)].micros, t->second.from) << key;
      EXPECT_EQ(generated[static_cast<size_t>(t->second.hot_to)].micros, t->second.to) << key;
      EXPECT_DOUBLE_EQ(peak, t->second.peak) << key;
      EXPECT_GE(t->second.hot_to - t->second.hot_from + 1, 60) << key;
      EXPECT_LE(t->second.episode_from, t->second.hot_from) << key;
      EXPECT_GE(t->second.episode_to, t->second.hot_to) << key;
      EXPECT_LT(t->second.episode_to + 60, static_cast<int64_t>(generated.size())) << key;
      // Outside the episode the key reads normally.
      for (size_t i = 0; i < generated.size(); ++i) {
        const auto n = static_cast<int64_t>(i);
        if (n < t->second.episode_from || n > t->second.episode_to) {
          EXPECT_LE(generated[i].value, 70.0) << key << " reading " << i;
        }
      }
    }

    // The window, in arrival order.
    KeyAlerts alerts;
    std::deque<double> window;
    double sum = 0;
    bool firing = false;
    for (const Reading& reading : readings) {
      window.push_back(reading.value);
      sum += reading.value;
      if (window.size() > 60) {
        sum -= window.front();
        window.pop_front();
      }
      const double average = sum / static_cast<double>(window.size());
      if (window.size() >= 10) alerts.highest_average = std::max(alerts.highest_average, average);
      const int64_t index = index_of[reading.micros];
      if (!firing && window.size() >= 10 && average > 75) {
        firing = true;
        alerts.fired.push_back(index);
      } else if (firing && average < 73) {
        firing = false;
        alerts.resolved.push_back(index);
      }
    }
    if (t == truth.end()) {
      EXPECT_TRUE(alerts.fired.empty()) << key;
      EXPECT_LE(alerts.highest_average, 70.0) << key;
    } else {
      ASSERT_EQ(alerts.fired.size(), 1u) << key;
      ASSERT_EQ(alerts.resolved.size(), 1u) << key;
      EXPECT_GE(alerts.fired[0], t->second.episode_from) << key;
      EXPECT_LE(alerts.fired[0], t->second.hot_to) << key;
      EXPECT_GT(alerts.resolved[0], t->second.hot_to) << key;
      EXPECT_LE(alerts.resolved[0], t->second.episode_to + 60) << key;
    }
  }
}

TEST(SimHot, TruthMatchesReadingsAndAWindowFiresExactlyForHotKeys) {
  CheckHotRun({"--count", "60000", "--seed", "1"}, 3, 80);
}

TEST(SimHot, HoldsWithLateAndMalformedRecordsAndOtherSeeds) {
  for (const char* seed : {"2", "3", "4", "5", "6"}) {
    SCOPED_TRACE(seed);
    CheckHotRun({"--count", "40000", "--seed", seed, "--late", "0.1", "--bad", "0.05"}, 5, 80);
  }
}

TEST(SimHot, HoldsForTheShortestRunAndAHigherHotTemperature) {
  // 170 readings per equipment is the least --hot accepts.
  CheckHotRun({"--count", "1700", "--equipment", "10", "--seed", "21"}, 10, 80);
  CheckHotRun({"--count", "30000", "--equipment", "10", "--seed", "22", "--hot-temp", "95.5"}, 4,
              95.5);
}

TEST(SimHot, HoldsForARunBoundedByDurationAndRate) {
  // No --count: the episodes are planned for 90% of what --duration and
  // --rate should give (here 2000 readings per key).
  CheckHotRun({"--duration", "4s", "--rate", "25000", "--seed", "31"}, 2, 80);
}

TEST(SimHot, TruthFileHasOneLinePerHotKeySortedByKey) {
  TempDir dir;
  const ProcessResult r =
      RunSim({"--count", "20000", "--start-time", kStart, "--hot", "7", "--truth", dir.File("t")});
  ASSERT_EQ(r.exit_code, 0);
  const std::vector<std::string> lines = Lines(ReadFile(dir.File("t")));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end()));
  for (const std::string& line : lines) {
    EXPECT_EQ(line.rfind("{\"key\":\"sensor", 0), 0u) << line;
  }
  EXPECT_FALSE(FileExists(dir.File("t.tmp")));
}

TEST(SimHot, UnfinishedEpisodesHaveNullFields) {
  TempDir dir;
  // About 20 readings per key: no episode gets above --hot-temp (each starts
  // at reading 20 or later and ramps up for at least 10 readings).
  const ProcessResult r = RunSim({"--equipment", "10", "--start-time", kStart, "--hot", "2",
                                  "--truth", dir.File("t"), "--duration", "1s", "--rate", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(ReadFile(dir.File("t")));
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    for (const char* field :
         {"\"hot_from_reading\":null", "\"hot_to_reading\":null", "\"from\":null", "\"to\":null",
          "\"peak\":null", "\"episode_to_reading\":null"}) {
      EXPECT_NE(line.find(field), std::string::npos) << field << " in " << line;
    }
  }
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
