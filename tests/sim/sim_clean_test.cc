// The temperature profile's additions for data cleaning (--glitch, --spike)
// and the promise that the profile's output without them has not changed by
// one byte: golden SHA-256 sums taken from the binary before the profiles
// were added.
#include <gtest/gtest.h>

#include <cmath>
#include <deque>
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

struct Golden {
  std::vector<std::string> args;  // "TRUTH" is replaced by the truth file
  const char* out_sha256;
  const char* truth_sha256;  // nullptr: no truth file
};

TEST(SimTemperature, OutputWithoutNewOptionsIsByteIdentical) {
  const std::vector<Golden> goldens = {
      {{"--start-time", kStart, "--count", "20000", "--seed", "7"},
       "a04db24bea5d837a6ae6fd632283f462f75d3b319064c333f2a8ae8655075b7d",
       nullptr},
      {{"--start-time", kStart, "--count", "30000", "--equipment", "20", "--hot", "3", "--truth",
        "TRUTH", "--seed", "11"},
       "bb6426e5a5cf5093ca0eef55fb714675950bcc493c279860b3dcb29c4fa5253f",
       "3079edcf1ca091b39953050c9677afc2aa6e065a95531755bdb5cb0825777313"},
      {{"--start-time", kStart, "--count", "20000", "--equipment", "30", "--late", "0.05", "--bad",
        "0.02", "--hot", "2", "--truth", "TRUTH", "--seed", "5", "--step", "1s"},
       "8fcc98459b0e798e8aea96f2830b37bd697065fa9bd1b01624c7216d8948a604",
       "8b1e381518b333d6606364037cb230d072b87439ade8ec0905b6ac1bdedbfcaf"},
  };
  for (const Golden& g : goldens) {
    TempDir dir;
    std::vector<std::string> args = g.args;
    for (std::string& a : args) {
      if (a == "TRUTH") a = dir.File("truth");
    }
    const ProcessResult r = RunSim(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Sha256Hex(r.out), g.out_sha256) << args[3];
    if (g.truth_sha256 != nullptr) {
      EXPECT_EQ(Sha256Hex(ReadFile(dir.File("truth"))), g.truth_sha256) << args[3];
    }
  }
}

TEST(SimTemperature, Sha256OfKnownText) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string(1000, 'a')),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

struct CleanTruth {
  std::string sensor;
  std::string kind;
  int64_t micros = 0;
  std::string value;
};

// The readings of good records by (key, time), as written.
std::map<std::pair<std::string, int64_t>, std::string> GoodReadings(const std::string& out) {
  std::map<std::pair<std::string, int64_t>, std::string> readings;
  for (const std::string& line : Lines(out)) {
    const CheckedRecord c = CheckRecord(line);
    if (c.ok) readings[{c.key, c.micros}] = c.value_text;
  }
  return readings;
}

TEST(SimTemperature, GlitchesAndSpikesReplaceReadingsAsTheTruthSays) {
  TempDir dir;
  const std::vector<std::string> base = {
      "--start-time", kStart, "--equipment", "10", "--count", "20000", "--hot", "1",
      "--seed",       "4",    "--step",      "1s", "--late",  "0.05",  "--bad", "0.02"};
  std::vector<std::string> plain = base;
  plain.insert(plain.end(), {"--truth", dir.File("plain")});
  std::vector<std::string> cleaned = base;
  cleaned.insert(cleaned.end(),
                 {"--glitch", "0.005", "--spike", "0.01", "--truth", dir.File("cleaned")});
  const ProcessResult a = RunSim(plain);
  const ProcessResult b = RunSim(cleaned);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;

  // The hot lines come first and are those of the run without the options.
  const std::vector<std::string> plain_truth = Lines(ReadFile(dir.File("plain")));
  const std::vector<std::string> truth = Lines(ReadFile(dir.File("cleaned")));
  ASSERT_EQ(plain_truth.size(), 1u);
  ASSERT_GT(truth.size(), 1u);
  EXPECT_EQ(truth[0], plain_truth[0]);
  std::string hot_key;
  int64_t episode_from = 0;
  int64_t episode_to = 0;
  {
    std::vector<JsonField> f;
    ASSERT_TRUE(ParseFields(truth[0], &f));
    ASSERT_TRUE(JsonString(FieldRaw(f, "key"), &hot_key));
    ASSERT_TRUE(JsonInteger(FieldRaw(f, "episode_from_reading"), &episode_from));
    ASSERT_TRUE(JsonInteger(FieldRaw(f, "episode_to_reading"), &episode_to));
  }
  // The hot key's reading numbers: one reading a cycle, so its times in order.
  std::map<int64_t, int64_t> hot_reading;
  for (const std::string& line : Lines(a.out)) {
    const CheckedRecord c = CheckRecord(line);
    if (c.ok && c.key == hot_key) hot_reading[c.micros] = 0;
  }
  int64_t n = 0;
  for (auto& [micros, index] : hot_reading) index = n++;

  std::map<std::pair<std::string, int64_t>, CleanTruth> events;
  int spikes = 0;
  int glitches = 0;
  int64_t previous = 0;
  for (size_t i = 1; i < truth.size(); ++i) {
    std::vector<JsonField> f;
    ASSERT_TRUE(ParseFields(truth[i], &f)) << truth[i];
    EXPECT_EQ(FieldNames(f), (std::vector<std::string>{"sensor", "kind", "time", "value"}));
    CleanTruth t;
    std::string time;
    ASSERT_TRUE(JsonString(FieldRaw(f, "sensor"), &t.sensor));
    ASSERT_TRUE(JsonString(FieldRaw(f, "kind"), &t.kind));
    ASSERT_TRUE(JsonString(FieldRaw(f, "time"), &time));
    ASSERT_TRUE(ParseTimestamp(time, &t.micros)) << time;
    EXPECT_GE(t.micros, previous) << "generation order is time order here";
    previous = t.micros;
    double value = 0;
    ASSERT_TRUE(JsonOneDecimal(FieldRaw(f, "value"), &value)) << truth[i];
    t.value = FieldRaw(f, "value");
    if (t.sensor == hot_key) {
      // Spared from the episode's start to 60 readings after its end.
      const int64_t index = hot_reading.at(t.micros);
      EXPECT_TRUE(index < episode_from || index > episode_to + 60) << truth[i];
    }
    if (t.kind == "spike") {
      ++spikes;
      EXPECT_LE(value, 100.0);
    } else {
      ASSERT_EQ(t.kind, "glitch");
      ++glitches;
      EXPECT_TRUE(t.value == "-999.9" || t.value == "9999.9") << t.value;
    }
    events[{t.sensor, t.micros}] = t;
  }
  EXPECT_GT(spikes, 50);
  EXPECT_GT(glitches, 30);

  // Every reading is that of the plain run except exactly the truth's.
  const auto plain_readings = GoodReadings(a.out);
  const auto readings = GoodReadings(b.out);
  ASSERT_EQ(readings.size(), 20000u);
  ASSERT_EQ(plain_readings.size(), readings.size());
  size_t changed = 0;
  for (const auto& [at, value] : readings) {
    const auto p = plain_readings.find(at);
    ASSERT_NE(p, plain_readings.end());
    const auto e = events.find(at);
    if (p->second == value) {
      EXPECT_EQ(e, events.end()) << at.first << " " << at.second;
      continue;
    }
    ++changed;
    ASSERT_NE(e, events.end()) << at.first << " " << at.second;
    EXPECT_EQ(e->second.value, value);
    if (e->second.kind == "spike") {
      EXPECT_NEAR(std::stod(value) - std::stod(p->second), 30.0, 1e-9);
    }
  }
  EXPECT_EQ(changed, events.size());

  // A count-60 window per key in arrival order, out-of-range values left out,
  // judges each value against the window before it (at least 20 values):
  // every spike stands out by far more than 5 standard deviations, no
  // normal reading of a key that is not hot by even 4.5.
  std::map<std::string, std::deque<double>> windows;
  double lowest_spike_z = 1e9;
  double highest_normal_z = 0;
  for (const std::string& line : Lines(b.out)) {
    const CheckedRecord c = CheckRecord(line);
    if (!c.ok || c.value < -50 || c.value > 200) continue;
    std::deque<double>& w = windows[c.key];
    if (w.size() >= 20) {
      double mean = 0;
      for (double v : w) mean += v;
      mean /= static_cast<double>(w.size());
      double var = 0;
      for (double v : w) var += (v - mean) * (v - mean);
      const double z = std::fabs(c.value - mean) / std::sqrt(var / static_cast<double>(w.size()));
      if (events.count({c.key, c.micros}) != 0) {
        lowest_spike_z = std::min(lowest_spike_z, z);
      } else if (c.key != hot_key) {
        highest_normal_z = std::max(highest_normal_z, z);
      }
    }
    w.push_back(c.value);
    if (w.size() > 60) w.pop_front();
  }
  EXPECT_GT(lowest_spike_z, 6.0);
  EXPECT_LT(highest_normal_z, 4.5);

  // Same seed, same bytes; another seed, other glitches.
  EXPECT_EQ(RunSim(cleaned).out, b.out);
  std::vector<std::string> other = cleaned;
  other[9] = "5";
  EXPECT_NE(RunSim(other).out, b.out);
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
