#include "gateway/sources/mqtt/mqtt_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gateway/base/file_util.h"
#include "gateway/base/log.h"
#include "gateway/parse/record_parser.h"

namespace sensorgate {
namespace {

constexpr uint32_t kMagic = 0x314A4753;  // "SGJ1" in the file (little endian)
constexpr uint32_t kFlagTooLong = 1;
constexpr uint32_t kFlagDup = 2;
constexpr int kPacketIdShift = 16;  // flags bits 16-31: the MQTT packet id
constexpr char kRecentFile[] = "mqtt-recent";
constexpr char kRecentMagic[] = "sensorgate-mqtt-recent 1\n";
constexpr uint32_t kMaxTopicBytes = 65535;
constexpr size_t kReadChunk = 1024 * 1024;  // > the largest frame
constexpr size_t kMaxMemoryBytes = 64 * 1024 * 1024;
constexpr char kPrefix[] = "mqtt-journal.";

struct Header {
  uint32_t magic;
  uint32_t topic_len;
  uint32_t payload_len;
  uint32_t flags;
  int64_t arrival_us;
};
static_assert(sizeof(Header) == MqttJournal::kHeaderBytes, "frame header layout");

// A frame header that can be trusted: magic, sane lengths, known flags.
bool ValidHeader(const Header& h) {
  return h.magic == kMagic && h.topic_len <= kMaxTopicBytes && h.payload_len <= kMaxRecordBytes &&
         (h.flags & 0xFFFCu) == 0 && !((h.flags & kFlagTooLong) && h.payload_len != 0);
}

// What starts at buf[pos], of the `have` bytes read: a whole frame (its
// header and size filled in), the start of one cut by the end of the bytes
// read, or something that is not a frame.
enum class FrameAt { kWhole, kCut, kBad };
FrameAt FrameStart(const char* buf, size_t have, size_t pos, Header* h, size_t* size) {
  if (pos + sizeof(Header) > have) return FrameAt::kCut;
  std::memcpy(h, buf + pos, sizeof(Header));
  if (!ValidHeader(*h)) return FrameAt::kBad;
  *size = sizeof(Header) + h->topic_len + h->payload_len;
  return pos + *size <= have ? FrameAt::kWhole : FrameAt::kCut;
}

// FNV-1a, 64 bits, over the topic, a separator and the payload; never 0.
uint64_t MessageHash(std::string_view topic, std::string_view payload) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(topic);
  mix(std::string_view("\0", 1));
  mix(payload);
  return h == 0 ? 1 : h;
}

}  // namespace

MqttJournal::MqttJournal(std::string dir, Clock* clock)
    : dir_(std::move(dir)), clock_(clock ? clock : SystemClock()), recent_(65536, 0) {
  // Not zeroed: its pages become resident as reads fill them (the padding
  // after what a read gave is zeroed then).
  buf_.reset(new char[kReadChunk + kRecordPadding]);
  frame_.reserve(kHeaderBytes + 1024);
}

MqttJournal::~MqttJournal() {
  if (write_fd_ >= 0) ::close(write_fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
}

std::string MqttJournal::FileName(uint64_t gen) const {
  char name[64];
  std::snprintf(name, sizeof name, "%s%08llu", kPrefix, static_cast<unsigned long long>(gen));
  return dir_ + "/" + name;
}

void MqttJournal::ResetRecent(const std::string& session) {
  std::lock_guard<std::mutex> lock(mu_);
  if (session == session_) return;
  std::fill(recent_.begin(), recent_.end(), 0);
  session_ = session;
}

void MqttJournal::SaveRecent() {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    text = std::string(kRecentMagic) + session_ + "\n";
    text.append(reinterpret_cast<const char*>(recent_.data()), recent_.size() * sizeof(uint64_t));
  }
  (void)ReplaceFile(dir_ + "/" + kRecentFile, text, 0640);
}

void MqttJournal::LoadRecent() {
  const std::string path = dir_ + "/" + kRecentFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const std::string head = std::string(kRecentMagic) + session_ + "\n";
  if (text.size() != head.size() + recent_.size() * sizeof(uint64_t) || text.compare(0, head.size(), head) != 0) {
    return;  // another session, or not ours: start empty
  }
  std::memcpy(recent_.data(), text.data() + head.size(), recent_.size() * sizeof(uint64_t));
}

// Brings the redelivery table up to date with the frames of one generation.
void MqttJournal::ScanForRecent(uint64_t gen) {
  const int fd = ::open(FileName(gen).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  uint64_t offset = 0;
  for (;;) {
    const ssize_t got = ::pread(fd, buf_.get(), kReadChunk, static_cast<off_t>(offset));
    if (got > 0) std::memset(buf_.get() + got, 0, kRecordPadding);
    if (got <= 0) break;
    size_t pos = 0;
    const size_t have = static_cast<size_t>(got);
    Header h;
    size_t size;
    while (FrameStart(buf_.get(), have, pos, &h, &size) == FrameAt::kWhole) {
      const uint32_t id = h.flags >> kPacketIdShift;
      if (id != 0 && !(h.flags & kFlagTooLong)) {
        const char* topic = buf_.get() + pos + sizeof h;
        recent_[id] = MessageHash(std::string_view(topic, h.topic_len),
                                  std::string_view(topic + h.topic_len, h.payload_len));
      }
      pos += size;
    }
    if (pos == 0) break;
    offset += pos;
  }
  ::close(fd);
}

Status MqttJournal::Open(const MqttPosition& from, const std::string& session) {
  std::vector<uint64_t> gens;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return Status::Error(dir_ + ": cannot list: " + std::strerror(errno));
  while (dirent* e = ::readdir(d)) {
    const std::string_view name(e->d_name);
    if (name.rfind(kPrefix, 0) != 0) continue;
    const std::string_view digits = name.substr(sizeof kPrefix - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) continue;
    gens.push_back(std::strtoull(std::string(digits).c_str(), nullptr, 10));
  }
  ::closedir(d);
  std::sort(gens.begin(), gens.end());

  std::lock_guard<std::mutex> lock(mu_);
  session_ = session;
  LoadRecent();
  sealed_.clear();
  uint64_t highest = from.generation;
  for (uint64_t gen : gens) {
    highest = std::max(highest, gen);
    if (from.generation != 0 && gen < from.generation) {
      ::unlink(FileName(gen).c_str());  // read before the last checkpoint
      continue;
    }
    struct stat st;
    if (::stat(FileName(gen).c_str(), &st) != 0) continue;
    sealed_.push_back({gen, static_cast<uint64_t>(st.st_size)});
  }
  read_gen_ = from.generation;
  read_offset_ = from.offset;
  if (from.generation == 0) {
    read_gen_ = sealed_.empty() ? highest + 1 : sealed_.front().gen;
    read_offset_ = 0;
  } else if (from.offset > 0) {
    const bool present = !sealed_.empty() && sealed_.front().gen == from.generation;
    if (!present || sealed_.front().size < from.offset) {
      Log(LogLevel::kWarning,
          "%s: shorter than the checkpoint says (%llu bytes read before); MQTT messages received "
          "before the crash may be missing",
          FileName(from.generation).c_str(), static_cast<unsigned long long>(from.offset));
    }
  }
  for (const Sealed& g : sealed_) ScanForRecent(g.gen);
  write_gen_ = highest + 1;
  replay_until_gen_ = write_gen_;
  written_ = 0;
  write_broken_ = false;
  write_fd_ = ::open(FileName(write_gen_).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (write_fd_ < 0) {
    return Status::Error(FileName(write_gen_) + ": cannot create the MQTT journal: " + std::strerror(errno));
  }
  SyncDir(dir_);
  return Status::Ok();
}

void MqttJournal::RotateLocked() {
  if (write_fd_ >= 0) {
    if (write_broken_) (void)::ftruncate(write_fd_, static_cast<off_t>(written_));  // drop a torn frame
    ::fdatasync(write_fd_);
    ::close(write_fd_);
    sealed_.push_back({write_gen_, written_});
  }
  ++write_gen_;
  written_ = 0;
  write_fd_ = ::open(FileName(write_gen_).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (write_fd_ >= 0) SyncDir(dir_);
}

bool MqttJournal::Append(std::string_view topic, std::string_view payload, TimeMicros arrival_us,
                         uint16_t packet_id, bool dup, bool cut) {
  if (topic.size() > kMaxTopicBytes) topic = topic.substr(0, kMaxTopicBytes);  // MQTT allows 65535
  const uint64_t hash = packet_id != 0 ? MessageHash(topic, payload) : 0;
  const bool too_long = cut || payload.size() > kMaxRecordBytes;
  if (too_long) payload = {};
  const uint32_t flags = (too_long ? kFlagTooLong : 0u) | (dup ? kFlagDup : 0u) |
                         (too_long ? 0u : static_cast<uint32_t>(packet_id) << kPacketIdShift);
  Header h{kMagic, static_cast<uint32_t>(topic.size()), static_cast<uint32_t>(payload.size()), flags, arrival_us};
  std::lock_guard<std::mutex> lock(mu_);
  if (packet_id != 0) {
    if (dup && recent_[packet_id] == hash) {
      stats_.duplicates.fetch_add(1, std::memory_order_relaxed);
      return false;  // a redelivery of the message we received last with this id
    }
    recent_[packet_id] = hash;
  }
  // In a batch, the frame is written where the batch collects them.
  std::string& to = batching_ ? batch_ : frame_;
  if (!batching_) frame_.clear();
  to.append(reinterpret_cast<const char*>(&h), sizeof h);
  to.append(topic);
  to.append(payload);
  stats_.appended.fetch_add(1, std::memory_order_relaxed);
  if (!batching_) StoreLocked(frame_);
  return true;
}

void MqttJournal::BeginBatch() {
  std::lock_guard<std::mutex> lock(mu_);
  batching_ = true;
}

void MqttJournal::EndBatch() {
  std::lock_guard<std::mutex> lock(mu_);
  batching_ = false;
  if (batch_.empty()) return;
  StoreLocked(batch_);
  batch_.clear();
  if (batch_.capacity() > 4 * kReadChunk) batch_.shrink_to_fit();
}

// Writes whole frames to the disk with one write(), or keeps them in memory.
void MqttJournal::StoreLocked(const std::string& frames) {
  // To the disk, unless an earlier write failed and its retry time has not
  // come (a full disk must not make a new file, and fsyncs, per message).
  const int64_t now = write_broken_ ? clock_->MonotonicUs() : 0;
  if (memory_.empty() && (!write_broken_ || now >= retry_at_us_)) {
    if (write_fd_ < 0 || written_ >= kRotateBytes) {
      RotateLocked();
    } else if (write_broken_) {
      (void)::ftruncate(write_fd_, static_cast<off_t>(written_));  // drop a torn frame, then retry here
    }
    if (write_fd_ >= 0 && !fail_writes_ && WriteAll(write_fd_, frames)) {
      written_ += frames.size();
      write_broken_ = false;
      retry_delay_us_ = 0;
      return;
    }
    write_broken_ = true;
    retry_delay_us_ = retry_delay_us_ == 0 ? kFirstRetryUs : std::min(retry_delay_us_ * 2, kMaxRetryUs);
    retry_at_us_ = (now ? now : clock_->MonotonicUs()) + retry_delay_us_;
  }
  // The disk refused: keep them in memory, frame by frame and in order,
  // until the reader takes them.
  size_t held = 0;
  for (const std::string& f : memory_) held += f.size();
  for (size_t pos = 0; pos + sizeof(Header) <= frames.size();) {
    Header h;
    std::memcpy(&h, frames.data() + pos, sizeof h);
    const size_t size = sizeof h + h.topic_len + h.payload_len;
    stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
    if (held + size <= kMaxMemoryBytes || memory_.size() < 16) {
      memory_.emplace_back(frames, pos, size);
      held += size;
    } else {
      stats_.lost.fetch_add(1, std::memory_order_relaxed);
    }
    pos += size;
  }
}

bool MqttJournal::OpenReadFile(uint64_t gen) {
  if (read_fd_ >= 0 && read_fd_gen_ == gen) return true;
  if (read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = ::open(FileName(gen).c_str(), O_RDONLY | O_CLOEXEC);
  read_fd_gen_ = gen;
  return read_fd_ >= 0;
}

bool MqttJournal::Read(Reader* reader, size_t budget) {
  std::vector<Sealed> sealed;
  uint64_t live_gen, live_written;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sealed.assign(sealed_.begin(), sealed_.end());
    live_gen = write_gen_;
    live_written = written_;
  }
  auto next_gen = [&](uint64_t after) {
    for (const Sealed& s : sealed) {
      if (s.gen > after) return s.gen;
    }
    return live_gen;
  };
  auto deliver = [&](const char* frame) {
    Header h;
    std::memcpy(&h, frame, sizeof h);
    const char* topic = frame + sizeof h;
    reader->OnJournaled(std::string_view(topic, h.topic_len), topic + h.topic_len, h.payload_len, h.arrival_us,
                        (h.flags & kFlagTooLong) != 0);
    ++stats_.read;
  };
  size_t n = 0;
  while (n < budget) {
    uint64_t limit;
    if (read_gen_ == live_gen) {
      limit = live_written;
    } else {
      const auto it = std::find_if(sealed.begin(), sealed.end(), [&](const Sealed& s) { return s.gen == read_gen_; });
      if (it == sealed.end()) {
        read_gen_ = next_gen(read_gen_);
        read_offset_ = 0;
        continue;
      }
      limit = it->size;
    }
    if (read_offset_ >= limit) {
      if (read_gen_ == live_gen) break;  // caught up
      read_gen_ = next_gen(read_gen_);
      read_offset_ = 0;
      continue;
    }
    if (!OpenReadFile(read_gen_)) {
      Log(LogLevel::kError, "%s: cannot open: %s; skipping it", FileName(read_gen_).c_str(), std::strerror(errno));
      read_offset_ = limit;
      continue;
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(limit - read_offset_, kReadChunk));
    const ssize_t got = ::pread(read_fd_, buf_.get(), want, static_cast<off_t>(read_offset_));
    if (got > 0) std::memset(buf_.get() + got, 0, kRecordPadding);
    if (got <= 0) {
      Log(LogLevel::kError, "%s: cannot read at %llu: %s; skipping the rest", FileName(read_gen_).c_str(),
          static_cast<unsigned long long>(read_offset_), got < 0 ? std::strerror(errno) : "end of file");
      ++stats_.torn;
      read_offset_ = limit;
      continue;
    }
    const size_t have = static_cast<size_t>(got);
    size_t pos = 0;
    bool skip_rest = false;
    while (n < budget) {
      Header h;
      size_t size;
      const FrameAt at = FrameStart(buf_.get(), have, pos, &h, &size);
      if (at == FrameAt::kBad) skip_rest = true;
      if (at != FrameAt::kWhole) break;  // kCut: the rest is in the next chunk (or torn)
      const bool replay = read_gen_ < replay_until_gen_;
      deliver(buf_.get() + pos);
      if (replay) ++stats_.replayed;
      pos += size;
      ++n;
    }
    read_offset_ += pos;
    if (skip_rest || (pos == 0 && n < budget)) {
      // Not a whole frame where one must start: a torn write at the end of a
      // file (a crash in the middle of a write) or damage. The rest of this
      // generation cannot be framed.
      Log(LogLevel::kWarning, "%s: torn or damaged MQTT journal frame at byte %llu (%llu bytes skipped)",
          FileName(read_gen_).c_str(), static_cast<unsigned long long>(read_offset_),
          static_cast<unsigned long long>(limit - read_offset_));
      ++stats_.torn;
      read_offset_ = limit;
    }
  }
  if (n < budget && read_gen_ == live_gen && read_offset_ == live_written) {
    // Caught up with the file: take what the writer had to keep in memory,
    // if nothing was written to the file since the snapshot.
    std::deque<std::string> memory;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (write_gen_ == live_gen && written_ == live_written) memory.swap(memory_);
    }
    for (const std::string& f : memory) {
      std::memcpy(buf_.get(), f.data(), f.size());  // a frame is < kReadChunk: padding follows
      std::memset(buf_.get() + f.size(), 0, kRecordPadding);
      deliver(buf_.get());
      ++n;
    }
    if (!memory.empty()) return true;  // the file may have moved on meanwhile
    return false;
  }
  return true;
}

void MqttJournal::Sync() {
  int fd = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (write_fd_ >= 0) fd = ::dup(write_fd_);
  }
  if (fd >= 0) {
    ::fdatasync(fd);
    ::close(fd);
  }
}

void MqttJournal::Checkpointed(const MqttPosition& p) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!sealed_.empty() && sealed_.front().gen < p.generation) {
    ::unlink(FileName(sealed_.front().gen).c_str());
    sealed_.pop_front();
  }
}

uint64_t MqttJournal::backlog_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const Sealed& s : sealed_) {
    if (s.gen > read_gen_) total += s.size;
    if (s.gen == read_gen_) total += s.size - std::min(s.size, read_offset_);
  }
  if (write_gen_ == read_gen_) total += written_ - std::min(written_, read_offset_);
  else total += written_;
  for (const std::string& f : memory_) total += f.size();
  return total;
}

}  // namespace sensorgate
