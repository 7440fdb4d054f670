#include "gateway/sources/file/file_source.h"

#include <utility>

#include "gateway/base/metrics.h"

namespace sensorgate {

FileFollowerOptions FileSource::WithClock(FileFollowerOptions options, Clock* clock) {
  if (options.clock == nullptr) options.clock = clock;
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
  return follower_.last_scan_us() + kRescanUs;
}

bool FileSource::Poll(size_t budget) {
  if (!started_) return false;
  follower_.Poll(budget);
  return follower_.pending();
}

void FileSource::SavePosition(SourcePositions* positions) {
  positions->files = follower_.Positions();
}

void FileSource::AppendMetrics(std::string* out) const {
  const FileFollower::Stats& s = follower_.stats();
  AppendMetric(out, "sensorgate_files_followed", MetricType::kGauge, "Files followed now.",
               static_cast<double>(follower_.file_count()));
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
