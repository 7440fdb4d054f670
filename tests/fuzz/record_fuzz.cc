// libFuzzer target: arbitrary bytes through the record parser and the
// pipeline (windows and the alert state machine). The first byte picks JSON
// or CSV; for CSV the first line is the header. Every line is fed as a record
// from a buffer with exactly the padding the parser requires.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/base/log.h"
#include "gateway/parse/record_parser.h"
#include "gateway/pipeline/pipeline.h"

namespace {

struct CountingSink : sensorgate::Sink {
  uint64_t n = 0;
  std::string_view name() const override { return "count"; }
  sensorgate::LinkState Link() const override { return {}; }
  void OnAlert(const sensorgate::AlertEvent& e) override {
    n += e.count;
    if (e.key.empty()) __builtin_trap();
  }
};

// The JSON fast path must answer exactly as simdjson alone would.
void SameAnswerWithoutFastPath(const char* data, size_t len) {
  using namespace sensorgate;
  static RecordParser* fast = new RecordParser(DefaultConfig().reading, RecordFormat::kJson);
  static RecordParser* slow = [] {
    auto* p = new RecordParser(DefaultConfig().reading, RecordFormat::kJson);
    p->set_fast_path(false);
    return p;
  }();
  Reading a, b;
  RejectReason why_a = RejectReason::kParseError, why_b = RejectReason::kParseError;
  const bool ok_a = fast->Parse(data, len, 1, &a, &why_a);
  const bool ok_b = slow->Parse(data, len, 1, &b, &why_b);
  if (ok_a != ok_b) __builtin_trap();
  if (!ok_a) {
    if (why_a != why_b) __builtin_trap();
    return;
  }
  if (a.key != b.key || std::memcmp(&a.value, &b.value, sizeof(double)) != 0 || a.time_us != b.time_us) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace sensorgate;
  static Config config = [] {
    SetLogLevel(LogLevel::kError);  // rejected records are expected here, by the thousand
    Config c = DefaultConfig();
    c.window.size = 4;
    c.window.max_keys = 8;
    c.alert.enabled = true;
    c.alert.above = 50;
    c.alert.clear_below = 40;
    c.alert.min_samples = 2;
    c.alert.for_us = 1000000;
    return c;
  }();
  const bool csv = data[0] & 1;
  CountingSink sink;
  Pipeline pipeline(config, csv ? RecordFormat::kCsv : RecordFormat::kJson, &sink);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<char> buf;
  bool header = csv;
  uint64_t line_no = 0;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    buf.assign(line.begin(), line.end());
    buf.resize(line.size() + kRecordPadding);
    const RecordOrigin origin{"fuzz", ++line_no};
    if (header) {
      (void)pipeline.SetCsvHeader(std::string_view(buf.data(), line.size()), origin);
      header = false;
      continue;
    }
    pipeline.ProcessRecord(buf.data(), line.size(), 1, origin);
    if (!csv) SameAnswerWithoutFastPath(buf.data(), line.size());
  }
  const PipelineCounters& c = pipeline.counters();
  if (c.accepted + c.rejected_total() != c.records) __builtin_trap();
  const WindowTable& w = pipeline.windows();
  for (uint32_t s = 0; s < w.key_count(); ++s) {
    if (w.count(s) == 0 || w.count(s) > w.size()) __builtin_trap();
    const double avg = w.average(s);
    if (!(avg >= w.min(s) - 1e-6 * (1 + std::abs(w.min(s))) && avg <= w.max(s) + 1e-6 * (1 + std::abs(w.max(s))))) {
      __builtin_trap();
    }
  }
  return 0;
}
