// --profile traffic: telecom cell records, and a truth file whose surge and
// latency episodes the test finds again from the records alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/sim/sim_profile_util.h"
#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

struct TrafficRecord {
  int64_t micros = 0;
  std::string cell;
  std::string protocol;
  int64_t bytes = 0;
  int64_t packets = 0;
  double latency_ms = 0;
};

std::vector<TrafficRecord> ReadTraffic(const std::string& out) {
  std::vector<TrafficRecord> records;
  for (const std::string& line : Lines(out)) {
    std::vector<JsonField> f;
    EXPECT_TRUE(ParseFields(line, &f)) << line;
    EXPECT_EQ(FieldNames(f), (std::vector<std::string>{"time", "cell", "protocol", "bytes",
                                                       "packets", "latency_ms"}))
        << line;
    TrafficRecord r;
    std::string time;
    EXPECT_TRUE(JsonString(FieldRaw(f, "time"), &time)) << line;
    EXPECT_TRUE(ParseTimestamp(time, &r.micros)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "cell"), &r.cell)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "protocol"), &r.protocol)) << line;
    EXPECT_TRUE(JsonInteger(FieldRaw(f, "bytes"), &r.bytes)) << line;
    EXPECT_TRUE(JsonInteger(FieldRaw(f, "packets"), &r.packets)) << line;
    EXPECT_TRUE(JsonOneDecimal(FieldRaw(f, "latency_ms"), &r.latency_ms)) << line;
    records.push_back(r);
  }
  return records;
}

const std::vector<std::string> kArgs = {"--profile", "traffic", "--equipment",  "12",
                                        "--count",   "12000",   "--hot",        "2",
                                        "--seed",    "9",       "--start-time", kStart};

TEST(SimTraffic, EveryCellOncePerCycleWithTheDocumentedFields) {
  const ProcessResult r = RunSim({"--profile", "traffic", "--equipment", "12", "--count", "2400",
                                  "--seed", "3", "--start-time", kStart});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<TrafficRecord> records = ReadTraffic(r.out);
  ASSERT_EQ(records.size(), 2400u);
  std::map<std::string, int> protocols;
  for (size_t i = 0; i < records.size(); ++i) {
    const TrafficRecord& t = records[i];
    const int64_t cycle = static_cast<int64_t>(i / 12);
    // The default step is 1 s: cycle c lies in [start + c s, start + (c+1) s).
    EXPECT_GE(t.micros, kStartMicros + cycle * 1000000);
    EXPECT_LT(t.micros, kStartMicros + (cycle + 1) * 1000000);
    if (i > 0) {
      EXPECT_GE(t.micros, records[i - 1].micros);
    }
    EXPECT_TRUE(MatchesShape(t.cell, "C##")) << t.cell;
    ++protocols[t.protocol];
    if (t.protocol == "ICMP") {
      EXPECT_GE(t.bytes, 64);
      EXPECT_LE(t.bytes, 1500);
    } else {
      EXPECT_GE(t.bytes, 45000);
      EXPECT_LE(t.bytes, 550000);
    }
    EXPECT_EQ(t.packets, t.bytes / 1000 + 1);
    EXPECT_GE(t.latency_ms, 9.0);
    EXPECT_LE(t.latency_ms, 66.0);
  }
  for (size_t c = 0; c < 200; ++c) {
    std::set<std::string> cells;
    for (size_t i = 0; i < 12; ++i) cells.insert(records[c * 12 + i].cell);
    EXPECT_EQ(cells.size(), 12u) << "cycle " << c;
  }
  EXPECT_EQ(protocols.size(), 3u);
  EXPECT_NEAR(protocols["TCP"] / 2400.0, 0.70, 0.04);
  EXPECT_NEAR(protocols["UDP"] / 2400.0, 0.25, 0.04);
  EXPECT_NEAR(protocols["ICMP"] / 2400.0, 0.05, 0.02);
}

TEST(SimTraffic, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir dir;
  std::vector<std::string> args = kArgs;
  args.insert(args.end(), {"--truth", dir.File("t1"), "--bad", "0.01"});
  const ProcessResult a = RunSim(args);
  args[args.size() - 3] = dir.File("t2");
  const ProcessResult b = RunSim(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(ReadFile(dir.File("t1")), ReadFile(dir.File("t2")));
  args[9] = "10";
  const ProcessResult c = RunSim(args);
  EXPECT_NE(a.out, c.out);
}

struct Episode {
  std::string cell;
  std::string kind;
  int64_t from = 0;
  int64_t to = 0;
};

TEST(SimTraffic, TruthEpisodesAreWhatTheRecordsShow) {
  TempDir dir;
  std::vector<std::string> args = kArgs;
  args.insert(args.end(), {"--truth", dir.File("truth")});
  const ProcessResult r = RunSim(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<TrafficRecord> records = ReadTraffic(r.out);
  ASSERT_EQ(records.size(), 12000u);

  std::vector<Episode> truth;
  for (const std::string& line : Lines(ReadFile(dir.File("truth")))) {
    std::vector<JsonField> f;
    ASSERT_TRUE(ParseFields(line, &f)) << line;
    EXPECT_EQ(FieldNames(f), (std::vector<std::string>{"cell", "kind", "from", "to"}));
    Episode e;
    std::string from;
    std::string to;
    ASSERT_TRUE(JsonString(FieldRaw(f, "cell"), &e.cell));
    ASSERT_TRUE(JsonString(FieldRaw(f, "kind"), &e.kind));
    ASSERT_TRUE(JsonString(FieldRaw(f, "from"), &from));
    ASSERT_TRUE(JsonString(FieldRaw(f, "to"), &to));
    ASSERT_TRUE(ParseTimestamp(from, &e.from));
    ASSERT_TRUE(ParseTimestamp(to, &e.to));
    truth.push_back(e);
  }
  ASSERT_EQ(truth.size(), 4u);
  EXPECT_TRUE(std::is_sorted(truth.begin(), truth.end(), [](const Episode& a, const Episode& b) {
    return a.from != b.from ? a.from < b.from : a.cell < b.cell;
  }));

  // Each cell's normal level is its median; a surge is TCP/UDP bytes above 3x
  // it, a latency anomaly latency above 3x it.
  std::map<std::string, std::vector<int64_t>> bytes;
  std::map<std::string, std::vector<double>> latency;
  for (const TrafficRecord& t : records) {
    if (t.protocol != "ICMP") bytes[t.cell].push_back(t.bytes);
    latency[t.cell].push_back(t.latency_ms);
  }
  std::map<std::string, double> bytes_median;
  std::map<std::string, double> latency_median;
  for (auto& [cell, v] : bytes) {
    std::sort(v.begin(), v.end());
    bytes_median[cell] = static_cast<double>(v[v.size() / 2]);
  }
  for (auto& [cell, v] : latency) {
    std::sort(v.begin(), v.end());
    latency_median[cell] = v[v.size() / 2];
  }
  // Found from the records: per cell and kind, the first and last time.
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> found;
  const auto note = [&found](const std::string& cell, const char* kind, int64_t t) {
    auto it = found.find({cell, kind});
    if (it == found.end()) {
      found[{cell, kind}] = {t, t};
    } else {
      it->second.second = std::max(it->second.second, t);
      it->second.first = std::min(it->second.first, t);
    }
  };
  for (const TrafficRecord& t : records) {
    if (t.protocol != "ICMP" && t.bytes > 3 * bytes_median[t.cell]) note(t.cell, "surge", t.micros);
    if (t.latency_ms > 3 * latency_median[t.cell]) note(t.cell, "latency", t.micros);
  }
  ASSERT_EQ(found.size(), truth.size());
  const int64_t last = records.back().micros;
  for (const Episode& e : truth) {
    const auto it = found.find({e.cell, e.kind});
    ASSERT_NE(it, found.end()) << e.cell << " " << e.kind;
    // from: the first affected cycle's time; to: the next cycle's (120 s on).
    EXPECT_EQ(e.to - e.from, 120LL * 1000000) << e.cell;
    EXPECT_GE(e.from, kStartMicros + 600LL * 1000000) << e.cell;
    EXPECT_LT(e.to, last) << e.cell;
    EXPECT_EQ((e.from - kStartMicros) % 1000000, 0);
    EXPECT_GE(it->second.first, e.from) << e.cell;
    EXPECT_LT(it->second.first, e.from + 5000000) << e.cell;  // ICMP: no surge
    EXPECT_LT(it->second.second, e.to) << e.cell;
    EXPECT_GE(it->second.second, e.to - 5000000) << e.cell;
    // Every record of the cell inside the episode is affected.
    for (const TrafficRecord& t : records) {
      if (t.cell != e.cell || t.micros < e.from || t.micros >= e.to) continue;
      if (e.kind == "latency") {
        EXPECT_GT(t.latency_ms, 3 * latency_median[t.cell]);
      } else if (t.protocol != "ICMP") {
        EXPECT_GT(t.bytes, 3 * bytes_median[t.cell]);
      }
    }
  }
  std::set<std::string> cells;
  for (const Episode& e : truth) cells.insert(e.cell);
  EXPECT_EQ(cells.size(), 4u) << "surge and latency cells differ";
}

TEST(SimTraffic, TooShortARunForTheEpisodesSaysTheMinimumCount) {
  const ProcessResult r = RunSim({"--profile", "traffic", "--equipment", "10", "--count", "7209",
                                  "--hot", "1", "--start-time", kStart});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("--count must be at least 7210"), std::string::npos) << r.err;
  EXPECT_EQ(Lines(r.err).size(), 1u);
  const ProcessResult ok = RunSim({"--profile", "traffic", "--equipment", "10", "--count", "7210",
                                   "--hot", "1", "--start-time", kStart});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
