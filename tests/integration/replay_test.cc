// Replays the real sample (../shared/data/dados_sensores.txt) through the
// sensorgate binary and checks every alert event and window line against a
// model computed here, independently: simdjson's DOM API and timegm() for the
// input, a std::deque per key with a long double sum for the windows, and the
// DESIGN.md section 5 rules written out again for the alerts.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/run_command.h"

namespace sensorgate {
namespace {

using testing_util::Lines;
using testing_util::ReadFile;
using testing_util::RunCommand;
using testing_util::TempDir;

const std::string kSample = std::string(SENSORGATE_SHARED_DATA) + "/dados_sensores.txt";

// "2023-03-15T12:15:37.166944Z" -> microseconds, by another route than the gateway's.
int64_t ModelTime(const std::string& s) {
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  EXPECT_NE(rest, nullptr) << s;
  int64_t us = 0;
  if (rest && *rest == '.') {
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits) {
      if (digits < 6) us = us * 10 + (*rest - '0');
    }
    for (; digits < 6; ++digits) us *= 10;
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + us;
}

struct ModelRule {
  uint32_t size;
  double above, clear_below;
  int64_t for_us;
  uint32_t min_samples;
};

struct ModelWindow {
  std::deque<double> values;
  uint64_t total = 0;
  int64_t time = 0;
  int phase = 0;  // 0 ok, 1 pending, 2 firing
  int64_t since = 0;
  long double Mean() const {
    long double s = 0;
    for (double v : values) s += v;
    return s / values.size();
  }
};

struct ModelEvent {
  std::string state, key;
  long double avg;
  uint64_t count;
  int64_t time;
};

struct Model {
  std::vector<ModelEvent> events;
  std::map<std::string, ModelWindow> windows;  // std::map: bytewise key order
  uint64_t records = 0;
};

Model RunModel(const std::string& path, const ModelRule& rule) {
  Model m;
  simdjson::dom::parser parser;
  for (const std::string& raw : Lines(ReadFile(path))) {
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ++m.records;
    simdjson::dom::element doc = parser.parse(line);
    const std::string key{std::string_view(doc["sensor"])};
    const double value = double(doc["padrao"]["leitura"]["temperatura"]);
    const int64_t t = ModelTime(std::string(std::string_view(doc["data_evento"])));
    ModelWindow& w = m.windows[key];
    w.values.push_back(value);
    if (w.values.size() > rule.size) w.values.pop_front();
    ++w.total;
    w.time = t;
    const long double avg = w.Mean();
    // A threshold the data could hit exactly would make the check depend on rounding.
    EXPECT_GT(std::fabs(avg - rule.above), 1e-9L);
    EXPECT_GT(std::fabs(avg - rule.clear_below), 1e-9L);
    const bool hot = w.values.size() >= rule.min_samples && avg > rule.above;
    auto emit = [&](const char* state) { m.events.push_back(ModelEvent{state, key, avg, w.values.size(), t}); };
    if (w.phase == 0 && hot) {
      if (rule.for_us == 0) {
        w.phase = 2;
        emit("firing");
      } else {
        w.phase = 1;
        w.since = t;
      }
    } else if (w.phase == 1) {
      if (!hot) {
        w.phase = 0;
      } else if (t - w.since >= rule.for_us) {
        w.phase = 2;
        emit("firing");
      }
    } else if (w.phase == 2 && avg < rule.clear_below) {
      w.phase = 0;
      emit("resolved");
    }
  }
  return m;
}

void ExpectClose(double got, long double want, const std::string& what) {
  EXPECT_LE(std::fabs((got - want) / want), 1e-9L) << what << ": got " << got << " want " << static_cast<double>(want);
}

std::string ConfigFor(const ModelRule& r, const std::string& extra = "") {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "[window]\nsize = %u\n\n[alert]\nabove = %.17g\nclear_below = %.17g\nfor = %lldus\n"
                "min_samples = %u\n",
                r.size, r.above, r.clear_below, static_cast<long long>(r.for_us), r.min_samples);
  return buf + extra;
}

void CheckReplayAgainstModel(const ModelRule& rule, bool expect_resolved) {
  if (access(kSample.c_str(), R_OK) != 0) GTEST_SKIP() << kSample << " is absent: the sample data lives in ../shared/data";
  TempDir dir;
  const std::string ini = dir.Write("replay.ini", ConfigFor(rule));
  const auto r = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", kSample});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Model model = RunModel(kSample, rule);
  ASSERT_GT(model.events.size(), 0u) << "the rule should fire on the sample";
  if (expect_resolved) {
    const bool resolved = std::any_of(model.events.begin(), model.events.end(),
                                      [](const ModelEvent& e) { return e.state == "resolved"; });
    ASSERT_TRUE(resolved) << "the rule should also resolve on the sample";
  }

  simdjson::dom::parser parser;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), model.events.size() + model.windows.size()) << r.out;
  size_t i = 0;
  for (const ModelEvent& want : model.events) {
    SCOPED_TRACE("alert line " + std::to_string(i + 1) + ": " + lines[i]);
    simdjson::dom::element e = parser.parse(lines[i++]);
    EXPECT_EQ(std::string_view(e["event"]), "alert");
    EXPECT_EQ(std::string_view(e["rule"]), "hot");
    EXPECT_EQ(std::string_view(e["state"]), want.state);
    EXPECT_EQ(std::string_view(e["key"]), want.key);
    EXPECT_EQ(uint64_t(e["count"]), want.count);
    EXPECT_EQ(ModelTime(std::string(std::string_view(e["time"]))), want.time);
    ExpectClose(double(e["avg"]), want.avg, "avg");
  }
  for (const auto& [key, w] : model.windows) {
    SCOPED_TRACE("window line " + std::to_string(i + 1) + ": " + lines[i]);
    simdjson::dom::element e = parser.parse(lines[i++]);
    EXPECT_EQ(std::string_view(e["event"]), "window");
    EXPECT_EQ(std::string_view(e["key"]), key);
    EXPECT_EQ(uint64_t(e["count"]), w.values.size());
    EXPECT_EQ(uint64_t(e["total"]), w.total);
    ExpectClose(double(e["avg"]), w.Mean(), "avg");
    EXPECT_EQ(double(e["min"]), *std::min_element(w.values.begin(), w.values.end()));
    EXPECT_EQ(double(e["max"]), *std::max_element(w.values.begin(), w.values.end()));
    EXPECT_EQ(double(e["last"]), w.values.back());
    const std::string time{std::string_view(e["time"])};
    EXPECT_EQ(time.size(), 27u);  // RFC 3339, microseconds, Z
    EXPECT_EQ(ModelTime(time), w.time);
  }
  EXPECT_NE(r.err.find(std::to_string(model.records) + " records read, " +
                       std::to_string(model.records) + " accepted, 0 rejected"),
            std::string::npos)
      << r.err;
}

TEST(ReplaySample, MatchesModelWithAFullSizeWindow) {
  CheckReplayAgainstModel({60, 60.0123, 58.0123, 0, 10}, false);
}

TEST(ReplaySample, MatchesModelWithImmediateFiringAndHysteresis) {
  CheckReplayAgainstModel({5, 60.0123, 58.0123, 0, 3}, true);
}

TEST(ReplaySample, MatchesModelWithForAndHysteresis) {
  // The sample spans 0.2 s of reading time: `for` is set in milliseconds.
  CheckReplayAgainstModel({5, 60.0123, 58.0123, 20000, 3}, true);
}

TEST(ReplaySample, MatchesModelWithNoAlertSectionAsWindowsOnly) {
  if (access(kSample.c_str(), R_OK) != 0) GTEST_SKIP() << kSample << " is absent";
  TempDir dir;
  const std::string ini = dir.Write("replay.ini", "[window]\nsize = 7\n");
  const auto r = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", kSample});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Model model = RunModel(kSample, {7, 1e300, 1e300, 0, 1});
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), model.windows.size());
  EXPECT_EQ(r.out.find("\"alert\""), std::string::npos);
}

TEST(ReplaySample, BadRecordsAreCountedAndChangeNoWindow) {
  if (access(kSample.c_str(), R_OK) != 0) GTEST_SKIP() << kSample << " is absent";
  TempDir dir;
  // Interleave bad records with the sample's lines.
  std::string mixed;
  const std::vector<std::string> bad = {
      R"({"sensor":"sensor01","padrao":{"leitura":{"temperatura":"99.9"}},"data_evento":"2023-03-15T12:15:38Z"})",
      R"({"sensor":"sensor01","padrao":{"leitura":{"temperatura":99.9}}})",
      R"({"sensor":"","padrao":{"leitura":{"temperatura":99.9}},"data_evento":"2023-03-15T12:15:38Z"})",
      R"({"sensor":"sensor01","padrao":{"leitura":{"temperatura":99.9}},"data_evento":"2023-03-15T12:15)",
      std::string(70000, '{'),
  };
  size_t n = 0;
  for (const std::string& line : Lines(ReadFile(kSample))) {
    mixed += line + "\n";
    if (++n % 1000 == 0) mixed += bad[(n / 1000) % bad.size()] + "\n";
  }
  const std::string input = dir.Write("mixed.txt", mixed);
  const std::string ini = dir.Write("replay.ini", ConfigFor({60, 60.0123, 58.0123, 0, 10}));
  const auto clean = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", kSample});
  const auto dirty = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", input});
  ASSERT_EQ(dirty.exit_code, 0);
  EXPECT_EQ(dirty.out, clean.out);  // the same windows and alerts, line for line
  EXPECT_NE(dirty.err.find("10010 records read, 10000 accepted, 10 rejected"), std::string::npos) << dirty.err;
  for (const char* reason : {"value_not_number 2", "time_missing 2", "key_empty 2", "parse_error 2", "too_long 2"}) {
    EXPECT_NE(dirty.err.find(reason), std::string::npos) << reason << "\n" << dirty.err;
  }
}

TEST(ReplaySample, CsvOfTheSameReadingsGivesTheSameOutput) {
  if (access(kSample.c_str(), R_OK) != 0) GTEST_SKIP() << kSample << " is absent";
  TempDir dir;
  simdjson::dom::parser parser;
  std::string csv = "data_evento,sensor,temperatura\r\n";
  for (const std::string& line : Lines(ReadFile(kSample))) {
    simdjson::dom::element doc = parser.parse(line);
    csv += std::string(std::string_view(doc["data_evento"])) + ",\"" +
           std::string(std::string_view(doc["sensor"])) + "\"," +
           std::string(simdjson::to_string(doc["padrao"]["leitura"]["temperatura"])) + "\r\n";
  }
  const std::string input = dir.Write("sample.csv", csv);
  const ModelRule rule{60, 60.0123, 58.0123, 0, 10};
  const std::string json_ini = dir.Write("json.ini", ConfigFor(rule));
  const std::string csv_ini = dir.Write("csv.ini", ConfigFor(rule, "\n[file]\npath = /dev/null\nformat = csv\n[reading]\nvalue = temperatura\n"));
  const auto from_json = RunCommand({SENSORGATE_BIN, "--config", json_ini, "--replay", kSample});
  const auto from_csv = RunCommand({SENSORGATE_BIN, "--config", csv_ini, "--replay", input});
  ASSERT_EQ(from_csv.exit_code, 0) << from_csv.err;
  EXPECT_EQ(from_csv.out, from_json.out);
}

TEST(ReplaySample, SeveralFilesAreReadInTheOrderGiven) {
  if (access(kSample.c_str(), R_OK) != 0) GTEST_SKIP() << kSample << " is absent";
  TempDir dir;
  const auto lines = Lines(ReadFile(kSample));
  std::string a, b;
  for (size_t i = 0; i < lines.size(); ++i) (i < 4321 ? a : b) += lines[i] + "\n";
  const std::string fa = dir.Write("a.txt", a), fb = dir.Write("b.txt", b);
  const std::string ini = dir.Write("r.ini", ConfigFor({60, 60.0123, 58.0123, 0, 10}));
  const auto whole = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", kSample});
  const auto split = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", fa, fb});
  const auto piped = RunCommand({SENSORGATE_BIN, "--config", ini, "--replay", fa, "-"}, b);
  EXPECT_EQ(split.out, whole.out);
  EXPECT_EQ(piped.out, whole.out);
}

}  // namespace
}  // namespace sensorgate
