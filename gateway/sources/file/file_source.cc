#include "gateway/sources/file/file_source.h"

#include <sys/resource.h>

#include <algorithm>
#include <utility>

#include "gateway/base/metrics.h"

namespace sensorgate {

size_t FileSource::OpenFileBudget() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  const size_t soft = static_cast<size_t>(limit.rlim_cur);
  return soft >= 2 * kReservedDescriptors ? soft - kReservedDescriptors : soft / 2;
}

FileFollowerOptions FileSource::WithClock(FileFollowerOptions options, Clock* clock) {
  if (options.clock == nullptr) options.clock = clock;
  if (options.max_open_files == 0) options.max_open_files = OpenFileBudget();
  return options;
}

FileSource::FileSource(const FileConfig& config, RecordReceiver* receiver, Clock* clock,
                       FileFollowerOptions options)
    : receiver_(receiver),
      clock_(clock != nullptr ? clock : SystemClock()),
      follower_(config, this, WithClock(std::move(options), clock_)) {}

Status FileSource::Start(const std::vector<FilePosition>& restored) {
  const Status s = follower_.Start(restored);
  if (s.ok()) started_ = true;
  return s;
}

int64_t FileSource::next_poll_us() const {
  if (!started_) return kNever;
  if (follower_.pending()) return clock_->MonotonicUs();
  const int64_t scan_due = follower_.last_scan_us() + (follower_.settled() ? kSettledRescanUs : kRescanUs);
  return std::min(scan_due, batch_due_us_);
}

bool FileSource::Poll(size_t budget) {
  if (!started_) return false;
  const size_t handed = follower_.Poll(budget);
  batch_due_us_ = handed > 0 && follower_.inotify_fd() >= 0 ? clock_->MonotonicUs() + kBatchUs : kNever;
  return follower_.pending();
}

void FileSource::SavePosition(SourcePositions* positions) {
  positions->files = follower_.Positions();
}

void FileSource::AppendMetrics(std::string* out) const {
  const FileFollower::Stats& s = follower_.stats();
  AppendMetric(out, "sensorgate_files_followed", MetricType::kGauge, "Files followed now.",
               static_cast<double>(follower_.file_count()));
  AppendMetric(out, "sensorgate_files_unfollowed", MetricType::kGauge,
               "Files matching the globs that are not followed: the open-file budget is used up, or "
               "they cannot be opened.",
               static_cast<double>(follower_.unfollowed().size()));
  AppendMetric(out, "sensorgate_file_open_budget", MetricType::kGauge,
               "Files the gateway may keep open for following (from RLIMIT_NOFILE; 0: no limit).",
               static_cast<double>(follower_.max_open_files()));
  AppendMetric(out, "sensorgate_file_bytes_read_total", MetricType::kCounter,
               "Bytes read from sensor files.", static_cast<double>(s.bytes));
  AppendMetric(out, "sensorgate_file_rotations_total", MetricType::kCounter,
               "File rotations (renames) seen.", static_cast<double>(s.rotations));
  AppendMetric(out, "sensorgate_file_truncations_total", MetricType::kCounter,
               "File truncations seen.", static_cast<double>(s.truncations));
  AppendMetric(out, "sensorgate_file_recovered_lines_total", MetricType::kCounter,
               "Lines read from a copytruncate copy that a plain tail would have lost.",
               static_cast<double>(s.recovered_lines));
}

LinkState FileSource::Link() const {
  LinkState link;
  link.name = "file";
  link.up = started_;
  const size_t n = follower_.file_count();
  link.state =
      started_ ? "following " + std::to_string(n) + (n == 1 ? " file" : " files") : "not started";
  if (started_ && follower_.pending()) link.state += ", catching up";
  if (started_ && follower_.inotify_fd() < 0) link.state += ", polled every second (no inotify)";
  link.backlog = follower_.BacklogBytes();
  link.backlog_unit = "bytes";
  const auto& unfollowed = follower_.unfollowed();
  if (!unfollowed.empty()) {
    link.up = false;
    link.healthy = false;
    link.state += ", " + std::to_string(unfollowed.size()) + " not followed";
    const size_t budget = follower_.over_budget();
    link.last_error = std::to_string(unfollowed.size()) + " matching files are not followed";
    if (budget > 0) {
      link.last_error += " (" + std::to_string(budget) + " over the open-file budget of " +
                         std::to_string(follower_.max_open_files()) + ": raise LimitNOFILE or match fewer files)";
    }
    link.last_error += "; first: " + unfollowed.front().path + ": " + unfollowed.front().reason;
  }
  return link;
}

void FileSource::OnHeader(std::string_view line, const RecordOrigin& origin) {
  receiver_->OnHeader(line, origin);
}

void FileSource::OnLine(const char* data, size_t len, const RecordOrigin& origin) {
  receiver_->OnRecord(data, len, clock_->WallUs(), origin);
}

void FileSource::OnTooLong(const RecordOrigin& origin) { receiver_->OnTooLong(origin); }

}  // namespace sensorgate
