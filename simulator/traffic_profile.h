// TrafficProfile (--profile traffic): telecom cells C01..CNN. Each cycle every
// cell sends one record, in an order shuffled by the seed, stamped as
// ReadingStream stamps readings (simulated time a few microseconds apart
// within the step, or the wall clock). --hot N gives N cells a traffic surge
// and N other cells a latency anomaly, each for 120 s of cycles after at
// least 600 s of normal ones. See --help (PROFILES) for the record and truth
// formats. One thread at a time.
#ifndef SENSORGATE_SIMULATOR_TRAFFIC_PROFILE_H_
#define SENSORGATE_SIMULATOR_TRAFFIC_PROFILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/base/time_util.h"
#include "simulator/profile_stream.h"

namespace sensorgate {

class TrafficProfile : public LineProfile {
 public:
  TrafficProfile(const SimOptions& options, StreamHooks* hooks);
  std::string TruthText() const override;

 private:
  struct Episode {
    uint32_t cell = 0;
    bool surge = false;        // false: latency
    uint64_t from_cycle = 0;   // first affected cycle
    uint64_t to_cycle = 0;     // first cycle after the episode
    TimeMicros from_time = 0;  // the cycles' times, once reached
    TimeMicros to_time = 0;
    bool from_seen = false;
    bool to_seen = false;
  };

  bool NextGood(std::string* text, uint32_t* key) override;
  void PlanEpisodes(Rng* setup_rng);
  void StartCycle(TimeMicros cycle_time);

  const uint32_t cells_;
  std::vector<int64_t> base_bytes_;
  std::vector<int64_t> base_latency_tenths_;
  std::vector<int> episode_of_;  // per cell: index into episodes_, or -1
  std::vector<Episode> episodes_;
  Rng value_rng_;
  Rng order_rng_;
  Rng time_rng_;
  Rng protocol_rng_;
  int64_t max_offset_step_micros_ = 0;

  bool stopping_ = false;
  uint64_t generated_ = 0;
  uint64_t cycle_ = 0;
  uint32_t slot_ = 0;
  int64_t offset_micros_ = 0;
  TimeMicros last_time_ = 0;
  std::vector<uint32_t> order_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_TRAFFIC_PROFILE_H_
