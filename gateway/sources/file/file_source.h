// FileSource: the [file] source as the event loop drives it (source.h): a
// FileFollower whose lines go to the pipeline's RecordReceiver.
//
// Every line becomes one OnRecord() with the clock's wall time as its
// arrival time; a CSV file's header goes to OnHeader() before its records, a
// line over kMaxRecordBytes to OnTooLong(). Poll(budget) reads a slice of at
// most `budget` records (FileFollower::Poll(budget)), so a large backlog is
// read between the loop's other work; it also drains the inotify events that
// made fd() readable. When caught up, the follower is polled again on fd()
// or, at the latest, 1 s after its last glob scan (the polling fallback for
// what inotify does not report: files on NFS, directories created later).
//
// Call order: Start() once, then Poll() whenever fd() is readable or
// next_poll_us() has come; SavePosition() at any time after Start().
//
// Thread: everything runs on the loop (pipeline) thread; the source owns no
// thread and never waits for data.
#ifndef SENSORGATE_GATEWAY_SOURCES_FILE_FILE_SOURCE_H_
#define SENSORGATE_GATEWAY_SOURCES_FILE_FILE_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/link_state.h"
#include "gateway/base/status.h"
#include "gateway/config/config.h"
#include "gateway/sources/file/file_follower.h"
#include "gateway/sources/source.h"

namespace sensorgate {

class FileSource : public Source, private LineSink {
 public:
  // How long after a glob scan the next one is due when inotify says
  // nothing: kRescanUs while a file waits for a timer (rotated, deleted) or
  // without inotify; kSettledRescanUs when inotify announces every change
  // (FileFollower::settled()): the fallback for file systems whose changes
  // inotify does not see (network mounts) and for directories created later.
  static constexpr int64_t kRescanUs = 1000 * 1000;
  static constexpr int64_t kSettledRescanUs = 10 * 1000 * 1000;
  // After a Poll() that handed records on, the next one comes this much later
  // whatever inotify says (hold_fd()): a file written steadily is read in
  // batches, one wake-up and one read cycle per batch rather than per write.
  static constexpr int64_t kBatchUs = 10 * 1000;
  // Descriptors left to the rest of the gateway (HTTP connections, MQTT,
  // mail, Kafka, the journal and checkpoint files) when the open-file budget
  // of the followed files is taken from RLIMIT_NOFILE.
  static constexpr size_t kReservedDescriptors = 256;

  // The files this process may keep open for following: RLIMIT_NOFILE's soft
  // limit less kReservedDescriptors (half the limit when that leaves less
  // than half); 0 (no budget) when unlimited.
  static size_t OpenFileBudget();

  // Records go to `receiver`; `clock` (nullptr: SystemClock()) gives arrival
  // times (wall) and every wait (monotonic), and is also the follower's
  // unless `options.clock` names another; `options.max_open_files` 0 takes
  // OpenFileBudget(). Nothing is opened before Start().
  // REQUIRES: receiver and clock outlive this source.
  FileSource(const FileConfig& config, RecordReceiver* receiver, Clock* clock,
             FileFollowerOptions options = {});
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Opens the followed files, resuming `restored` (from the checkpoint; empty
  // on a first start), as FileFollower::Start(). Logs nothing itself: an
  // error is the caller's to report. Fails only when called twice.
  Status Start(const std::vector<FilePosition>& restored);

  // Source. name(): "file". fd(): the follower's inotify descriptor (-1
  // without inotify, then next_poll_us() alone drives it).
  std::string_view name() const override { return "file"; }
  int fd() const override { return follower_.inotify_fd(); }
  // True after a Poll() that handed records on (see kBatchUs).
  bool hold_fd() const override { return batch_due_us_ != kNever; }

  // Monotonic time (the injected clock) at which Poll() is due: now while
  // records are pending; kBatchUs after a Poll() that handed records on;
  // else kRescanUs (or kSettledRescanUs) after the last glob scan.
  int64_t next_poll_us() const override;

  // Hands at most `budget` records (OnRecord + OnTooLong; headers do not
  // count) to the receiver, in the follower's order. Returns true when more
  // are known to be waiting now (FileFollower::pending()). Before Start()
  // succeeded: does nothing, returns false.
  bool Poll(size_t budget) override;

  // Sets positions->files to the follower's positions, consistent with the
  // records handed on so far (also between two slices). Leaves the rest.
  void SavePosition(SourcePositions* positions) override;

  // sensorgate_files_followed, sensorgate_file_bytes_read_total,
  // sensorgate_files_unfollowed, sensorgate_file_open_budget,
  // sensorgate_file_rotations_total, sensorgate_file_truncations_total and
  // sensorgate_file_recovered_lines_total.
  void AppendMetrics(std::string* out) const override;

  // name "file"; up once started and while every matching file is followed;
  // state such as "following 3 files" (with ", catching up" while pending);
  // backlog: bytes of the followed files not read yet; last_error and
  // healthy = false while matching files cannot be followed (the budget, or
  // open() failing), naming how many and the first.
  LinkState Link() const override;

  size_t file_count() const { return follower_.file_count(); }
  const FileFollower& follower() const { return follower_; }

 private:
  static FileFollowerOptions WithClock(FileFollowerOptions options, Clock* clock);

  // LineSink: forwards to the receiver.
  void OnHeader(std::string_view line, const RecordOrigin& origin) override;
  void OnLine(const char* data, size_t len, const RecordOrigin& origin) override;
  void OnTooLong(const RecordOrigin& origin) override;

  RecordReceiver* const receiver_;
  Clock* const clock_;
  FileFollower follower_;
  int64_t batch_due_us_ = kNever;  // the next batch, after a Poll() that handed records on
  bool started_ = false;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_FILE_FILE_SOURCE_H_
