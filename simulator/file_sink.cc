#include "simulator/file_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace sensorgate {
namespace {

constexpr int kOpenFlags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
constexpr mode_t kFileMode = 0644;

// Counts the lines of an existing file (to go on rotating by lines).
bool CountLines(const std::string& path, uint64_t* lines) {
  *lines = 0;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  std::vector<char> chunk(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return n == 0;
    }
    const char* p = chunk.data();
    const char* const end = p + n;
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) !=
           nullptr) {
      ++*lines;
      ++p;
    }
  }
}

}  // namespace

FileSink::FileSink(const FileSinkOptions& options)
    : options_(options), eol_(options.crlf ? "\r\n" : "\n") {
  buffer_.resize(std::max<size_t>(options_.buffer_size, 4096));
}

FileSink::~FileSink() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

Status FileSink::Errno(const std::string& what, const std::string& path, int error) {
  if (error == EPIPE && !owns_fd_) reader_gone_ = true;
  return Status::Error(what + " " + (path.empty() ? "standard output" : path) + ": " +
                       std::strerror(error));
}

Status FileSink::Open() {
  if (options_.path.empty()) {
    fd_ = STDOUT_FILENO;
    owns_fd_ = false;
    return Status::Ok();
  }
  fd_ = ::open(options_.path.c_str(), kOpenFlags, kFileMode);
  if (fd_ < 0) return Errno("cannot open", options_.path, errno);
  owns_fd_ = true;
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Errno("cannot stat", options_.path, errno);
  file_bytes_ = static_cast<uint64_t>(st.st_size);
  if (options_.rotate_lines != 0 && !CountLines(options_.path, &file_lines_)) {
    return Errno("cannot read", options_.path, errno);
  }
  return Status::Ok();
}

Status FileSink::WriteAll(const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", options_.path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status FileSink::Flush() {
  if (buffered_ == 0) return Status::Ok();
  const size_t n = buffered_;
  buffered_ = 0;
  return WriteAll(buffer_.data(), n);
}

Status FileSink::Write(std::string_view payload, uint32_t /*equipment*/) {
  const size_t line_size = payload.size() + eol_.size();
  if ((options_.rotate_size != 0 && file_bytes_ > 0 &&
       file_bytes_ + line_size > options_.rotate_size) ||
      (options_.rotate_lines != 0 && file_lines_ >= options_.rotate_lines)) {
    Status s = Rotate();
    if (!s.ok()) return s;
  }
  file_bytes_ += line_size;
  ++file_lines_;
  if (buffered_ + line_size > buffer_.size()) {
    Status s = Flush();
    if (!s.ok()) return s;
    if (line_size > buffer_.size()) {
      // Larger than the buffer: one writev(), still one whole line per call.
      struct iovec iov[2];
      iov[0].iov_base = const_cast<char*>(payload.data());
      iov[0].iov_len = payload.size();
      iov[1].iov_base = const_cast<char*>(eol_.data());
      iov[1].iov_len = eol_.size();
      ssize_t n;
      do {
        n = ::writev(fd_, iov, 2);
      } while (n < 0 && errno == EINTR);
      if (n < 0) return Errno("cannot write", options_.path, errno);
      const size_t written = static_cast<size_t>(n);
      if (written < payload.size()) {
        s = WriteAll(payload.data() + written, payload.size() - written);
        if (!s.ok()) return s;
        return WriteAll(eol_.data(), eol_.size());
      }
      if (written < line_size) {
        return WriteAll(eol_.data() + (written - payload.size()), line_size - written);
      }
      return Status::Ok();
    }
  }
  char* p = buffer_.data() + buffered_;
  std::memcpy(p, payload.data(), payload.size());
  std::memcpy(p + payload.size(), eol_.data(), eol_.size());
  buffered_ += line_size;
  return Status::Ok();
}

Status FileSink::StartCycle(uint64_t cycle) {
  if (options_.rewrite_every == 0 || cycle % options_.rewrite_every != 0) return Status::Ok();
  Status s = Flush();
  if (!s.ok()) return s;
  if (::ftruncate(fd_, 0) != 0) return Errno("cannot truncate", options_.path, errno);
  file_bytes_ = 0;
  file_lines_ = 0;
  return Status::Ok();
}

Status FileSink::ShiftRotated() {
  for (int i = options_.rotate_keep - 1; i >= 1; --i) {
    const std::string from = Rotated(i);
    if (::rename(from.c_str(), Rotated(i + 1).c_str()) != 0 && errno != ENOENT) {
      return Errno("cannot rename", from, errno);
    }
  }
  return Status::Ok();
}

Status FileSink::CopyTo(const std::string& to) {
  const int in = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Errno("cannot open", options_.path, errno);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  if (out < 0) {
    const int error = errno;
    ::close(in);
    return Errno("cannot create", to, error);
  }
  std::vector<char> chunk(1 << 20);
  Status result;
  for (;;) {
    const ssize_t n = ::read(in, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = Errno("cannot read", options_.path, errno);
      break;
    }
    if (n == 0) break;
    const char* p = chunk.data();
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      const ssize_t w = ::write(out, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        result = Errno("cannot write", to, errno);
        break;
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    if (!result.ok()) break;
  }
  ::close(in);
  if (::close(out) != 0 && result.ok()) result = Errno("cannot write", to, errno);
  return result;
}

Status FileSink::Rotate() {
  Status s = Flush();
  if (!s.ok()) return s;
  s = ShiftRotated();
  if (!s.ok()) return s;
  const std::string first = Rotated(1);
  if (options_.copytruncate) {
    s = CopyTo(first);
    if (!s.ok()) return s;
    if (::ftruncate(fd_, 0) != 0) return Errno("cannot truncate", options_.path, errno);
  } else {
    if (::rename(options_.path.c_str(), first.c_str()) != 0) {
      return Errno("cannot rename", options_.path, errno);
    }
    ::close(fd_);
    fd_ = ::open(options_.path.c_str(), kOpenFlags, kFileMode);
    if (fd_ < 0) return Errno("cannot open", options_.path, errno);
  }
  file_bytes_ = 0;
  file_lines_ = 0;
  return Status::Ok();
}

Status FileSink::Close() {
  Status s = Flush();
  if (owns_fd_ && fd_ >= 0) {
    if (::close(fd_) != 0 && s.ok()) s = Errno("cannot close", options_.path, errno);
    fd_ = -1;
  }
  return s;
}

}  // namespace sensorgate
