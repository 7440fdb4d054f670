#include "gateway/parse/record_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gateway/pipeline/pipeline.h"

namespace sensorgate {
namespace {

const char kSample[] =
    R"({"id_sensor":"Sensor-1503-762GK","id_equipamento":"Equipament-0323XH-762GK","sensor":"sensor16", "data_evento":"2023-03-15T12:15:37.166944Z", "padrao":{"formato":"iot:leitura:sensor:temp", "leitura":{"temperatura":73.3}}})";
constexpr TimeMicros kSampleTime = 1678882537LL * 1000000 + 166944;
constexpr TimeMicros kArrival = 1700000000LL * 1000000;

// Parses `record` from a buffer with the padding the parser requires.
struct Parsed {
  bool ok;
  Reading reading;
  std::string key;
  RejectReason why;
  // The parser's added fields, copied while the record lives.
  struct Field {
    FieldValue::Kind kind;
    std::string text;
    double number;
  };
  std::vector<Field> fields;
};

Parsed ParseWith(RecordParser& p, const std::string& record) {
  std::vector<char> buf(record.begin(), record.end());
  buf.resize(record.size() + kRecordPadding, 'x');  // padding content must not matter
  Parsed r{};
  r.ok = p.Parse(buf.data(), record.size(), kArrival, &r.reading, &r.why);
  if (r.ok) r.key = std::string(r.reading.key);
  if (p.parsed()) {
    for (size_t i = 0; i < p.field_count(); ++i) {
      const FieldValue& f = p.fields()[i];
      r.fields.push_back({f.kind, std::string(f.text), f.number});
    }
  }
  return r;
}

class JsonRecords : public ::testing::Test {
 protected:
  JsonRecords() : parser_(DefaultConfig().reading, RecordFormat::kJson) {}
  Parsed P(const std::string& record) { return ParseWith(parser_, record); }
  RejectReason Why(const std::string& record) {
    const Parsed r = P(record);
    EXPECT_FALSE(r.ok) << record;
    return r.why;
  }
  RecordParser parser_;
};

TEST_F(JsonRecords, ReadsTheSampleFormat) {
  const Parsed r = P(kSample);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "sensor16");
  EXPECT_EQ(r.reading.value, 73.3);
  EXPECT_EQ(r.reading.time_us, kSampleTime);
}

TEST_F(JsonRecords, FindsFieldsInAnyOrderAndSkipsOthers) {
  const Parsed r = P(R"({"padrao":{"leitura":{"x":[1,{"y":2}],"temperatura":-4.5e1},"z":null},"extra":{"sensor":"no"},"data_evento":1678882537,"sensor":"s1"})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "s1");
  EXPECT_EQ(r.reading.value, -45);
  EXPECT_EQ(r.reading.time_us, 1678882537LL * 1000000);
}

TEST_F(JsonRecords, UnescapesKeysAndNames) {
  const Parsed r = P(R"({"sens\u006fr":"a\"b\u00e9","padrao":{"leitura":{"temperatura":1}},"data_evento":"2023-03-15T12:15:37Z"})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "a\"b\xc3\xa9");
}

TEST_F(JsonRecords, UsesANumberKeyAsItsText) {
  const Parsed r = P(R"({"sensor": 1603 ,"padrao":{"leitura":{"temperatura":1}},"data_evento":"2023-03-15T12:15:37Z"})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "1603");
  EXPECT_EQ(P(R"({"sensor":-1.50e3,"padrao":{"leitura":{"temperatura":1}},"data_evento":"2023-03-15T12:15:37Z"})").key, "-1.50e3");
}

TEST_F(JsonRecords, ReadsMillisecondTimes) {
  const Parsed r = P(R"({"sensor":"s","padrao":{"leitura":{"temperatura":1}},"data_evento":1678882537166})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.reading.time_us, 1678882537166LL * 1000);
}

TEST_F(JsonRecords, RejectsWhatDoesNotParse) {
  for (const char* bad : {"", "{", "not json", R"({"sensor":"s1","padrao":{"leitura":{"temperatura":73.3}},"data_evento":"2023-03-15T12:15:37Z")",
                          R"({"sensor":"s1","padrao":{"leitura":{"temperatura":73.3}},"data_evento":"2023-03-15T12:15:37Z"} x)",
                          R"({"sensor":"s1","padrao":{"leitura":{"temperatura":73.3}},"data_evento":"2023-03-15T12:15:37Z"}{})",
                          R"([1,2])", R"("text")", R"({"sensor":"s1" "x":1})",
                          "{\"sensor\":\"s\xff\",\"padrao\":{\"leitura\":{\"temperatura\":1}}}"}) {
    EXPECT_EQ(Why(bad), RejectReason::kParseError) << bad;
  }
}

// On-Demand parsing validates the structure of the whole record and every
// value on the configured paths; a value elsewhere that is never read is
// skipped, not judged. The reading is taken.
TEST_F(JsonRecords, SkipsValuesOutsideTheConfiguredPathsWithoutJudgingThem) {
  EXPECT_TRUE(P(R"({"sensor":"s1","padrao":{"leitura":{"temperatura":73.3}},"data_evento":"2023-03-15T12:15:37Z","x":tru})").ok);
  // Broken structure is still caught: an unclosed object at the end.
  EXPECT_FALSE(P(R"({"sensor":"s1","padrao":{"leitura":{"temperatura":73.3}},"data_evento":"2023-03-15T12:15:37Z","x":{"y":1})").ok);
}

TEST_F(JsonRecords, RejectsRecordsOver64KiB) {
  std::string big = R"({"sensor":"s1","padrao":{"leitura":{"temperatura":1}},"data_evento":"2023-03-15T12:15:37Z","pad":")";
  big += std::string(kMaxRecordBytes, 'a') + "\"}";
  EXPECT_EQ(Why(big), RejectReason::kTooLong);
}

std::string Rec(const std::string& key_json, const std::string& value_json, const std::string& time_json) {
  std::string r = "{";
  if (!key_json.empty()) r += R"("sensor":)" + key_json + ",";
  if (!value_json.empty()) r += R"("padrao":{"leitura":{"temperatura":)" + value_json + "}},";
  if (!time_json.empty()) r += R"("data_evento":)" + time_json + ",";
  r += R"("id":1})";
  return r;
}
const std::string kT = R"("2023-03-15T12:15:37Z")";

TEST_F(JsonRecords, RejectsBadKeys) {
  EXPECT_EQ(Why(Rec("", "1", kT)), RejectReason::kKeyMissing);
  EXPECT_EQ(Why(Rec("null", "1", kT)), RejectReason::kKeyMissing);
  EXPECT_EQ(Why(Rec(R"("")", "1", kT)), RejectReason::kKeyEmpty);
  EXPECT_EQ(Why(Rec('"' + std::string(129, 'k') + '"', "1", kT)), RejectReason::kKeyTooLong);
  EXPECT_TRUE(P(Rec('"' + std::string(128, 'k') + '"', "1", kT)).ok);
  EXPECT_EQ(Why(Rec(R"("a\u0001b")", "1", kT)), RejectReason::kKeyControlChar);
  EXPECT_EQ(Why(Rec(R"("a\tb")", "1", kT)), RejectReason::kKeyControlChar);
  EXPECT_EQ(Why(Rec(R"("a\u007fb")", "1", kT)), RejectReason::kKeyControlChar);
  EXPECT_EQ(Why(Rec("true", "1", kT)), RejectReason::kKeyNotText);
  EXPECT_EQ(Why(Rec(R"({"a":1})", "1", kT)), RejectReason::kKeyNotText);
  // A raw control byte inside a JSON string is invalid JSON.
  EXPECT_EQ(Why(Rec("\"a\x01z\"", "1", kT)), RejectReason::kParseError);
}

TEST_F(JsonRecords, RejectsBadValues) {
  EXPECT_EQ(Why(Rec(R"("s")", "", kT)), RejectReason::kValueMissing);
  EXPECT_EQ(Why(Rec(R"("s")", "null", kT)), RejectReason::kValueMissing);
  EXPECT_EQ(Why(Rec(R"("s")", R"("73.3")", kT)), RejectReason::kValueNotNumber);
  EXPECT_EQ(Why(Rec(R"("s")", "true", kT)), RejectReason::kValueNotNumber);
  EXPECT_EQ(Why(Rec(R"("s")", "[1]", kT)), RejectReason::kValueNotNumber);
  EXPECT_EQ(Why(Rec(R"("s")", "1e999", kT)), RejectReason::kValueNotFinite);
  EXPECT_EQ(Why(Rec(R"("s")", "1000000.5", kT)), RejectReason::kValueOutOfRange);
  EXPECT_EQ(Why(Rec(R"("s")", "-1000001", kT)), RejectReason::kValueOutOfRange);
  EXPECT_TRUE(P(Rec(R"("s")", "1000000", kT)).ok);  // the bounds are inclusive
  // The value path must lead through objects.
  EXPECT_EQ(Why(R"({"sensor":"s","padrao":5,"data_evento":"2023-03-15T12:15:37Z"})"), RejectReason::kValueMissing);
}

TEST_F(JsonRecords, RejectsBadTimes) {
  EXPECT_EQ(Why(Rec(R"("s")", "1", "")), RejectReason::kTimeMissing);
  EXPECT_EQ(Why(Rec(R"("s")", "1", "null")), RejectReason::kTimeMissing);
  EXPECT_EQ(Why(Rec(R"("s")", "1", R"("yesterday")")), RejectReason::kTimeInvalid);
  EXPECT_EQ(Why(Rec(R"("s")", "1", R"("")")), RejectReason::kTimeInvalid);
  EXPECT_EQ(Why(Rec(R"("s")", "1", R"("2023-02-30T00:00:00Z")")), RejectReason::kTimeInvalid);
  EXPECT_EQ(Why(Rec(R"("s")", "1", "-5")), RejectReason::kTimeInvalid);
  EXPECT_EQ(Why(Rec(R"("s")", "1", "true")), RejectReason::kTimeInvalid);
}

TEST(JsonRecordsConfigured, UsesArrivalTimeWhenNoTimePathAndOwnPaths) {
  ReadingConfig rc = DefaultConfig().reading;
  rc.key = "meta.id";
  rc.value = "t";
  rc.time = "";
  rc.min = 0;
  rc.max = 100;
  RecordParser p(rc, RecordFormat::kJson);
  const Parsed r = ParseWith(p, R"({"t":50,"meta":{"id":"m-1"},"data_evento":"garbage"})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "m-1");
  EXPECT_EQ(r.reading.time_us, kArrival);
  EXPECT_EQ(ParseWith(p, R"({"t":100.5,"meta":{"id":"m-1"}})").why, RejectReason::kValueOutOfRange);
}

class CsvRecords : public ::testing::Test {
 protected:
  CsvRecords() : parser_(Reading(), RecordFormat::kCsv) {}
  static ReadingConfig Reading() {
    ReadingConfig rc = DefaultConfig().reading;
    rc.key = "sensor";
    rc.value = "temperatura";
    rc.time = "data_evento";
    return rc;
  }
  Parsed P(const std::string& record) { return ParseWith(parser_, record); }
  RecordParser parser_;
};

TEST_F(CsvRecords, FindsColumnsByHeaderName) {
  ASSERT_TRUE(parser_.SetCsvHeader("id, data_evento ,temperatura,sensor").ok());
  const Parsed r = P("x,2023-03-15T12:15:37.166944Z, 73.3 ,sensor16");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "sensor16");
  EXPECT_EQ(r.reading.value, 73.3);
  EXPECT_EQ(r.reading.time_us, kSampleTime);
}

TEST_F(CsvRecords, ReadsQuotedFields) {
  ASSERT_TRUE(parser_.SetCsvHeader(R"("sensor","temperatura","data_evento","note")").ok());
  const Parsed r = P(R"("line ""2"", a,b",73.3,1678882537.166944,"x,y")");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "line \"2\", a,b");
  EXPECT_EQ(r.reading.time_us, kSampleTime);
}

TEST_F(CsvRecords, NamesMissingColumns) {
  const Status s = parser_.SetCsvHeader("sensor,temp");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "the CSV header has no column \"temperatura\", \"data_evento\" (its columns: \"sensor\", \"temp\")");
  EXPECT_EQ(P("s1,5").why, RejectReason::kValueMissing);
}

TEST_F(CsvRecords, RejectsEveryReason) {
  ASSERT_TRUE(parser_.SetCsvHeader("sensor,temperatura,data_evento").ok());
  const std::string t = ",2023-03-15T12:15:37Z";
  EXPECT_EQ(P("s1,1").why, RejectReason::kTimeMissing);
  EXPECT_EQ(P("s1,1,").why, RejectReason::kTimeMissing);
  EXPECT_EQ(P("s1,1,soon").why, RejectReason::kTimeInvalid);
  EXPECT_EQ(P(",1" + t).why, RejectReason::kKeyEmpty);
  EXPECT_EQ(P("").why, RejectReason::kKeyEmpty);
  EXPECT_EQ(P(std::string(129, 'k') + ",1" + t).why, RejectReason::kKeyTooLong);
  EXPECT_EQ(P("a\x01" ",1" + t).why, RejectReason::kKeyControlChar);
  EXPECT_EQ(P("s1" + t).why, RejectReason::kValueNotNumber);  // the time lands in the value column
  EXPECT_EQ(P("s1,," + t.substr(1)).why, RejectReason::kValueMissing);
  EXPECT_EQ(P("s1,hot" + t).why, RejectReason::kValueNotNumber);
  EXPECT_EQ(P("s1,12abc" + t).why, RejectReason::kValueNotNumber);
  EXPECT_EQ(P("s1,inf" + t).why, RejectReason::kValueNotFinite);
  EXPECT_EQ(P("s1,nan" + t).why, RejectReason::kValueNotFinite);
  EXPECT_EQ(P("s1,1e999" + t).why, RejectReason::kValueNotFinite);
  EXPECT_EQ(P("s1,2e6" + t).why, RejectReason::kValueOutOfRange);
  EXPECT_EQ(P("\"s1,1" + t).why, RejectReason::kParseError);      // unclosed quote
  EXPECT_EQ(P("\"s1\"x,1" + t).why, RejectReason::kParseError);   // text after a quote
  EXPECT_EQ(P("s\"1,1" + t).why, RejectReason::kParseError);      // stray quote
  EXPECT_EQ(P("s\xff,1" + t).why, RejectReason::kParseError);     // not UTF-8
  EXPECT_TRUE(P("s1,1" + t).ok);
}

TEST(NumberPayload, TakesKeyFromElsewhereAndArrivalTime) {
  RecordParser p(DefaultConfig().reading, RecordFormat::kJson);
  Reading r;
  RejectReason why;
  ASSERT_TRUE(p.ParseNumber("sensor7", " 42.5\n", kArrival, &r, &why));
  EXPECT_EQ(r.key, "sensor7");
  EXPECT_EQ(r.value, 42.5);
  EXPECT_EQ(r.time_us, kArrival);
  EXPECT_FALSE(p.ParseNumber("sensor7", "warm", kArrival, &r, &why));
  EXPECT_EQ(why, RejectReason::kValueNotNumber);
  EXPECT_FALSE(p.ParseNumber("sensor7", "", kArrival, &r, &why));
  EXPECT_EQ(why, RejectReason::kValueMissing);
  EXPECT_FALSE(p.ParseNumber("", "1", kArrival, &r, &why));
  EXPECT_EQ(why, RejectReason::kKeyEmpty);
}

// A key from elsewhere (an MQTT topic level) is checked for control
// characters whatever path read the record (the fast path's strings have
// none, so the key it reads is not checked again).
TEST(KeyFromElsewhere, IsCheckedForControlCharactersAfterTheFastPath) {
  RecordParser p(DefaultConfig().reading, RecordFormat::kJson);
  const std::string rec = R"({"data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":1}}})";
  std::vector<char> buf(rec.begin(), rec.end());
  buf.resize(rec.size() + kRecordPadding, 'x');
  Reading r;
  RejectReason why = RejectReason::kParseError;
  for (int i = 0; i < 3; ++i) {  // a record that records the shape, then shape hits
    ASSERT_FALSE(p.ParseWithKey("line\x7f" "2", buf.data(), rec.size(), kArrival, &r, &why));
    EXPECT_EQ(why, RejectReason::kKeyControlChar);
    ASSERT_FALSE(p.ParseWithKey("line\n2", buf.data(), rec.size(), kArrival, &r, &why));
    EXPECT_EQ(why, RejectReason::kKeyControlChar);
    ASSERT_TRUE(p.ParseWithKey("line-2", buf.data(), rec.size(), kArrival, &r, &why)) << RejectReasonName(why);
  }
  EXPECT_GT(p.shape_hits(), 0u);
}

TEST(RejectReasons, HaveDistinctStableNames) {
  std::set<std::string> names;
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    names.insert(RejectReasonName(static_cast<RejectReason>(i)));
  }
  EXPECT_EQ(names.size(), kRejectReasonCount);
  EXPECT_EQ(names.count("unknown"), 0u);
}

// --- the pipeline: rejected records never change a window ------------------

struct Events : Sink {
  std::vector<std::string> seen;
  std::string_view name() const override { return "events"; }
  LinkState Link() const override { return {}; }
  void OnAlert(const AlertEvent& e) override { seen.push_back(std::string(e.key) + ":" + std::string(e.state)); }
};

bool Feed(Pipeline& p, const std::string& rec) {
  std::vector<char> buf(rec.begin(), rec.end());
  buf.resize(rec.size() + kRecordPadding);
  return p.ProcessRecord(buf.data(), rec.size(), kArrival, RecordOrigin{"test", 1});
}

TEST(Pipeline, CountsRejectionsByReasonAndKeepsWindowsUntouched) {
  Config c = DefaultConfig();
  c.window.max_keys = 2;
  c.alert.enabled = true;
  c.alert.above = 50;
  c.alert.clear_below = 40;
  c.alert.min_samples = 1;
  Events ev;
  Pipeline p(c, RecordFormat::kJson, &ev);
  EXPECT_TRUE(Feed(p, Rec(R"("a")", "60", kT)));
  EXPECT_FALSE(Feed(p, Rec(R"("a")", R"("90")", kT)));
  EXPECT_FALSE(Feed(p, "{oops"));
  EXPECT_TRUE(Feed(p, Rec(R"("b")", "10", kT)));
  EXPECT_FALSE(Feed(p, Rec(R"("c")", "10", kT)));  // a third key: max_keys is 2
  EXPECT_FALSE(Feed(p, "   "));                     // blank: not a record
  EXPECT_TRUE(Feed(p, Rec(R"("a")", "0", kT)));
  const PipelineCounters& n = p.counters();
  EXPECT_EQ(n.records, 6u);
  EXPECT_EQ(n.accepted, 3u);
  EXPECT_EQ(n.rejected[static_cast<size_t>(RejectReason::kValueNotNumber)], 1u);
  EXPECT_EQ(n.rejected[static_cast<size_t>(RejectReason::kParseError)], 1u);
  EXPECT_EQ(n.rejected[static_cast<size_t>(RejectReason::kTooManyKeys)], 1u);
  EXPECT_EQ(n.rejected_total(), 3u);
  const WindowTable& w = p.windows();
  EXPECT_EQ(w.key_count(), 2u);
  EXPECT_EQ(w.Values(w.Find("a")), (std::vector<double>{60, 0}));
  EXPECT_EQ(ev.seen, (std::vector<std::string>{"a:firing", "a:resolved"}));
  EXPECT_EQ(n.alerts_firing, 1u);
  EXPECT_EQ(n.alerts_resolved, 1u);
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// A CSV export from a spreadsheet starts with a UTF-8 byte order mark; its
// first column is still the column named in the configuration.
TEST(CsvHeader, StartingWithAByteOrderMarkIsRecognised) {
  ReadingConfig rc = DefaultConfig().reading;
  rc.key = "sensor";
  rc.value = "temp";
  rc.time = "";
  RecordParser p(rc, RecordFormat::kCsv);
  ASSERT_TRUE(p.SetCsvHeader("\xEF\xBB\xBFsensor,temp").ok());
  const std::string line = "s1,21.5";
  std::vector<char> buf(line.begin(), line.end());
  buf.resize(line.size() + kRecordPadding);
  Reading r;
  RejectReason why = RejectReason::kParseError;
  ASSERT_TRUE(p.Parse(buf.data(), line.size(), 7, &r, &why)) << RejectReasonName(why);
  EXPECT_EQ(r.key, "s1");
  EXPECT_EQ(r.value, 21.5);
}

// --- the fast path against simdjson ----------------------------------------

// Both answers for `record`, compared field by field (the value bit for bit).
void ExpectSameAnswer(RecordParser& fast, RecordParser& slow, const std::string& record) {
  const Parsed a = ParseWith(fast, record);
  const Parsed b = ParseWith(slow, record);
  ASSERT_EQ(a.ok, b.ok) << record;
  // The rules' fields, extracted in the same pass, agree too.
  ASSERT_EQ(fast.parsed(), slow.parsed()) << record;
  if (fast.parsed()) {
    ASSERT_EQ(a.fields.size(), b.fields.size());
    for (size_t i = 0; i < a.fields.size(); ++i) {
      const Parsed::Field& x = a.fields[i];
      const Parsed::Field& y = b.fields[i];
      ASSERT_EQ(static_cast<int>(x.kind), static_cast<int>(y.kind)) << "field " << i << ": " << record;
      if (x.kind == FieldValue::Kind::kString || x.kind == FieldValue::Kind::kNumber) {
        ASSERT_EQ(x.text, y.text) << "field " << i << ": " << record;
      }
      if (x.kind == FieldValue::Kind::kNumber) {
        ASSERT_EQ(std::memcmp(&x.number, &y.number, sizeof(double)), 0) << "field " << i << ": " << record;
      }
    }
  }
  if (!a.ok) {
    ASSERT_EQ(RejectReasonName(a.why), std::string(RejectReasonName(b.why))) << record;
    return;
  }
  ASSERT_EQ(a.key, b.key) << record;
  ASSERT_EQ(std::memcmp(&a.reading.value, &b.reading.value, sizeof(double)), 0) << record;
  ASSERT_EQ(a.reading.time_us, b.reading.time_us) << record;
}

TEST(JsonFastPath, AnswersTheSampleFormatItself) {
  RecordParser fast(DefaultConfig().reading, RecordFormat::kJson);
  const Parsed r = ParseWith(fast, kSample);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.key, "sensor16");
  EXPECT_EQ(r.reading.value, 73.3);
  EXPECT_EQ(r.reading.time_us, kSampleTime);
  EXPECT_EQ(fast.fast_path_hits(), 1u);
  // What it does not take in full goes to simdjson: escapes, non-ASCII.
  EXPECT_TRUE(ParseWith(fast, R"({"sensor":"a\u0062","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":1}}})").ok);
  EXPECT_TRUE(ParseWith(fast, "{\"sensor\":\"caf\xc3\xa9\",\"data_evento\":\"2023-03-15T12:15:37Z\",\"padrao\":{\"leitura\":{\"temperatura\":1}}}").ok);
  EXPECT_EQ(fast.fast_path_hits(), 1u);
}

TEST(JsonFastPath, GivesTheSameAnswerAsSimdjsonOnMutatedRecords) {
  // Records of several shapes; each is mutated many times (bytes deleted,
  // inserted, replaced, cut, repeated), and every result of the fast path
  // (with simdjson behind it) must equal simdjson's alone.
  const std::vector<std::string> bases = {
      kSample,
      R"({"sensor":"k1","data_evento":"2023-03-15T12:15:37.5+02:00","padrao":{"leitura":{"temperatura":-0}}})",
      R"( { "padrao" : { "leitura" : { "temperatura" : 1.25e2 } , "x" : [1, 2.5, -3e-2, true, false, null, {"a":[]}] } , "sensor" : 17 , "data_evento" : "2023-03-15 12:15:37z" } )",
      R"({"sensor":"k","sensor":"dup","data_evento":"2023-02-29T00:00:00Z","padrao":{"leitura":{"temperatura":123456789012345678}}})",
      R"({"sensor":"k","data_evento":1678882537166,"padrao":{"leitura":{"temperatura":0.1}},"padrao":{"leitura":{"temperatura":2}}})",
      R"({"sensor":"k","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":"73.3"}}})",
      R"({"sensor":null,"data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":[1]},"z":{"y":{"x":{"w":[[[]]]}}}})",
      R"({"sensor":"k","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":1e400}}})",
      R"({"sensor":"k","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":0.000000000000000000000000001}}})",
      R"({"sensor":"k\"q","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":9007199254740993}}})",
  };
  const std::string inserts = "{}[]\",:\\ \t\n\r0123456789.eE-+tfnulax\x7f\x01";
  RecordParser fast(DefaultConfig().reading, RecordFormat::kJson);
  RecordParser slow(DefaultConfig().reading, RecordFormat::kJson);
  slow.set_fast_path(false);
  for (RecordParser* p : {&fast, &slow}) {
    for (const char* f : {"sensor", "padrao.leitura.temperatura", "padrao.x", "z.y", "id_sensor", "data_evento"}) {
      p->AddField(f);
    }
  }
  std::mt19937_64 rng(20261130);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  uint64_t checked = 0;
  for (const std::string& base : bases) {
    ExpectSameAnswer(fast, slow, base);
    for (int i = 0; i < 20000; ++i) {
      std::string r = base;
      const int mutations = 1 + static_cast<int>(pick(3));
      for (int m = 0; m < mutations && !r.empty(); ++m) {
        const size_t at = pick(r.size());
        switch (pick(6)) {
          case 0: r.erase(at, 1); break;
          case 1: r.insert(at, 1, inserts[pick(inserts.size())]); break;
          case 2: r[at] = inserts[pick(inserts.size())]; break;
          case 3: r.resize(at); break;
          case 4: r.insert(at, r.substr(at, pick(12))); break;
          default: r[at] = static_cast<char>(pick(256)); break;
        }
      }
      ExpectSameAnswer(fast, slow, r);
      if (HasFailure()) return;
      ++checked;
    }
  }
  // The fast path answered many of them itself, not only the originals.
  EXPECT_GT(fast.fast_path_hits(), checked / 20) << checked;
  EXPECT_EQ(slow.fast_path_hits(), 0u);
}

// A record of the last record's layout is read from the shape (its bytes
// between values compared at once, only the values scanned). Every answer
// must still equal simdjson's: the parser first reads the base record (its
// layout becomes the shape), then a variant of it: values rewritten (other
// digits, lengths, types, escapes, bytes a string cannot hold) or the bytes
// between them mutated.
void ExpectShapeAnswersAsSimdjson(bool wide_simd);

TEST(JsonShape, GivesTheSameAnswerAsSimdjsonOnRecordsOfTheLastLayout) { ExpectShapeAnswersAsSimdjson(true); }

// The same with the instructions of every machine (SSE2 where AVX2 is used).
TEST(JsonShape, GivesTheSameAnswerWithBaselineSimd) { ExpectShapeAnswersAsSimdjson(false); }

void ExpectShapeAnswersAsSimdjson(bool wide_simd) {
  const std::vector<std::string> bases = {
      kSample,
      R"({"sensor":"k1","data_evento":"2023-03-15T12:15:37.5+02:00","padrao":{"leitura":{"temperatura":-0}}})",
      R"( { "padrao" : { "leitura" : { "temperatura" : 12.5 } , "x" : [1, 2.5, -3e-2, true, false, null, {"a":[]}] } , "sensor" : 17 , "data_evento" : "2023-03-15 12:15:37z" } )",
      R"({"sensor":"k","sensor":"dup","data_evento":"2023-02-28T00:00:00Z","padrao":{"leitura":{"temperatura":1},"leitura":{"temperatura":2}}})",
      R"({"sensor":"k","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":"73.3"}},"z":{"y":1}})",
      R"({"sensor":"k","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{}},"id_sensor":null})",
      R"({"sensor":"k","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":7},"z":{"y":{"x":[[[]]]}}})",
  };
  // What a value may become: each starts where a value starts.
  const std::vector<std::string> values = {
      "1", "-0", "0.25", "123456789012345678", "1e400", "1.5e2", "01", "-", "1.", "\"\"", "\"a\"",
      "\"sensor99\"", "\"a\\\"b\"", "\"caf\xc3\xa9\"", "\"a\x01\"", "\"a\x7f\"", "\"2023-03-15T12:15:37Z\"",
      "null", "nul", "true", "false", "{}", "{\"leitura\":{\"temperatura\":5}}", "[1,2]", "[", "{", "\"unterminated",
      " 1", "1 ", "\"x\" ", "{\"temperatura\":3}", "{\"temperatura\":{\"a\":1}}"};
  const std::string inserts = "{}[]\",:\\ \t\n\r0123456789.eE-+tfnulax\x7f\x01";
  RecordParser fast(DefaultConfig().reading, RecordFormat::kJson);
  fast.set_wide_simd(wide_simd);
  RecordParser slow(DefaultConfig().reading, RecordFormat::kJson);
  slow.set_fast_path(false);
  for (RecordParser* p : {&fast, &slow}) {
    for (const char* f : {"sensor", "padrao.leitura.temperatura", "padrao.leitura", "padrao.x", "z.y",
                          "id_sensor", "data_evento"}) {
      p->AddField(f);
    }
  }
  std::mt19937_64 rng(20261201);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  uint64_t checked = 0;
  const uint64_t hits_before = fast.shape_hits();
  for (const std::string& base : bases) {
    // Where each value starts: after ':' and blanks, or after '[' or ','
    // inside an array (good enough to find them in these bases).
    std::vector<size_t> starts;
    for (size_t i = 0; i < base.size(); ++i) {
      if (base[i] != ':') continue;
      size_t j = i + 1;
      while (j < base.size() && base[j] == ' ') ++j;
      starts.push_back(j);
    }
    for (int i = 0; i < 6000; ++i) {
      ExpectSameAnswer(fast, slow, base);  // the shape is the base's layout
      std::string r = base;
      if (i % 3 == 1) {
        // Bytes of values replaced in place: the record keeps its length.
        const std::string any = "0123456789-+.eE\"\\ \x01\x1f\x7f\x80\xc3tfnul{}[],:a";
        for (int k = 1 + static_cast<int>(pick(2)); k > 0; --k) {
          size_t at = starts[pick(starts.size())];
          if (r[at] == '"' || r[at] == '-') ++at;
          r[at + pick(2)] = any[pick(any.size())];
        }
      } else if (i % 3 == 0) {
        // A value replaced by another: the layout around it unchanged.
        const size_t at = starts[pick(starts.size())];
        size_t stop = at;
        if (r[at] == '"') {
          stop = r.find('"', at + 1) + 1;
        } else if (r[at] == '{' || r[at] == '[') {
          int depth = 0;
          do {
            if (r[stop] == '{' || r[stop] == '[') ++depth;
            if (r[stop] == '}' || r[stop] == ']') --depth;
            ++stop;
          } while (depth > 0 && stop < r.size());
        } else {
          while (stop < r.size() && std::string(",}] ").find(r[stop]) == std::string::npos) ++stop;
        }
        r.replace(at, stop - at, values[pick(values.size())]);
      } else {
        const size_t at = pick(r.size());
        switch (pick(4)) {
          case 0: r.erase(at, 1); break;
          case 1: r.insert(at, 1, inserts[pick(inserts.size())]); break;
          case 2: r[at] = inserts[pick(inserts.size())]; break;
          default: r.resize(at); break;
        }
      }
      ExpectSameAnswer(fast, slow, r);
      if (::testing::Test::HasFailure()) return;
      ++checked;
    }
  }
  // The shape answered the bases and many of the variants.
  EXPECT_GT(fast.shape_hits() - hits_before, checked * 6 / 5) << checked;
  EXPECT_EQ(slow.shape_hits(), 0u);
}

// One odd record leaves the shape in place; a new layout that lasts becomes
// the shape; a stream of layouts in turn gives every answer right, lets the
// shape rest, and one layout after it is read from the shape again.
TEST(JsonShape, FollowsTheLayoutOfTheStream) {
  const std::string a = kSample;
  const std::string b =
      R"({"sensor":"k2","padrao":{"leitura":{"temperatura":5}},"data_evento":"2023-03-15T12:15:37Z"})";
  const std::string c = R"({"sensor":"k3","data_evento":"2023-03-15T12:15:37Z","padrao":{"leitura":{"temperatura":6}}})";
  RecordParser fast(DefaultConfig().reading, RecordFormat::kJson);
  RecordParser slow(DefaultConfig().reading, RecordFormat::kJson);
  slow.set_fast_path(false);
  // a, then b now and then: a stays the shape.
  for (int i = 0; i < 1000; ++i) ExpectSameAnswer(fast, slow, i % 2 == 0 ? a : b);
  EXPECT_EQ(fast.shape_hits(), 499u);  // every a but the first, which recorded it
  // Only b: the first is the second miss in a row (after the last b above)
  // and records b; the other 99 are read from it.
  for (int i = 0; i < 100; ++i) ExpectSameAnswer(fast, slow, b);
  EXPECT_EQ(fast.shape_hits(), 499u + 99u);
  // Three layouts in turn: never the last one's; the shape rests.
  const uint64_t before = fast.shape_hits();
  for (int i = 0; i < 600; ++i) ExpectSameAnswer(fast, slow, i % 3 == 0 ? a : i % 3 == 1 ? b : c);
  EXPECT_LT(fast.shape_hits() - before, 60u);
  // One layout again: read from the shape once the rest is over.
  const uint64_t after = fast.shape_hits();
  for (int i = 0; i < 1000; ++i) ExpectSameAnswer(fast, slow, c);
  EXPECT_GE(fast.shape_hits() - after, 1000u - 64u - 2u);
  EXPECT_EQ(fast.fast_path_hits(), 2700u);
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// --- the fields of [rule.NAME] sections (DESIGN.md 13.2) --------------------

// The fields as ParseWith() copied them (the record it parsed is gone).
const Parsed::Field& F(const Parsed& r, uint32_t i) { return r.fields.at(i); }

TEST(RuleFields, AreExtractedInTheSamePassWhateverTheReadingsFate) {
  for (bool fast_path : {true, false}) {
    RecordParser p(DefaultConfig().reading, RecordFormat::kJson);
    p.set_fast_path(fast_path);
    const uint32_t dev = p.AddField("id_equipamento");
    const uint32_t temp = p.AddField("padrao.leitura.temperatura");
    const uint32_t fmt = p.AddField("padrao.formato");
    const uint32_t obj = p.AddField("padrao");
    const uint32_t none = p.AddField("no.such");
    const uint32_t nul = p.AddField("n");
    EXPECT_EQ(p.AddField("padrao.leitura.temperatura"), temp);  // the same name, the same field
    EXPECT_EQ(p.field_count(), 6u);
    // The reading is rejected (its time is missing); the fields are there.
    const std::string record =
        R"({"sensor":"s","id_equipamento":"E-1","n":null,"padrao":{"formato":"iot","leitura":{"temperatura":73.25}}})";
    const Parsed r = ParseWith(p, record);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.why, RejectReason::kTimeMissing);
    ASSERT_TRUE(p.parsed());
    EXPECT_EQ(F(r, dev).kind, FieldValue::Kind::kString);
    EXPECT_EQ(F(r, dev).text, "E-1");
    EXPECT_EQ(F(r, temp).kind, FieldValue::Kind::kNumber);
    EXPECT_EQ(F(r, temp).number, 73.25);
    EXPECT_EQ(F(r, temp).text, "73.25");
    EXPECT_EQ(F(r, fmt).text, "iot");
    EXPECT_EQ(F(r, obj).kind, FieldValue::Kind::kOther);  // an object, not a scalar
    EXPECT_EQ(F(r, none).kind, FieldValue::Kind::kAbsent);
    EXPECT_EQ(F(r, nul).kind, FieldValue::Kind::kNull);
    // A record that does not parse has no fields.
    EXPECT_FALSE(ParseWith(p, R"({"id_equipamento":"E-1",)").ok);
    EXPECT_FALSE(p.parsed());
    // The next record starts afresh: nothing of the previous one stays.
    const Parsed r2 = ParseWith(p, R"({"padrao":{"leitura":{"temperatura":"hot"}}})");
    ASSERT_TRUE(p.parsed());
    EXPECT_EQ(F(r2, dev).kind, FieldValue::Kind::kAbsent);
    EXPECT_EQ(F(r2, temp).kind, FieldValue::Kind::kString);
    EXPECT_EQ(F(r2, temp).text, "hot");
  }
}

TEST(RuleFields, WithoutTheRuleHotOnlyTheFieldsAreRead) {
  RecordParser p(DefaultConfig().reading, RecordFormat::kJson, /*hot=*/false);
  const uint32_t port = p.AddField("DstPort");
  const Parsed r = ParseWith(p, R"({"DstPort":443,"sensor":"x"})");
  EXPECT_FALSE(r.ok);  // no reading without the rule hot
  ASSERT_TRUE(p.parsed());
  EXPECT_EQ(F(r, port).number, 443);
}

TEST(RuleFields, AHugeNumberIsInfiniteNotAParseError) {
  RecordParser p(DefaultConfig().reading, RecordFormat::kJson, /*hot=*/false);
  const uint32_t x = p.AddField("x");
  const Parsed r = ParseWith(p, R"({"x":-1e400})");
  ASSERT_TRUE(p.parsed());
  EXPECT_EQ(F(r, x).kind, FieldValue::Kind::kNumber);
  EXPECT_EQ(F(r, x).number, -HUGE_VAL);
}

TEST(RuleFields, CsvColumnsAreTextOrNumbers) {
  ReadingConfig rc = DefaultConfig().reading;
  rc.key = "host";
  rc.value = "cpu";
  rc.time = "";
  RecordParser p(rc, RecordFormat::kCsv);
  const uint32_t port = p.AddField("port");
  const uint32_t cmd = p.AddField("cmd");
  const uint32_t note = p.AddField("note");
  const uint32_t gone = p.AddField("gone");
  const Status s = p.SetCsvHeader("host,cpu,port,cmd,note");
  EXPECT_FALSE(s.ok());  // "gone" is no column: said once, its field is absent
  EXPECT_NE(s.message().find("\"gone\""), std::string::npos) << s.message();
  const Parsed r = ParseWith(p, R"(h1,0.5, 8000 ,"run ""x"", now",)");
  ASSERT_TRUE(r.ok) << RejectReasonName(r.why);
  EXPECT_EQ(r.key, "h1");
  EXPECT_EQ(F(r, port).kind, FieldValue::Kind::kNumber);
  EXPECT_EQ(F(r, port).number, 8000);
  EXPECT_EQ(F(r, cmd).kind, FieldValue::Kind::kString);
  EXPECT_EQ(F(r, cmd).text, "run \"x\", now");
  EXPECT_EQ(F(r, note).kind, FieldValue::Kind::kNull);  // an empty cell
  EXPECT_EQ(F(r, gone).kind, FieldValue::Kind::kAbsent);
}

TEST(RuleFields, TopicLevelsComeFromTheMessagesTopic) {
  RecordParser p(DefaultConfig().reading, RecordFormat::kJson, /*hot=*/false);
  const uint32_t line = p.AddField("@topic.1");
  const uint32_t deep = p.AddField("@topic.5");
  p.set_topic("plant/press-2/temperature");
  const Parsed r = ParseWith(p, R"({"t":1})");
  EXPECT_EQ(F(r, line).kind, FieldValue::Kind::kString);
  EXPECT_EQ(F(r, line).text, "press-2");
  EXPECT_EQ(F(r, deep).kind, FieldValue::Kind::kAbsent);
  p.set_topic({});
  const Parsed r2 = ParseWith(p, R"({"t":1})");
  EXPECT_EQ(F(r2, line).kind, FieldValue::Kind::kAbsent);  // a file record has no topic
}

}  // namespace
}  // namespace sensorgate
