#include "gateway/sinks/kafka/kafka_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "gateway/base/crc32c.h"
#include "gateway/base/file_util.h"
#include "gateway/base/log.h"

namespace sensorgate {
namespace {

constexpr uint32_t kHeader = 8;       // length + CRC
constexpr uint32_t kMinPayload = 20;  // seq, timestamp, topic and key lengths
constexpr uint64_t kWindow = 64 << 10;  // read at once while scanning corrupt bytes
constexpr uint64_t kSmallRead = 4096;  // read at once for one frame
constexpr const char* kPrefix = "seg-";
constexpr const char* kSuffix = ".log";

void Put32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void Put64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t Get32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t Get64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint16_t Get16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) | (static_cast<unsigned char>(p[1]) << 8));
}

bool Decode(std::string_view payload, SpoolRecord* rec) {
  if (payload.size() < kMinPayload) return false;
  const char* p = payload.data();
  const size_t topic_len = Get16(p + 16), key_len = Get16(p + 18);
  if (kMinPayload + topic_len + key_len > payload.size()) return false;
  rec->seq = Get64(p);
  rec->timestamp_ms = static_cast<int64_t>(Get64(p + 8));
  rec->topic.assign(p + kMinPayload, topic_len);
  rec->key.assign(p + kMinPayload + topic_len, key_len);
  rec->value.assign(p + kMinPayload + topic_len + key_len, payload.size() - kMinPayload - topic_len - key_len);
  return true;
}

bool PreadAll(int fd, char* buf, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

std::string SegmentName(uint64_t id) {
  char name[48];
  std::snprintf(name, sizeof name, "%s%020" PRIu64 "%s", kPrefix, id, kSuffix);
  return name;
}

}  // namespace

struct KafkaSpool::Segment {
  uint64_t id = 0;
  std::string path;
  int fd = -1;
  uint64_t size = 0;
  uint32_t count = 0;
  uint32_t acked_count = 0;
  uint32_t in_flight = 0;
  std::vector<bool> acked;
  bool unsynced = false;
  bool dropped = false;  // file gone (spool full); kept until its in-flight records report
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

KafkaSpool::KafkaSpool(SpoolOptions options) : options_(std::move(options)) {
  if (options_.segment_bytes == 0) {
    options_.segment_bytes = std::clamp<uint64_t>(options_.max_bytes / 16, 64 << 10, 4 << 20);
  }
}

KafkaSpool::~KafkaSpool() = default;

std::string KafkaSpool::EncodeFrame(uint64_t seq, int64_t timestamp_ms, std::string_view topic,
                                    std::string_view key, std::string_view value) {
  std::string payload;
  payload.reserve(kMinPayload + topic.size() + key.size() + value.size());
  Put64(&payload, seq);
  Put64(&payload, static_cast<uint64_t>(timestamp_ms));
  payload.push_back(static_cast<char>(topic.size() & 0xff));
  payload.push_back(static_cast<char>(topic.size() >> 8));
  payload.push_back(static_cast<char>(key.size() & 0xff));
  payload.push_back(static_cast<char>(key.size() >> 8));
  payload.append(topic).append(key).append(value);
  std::string frame;
  frame.reserve(kHeader + payload.size());
  Put32(&frame, static_cast<uint32_t>(payload.size()));
  const uint32_t crc = Crc32c(Crc32c(0, std::string_view(frame.data(), 4)), payload);
  Put32(&frame, crc);
  frame += payload;
  return frame;
}

bool KafkaSpool::OpenForRead(Segment& seg) {
  if (seg.fd >= 0) return true;
  seg.fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
  return seg.fd >= 0;
}

bool KafkaSpool::ReadFrame(Segment& seg, uint64_t* offset, SpoolRecord* rec, uint64_t* frame_end,
                           bool count) {
  if (!OpenForRead(seg)) return false;
  uint64_t off = *offset;
  uint64_t bad_from = UINT64_MAX;
  std::string& window = window_;  // bytes of the file from window_off
  uint64_t window_off = 0;
  window.clear();
  auto note_bad = [&](uint64_t until) {
    if (bad_from == UINT64_MAX || !count) return;
    ++corrupt_;
    corrupt_bytes_ += until - bad_from;
    Log(LogLevel::kError, "kafka: spool %s: %" PRIu64 " corrupt bytes at offset %" PRIu64 " skipped",
        seg.path.c_str(), until - bad_from, bad_from);
  };
  while (off + kHeader <= seg.size) {
    if (off < window_off || off + kHeader > window_off + window.size()) {
      // One small read holds a typical frame; scanning corrupt bytes reads more at once.
      const uint64_t want = bad_from == UINT64_MAX ? kSmallRead : kWindow;
      window_off = off;
      window.resize(static_cast<size_t>(std::min<uint64_t>(want, seg.size - off)));
      if (!PreadAll(seg.fd, window.data(), window.size(), window_off)) break;
    }
    const size_t at = static_cast<size_t>(off - window_off);
    const uint32_t len = Get32(window.data() + at), crc = Get32(window.data() + at + 4);
    if (len >= kMinPayload && len <= kMaxPayload && off + kHeader + len <= seg.size) {
      std::string_view payload;
      if (at + kHeader + len <= window.size()) {
        payload = std::string_view(window.data() + at + kHeader, len);
      } else {
        buf_.resize(len);
        if (PreadAll(seg.fd, buf_.data(), len, off + kHeader)) payload = buf_;
      }
      if (payload.size() == len &&
          Crc32c(Crc32c(0, std::string_view(window.data() + at, 4)), payload) == crc && Decode(payload, rec)) {
        note_bad(off);
        *offset = off;
        *frame_end = off + kHeader + len;
        return true;
      }
    }
    if (bad_from == UINT64_MAX) bad_from = off;
    ++off;
  }
  if (bad_from == UINT64_MAX && off < seg.size) bad_from = off;  // a tail shorter than a header
  note_bad(seg.size);
  *offset = seg.size;
  return false;
}

Status KafkaSpool::Open() {
  const std::string& dir = options_.dir;
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return Status::Error("spool " + dir + ": cannot create: " + std::strerror(errno));
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::Error("spool " + dir + ": cannot read: " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(kPrefix, 0) == 0 && name.size() > 8 && name.compare(name.size() - 4, 4, kSuffix) == 0) {
      names.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());

  // The seq file: the next seq when the spool was last emptied.
  if (FILE* f = std::fopen((dir + "/seq").c_str(), "r")) {
    unsigned long long v = 0;
    if (std::fscanf(f, "%llu", &v) == 1) seq_file_ = v;
    std::fclose(f);
  }
  uint64_t max_seq = 0;
  for (const std::string& name : names) {
    auto seg = std::make_unique<Segment>();
    seg->id = std::strtoull(name.c_str() + 4, nullptr, 10);
    seg->path = dir + "/" + name;
    struct stat st;
    if (::stat(seg->path.c_str(), &st) != 0) continue;
    seg->size = static_cast<uint64_t>(st.st_size);
    uint64_t off = 0, end = 0;
    SpoolRecord rec;
    while (ReadFrame(*seg, &off, &rec, &end, true)) {
      ++seg->count;
      max_seq = std::max(max_seq, rec.seq);
      off = end;
    }
    if (seg->fd >= 0) {
      ::close(seg->fd);
      seg->fd = -1;
    }
    if (seg->count == 0) {
      Log(LogLevel::kWarning, "kafka: spool %s holds no valid record: removed", seg->path.c_str());
      ::unlink(seg->path.c_str());
      continue;
    }
    seg->acked.assign(seg->count, false);
    records_ += seg->count;
    bytes_ += seg->size;
    segments_.push_back(std::move(seg));
  }
  next_seq_ = std::max<uint64_t>({1, seq_file_, max_seq + 1});
  synced_seq_ = next_seq_;
  if (records_ > 0) {
    Log(LogLevel::kInfo, "kafka: spool %s: %" PRIu64 " records in %zu segments to send again, next seq %" PRIu64,
        dir.c_str(), records_, segments_.size(), next_seq_);
  }
  return Status::Ok();
}

Status KafkaSpool::StartSegment() {
  uint64_t id = next_seq_;
  if (!segments_.empty()) id = std::max(id, segments_.back()->id + 1);
  auto seg = std::make_unique<Segment>();
  seg->id = id;
  seg->path = options_.dir + "/" + SegmentName(id);
  seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (seg->fd < 0) return Status::Error("spool " + seg->path + ": cannot create: " + std::strerror(errno));
  segments_.push_back(std::move(seg));
  active_open_ = true;
  dir_dirty_ = true;
  return Status::Ok();
}

Status KafkaSpool::SealActive() {
  if (!active_open_) return Status::Ok();
  active_open_ = false;
  Segment& seg = *segments_.back();
  if (!seg.unsynced && seg.fd >= 0) {
    ::close(seg.fd);
    seg.fd = -1;
  }
  return Status::Ok();
}

KafkaSpool::Segment* KafkaSpool::Find(uint64_t id) {
  auto it = std::lower_bound(segments_.begin(), segments_.end(), id,
                             [](const std::unique_ptr<Segment>& s, uint64_t v) { return s->id < v; });
  return it != segments_.end() && (*it)->id == id ? it->get() : nullptr;
}

void KafkaSpool::WriteSeqFile() {
  if (seq_file_ >= next_seq_) return;
  const Status s = ReplaceFile(options_.dir + "/seq", std::to_string(next_seq_) + "\n", 0640);
  fsyncs_ += 2;
  if (s.ok()) {
    seq_file_ = next_seq_;
  } else {
    Log(LogLevel::kError, "kafka: %s", s.message().c_str());
  }
}

void KafkaSpool::RemoveSegment(size_t i, bool full_drop) {
  Segment& seg = *segments_[i];
  const bool last = i + 1 == segments_.size();
  if (last) {
    active_open_ = false;
    WriteSeqFile();  // this segment holds the highest seq
  }
  const uint64_t unacked = seg.count - seg.acked_count;
  if (full_drop) {
    const uint64_t lost = unacked - seg.in_flight;
    dropped_ += lost;
    Log(LogLevel::kError,
        "kafka: spool full (spool_max = %" PRIu64 " bytes): dropped %s: %" PRIu64
        " unsent records lost (%" PRIu32 " more in flight, lost only if their delivery fails)",
        options_.max_bytes, seg.path.c_str(), lost, seg.in_flight);
  }
  records_ -= unacked;
  bytes_ -= seg.size;
  if (seg.fd >= 0) {
    ::close(seg.fd);
    seg.fd = -1;
  }
  ::unlink(seg.path.c_str());
  if (seg.in_flight > 0) {
    seg.dropped = true;
    seg.size = 0;
    seg.unsynced = false;
  } else {
    segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void KafkaSpool::MaybeRemove(size_t i) {
  Segment& seg = *segments_[i];
  if (seg.dropped || seg.count == 0 || seg.acked_count < seg.count) return;
  RemoveSegment(i, false);
}

Status KafkaSpool::Append(int64_t timestamp_ms, std::string_view topic, std::string_view key,
                          std::string_view value) {
  if (topic.size() > 0xffff || key.size() > 0xffff ||
      kMinPayload + topic.size() + key.size() + value.size() > kMaxPayload) {
    return Status::Error("spool: record of " + std::to_string(value.size()) + " bytes is too large");
  }
  const std::string frame = EncodeFrame(next_seq_, timestamp_ms, topic, key, value);
  // Full: the oldest segments go first (the active one too, if it is the only one).
  while (bytes_ + frame.size() > options_.max_bytes) {
    size_t oldest = 0;
    while (oldest < segments_.size() && segments_[oldest]->dropped) ++oldest;
    if (oldest == segments_.size()) break;
    RemoveSegment(oldest, true);
  }
  if (active_open_ && segments_.back()->size >= options_.segment_bytes) {
    const Status s = SealActive();
    if (!s.ok()) return s;
  }
  if (!active_open_) {
    const Status s = StartSegment();
    if (!s.ok()) return s;
  }
  Segment& seg = *segments_.back();
  if (!WriteAll(seg.fd, frame)) {
    const std::string why = std::strerror(errno);
    if (::ftruncate(seg.fd, static_cast<off_t>(seg.size)) != 0) {
      // The next frames follow the torn one; reading skips it by its CRC.
    }
    ::lseek(seg.fd, static_cast<off_t>(seg.size), SEEK_SET);
    return Status::Error("spool " + seg.path + ": cannot write: " + why);
  }
  seg.size += frame.size();
  ++seg.count;
  seg.acked.push_back(false);
  seg.unsynced = true;
  bytes_ += frame.size();
  ++records_;
  ++next_seq_;
  dirty_ = true;
  return Status::Ok();
}

Status KafkaSpool::Sync() {
  Status status;
  if (dir_dirty_) {
    SyncDir(options_.dir);
    ++fsyncs_;
    dir_dirty_ = false;
  }
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = *segments_[i];
    if (!seg.unsynced || seg.fd < 0) continue;
    ++fsyncs_;
    if (::fdatasync(seg.fd) != 0 && status.ok()) {
      status = Status::Error("spool " + seg.path + ": fsync: " + std::strerror(errno));
    }
    seg.unsynced = false;
    const bool active = active_open_ && i + 1 == segments_.size();
    if (!active) {
      ::close(seg.fd);
      seg.fd = -1;
    }
  }
  if (status.ok()) {
    synced_seq_ = next_seq_;
    dirty_ = false;
  }
  return status;
}

bool KafkaSpool::Peek(SpoolRecord* record, RecordRef* ref) {
  while (true) {
    auto it = std::lower_bound(segments_.begin(), segments_.end(), cursor_.segment,
                               [](const std::unique_ptr<Segment>& s, uint64_t v) { return s->id < v; });
    while (it != segments_.end() && (*it)->dropped) ++it;
    if (it == segments_.end()) return false;
    Segment& seg = **it;
    if (seg.id != cursor_.segment) cursor_ = Cursor{seg.id, 0, 0};
    const bool active = active_open_ && it + 1 == segments_.end();
    uint64_t end = 0;
    if (cursor_.offset >= seg.size || cursor_.index >= seg.count ||
        !ReadFrame(seg, &cursor_.offset, record, &end, false)) {
      if (active) return false;
      if (!seg.unsynced && seg.fd >= 0) {  // done reading it
        ::close(seg.fd);
        seg.fd = -1;
      }
      cursor_ = Cursor{seg.id + 1, 0, 0};
      continue;
    }
    if (record->seq >= synced_seq_) return false;  // not on disk for sure yet
    if (seg.acked[cursor_.index]) {
      cursor_.offset = end;
      ++cursor_.index;
      continue;
    }
    peeked_ = true;
    peeked_ref_ = RecordRef{seg.id, cursor_.index};
    peeked_end_ = end;
    *ref = peeked_ref_;
    return true;
  }
}

void KafkaSpool::Advance() {
  if (!peeked_) return;
  peeked_ = false;
  if (Segment* seg = Find(peeked_ref_.segment)) ++seg->in_flight;
  ++in_flight_;
  cursor_.offset = peeked_end_;
  ++cursor_.index;
}

void KafkaSpool::Ack(const RecordRef& ref) {
  auto it = std::lower_bound(segments_.begin(), segments_.end(), ref.segment,
                             [](const std::unique_ptr<Segment>& s, uint64_t v) { return s->id < v; });
  if (it == segments_.end() || (*it)->id != ref.segment) return;
  Segment& seg = **it;
  const size_t i = static_cast<size_t>(it - segments_.begin());
  if (in_flight_ > 0) --in_flight_;
  if (seg.in_flight > 0) --seg.in_flight;
  if (seg.dropped) {
    if (seg.in_flight == 0) segments_.erase(it);
    return;
  }
  if (ref.index < seg.count && !seg.acked[ref.index]) {
    seg.acked[ref.index] = true;
    ++seg.acked_count;
    --records_;
  }
  MaybeRemove(i);
}

void KafkaSpool::Nack(const RecordRef& ref) {
  auto it = std::lower_bound(segments_.begin(), segments_.end(), ref.segment,
                             [](const std::unique_ptr<Segment>& s, uint64_t v) { return s->id < v; });
  if (it == segments_.end() || (*it)->id != ref.segment) return;
  Segment& seg = **it;
  if (in_flight_ > 0) --in_flight_;
  if (seg.in_flight > 0) --seg.in_flight;
  if (seg.dropped) {
    ++dropped_;  // its segment went while it was in flight: it is lost now
    if (seg.in_flight == 0) segments_.erase(it);
  }
}

void KafkaSpool::Rewind() {
  peeked_ = false;
  cursor_ = Cursor{};
}

}  // namespace sensorgate
