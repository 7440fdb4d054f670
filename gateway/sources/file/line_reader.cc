#include "gateway/sources/file/line_reader.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
  if (map_ != nullptr) munmap(const_cast<char*>(map_), map_size_);
}

bool LineReader::Map() {
  struct stat st;
  if (map_ != nullptr || begin_ != end_ || fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<uint64_t>(st.st_size) > SIZE_MAX) {
    return false;
  }
  const off_t at = lseek(fd_, 0, SEEK_CUR);
  if (at != 0) return false;
  const size_t size = static_cast<size_t>(st.st_size);
  // MAP_POPULATE: the pages are mapped at once, not one fault at a time.
  void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, 0);
  if (m == MAP_FAILED) return false;
  (void)madvise(m, size, MADV_SEQUENTIAL);
  map_ = static_cast<const char*>(m);
  map_size_ = size;
  return true;
}

LineReader::Result LineReader::NextMapped(std::string_view* line, bool final_partial) {
  // begin_ is the offset in the mapping of what is not returned yet.
  if (begin_ == map_size_) return Result::kEnd;
  const char* start = map_ + begin_;
  const size_t avail = map_size_ - begin_;
  const char* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
  size_t len;
  if (nl != nullptr) {
    len = static_cast<size_t>(nl - start);
    begin_ += len + 1;
    consumed_ += len + 1;
  } else {
    if (!final_partial) return Result::kNeedMore;
    len = avail;
    begin_ = map_size_;
    consumed_ += len;
  }
  if (len > 0 && start[len - 1] == '\r') --len;
  if (len > max_line_) return Result::kTooLong;
  if (map_size_ - static_cast<size_t>(start - map_) - len < kRecordPadding) {
    // Too near the end of the mapping for the padding: a copy.
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
  if (map_ != nullptr) return std::memchr(map_ + begin_, '\n', map_size_ - begin_) != nullptr;
  return std::memchr(buf_.get() + begin_, '\n', end_ - begin_) != nullptr;
}

LineReader::Result LineReader::Next(std::string_view* line, bool final_partial) {
  if (map_ != nullptr) return NextMapped(line, final_partial);
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
