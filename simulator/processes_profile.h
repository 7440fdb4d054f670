// ProcessesProfile (--profile processes): host events of machines M01..MNN,
// in cycles of --step (whole seconds, aligned to the epoch). Each cycle every
// machine sends X records stamped in it and Y more, stamped in it too, that
// are emitted after all records of the next cycle. A whole cycle is planned
// at once; a stop (--duration, a signal) finishes the current cycle and
// then emits its late records, so the truth always covers whole cycles. See
// --help (PROFILES) for the record and truth formats. One thread at a time.
#ifndef SENSORGATE_SIMULATOR_PROCESSES_PROFILE_H_
#define SENSORGATE_SIMULATOR_PROCESSES_PROFILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/profile_stream.h"

namespace sensorgate {

class ProcessesProfile : public LineProfile {
 public:
  ProcessesProfile(const SimOptions& options, StreamHooks* hooks);
  std::string TruthText() const override;

 private:
  struct Event {
    uint32_t machine = 0;
    int64_t ts = 0;  // unix seconds
  };
  struct CycleTruth {
    uint32_t machine = 0;
    uint64_t cycle = 0;
    uint32_t records = 0;
    uint32_t late = 0;
  };

  bool NextGood(std::string* text, uint32_t* key) override;
  void PlanCycle();
  void Shuffle(std::vector<Event>::iterator first, std::vector<Event>::iterator last);

  const uint32_t machines_;
  const int64_t step_seconds_;
  int64_t start_seconds_ = 0;
  Rng count_rng_;
  Rng value_rng_;
  Rng order_rng_;
  Rng time_rng_;

  uint64_t generated_ = 0;
  uint64_t cycle_ = 0;  // the next cycle to plan
  bool finishing_ = false;
  bool done_ = false;
  std::vector<Event> queue_;  // planned, in emission order
  size_t pos_ = 0;
  std::vector<Event> late_;  // stamped in the last planned cycle, not yet queued
  std::vector<CycleTruth> truth_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_PROCESSES_PROFILE_H_
