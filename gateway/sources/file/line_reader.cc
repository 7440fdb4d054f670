#include "gateway/sources/file/line_reader.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "gateway/parse/record_parser.h"

namespace sensorgate {

LineReader::LineReader(int fd, size_t max_line, size_t buffer_bytes)
    : fd_(fd),
      max_line_(max_line),
      capacity_(buffer_bytes > max_line + 2 ? buffer_bytes : max_line + 2),
      buf_(new char[capacity_ + kRecordPadding]()) {}

LineReader::~LineReader() {
  if (map_ != nullptr) munmap(const_cast<char*>(map_), map_len_);
}

bool LineReader::Map(size_t window) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  struct stat st;
  if (window % page != 0 || window < 2 * page || window / 2 <= max_line_ || window - page <= max_line_ ||
      mapped_ || begin_ != end_ || fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      lseek(fd_, 0, SEEK_CUR) != 0) {
    return false;
  }
  mapped_ = true;
  window_ = window;
  file_size_ = static_cast<uint64_t>(st.st_size);
  begin_ = 0;
  return true;
}

bool LineReader::MapWindow(uint64_t at) {
  static const uint64_t kPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (map_ != nullptr) munmap(const_cast<char*>(map_), map_len_);
  map_ = nullptr;
  map_off_ = at - at % kPage;
  map_len_ = static_cast<size_t>(std::min<uint64_t>(window_, file_size_ - map_off_));
  // MAP_POPULATE: the window's pages are mapped at once, not a fault each.
  void* m = mmap(nullptr, map_len_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, static_cast<off_t>(map_off_));
  if (m == MAP_FAILED) {
    status_ = Status::Error(std::string("mmap failed: ") + std::strerror(errno));
    map_len_ = 0;
    return false;
  }
  map_ = static_cast<const char*>(m);
  return true;
}

LineReader::Result LineReader::NextMapped(std::string_view* line, bool final_partial) {
  if (begin_ == file_size_) return Result::kEnd;
  if (map_ == nullptr || begin_ < map_off_ || begin_ >= map_off_ + map_len_) {
    if (!MapWindow(begin_)) return Result::kError;
  }
  // The line's end: in this window, or (a line across its end) in a window
  // from the line's page, or (longer than a window: too long) further on.
  const char* nl = nullptr;
  bool too_long = false;
  while (true) {
    const char* from = map_ + (begin_ - map_off_);
    nl = static_cast<const char*>(std::memchr(from, '\n', map_off_ + map_len_ - begin_));
    if (nl != nullptr || map_off_ + map_len_ == file_size_) break;
    if (map_off_ + window_ / 2 > begin_) {
      // The line started in the first half of this window: over max_line.
      too_long = true;
      uint64_t at = map_off_ + map_len_;
      while (true) {
        if (!MapWindow(at)) return Result::kError;
        nl = static_cast<const char*>(std::memchr(map_, '\n', map_len_));
        if (nl != nullptr || map_off_ + map_len_ == file_size_) break;
        at = map_off_ + map_len_;
      }
      break;
    }
    if (!MapWindow(begin_)) return Result::kError;
  }
  const uint64_t line_end = nl != nullptr ? map_off_ + static_cast<uint64_t>(nl - map_) : file_size_;
  if (nl == nullptr && !final_partial) return Result::kNeedMore;
  const uint64_t next = nl != nullptr ? line_end + 1 : file_size_;
  size_t len = static_cast<size_t>(line_end - begin_);
  const char* start = too_long ? nullptr : map_ + (begin_ - map_off_);
  consumed_ += next - begin_;
  begin_ = next;
  if (too_long) return Result::kTooLong;
  if (len > 0 && start[len - 1] == '\r') --len;
  if (len > max_line_) return Result::kTooLong;
  if (static_cast<uint64_t>(start - map_) + len + kRecordPadding > map_len_) {
    // Too near the window's end for the padding: a copy.
    std::memcpy(buf_.get(), start, len);
    start = buf_.get();
  }
  *line = std::string_view(start, len);
  return Result::kLine;
}

bool LineReader::Fill() {
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == capacity_) return true;  // full: the caller decides (too long)
  while (true) {
    const ssize_t n = ::read(fd_, buf_.get() + end_, capacity_ - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    status_ = Status::Error(std::string("read failed: ") + std::strerror(errno));
    return false;
  }
}

bool LineReader::HasLine() const {
  if (mapped_) return begin_ < file_size_;  // a line, or a last one without a newline
  return std::memchr(buf_.get() + begin_, '\n', end_ - begin_) != nullptr;
}

LineReader::Result LineReader::Next(std::string_view* line, bool final_partial) {
  if (mapped_) return NextMapped(line, final_partial);
  eof_ = false;
  while (true) {
    const size_t avail = end_ - begin_;
    const char* start = buf_.get() + begin_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
    if (nl != nullptr) {
      size_t len = static_cast<size_t>(nl - start);
      begin_ += len + 1;
      consumed_ += len + 1;
      if (skipping_) {
        skipping_ = false;
        return Result::kTooLong;
      }
      if (len > 0 && start[len - 1] == '\r') --len;
      if (len > max_line_) return Result::kTooLong;
      *line = std::string_view(start, len);
      return Result::kLine;
    }
    if (avail > max_line_ + 1) {
      // No newline within max_line: drop what we have and skip to the newline.
      skipping_ = true;
      consumed_ += avail;
      begin_ = end_ = 0;
    }
    if (!Fill()) {
      if (!status_.ok()) return Result::kError;
      if (end_ == begin_ && !skipping_) return Result::kEnd;
      if (!final_partial) return Result::kNeedMore;
      const size_t len = end_ - begin_;
      const char* s = buf_.get() + begin_;
      begin_ = end_;
      consumed_ += len;
      if (skipping_) {
        skipping_ = false;
        return Result::kTooLong;
      }
      size_t l = len;
      if (l > 0 && s[l - 1] == '\r') --l;
      if (l > max_line_) return Result::kTooLong;
      *line = std::string_view(s, l);
      return Result::kLine;
    }
  }
}

}  // namespace sensorgate
