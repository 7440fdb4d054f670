#include "gateway/mqtt_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gateway/log.h"
#include "gateway/record_parser.h"

namespace sensorgate {
namespace {

constexpr uint32_t kMagic = 0x314A4753;  // "SGJ1" in the file (little endian)
constexpr uint32_t kFlagTooLong = 1;
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

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// A frame header that can be trusted: magic, sane lengths, known flags.
bool ValidHeader(const Header& h) {
  return h.magic == kMagic && h.topic_len <= kMaxTopicBytes && h.payload_len <= kMaxRecordBytes &&
         (h.flags & ~kFlagTooLong) == 0 && !((h.flags & kFlagTooLong) && h.payload_len != 0);
}

}  // namespace

MqttJournal::MqttJournal(std::string dir) : dir_(std::move(dir)) {
  buf_.resize(kReadChunk + kRecordPadding);
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

Status MqttJournal::Open(const MqttPosition& from) {
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
  write_broken_ = write_fd_ < 0;
  if (write_fd_ >= 0) SyncDir(dir_);
}

void MqttJournal::Append(std::string_view topic, std::string_view payload, TimeMicros arrival_us) {
  if (topic.size() > kMaxTopicBytes) topic = topic.substr(0, kMaxTopicBytes);  // MQTT allows 65535
  const bool too_long = payload.size() > kMaxRecordBytes;
  if (too_long) payload = {};
  Header h{kMagic, static_cast<uint32_t>(topic.size()), static_cast<uint32_t>(payload.size()),
           too_long ? kFlagTooLong : 0u, arrival_us};
  std::lock_guard<std::mutex> lock(mu_);
  frame_.assign(reinterpret_cast<const char*>(&h), sizeof h);
  frame_.append(topic);
  frame_.append(payload);
  stats_.appended.fetch_add(1, std::memory_order_relaxed);
  if (memory_.empty()) {
    if (write_broken_ || written_ >= kRotateBytes) RotateLocked();
    if (!write_broken_) {
      if (WriteAll(write_fd_, frame_)) {
        written_ += frame_.size();
        return;
      }
      write_broken_ = true;
    }
  }
  // The disk refused: keep it in memory, in order, until the reader takes it.
  stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
  size_t held = 0;
  for (const std::string& f : memory_) held += f.size();
  if (held + frame_.size() <= kMaxMemoryBytes || memory_.size() < 16) memory_.push_back(frame_);
  else stats_.lost.fetch_add(1, std::memory_order_relaxed);
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
    const ssize_t got = ::pread(read_fd_, buf_.data(), want, static_cast<off_t>(read_offset_));
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
    while (n < budget && pos + sizeof(Header) <= have) {
      Header h;
      std::memcpy(&h, buf_.data() + pos, sizeof h);
      if (!ValidHeader(h)) {
        skip_rest = true;
        break;
      }
      const size_t size = sizeof h + h.topic_len + h.payload_len;
      if (pos + size > have) break;  // the rest is in the next chunk (or torn)
      const bool replay = read_gen_ < replay_until_gen_;
      deliver(buf_.data() + pos);
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
      std::memcpy(buf_.data(), f.data(), f.size());  // a frame is < kReadChunk: padding follows
      deliver(buf_.data());
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

uint64_t MqttJournal::backlog_bytes() {
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
