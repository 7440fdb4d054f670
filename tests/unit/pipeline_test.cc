// The pipeline's contract (gateway/pipeline/pipeline.h): records from any
// source become events fanned out to every sink, in input order and in the
// order the sinks were added; windows are published for the keys that
// changed, each once, with owned data the sink can keep.
#include "gateway/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sensorgate {
namespace {

// Keeps owned copies of everything it is told, as a sink must.
class RecordingSink : public Sink {
 public:
  RecordingSink(std::string tag, std::vector<std::string>* all) : tag_(std::move(tag)), all_(all) {}
  std::string_view name() const override { return "recording"; }
  void OnAlert(const AlertEvent& e) override {
    const std::string s = std::string(e.rule) + " " + std::string(e.state) + " " + std::string(e.key);
    alerts.push_back(s);
    all_->push_back(tag_ + ": " + s);
  }
  void OnWindow(const WindowEvent& e) override {
    windows.push_back(std::string(e.window.key) + " " + std::to_string(e.window.count) +
                      (e.firing ? " firing" : ""));
  }
  void OnWindowsReset() override { windows.push_back("reset"); }
  LinkState Link() const override { return {}; }

  std::vector<std::string> alerts, windows;

 private:
  std::string tag_;
  std::vector<std::string>* all_;
};

std::string Rec(const std::string& key, double v, int second) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "{\"sensor\":\"%s\",\"data_evento\":\"2023-03-15T12:00:%02d.000000Z\","
                "\"padrao\":{\"leitura\":{\"temperatura\":%g}}}",
                key.c_str(), second, v);
  return buf;
}

void Feed(Pipeline* p, const std::string& rec) {
  std::vector<char> buf(rec.begin(), rec.end());
  buf.resize(rec.size() + kRecordPadding);
  p->OnRecord(buf.data(), rec.size(), 0, RecordOrigin{"test", 1});
}

Config HotConfig() {
  ConfigResult r = LoadConfigText("[window]\nsize = 2\n[alert]\nabove = 75\nclear_below = 70\n", "t.ini",
                                  ConfigMode::kReplay);
  EXPECT_TRUE(r.ok());
  return r.config;
}

TEST(Pipeline, FansEveryEventOutToEverySinkInInputOrder) {
  std::vector<std::string> all;
  RecordingSink first("first", &all), second("second", &all);
  Config c = HotConfig();
  FakeClock clock;
  Pipeline p(c, RecordFormat::kJson, &first, &clock);
  p.AddSink(&second);
  Feed(&p, Rec("a", 80, 1));  // a fires
  Feed(&p, Rec("b", 90, 2));  // b fires
  Feed(&p, Rec("a", 50, 3));  // a: avg 65 < 70, resolves
  Feed(&p, Rec("b", 10, 4));  // b: avg 50, resolves
  const std::vector<std::string> want = {"hot firing a", "hot firing b", "hot resolved a", "hot resolved b"};
  EXPECT_EQ(first.alerts, want);
  EXPECT_EQ(second.alerts, want);
  // Each event reaches the first sink, then the second, before the next event.
  const std::vector<std::string> interleaved = {
      "first: hot firing a",   "second: hot firing a",   "first: hot firing b",   "second: hot firing b",
      "first: hot resolved a", "second: hot resolved a", "first: hot resolved b", "second: hot resolved b"};
  EXPECT_EQ(all, interleaved);
  p.RemoveSink(&second);
  Feed(&p, Rec("c", 99, 5));
  EXPECT_EQ(first.alerts.back(), "hot firing c");
  EXPECT_EQ(second.alerts.size(), 4u);
}

TEST(Pipeline, PublishesEachChangedWindowOnceWithItsAlertState) {
  std::vector<std::string> all;
  RecordingSink sink("s", &all);
  Config c = HotConfig();
  Pipeline p(c, RecordFormat::kJson, &sink);
  p.TrackWindowChanges();
  EXPECT_FALSE(p.has_changes());
  Feed(&p, Rec("a", 80, 1));
  Feed(&p, Rec("a", 81, 2));
  Feed(&p, Rec("b", 10, 3));
  EXPECT_TRUE(p.has_changes());
  EXPECT_EQ(p.PublishWindows(), 2u);
  EXPECT_EQ(sink.windows, (std::vector<std::string>{"a 2 firing", "b 1"}));
  EXPECT_EQ(p.PublishWindows(), 0u);
  Feed(&p, Rec("b", 11, 4));
  p.PublishWindows();
  EXPECT_EQ(sink.windows.back(), "b 2");
  // A resize rebuilds the windows: sinks forget theirs and get them again.
  ConfigResult bigger = LoadConfigText("[window]\nsize = 5\n[alert]\nabove = 75\nclear_below = 70\n", "t.ini",
                                       ConfigMode::kReplay);
  ASSERT_TRUE(bigger.ok());
  sink.windows.clear();
  ASSERT_TRUE(p.Reconfigure(bigger.config, RecordFormat::kJson).ok());
  p.PublishWindows();
  EXPECT_EQ(sink.windows, (std::vector<std::string>{"reset", "a 2 firing", "b 2"}));
}

TEST(Pipeline, TakesRecordsHeadersAndTooLongLinesThroughTheReceiverInterface) {
  Config c = DefaultConfig();
  c.reading.key = "k";
  c.reading.value = "v";
  c.reading.time = "";
  Pipeline p(c, RecordFormat::kCsv, nullptr);
  RecordReceiver* r = &p;
  r->OnHeader("k,v", RecordOrigin{"x.csv", 1});
  const std::string line = "s1,12.5";
  std::vector<char> buf(line.begin(), line.end());
  buf.resize(line.size() + kRecordPadding);
  r->OnRecord(buf.data(), line.size(), 5, RecordOrigin{"x.csv", 2});
  r->OnTooLong(RecordOrigin{"x.csv", 3});
  EXPECT_EQ(p.counters().records, 2u);
  EXPECT_EQ(p.counters().accepted, 1u);
  EXPECT_EQ(p.counters().rejected[static_cast<size_t>(RejectReason::kTooLong)], 1u);
  ASSERT_EQ(p.windows().key_count(), 1u);
  EXPECT_EQ(p.windows().key(0), "s1");
  EXPECT_EQ(p.windows().average(0), 12.5);
}

}  // namespace
}  // namespace sensorgate
