// KafkaSpool: the Kafka sink's durable queue in state_dir/spool/ (DESIGN.md
// section 7). Every record is appended here, with the next `seq` of this
// gateway, before librdkafka sees it, and leaves only when its delivery
// report says the broker acknowledged it.
//
// On disk: segment files `seg-<first seq, 20 digits>.log`, each a sequence of
// frames `[u32 length][u32 CRC-32C of length and payload][payload]`
// (little-endian); the payload holds seq, the Kafka timestamp, topic, key
// and value. A frame whose length or CRC does not check (a torn write at a
// power cut, a flipped bit) is skipped up to the next frame that checks, and
// counted. A small file `seq` keeps the next seq when the segment that held
// the highest one is removed, so seq survives an empty spool.
//
// Life of a record: Append() writes it (no fsync); Sync() fsyncs what was
// written (the caller calls it at most once a second); only synced records
// are offered by Peek(); the caller hands one to the producer and calls
// Advance(); later Ack() or Nack() with its RecordRef. After Nack()s, once
// nothing is in flight, Rewind() offers again, in seq order, every record not
// acknowledged. A segment is deleted when every record in it is acknowledged.
// When appending would pass `max_bytes`, the oldest segments are dropped;
// records never acknowledged that go so are counted in dropped().
//
// Memory: one bit per record spooled, a few words per segment; records are
// read back from the files, never held in memory.
//
// Thread: not thread-safe; one thread (the loop) uses it.
#ifndef SENSORGATE_GATEWAY_SINKS_KAFKA_KAFKA_SPOOL_H_
#define SENSORGATE_GATEWAY_SINKS_KAFKA_KAFKA_SPOOL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/base/status.h"

namespace sensorgate {

// One record as it goes to Kafka.
struct SpoolRecord {
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;  // the Kafka message timestamp
  std::string topic;
  std::string key;
  std::string value;
};

// Where a record lives in the spool, for Ack() and Nack().
struct RecordRef {
  uint64_t segment = 0;  // the segment's id (its first seq)
  uint32_t index = 0;    // the record's position in the segment
};

struct SpoolOptions {
  std::string dir;               // created if missing
  uint64_t max_bytes = 64 << 20;  // all segment files together
  // A segment is closed once it holds this many bytes; 0: max_bytes / 16,
  // clamped to [64 KiB, 4 MiB].
  uint64_t segment_bytes = 0;
};

class KafkaSpool {
 public:
  explicit KafkaSpool(SpoolOptions options);
  ~KafkaSpool();
  KafkaSpool(const KafkaSpool&) = delete;
  KafkaSpool& operator=(const KafkaSpool&) = delete;

  // Creates the directory if needed and reads every segment in it: frames
  // are checked, corrupt ones counted in corrupt() and logged, segments with
  // no valid record deleted. Every record found is to be produced again.
  // REQUIRES: called once, before anything else.
  Status Open();

  // The seq the next Append() gives.
  uint64_t next_seq() const { return next_seq_; }

  // Appends one record with seq next_seq() (then next_seq() grows by one).
  // Drops the oldest segments first when the spool would pass max_bytes.
  // An error (disk full, I/O error) leaves next_seq() unchanged.
  Status Append(int64_t timestamp_ms, std::string_view topic, std::string_view key,
                std::string_view value);

  // True when something appended is not fsynced yet.
  bool dirty() const { return dirty_; }
  // fsyncs every segment written since the last Sync() (and the directory
  // when a segment was created). Records appended before it become
  // available to Peek().
  Status Sync();

  // The next record to produce: synced, not acknowledged, not in flight, in
  // seq order. False when there is none now.
  bool Peek(SpoolRecord* record, RecordRef* ref);
  // The record Peek() returned is in flight: the next Peek() moves on.
  void Advance();
  // The broker acknowledged the record: it may leave the spool.
  void Ack(const RecordRef& ref);
  // Its delivery failed: it stays, to be produced again after Rewind().
  void Nack(const RecordRef& ref);
  // Offers again, from the oldest, every record not acknowledged.
  // REQUIRES: in_flight() == 0.
  void Rewind();

  // Records handed out by Advance() and not yet acknowledged or failed.
  uint64_t in_flight() const { return in_flight_; }
  // Records in the spool not acknowledged (in flight included).
  uint64_t records() const { return records_; }
  // Bytes of all segment files.
  uint64_t bytes() const { return bytes_; }
  size_t segments() const { return segments_.size(); }
  // Records never acknowledged that left because the spool was full.
  uint64_t dropped() const { return dropped_; }
  // Corrupt regions skipped (each a run of bytes between valid frames), and their bytes.
  uint64_t corrupt() const { return corrupt_; }
  uint64_t corrupt_bytes() const { return corrupt_bytes_; }
  uint64_t fsyncs() const { return fsyncs_; }
  const std::string& dir() const { return options_.dir; }

  // The frame of one record, as Append() writes it (for tests).
  static std::string EncodeFrame(uint64_t seq, int64_t timestamp_ms, std::string_view topic,
                                 std::string_view key, std::string_view value);
  // The largest frame accepted.
  static constexpr uint32_t kMaxPayload = 1 << 20;

 private:
  struct Segment;
  // A sequential reader over one segment's valid frames.
  struct Cursor {
    uint64_t segment = 0;  // id of the segment read (the next one when absent)
    uint64_t offset = 0;  // byte offset of the next frame to look at
    uint32_t index = 0;   // index of the next valid record
  };

  Segment* Find(uint64_t id);
  Status StartSegment();
  Status SealActive();
  void RemoveSegment(size_t i, bool full_drop);
  void MaybeRemove(size_t i);
  void WriteSeqFile();
  // Reads the valid frame at or after `*offset` in `seg` (skipping corrupt
  // bytes, counting them when `count`). False at the end of the data.
  bool ReadFrame(Segment& seg, uint64_t* offset, SpoolRecord* rec, uint64_t* frame_end, bool count);
  bool OpenForRead(Segment& seg);

  SpoolOptions options_;
  std::deque<std::unique_ptr<Segment>> segments_;  // oldest first; the active one last
  bool active_open_ = false;                       // segments_.back() takes appends
  uint64_t next_seq_ = 1;
  uint64_t synced_seq_ = 1;  // records with seq below this are fsynced
  uint64_t seq_file_ = 0;    // what the seq file holds
  bool dirty_ = false, dir_dirty_ = false;
  Cursor cursor_;
  bool peeked_ = false;
  RecordRef peeked_ref_;
  uint64_t peeked_end_ = 0;
  uint64_t in_flight_ = 0, records_ = 0, bytes_ = 0, dropped_ = 0;
  uint64_t corrupt_ = 0, corrupt_bytes_ = 0, fsyncs_ = 0;
  std::string buf_, window_;  // reused for reads
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SINKS_KAFKA_KAFKA_SPOOL_H_
