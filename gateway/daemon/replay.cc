#include "gateway/daemon/replay.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gateway/base/json_format.h"
#include "gateway/sources/file/line_reader.h"
#include "gateway/base/log.h"
#include "gateway/base/text.h"
#include "gateway/pipeline/pipeline.h"

namespace sensorgate {
namespace {

class ReplayOutput : public Sink {
 public:
  explicit ReplayOutput(std::FILE* out) : out_(out) { buf_.reserve(kFlushAt + 1024); }
  ~ReplayOutput() override { Flush(); }

  std::string_view name() const override { return "replay"; }
  LinkState Link() const override { return LinkState{"replay", true, "", 0, "", ""}; }
  void OnAlert(const AlertEvent& e) override {
    if (e.json.empty()) {
      AppendAlertJson(&buf_, e.rule, e.state, e.key, e.avg, e.count, e.time_us);
    } else {
      buf_.append(e.json);  // a [rule.NAME]'s alert
    }
    buf_.push_back('\n');
    if (buf_.size() >= kFlushAt) Flush();
  }
  void OnRuleEvent(const RuleEvent& e) override {
    buf_.append(e.json);
    buf_.push_back('\n');
    if (buf_.size() >= kFlushAt) Flush();
  }
  void Windows(const WindowTable& w) {
    for (uint32_t slot : w.SlotsByKey()) {
      AppendWindowJson(&buf_, w.Summary(slot));
      buf_.push_back('\n');
      if (buf_.size() >= kFlushAt) Flush();
    }
  }
  void Flush() {
    if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), out_);
    buf_.clear();
  }

 private:
  static constexpr size_t kFlushAt = 64 * 1024;
  std::FILE* out_;
  std::string buf_;
};

// A replayed file is mapped (its bytes are not copied); one that shrinks
// while it is replayed takes pages away from under the reader, which then
// gets SIGBUS. The replay stops with a clear message instead of a crash.
void OnSigbus(int) {
  static const char kMessage[] =
      "sensorgate: replay: a file shrank while it was being read (truncated or rewritten); stopped\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  _exit(1);
}

}  // namespace

int RunReplay(const Config& config, const std::vector<std::string>& paths, std::FILE* out,
              std::FILE* err) {
  std::vector<int> fds;
  for (const auto& p : paths) {
    const int fd = p == "-" ? dup(STDIN_FILENO) : open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(err, "sensorgate: %s: cannot open: %s\n", p.c_str(), std::strerror(errno));
      for (int f : fds) close(f);
      return 1;
    }
    fds.push_back(fd);
  }
  const int64_t started = MonotonicMicros();
  ReplayOutput output(out);
  const RecordFormat format = config.file.format;
  Pipeline pipeline(config, format, &output);
  if (!pipeline.ok()) {
    std::fprintf(err, "sensorgate: %s\n", pipeline.error().c_str());
    for (int f : fds) close(f);
    return 1;
  }
  int rc = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string name = paths[i] == "-" ? "(stdin)" : paths[i];
    LineReader reader(fds[i], kMaxRecordBytes);
    if (reader.Map()) {
      struct sigaction sa {};
      sa.sa_handler = OnSigbus;
      sigemptyset(&sa.sa_mask);
      sigaction(SIGBUS, &sa, nullptr);
    }
    uint64_t line_no = 0;
    bool header_pending = format == RecordFormat::kCsv;
    std::string_view line;
    while (true) {
      const LineReader::Result r = reader.Next(&line, /*final_partial=*/true);
      if (r == LineReader::Result::kEnd) break;
      if (r == LineReader::Result::kError) {
        std::fprintf(err, "sensorgate: %s: %s\n", name.c_str(), reader.status().message().c_str());
        rc = 1;
        break;
      }
      ++line_no;
      const RecordOrigin origin{name, line_no};
      if (r == LineReader::Result::kTooLong) {
        pipeline.RejectTooLong(origin);
        continue;
      }
      if (header_pending) {
        if (IsBlank(line)) continue;
        (void)pipeline.SetCsvHeader(line, origin);
        header_pending = false;
        continue;
      }
      // Without a time path the arrival time is the wall clock.
      // So do @arrival rules.
      const TimeMicros arrival =
          (config.hot_rule && config.reading.time.empty()) || pipeline.uses_arrival_time() ? WallClockMicros() : 0;
      pipeline.ProcessRecord(line.data(), line.size(), arrival, origin);
    }
    close(fds[i]);
  }
  if (pipeline.hot_rule()) output.Windows(pipeline.windows());
  pipeline.FinishRules();
  output.Flush();
  std::fflush(out);

  const PipelineCounters& c = pipeline.counters();
  const double secs = static_cast<double>(MonotonicMicros() - started) / 1e6;
  if (pipeline.hot_rule()) {
    std::fprintf(err,
                 "sensorgate: replay: %zu file(s), %llu records read, %llu accepted, %llu rejected, "
                 "%u keys, %llu alert events (%llu firing, %llu resolved), %.3f s, %.0f records/s\n",
                 paths.size(), static_cast<unsigned long long>(c.records),
                 static_cast<unsigned long long>(c.accepted),
                 static_cast<unsigned long long>(c.rejected_total()), pipeline.windows().key_count(),
                 static_cast<unsigned long long>(c.alerts_firing + c.alerts_resolved),
                 static_cast<unsigned long long>(c.alerts_firing),
                 static_cast<unsigned long long>(c.alerts_resolved), secs,
                 secs > 0 ? static_cast<double>(c.records) / secs : 0.0);
  } else {
    // No rule hot: its keys and alerts would read as zeros; each rule's
    // figures follow.
    std::fprintf(err,
                 "sensorgate: replay: %zu file(s), %llu records read, %llu accepted, %llu rejected, %.3f s, "
                 "%.0f records/s\n",
                 paths.size(), static_cast<unsigned long long>(c.records),
                 static_cast<unsigned long long>(c.accepted),
                 static_cast<unsigned long long>(c.rejected_total()), secs,
                 secs > 0 ? static_cast<double>(c.records) / secs : 0.0);
  }
  if (c.rejected_total() > 0) {
    std::string by_reason;
    for (size_t r = 0; r < kRejectReasonCount; ++r) {
      if (c.rejected[r] == 0) continue;
      by_reason += std::string(by_reason.empty() ? "" : ", ") +
                   RejectReasonName(static_cast<RejectReason>(r)) + " " + std::to_string(c.rejected[r]);
    }
    std::fprintf(err, "sensorgate: rejected by reason: %s\n", by_reason.c_str());
    const uint64_t quiet = pipeline.TakeSuppressedLogs();
    if (quiet > 0) {
      std::fprintf(err, "sensorgate: %llu rejected records were not logged one by one (rate limit)\n",
                   static_cast<unsigned long long>(quiet));
    }
  }
  for (const auto& rule : pipeline.rules()) {
    const RuleCounters& counts = rule->counters();
    std::string skipped;
    for (size_t r = 0; r < kRuleSkipCount; ++r) {
      if (counts.skipped[r] == 0) continue;
      skipped += std::string(skipped.empty() ? " (" : ", ") + RuleSkipName(static_cast<RuleSkip>(r)) + " " +
                 std::to_string(counts.skipped[r]);
    }
    uint64_t skipped_total = 0;
    for (uint64_t n : counts.skipped) skipped_total += n;
    if (!skipped.empty()) skipped += ")";
    std::fprintf(err,
                 "sensorgate: rule %s: %llu accepted, %llu filtered, %llu late, %llu skipped%s, %llu results, "
                 "%llu alert events, %llu outliers\n",
                 rule->config().name.c_str(), static_cast<unsigned long long>(counts.accepted),
                 static_cast<unsigned long long>(counts.filtered), static_cast<unsigned long long>(counts.late),
                 static_cast<unsigned long long>(skipped_total), skipped.c_str(),
                 static_cast<unsigned long long>(counts.results), static_cast<unsigned long long>(counts.alerts),
                 static_cast<unsigned long long>(counts.outliers));
  }
  if (std::ferror(out)) {
    std::fprintf(err, "sensorgate: cannot write the output: %s\n", std::strerror(errno));
    rc = 1;
  }
  return rc;
}

}  // namespace sensorgate
