// Source: where records come from (DESIGN.md section 1, stage "source").
//
// A source reads records from the outside world (followed files, an MQTT
// subscription) and hands them, one at a time and in its input order, to a
// RecordReceiver: the pipeline. The daemon's event loop drives every source
// the same way:
//  - it watches fd() (when not -1) for EPOLLIN and wakes no later than
//    next_poll_us(), then calls Poll(budget);
//  - Poll() reads at most `budget` records and returns true when more are
//    pending right now, in which case the loop serves its other work (signals,
//    HTTP, sinks, the watchdog) and calls Poll() again without waiting;
//  - a source never blocks the loop: waits for the network or the disk
//    happen on a library's own thread or not at all (the MQTT client is
//    non-blocking on the loop's thread).
// Position() describes the records handed on so far, for the checkpoint;
// after a restart from it, the source resumes right after them.
//
// Thread: everything here is called on the loop (pipeline) thread. A source
// may own threads of its own; they hand work over through fd().
#ifndef SENSORGATE_GATEWAY_SOURCES_SOURCE_H_
#define SENSORGATE_GATEWAY_SOURCES_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/link_state.h"
#include "gateway/base/time_util.h"

namespace sensorgate {

// Where a record came from, for log lines.
struct RecordOrigin {
  std::string_view source;  // file name or topic
  uint64_t line = 0;        // 0: an MQTT message, source is its topic
};

// Receives the records of every source; implemented by the pipeline. Every
// view is valid during the call only.
class RecordReceiver {
 public:
  virtual ~RecordReceiver() = default;
  // CSV only: the header of the file whose records follow (see FileFollower).
  virtual void OnHeader(std::string_view line, const RecordOrigin& origin) = 0;
  // One record (a line without its terminator). REQUIRES: kRecordPadding
  // readable bytes after data + len.
  virtual void OnRecord(const char* data, size_t len, TimeMicros arrival_us, const RecordOrigin& origin) = 0;
  // One MQTT message on `topic`. REQUIRES: kRecordPadding readable bytes
  // after payload + len.
  virtual void OnMessage(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us) = 0;
  // A record over kMaxRecordBytes was skipped.
  virtual void OnTooLong(const RecordOrigin& origin) = 0;
};

// Identity and read position of one followed file, as kept in the checkpoint.
struct FilePosition {
  std::string path;          // the path it was last seen under
  uint64_t device = 0;       // st_dev
  uint64_t inode = 0;        // st_ino
  uint64_t offset = 0;       // bytes consumed: the end of the last whole line handed on
  uint64_t fingerprint = 0;  // FileFingerprint() of the file's first min(offset, 256) bytes (0 when
                             // offset is 0), to recognise the same content after a restart, a copy
                             // or a rewrite
};

// How far the MQTT journal has been read (mqtt_journal.h); 0, 0: not yet.
struct MqttPosition {
  uint64_t generation = 0;
  uint64_t offset = 0;
};

// Every source's position, as the checkpoint keeps it. Each source fills in
// its own part and leaves the others alone.
struct SourcePositions {
  std::vector<FilePosition> files;
  MqttPosition mqtt;
};

class Source {
 public:
  virtual ~Source() = default;
  // "file", "mqtt": names the source in logs, metrics and /api/links.
  virtual std::string_view name() const = 0;
  // The descriptor to watch for EPOLLIN, or -1.
  virtual int fd() const { return -1; }
  // After a Poll(): true when fd() should not wake the loop before
  // next_poll_us() (a steady stream is then read in batches, one wake-up
  // per batch instead of one per write). The loop stops watching fd() until
  // that time, then polls and watches it again.
  virtual bool hold_fd() const { return false; }
  // Monotonic time (Clock::MonotonicUs) by which Poll() is due even if fd()
  // stays quiet; kNever when only fd() matters.
  virtual int64_t next_poll_us() const = 0;
  // Hands at most `budget` records to the receiver. Returns true when more
  // are available now (call again soon), false when the source has caught up.
  virtual bool Poll(size_t budget) = 0;
  // Writes this source's part of the checkpoint. Makes durable first what
  // the position points into (the MQTT journal is fsynced).
  virtual void SavePosition(SourcePositions* positions) = 0;
  // The checkpoint holding SavePosition()'s position is on disk.
  virtual void Checkpointed(const SourcePositions& positions) { (void)positions; }
  // Stops taking new records from the outside (disconnects); what was
  // received and not handed on stays for the next start. Waits at most
  // until `deadline_us` (monotonic).
  virtual void Stop(int64_t deadline_us) { (void)deadline_us; }
  // Prometheus families of this source.
  virtual void AppendMetrics(std::string* out) const = 0;
  virtual LinkState Link() const = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_SOURCE_H_
