// FileFollower: the [file] source. Follows every file matching the configured
// globs as it grows, like `tail -F` done right, and hands whole lines to a
// LineSink, losing and repeating none across rotation, truncation and
// restarts from a checkpoint.
//
// A followed file is known by its identity (st_dev, st_ino), never by its
// name: a file seen under two names is read once, and a file renamed away
// (logrotate `create`) is drained through the descriptor kept open. Its read
// position counts only the bytes of whole lines handed on, so a restart from
// Positions() resumes right after the last line delivered.
//
// A read cycle rescans the globs, then reads every file with new data, oldest
// first: by mtime, ties (a clock tick is coarse) broken by the order the
// files were found in, and files found together by name, "x.log.2" before
// "x.log.1" before "x.log". So a rotated file is drained before its
// successor is read, and a copy before the file truncated after it was made.
//  - Growth: every whole line now available; a last line without its newline
//    waits for it.
//  - Rename: a file renamed out of the globs is closed once it has been idle
//    (not written, nor renamed) for `rotate_wait_us`, its final line without
//    newline (if any) handed on then. A renamed file still matched stays
//    followed; its final partial line is handed on once, after the same wait.
//  - Deletion: a file with no name left is drained, final partial line
//    included, and closed.
//  - Truncation: the size fell below the largest seen, or the first bytes
//    seen of the file (up to 256, read or not) changed. Its directory is then
//    searched for its copy (copytruncate): a file named after it ("x.log.1",
//    "x.log-20240101", also after its name before a rename) that starts with
//    those bytes (after a restart: whose first min(offset, 256) bytes have
//    the fingerprint) and is at least `offset` long, the newest if several.
//    Its lines after `offset` are handed on (counted in recovered_lines);
//    then the file is judged again as a new one, so read from 0 unless it
//    is itself a copy (a single x.log.1 copied over in place). With no copy
//    (a generator rewriting its file) it is just read from 0. The globs are
//    scanned again after a truncation, for copies newer than the scan.
//    Before handing on the lines of a read (each slice of it), the file's
//    first bytes are checked once more: a truncation between the check and
//    the read leaves the lines for the next cycle.
//  - New files are read from 0. A new file named after a followed (or new)
//    one, e.g. "x.log.1" for "x.log", that starts with its first bytes (as
//    they are, or as last seen) is taken for a copy (copytruncate to a name
//    the globs match): not read; once the original is truncated it is where
//    lines are recovered from, then followed at its end. An empty new file
//    is judged once it has content (Positions() lists it at offset 0). A
//    glob scan racing renames may miss a file: before a file counts as gone
//    from the globs, its directory is searched for it.
//
// Slices (a budget, DESIGN.md section 10): Poll() runs a whole cycle;
// Poll(budget) stops a cycle once `budget` lines were handed on, and the next
// Poll goes on with the same files in the same order, without a new scan,
// until the cycle is done; then it starts the next one. All of the above
// holds for a cycle read in slices. A slice reads ahead at most one buffer
// (128 KiB) of a file. A truncation between two slices is caught by the check
// of the first bytes before a slice hands on lines of a file, or by its size
// falling below the read position: the file is then left to the next cycle,
// which recovers its lines from a copy from the end of the last line handed
// on. Positions() between two slices is exact: lines read ahead and not
// handed on are not in it, so after a restart they are read again, once.
//
// Limits, by design:
//  - A truncate-and-rewrite that has grown past the old offset with the same
//    first bytes cannot be told from growth: reading goes on from the old
//    offset.
//  - Lines written after the last read and before a truncation are lost when
//    no copy of them is left (a generator rewriting its file), as with any
//    tail. With a budget, "read" means handed on: lines read ahead into the
//    buffer and not handed on when the truncation is seen count as unread.
//  - A generation rotated out of the globs (renamed or copied) before a
//    glob scan saw it, e.g. two rotations of `x.log` with glob `*.log`
//    between two scans (two cycles: with a budget, a cycle reading a large
//    backlog lasts several Polls) or while the gateway is stopped, is not
//    read: make the globs match rotated names (`x.log*`) when that can
//    happen. With such globs, at most as many rotations as rotated files are
//    kept may pass unseen. Files followed already are drained through their
//    descriptors however often they are renamed.
//  - Order across files is by mtime and discovery: when a whole generation
//    is copied away and the next one written between two looks at the
//    directory, it may come after lines of the next one (none is lost).
//  - A new file named after a followed one and starting with the same 256
//    bytes is taken for a copy and never read unless that file is truncated.
//  - A file closed after rotation is forgotten: renamed back into the globs,
//    it would be read again from its beginning.
//
// Line numbers (RecordOrigin::line) count from the start of the file. When
// reading starts at an offset (restart, `from = end`, a copy), the lines
// before it are counted once, by reading them, up to kLineCountLimit bytes;
// past that, numbers are relative: the first line after the offset is 1.
//
// CSV (format = csv): the first non-blank line of each file is its header
// (blank lines before it are skipped, as replay does); it goes to OnHeader
// before the file's first record, and again before its next record whenever
// another file's records came in between, so a sink can keep one header.
//
// Time: the monotonic reading of the injected Clock (rotate_wait_us, when a
// file last changed) and its wall reading (a file's age from its mtime), so
// tests drive it with a FakeClock.
//
// Not thread-safe: owned and used by the daemon's single thread. Poll() never
// waits for data and the follower owns no thread.
#ifndef SENSORGATE_GATEWAY_SOURCES_FILE_FILE_FOLLOWER_H_
#define SENSORGATE_GATEWAY_SOURCES_FILE_FILE_FOLLOWER_H_

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/status.h"
#include "gateway/config/config.h"
#include "gateway/sources/source.h"

namespace sensorgate {

// FNV-1a 64 of `head` (never 0: a zero hash is stored as 1), as stored in
// FilePosition::fingerprint. Stable across builds and machines.
uint64_t FileFingerprint(std::string_view head);

// Bytes of a file's start covered by the fingerprint.
constexpr size_t kFingerprintBytes = 256;

// Receives the lines of followed files, on the thread that calls Poll().
class LineSink {
 public:
  virtual ~LineSink() = default;
  // format = csv only: the header (first non-blank line) of the file whose
  // records follow; before its first record (also when reading starts past
  // it) and again whenever another file's records came in between.
  virtual void OnHeader(std::string_view line, const RecordOrigin& origin) = 0;
  // One whole line without its terminator ("\n" or "\r\n"), with
  // kRecordPadding readable bytes after data + len. Valid during the call;
  // origin.source too.
  virtual void OnLine(const char* data, size_t len, const RecordOrigin& origin) = 0;
  // A line over kMaxRecordBytes (64 KiB) was skipped (never buffered whole).
  virtual void OnTooLong(const RecordOrigin& origin) = 0;
};

struct FileFollowerOptions {
  // How long a file renamed out of the globs must stay unchanged before it is
  // closed (handing on a final line without newline, if any); the same wait
  // applies before the final partial line of a renamed file still followed.
  int64_t rotate_wait_us = 5 * 1000 * 1000;
  // Files kept open at most (followed, and matched ones waiting to be
  // judged); 0: no limit. Matching files beyond it are not opened: they are
  // listed by unfollowed() and picked up, read from their beginning, once
  // followed files are closed (deleted or rotated away). Files restored from
  // a checkpoint are opened whatever the budget (they were followed before).
  size_t max_open_files = 0;
  // Where time is read (monotonic for waits, wall for file ages); nullptr:
  // SystemClock(). Tests inject a FakeClock. REQUIRES: outlives the follower.
  Clock* clock = nullptr;
};

class FileFollower {
 public:
  // Bytes read at most to count the lines before a starting offset.
  static constexpr uint64_t kLineCountLimit = 4 << 20;

  // `sink` must outlive the follower. Nothing is opened before Start().
  FileFollower(const FileConfig& config, LineSink* sink);
  FileFollower(const FileConfig& config, LineSink* sink, const FileFollowerOptions& options);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Opens every file matching the globs, resuming the restored positions
  // (from a checkpoint; may be empty), and sets up inotify on the globs'
  // directories. Hands on no line: Poll() does the reading.
  //  - A restored file found by its identity (at its path, under another name
  //    in the globs, or elsewhere in its old directory: rotated while
  //    stopped) with the fingerprint of its first bytes unchanged resumes at
  //    its offset; the file now at its old path is new: read from 0.
  //  - On a mismatch (truncated or rewritten while stopped, or another file
  //    given a reused inode number) the lines after the offset are recovered
  //    from a copy, as in Poll(), and the file is taken for a new one.
  //  - A restored file that is gone is logged as a warning (lines written to
  //    it after the offset may have been lost).
  //  - Other files: with `restored` empty (first start), `from` decides:
  //    beginning, or after the last newline (end). Otherwise they appeared
  //    since the checkpoint and are read from their beginning.
  // Fails only if called twice. A glob matching nothing is not an error.
  Status Start(const std::vector<FilePosition>& restored);

  // For the daemon's epoll: readable when a watched directory changed. -1 if
  // inotify could not be set up (then only Poll() on a timer).
  int inotify_fd() const { return inotify_fd_; }

  // No budget: Poll(kUnlimited) runs whole cycles.
  static constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

  // Reads every whole line available now from every followed file, picks up
  // new, rotated, truncated and deleted files: one whole read cycle (the
  // rest of a cycle left by Poll(budget) first, then a new one). Call when
  // inotify_fd() is readable and on a 1 s timer (the polling fallback).
  // Never waits for data; a stat per followed file and a glob() per pattern
  // when nothing changed. Returns the number of lines handed on (OnLine +
  // OnTooLong). REQUIRES: Start() succeeded.
  size_t Poll() { return Poll(kUnlimited); }

  // As Poll(), but hands on at most `budget` lines: OnLine and OnTooLong
  // calls count; OnHeader calls do not (one at most before each run of a
  // file's records), nor do the blank lines skipped before a CSV header (a
  // slice skips at most 4096 of them). Drains inotify_fd() every time.
  // If a cycle was left unfinished (pending()), goes on with it, in the same
  // order and without a new scan; once it is done, runs a new cycle (glob
  // scan, truncation check, new files) with what is left of the budget, also
  // when nothing is left: then it only finds out whether lines are waiting.
  // Stops between two lines, so Positions() is exact after any call. Returns
  // the number of lines handed on (<= budget). REQUIRES: Start() succeeded.
  size_t Poll(size_t budget);

  // True when the last Poll(budget) stopped because of the budget with lines
  // known to be waiting (a line buffered, bytes on disk past the read
  // position, or a file of the cycle not read yet that changed; the bytes may
  // turn out to be only the start of a line): call Poll() again soon.
  // False once caught up; then new data is announced by inotify_fd() or
  // found by the 1 s timer.
  bool pending() const { return !queue_.empty(); }

  // True when inotify watches every followed file's directory and nothing
  // waits for a timer: no cycle left unfinished, and every followed file is
  // matched by the globs under its name (none renamed, deleted or a copy
  // being read, which close after `rotate_wait_us`), and every matching
  // file is followed (unfollowed() is empty). Then every change is
  // announced by inotify_fd(), and the timer is only a fallback.
  bool settled() const;

  // Monotonic time (the injected clock) of the last glob scan (Start() or the
  // start of a read cycle): the polling fallback is due 1 s after it.
  int64_t last_scan_us() const { return last_scan_us_; }

  // Bytes of followed files past their read positions (one fstat per file):
  // how far behind the follower is, for /api/links.
  uint64_t BacklogBytes() const;

  // Positions of every followed file, consistent with the lines handed on so
  // far (for the checkpoint); files not judged yet (empty) at offset 0.
  std::vector<FilePosition> Positions() const;

  // Files followed (open) now.
  size_t file_count() const { return files_.size(); }

  // Files the last glob scan matched that are not followed, and why: the
  // open-file budget (`max_open_files`) was used up, or open() failed (the
  // reason as strerror says it). Tried again at every scan.
  struct UnfollowedFile {
    std::string path;
    std::string reason;
  };
  const std::vector<UnfollowedFile>& unfollowed() const { return unfollowed_; }
  // The budget of open files (FileFollowerOptions::max_open_files).
  size_t max_open_files() const { return options_.max_open_files; }
  // How many of unfollowed() wait for the open-file budget.
  size_t over_budget() const { return over_budget_; }

  // Counters for /metrics: bytes consumed (whole lines, headers included),
  // lines handed on (OnLine + OnTooLong), rotations (renames) seen,
  // truncations seen, lines recovered from a copytruncate copy.
  struct Stats {
    uint64_t bytes = 0, lines = 0, rotations = 0, truncations = 0, recovered_lines = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct File;
  struct Candidate;
  struct Identity {
    uint64_t device = 0, inode = 0;
    bool operator<(const Identity& o) const {
      return device != o.device ? device < o.device : inode < o.inode;
    }
    bool operator==(const Identity& o) const { return device == o.device && inode == o.inode; }
  };
  // Glob matches by identity, each with its names in glob order.
  using Scan = std::map<Identity, std::vector<std::string>>;
  using FileList = std::vector<std::unique_ptr<File>>;

  int64_t Now() const;
  Scan ScanGlobs() const;
  void WatchDirectories(const Scan& scan);
  void DrainInotify();
  File* FindFile(const Identity& id) const;
  bool MatchesGlobs(const std::string& path) const;
  // The name `id` has now in the directory of `path` if the globs match it, else "".
  std::string NameInGlobs(const std::string& path, const Identity& id) const;
  void UpdateNames(const Scan& scan);
  void TakeCandidates(const Scan& scan);
  std::unique_ptr<Candidate> TakeCandidate(const Identity& id);
  void Restore(const FilePosition& position);
  std::unique_ptr<File> NewFile(const std::string& path, int fd, const struct stat& st,
                                uint64_t offset);
  FileList RecoverFromCopy(const File& truncated, uint64_t offset, uint64_t fingerprint,
                           const std::string& seen);
  bool Truncated(File* f, const struct stat& st);
  bool Changed(const File& f, const struct stat& st) const;
  // Takes truncated files out of files_ (their copies in); true if any.
  bool CheckTruncations();
  // Starts a read cycle: scan, truncations, new files, then the order to
  // read the files in (queue_).
  void StartCycle();
  // Reads the files of queue_ in order until it is done or `budget` lines
  // were handed on; keeps what is left (if anything waits) in queue_.
  size_t ReadQueue(size_t budget);
  bool HasData(const File& f) const;
  void Close(File* f);
  bool ReadOne(File* f, const struct stat& st, size_t budget, size_t* handed);
  size_t ReadLines(File* f, bool final_partial, size_t limit);
  bool MoreToRead(const File& f, bool final_partial) const;
  bool Dirty(const std::string& path) const;
  void Prescan(File* f);
  static bool StartsWithSeen(int fd, uint64_t size, const File& f);
  void ClassifyCandidates(FileList* generations);
  void Follow(std::unique_ptr<File> f);
  void AppendGenerations(FileList* generations);

  const FileConfig config_;
  LineSink* const sink_;
  const FileFollowerOptions options_;
  bool started_ = false;
  int inotify_fd_ = -1;
  std::map<std::string, int> watches_;  // directory -> watch descriptor
  Clock* const clock_;
  std::set<std::string> dirty_;         // paths inotify reported modified since the cycle began
  std::set<std::string> cycle_dirty_;   // those reported before it began
  std::vector<File*> queue_;            // files of the unfinished cycle left to read, in order
  int64_t last_scan_us_ = 0;
  FileList files_;                      // followed
  std::vector<std::unique_ptr<Candidate>> candidates_;  // matched, not read (yet)
  uint64_t next_seq_ = 0;
  uint64_t next_header_id_ = 0;
  uint64_t header_sent_ = 0;  // header_id of the last header handed to OnHeader
  std::vector<std::string> open_failed_;  // paths whose open failure was logged
  std::vector<UnfollowedFile> unfollowed_;      // matched by the last scan, not opened
  size_t over_budget_ = 0;                     // of unfollowed_: over max_open_files
  size_t over_budget_logged_ = 0;              // over_budget_ when last logged
  Stats stats_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_FILE_FILE_FOLLOWER_H_
