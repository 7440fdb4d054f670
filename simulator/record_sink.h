// RecordSink: where the simulator's formatted records go (a file, standard
// output or an MQTT broker). Calls come from the simulator's one thread.
// Errors are Status values; no exception leaves a sink.
#ifndef SENSORGATE_SIMULATOR_RECORD_SINK_H_
#define SENSORGATE_SIMULATOR_RECORD_SINK_H_

#include <cstdint>
#include <string_view>

#include "gateway/base/status.h"

namespace sensorgate {

class RecordSink {
 public:
  virtual ~RecordSink() = default;

  // Writes one record: `payload` is the formatted record without a line
  // ending, `equipment` its 0-based equipment (MQTT picks the topic by it).
  // The bytes may be buffered until Flush().
  virtual Status Write(std::string_view payload, uint32_t equipment) = 0;

  // Makes everything written so far visible to readers (files) or hands it
  // to the network (MQTT), without waiting for acknowledgements.
  virtual Status Flush() = 0;

  // Called before the first record of cycle `cycle` (>= 1).
  virtual Status StartCycle(uint64_t cycle) {
    (void)cycle;
    return Status::Ok();
  }

  // Flushes, waits until everything written is durable at the peer (MQTT:
  // acknowledged at QoS 1) and releases the output. Call once, last.
  virtual Status Close() = 0;

  // True once a reader closed our standard output (EPIPE): the run ends
  // quietly rather than as a failure.
  virtual bool reader_gone() const { return false; }
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_RECORD_SINK_H_
