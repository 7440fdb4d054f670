// Checkpoint: the state that lets the daemon resume after a crash as if it
// had never stopped (DESIGN.md section 10): file positions, every key's
// window, alert states, and `seq`.
//
// The file is JSON lines, so an operator can read it: a header line, one line
// per followed file, one line per key, and an end line with the counts and
// the CRC-32C of the lines before it (a file without it, or with another CRC,
// is refused). It is written atomically: a temporary file in the same
// directory, fsync, the old one renamed to the previous generation
// (PreviousCheckpointPath), the new one renamed into place, fsync of the
// directory. A damaged newest generation is replaced by the previous one at
// start (the daemon does that): older positions, so lines are read again,
// never lost.
// Doubles are written in the shortest form that reads back to the same value,
// so a restored window is bit-for-bit the saved one.
//
// Called on the pipeline thread, between records, so the positions and the
// windows describe the same moment.
#ifndef SENSORGATE_GATEWAY_DAEMON_CHECKPOINT_H_
#define SENSORGATE_GATEWAY_DAEMON_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/sources/file/file_follower.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/base/status.h"

namespace sensorgate {

struct CheckpointMeta {
  uint64_t seq = 0;  // the next record sequence number of this gateway
  // How far the MQTT journal has been read (mqtt_journal.h); 0, 0: not yet.
  uint64_t mqtt_generation = 0;
  uint64_t mqtt_offset = 0;
  // Read only: key lines skipped on restore (out of the ranges of a reading).
  uint64_t skipped_keys = 0;
};

// Where the previous generation of the checkpoint at `path` is kept.
std::string PreviousCheckpointPath(const std::string& path);

// Writes the checkpoint of `pipeline` and `files` to `path` atomically.
Status WriteCheckpoint(const std::string& path, const Pipeline& pipeline,
                       const std::vector<FilePosition>& files, const CheckpointMeta& meta);

// Reads the checkpoint at `path` into an empty `pipeline` and `files`.
// *found is false (and OK returned) when there is no checkpoint yet. A
// checkpoint that cannot be read whole, or whose CRC-32C does not match, is
// an error naming the file and line (the pipeline may then hold part of it:
// start again with a new one). A key line whose values, times or key a
// reading could not have (`reading`'s ranges, section 4) is skipped and
// counted in meta->skipped_keys.
Status ReadCheckpoint(const std::string& path, const ReadingConfig& reading, Pipeline* pipeline,
                      std::vector<FilePosition>* files, CheckpointMeta* meta, bool* found);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_DAEMON_CHECKPOINT_H_
