// MqttJournal: every MQTT message the gateway receives is appended to a file
// in state_dir before the pipeline sees it, and the pipeline reads it back
// from there. The checkpoint records how far it has read.
//
// Why: the broker forgets a QoS 1 message once it has our acknowledgement
// (PUBACK). The client journals the messages of each read from the socket
// (BeginBatch() ... EndBatch(): one write(2)) and acknowledges them only
// after that, so they survive a crash or SIGKILL of the gateway (the data is
// in the kernel's page cache once write(2) returns; it reaches the disk with
// the kernel's write-back, or at each checkpoint, which fsyncs the journal
// first). After a restart, the messages received after the last checkpoint
// are read again from the journal, so windows and alerts come out as if the
// gateway had never stopped.
//
// The journal also decouples the network from the pipeline: a burst is
// buffered on disk, not in RAM.
//
// Layout: files "mqtt-journal.<generation>" (generation: 8+ decimal digits)
// in state_dir. Each holds frames: a 24-byte header (magic, topic length,
// payload length, flags, arrival time in microseconds) then the topic and the
// payload. The writer starts a new generation at every start, and when the
// current one passes kRotateBytes; a generation is removed once a
// checkpoint's position is past it. A torn frame at the end of a file (a crash
// in the middle of a write) is skipped with a warning.
//
// Redeliveries: QoS 1 allows the broker to send a message again (flagged
// DUP) when it did not get our acknowledgement, for instance when the
// gateway disconnected before the PUBACK went out. The journal remembers,
// per packet id (1 to 65535), a 64-bit hash of the last message received
// with that id; a DUP message whose id and hash match is one we already have,
// and is dropped (counted). The table lives in memory (512 KiB), is rebuilt at
// Open() from the journal files and from state_dir/mqtt-recent, which
// SaveRecent() writes at a clean stop.
//
// If a write fails (disk full), the message is kept in memory instead, and
// so are all that follow until the reader has taken them: order is kept and
// nothing is lost while the gateway runs; such messages are not crash-safe.
//
// Threads: Append(), BeginBatch() and EndBatch() may be called from any
// thread; everything else from the pipeline thread (the gateway's client runs
// there too). Append() holds a mutex that the reader takes once per batch,
// never per message.
#ifndef SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_JOURNAL_H_
#define SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_JOURNAL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/base/status.h"
#include "gateway/sources/source.h"
#include "gateway/base/time_util.h"

namespace sensorgate {

// How far the pipeline has read the journal (saved in the checkpoint).
class MqttJournal {
 public:
  static constexpr uint64_t kRotateBytes = 16 * 1024 * 1024;
  static constexpr size_t kHeaderBytes = 24;

  // Receives the messages read back, in arrival order.
  class Reader {
   public:
    virtual ~Reader() = default;
    // REQUIRES for the callee: nothing; the payload has kRecordPadding
    // readable bytes after it. too_long: the payload was over 64 KiB and was
    // not kept (len is 0).
    virtual void OnJournaled(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us,
                             bool too_long) = 0;
  };

  struct Stats {
    std::atomic<uint64_t> appended{0};       // messages appended (file or memory)
    std::atomic<uint64_t> duplicates{0};     // redeliveries dropped: already received
    std::atomic<uint64_t> write_errors{0};   // appends that fell back to memory
    std::atomic<uint64_t> lost{0};           // dropped: disk refused and memory full
    uint64_t read = 0;                       // messages handed to the reader
    uint64_t torn = 0;                       // torn or corrupt frames skipped
    uint64_t replayed = 0;                   // read at start-up from before it
  };

  // `clock` (nullptr: SystemClock()) times the retries after a refused write;
  // it is read on the writer's thread.
  explicit MqttJournal(std::string dir, Clock* clock = nullptr);
  ~MqttJournal();
  MqttJournal(const MqttJournal&) = delete;
  MqttJournal& operator=(const MqttJournal&) = delete;

  // After the disk refused a write (full, or read-only), the journal keeps
  // messages in memory and tries the disk again only after this backoff,
  // doubling up to kMaxRetryUs: never a new file per message.
  static constexpr int64_t kFirstRetryUs = 100 * 1000;
  static constexpr int64_t kMaxRetryUs = 30 * 1000 * 1000;

  // Tests: makes every write to the disk fail (as a full disk does) or not.
  void ForceWriteErrorsForTest(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_writes_ = fail;
  }

  // Finds the journal files, removes those before `from`, and opens a new
  // generation for writing. Messages after `from` are read back by Read().
  // `session` names the MQTT session (client id and broker) whose packet ids
  // the redelivery table holds; a saved table of another session is ignored.
  Status Open(const MqttPosition& from, const std::string& session = "");

  // Appends one message (any thread). Payloads over kMaxRecordBytes are
  // recorded as too long, without their bytes. `packet_id` is the MQTT packet
  // id (0 for QoS 0), `dup` the DUP flag. Returns false when the message is a
  // redelivery of one already received (not appended). `cut`: the payload
  // was too long and is not given (recorded as too long).
  bool Append(std::string_view topic, std::string_view payload, TimeMicros arrival_us, uint16_t packet_id = 0,
              bool dup = false, bool cut = false);

  // Appends from BeginBatch() to EndBatch() are written to the disk with one
  // write() at EndBatch(): a client acknowledges what it received only after
  // EndBatch(). Read() sees them after EndBatch().
  void BeginBatch();
  void EndBatch();

  // Forgets the redelivery table (a new MQTT session).
  void ResetRecent(const std::string& session);
  // Writes the redelivery table to state_dir/mqtt-recent (at a clean stop).
  void SaveRecent();

  // Reads up to `budget` messages into `reader`. Returns true if more are
  // waiting (call again soon).
  bool Read(Reader* reader, size_t budget);

  // Where the reader is: what a checkpoint saves.
  MqttPosition position() const { return {read_gen_, read_offset_}; }

  // Makes what has been written durable (fdatasync of the generation being
  // written); call before writing a checkpoint.
  void Sync();

  // A checkpoint holding `p` is on disk: generations before it are removed.
  void Checkpointed(const MqttPosition& p);

  // Bytes written and not yet read (a backlog gauge).
  uint64_t backlog_bytes() const;
  const Stats& stats() const { return stats_; }
  std::string FileName(uint64_t gen) const;

 private:
  struct Sealed {
    uint64_t gen;
    uint64_t size;
  };
  void RotateLocked();           // REQUIRES: mu_ held
  void StoreLocked(const std::string& frames);  // REQUIRES: mu_ held
  void LoadRecent();             // at Open()
  void ScanForRecent(uint64_t gen);
  bool OpenReadFile(uint64_t gen);

  const std::string dir_;
  // Writer side, guarded by mu_.
  Clock* const clock_;
  mutable std::mutex mu_;
  int write_fd_ = -1;
  uint64_t write_gen_ = 0;
  uint64_t written_ = 0;          // bytes of whole frames in write_gen_
  bool write_broken_ = false;     // a write failed: the file may end in a torn frame
  bool fail_writes_ = false;      // ForceWriteErrorsForTest
  int64_t retry_at_us_ = 0;       // while write_broken_: no write before this (monotonic)
  int64_t retry_delay_us_ = 0;    // the current backoff
  std::deque<Sealed> sealed_;     // finished generations not yet removed, in order
  std::deque<std::string> memory_;  // frames that could not be written
  std::string frame_;             // scratch, reused
  bool batching_ = false;         // between BeginBatch() and EndBatch()
  std::string batch_;             // the frames appended since BeginBatch()
  std::vector<uint64_t> recent_;  // per packet id: hash of the last message (0: none)
  std::string session_;
  // Reader side (pipeline thread only).
  uint64_t read_gen_ = 0;
  uint64_t read_offset_ = 0;
  int read_fd_ = -1;
  uint64_t read_fd_gen_ = 0;
  uint64_t replay_until_gen_ = 0;  // generations before this were written before Open()
  std::unique_ptr<char[]> buf_;  // kReadChunk + kRecordPadding
  Stats stats_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_JOURNAL_H_
