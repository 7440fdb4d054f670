// LineReader: splits a file descriptor's bytes into lines, in place.
//
// Lines are handed out as views into one fixed buffer with kRecordPadding
// readable bytes after every line, so records can be parsed where they lie.
// A line longer than max_line bytes is never buffered whole: it is skipped
// up to its newline and reported as too long. A trailing "\r" is removed.
// One reader per file; not thread-safe.
#ifndef SENSORGATE_GATEWAY_SOURCES_FILE_LINE_READER_H_
#define SENSORGATE_GATEWAY_SOURCES_FILE_LINE_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "gateway/base/status.h"

namespace sensorgate {

class LineReader {
 public:
  enum class Result { kLine, kTooLong, kNeedMore, kEnd, kError };

  // Does not own fd. buffer_bytes must exceed max_line.
  LineReader(int fd, size_t max_line, size_t buffer_bytes = 128 * 1024);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // For a file read once to its end (a replay): maps the file, a window of
  // kMapWindow bytes at a time, when fd is a regular, non-empty file read
  // from its start, so its bytes are not copied; lines then lie in the
  // mapping (those within kRecordPadding of a window's end are copied to the
  // buffer for their padding), with the same results as reading the bytes
  // the file had when Map() was called. False (and nothing changes)
  // otherwise. A file that shrinks while mapped raises SIGBUS when its lost
  // pages are read: the caller handles it.
  // `window` (tests): a multiple of the page size, at least two pages, and
  // more than twice max_line and max_line plus a page; else false.
  static constexpr size_t kMapWindow = size_t{1} << 20;
  bool Map(size_t window = kMapWindow);

  // Next line. kLine: *line is set (valid until the next call). kTooLong: a
  // line over max_line was skipped. At end of input: with final_partial, a
  // last line without a newline is returned as a line, then kEnd; without it,
  // kNeedMore is returned and the partial line stays buffered for a later
  // call (a follower waits for the rest). kError: read failed (see status()).
  Result Next(std::string_view* line, bool final_partial);

  // Bytes consumed up to the end of the last line returned (an offset in the
  // file when the reader started at offset 0).
  uint64_t consumed() const { return consumed_; }

  // Whether the next Next() returns kLine or kTooLong without reading: a
  // newline is buffered. For a caller that stops between lines (a budget)
  // to tell whether a line is known to be waiting.
  bool HasLine() const;
  // Bytes read from fd and not returned yet (a partial line, or lines after
  // the last one returned).
  size_t buffered() const { return mapped_ ? static_cast<size_t>(file_size_ - begin_) : end_ - begin_; }
  const Status& status() const { return status_; }

 private:
  bool Fill();  // reads more; false at end of input or on error
  Result NextMapped(std::string_view* line, bool final_partial);
  // Maps the window holding file offset `at` (from its page); false when
  // mmap fails (status_ says why).
  bool MapWindow(uint64_t at);

  const int fd_;
  const size_t max_line_;
  const size_t capacity_;
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0, end_ = 0;
  bool skipping_ = false;  // inside a too-long line
  bool eof_ = false;
  uint64_t consumed_ = 0;
  Status status_;
  // Map(): the file is file_size_ bytes; the window maps map_len_ bytes
  // from offset map_off_ at map_ (nullptr: none yet); begin_ is then the
  // file offset of what is not returned yet.
  bool mapped_ = false;
  size_t window_ = 0;
  uint64_t file_size_ = 0;
  const char* map_ = nullptr;
  uint64_t map_off_ = 0;
  size_t map_len_ = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_FILE_LINE_READER_H_
