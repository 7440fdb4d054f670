// FileSink: writes records as lines to a file (appending) or to standard
// output, and rotates or rewrites the file as a real log does.
//
// Lines are collected in a buffer and written with one write() per batch of
// whole lines, so a reader following the file sees a torn line only while a
// write is in progress, never between writes. Rotation (by size or by line
// count) flushes first, then either renames FILE to FILE.1 after shifting
// FILE.1..FILE.(K-1) up by one and opens a new FILE (logrotate's default),
// or, with copytruncate, copies FILE to FILE.1 and truncates FILE in place.
// Rewrite mode truncates FILE every N cycles and writes on from its start.
// One thread at a time.
#ifndef SENSORGATE_SIMULATOR_FILE_SINK_H_
#define SENSORGATE_SIMULATOR_FILE_SINK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "simulator/record_sink.h"

namespace sensorgate {

struct FileSinkOptions {
  std::string path;           // empty: standard output (no rotation, no rewrite)
  bool crlf = false;          // end lines with "\r\n" instead of "\n"
  uint64_t rotate_size = 0;   // a file never grows past this (unless one line is larger); 0: off
  uint64_t rotate_lines = 0;  // a file holds at most this many lines; 0: off
  int rotate_keep = 5;        // FILE.1 .. FILE.K
  bool copytruncate = false;
  uint64_t rewrite_every = 0;    // cycles; 0: off
  size_t buffer_size = 1 << 20;  // bytes collected before a write
};

class FileSink : public RecordSink {
 public:
  explicit FileSink(const FileSinkOptions& options);
  ~FileSink() override;

  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Opens (creating, appending to) the file. Call once, before Write().
  Status Open();

  Status Write(std::string_view payload, uint32_t equipment) override;
  Status Flush() override;
  Status StartCycle(uint64_t cycle) override;
  Status Close() override;
  bool reader_gone() const override { return reader_gone_; }

 private:
  Status WriteAll(const char* data, size_t size);
  Status Rotate();
  Status ShiftRotated();
  Status CopyTo(const std::string& to);
  Status Errno(const std::string& what, const std::string& path, int error);
  std::string Rotated(int n) const { return options_.path + "." + std::to_string(n); }

  const FileSinkOptions options_;
  const std::string_view eol_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool reader_gone_ = false;
  std::vector<char> buffer_;
  size_t buffered_ = 0;
  uint64_t file_bytes_ = 0;  // current FILE's size, buffered bytes included
  uint64_t file_lines_ = 0;  // lines in the current FILE (counted only when rotating by lines)
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_FILE_SINK_H_
