// FlowsProfile (--profile flows): network flows with the fields and types of
// the LANL release. --equipment devices; exactly --hot of them (the web
// servers) ever appear as DstDevice with DstPort "443" or "8000", each at
// least once: the first --hot flows go one to each, in an order chosen by the
// seed. Flows come in cycles of --step, each holding 1 to 2F-1 flows (F =
// devices / 10 within 3..50), with the cycle's Time. See --help (PROFILES)
// for the record and truth formats. One thread at a time.
#ifndef SENSORGATE_SIMULATOR_FLOWS_PROFILE_H_
#define SENSORGATE_SIMULATOR_FLOWS_PROFILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/profile_stream.h"

namespace sensorgate {

class FlowsProfile : public LineProfile {
 public:
  FlowsProfile(const SimOptions& options, StreamHooks* hooks);
  std::string TruthText() const override;

 private:
  bool NextGood(std::string* text, uint32_t* key) override;
  std::string AnonymousPort();

  const uint32_t devices_;
  std::vector<uint32_t> web_servers_;  // in the order of their first flows
  std::vector<bool> is_web_server_;
  int64_t flows_per_cycle_ = 3;  // F
  Rng value_rng_;
  Rng count_rng_;

  bool stopping_ = false;
  bool started_ = false;
  uint64_t generated_ = 0;
  uint64_t cycle_ = 0;
  int64_t remaining_ = 0;  // flows left in this cycle
  int64_t time_seconds_ = 0;
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_FLOWS_PROFILE_H_
