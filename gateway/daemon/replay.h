// Replay: the pipeline over files, start to end, as one batch (DESIGN.md
// section 6). It contacts no broker, mail server or cluster. Alert events are
// written to `out` as they happen, then one window line per key sorted by key;
// the summary (records read, accepted, rejected by reason) goes to `err`.
#ifndef SENSORGATE_GATEWAY_DAEMON_REPLAY_H_
#define SENSORGATE_GATEWAY_DAEMON_REPLAY_H_

#include <cstdio>
#include <string>
#include <vector>

#include "gateway/config/config.h"

namespace sensorgate {

// Replays `paths` in order ("-" is standard input). Returns the process exit
// code: 0, or 1 if a file cannot be opened or read (nothing is replayed when
// one of them cannot be opened).
int RunReplay(const Config& config, const std::vector<std::string>& paths, std::FILE* out,
              std::FILE* err);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_DAEMON_REPLAY_H_
