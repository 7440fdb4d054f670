#include "gateway/daemon/replay.h"

#include <fcntl.h>
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
    AppendAlertJson(&buf_, e.rule, e.state, e.key, e.avg, e.count, e.time_us);
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
    std::fprintf(err, "sensorgate: [window] size = %u, max_keys = %u: the windows cannot be allocated\n",
                 config.window.size, config.window.max_keys);
    for (int f : fds) close(f);
    return 1;
  }
  int rc = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string name = paths[i] == "-" ? "(stdin)" : paths[i];
    LineReader reader(fds[i], kMaxRecordBytes);
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
      const TimeMicros arrival = config.reading.time.empty() ? WallClockMicros() : 0;
      pipeline.ProcessRecord(line.data(), line.size(), arrival, origin);
    }
    close(fds[i]);
  }
  output.Windows(pipeline.windows());
  output.Flush();
  std::fflush(out);

  const PipelineCounters& c = pipeline.counters();
  const double secs = static_cast<double>(MonotonicMicros() - started) / 1e6;
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
  if (std::ferror(out)) {
    std::fprintf(err, "sensorgate: cannot write the output: %s\n", std::strerror(errno));
    rc = 1;
  }
  return rc;
}

}  // namespace sensorgate
