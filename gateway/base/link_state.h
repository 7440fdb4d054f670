// LinkState: how one link to the outside world (a source or a sink) is
// doing, for /api/links, /healthz and systemd's STATUS=. Plain data; any thread.
#ifndef SENSORGATE_GATEWAY_BASE_LINK_STATE_H_
#define SENSORGATE_GATEWAY_BASE_LINK_STATE_H_

#include <cstdint>
#include <string>

namespace sensorgate {

// The state of a link to the outside world (a source or a sink), for
// /api/links, /healthz and STATUS=.
struct LinkState {
  std::string name;        // "file", "mqtt", "http", ...
  bool up = true;          // working as configured
  std::string state;       // one line: "following 3 files", "connected to tcp://..."
  uint64_t backlog = 0;    // records or bytes waiting (what `backlog_unit` says)
  std::string backlog_unit;
  std::string last_error;  // "" when none
  bool healthy = true;     // false: /healthz fails, saying last_error (data is being missed)
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_LINK_STATE_H_
