// Daemon: `sensorgate --config FILE`, the long-running gateway.
//
// One thread runs everything: an epoll loop over a signalfd (SIGHUP,
// SIGTERM, SIGINT), the file follower's inotify descriptor and the HTTP
// server's epoll descriptor, with timers computed from the monotonic clock
// (the follower's polling fallback, the checkpoint, stale checks, the systemd
// watchdog and status). Signal handling only sets flags in the loop.
//
// Start-up: the state directory is created and locked (one gateway per
// state_dir), the checkpoint restored, sources opened, then READY=1. SIGHUP
// re-reads the configuration and swaps it in only if it is valid (windows
// kept). SIGTERM/SIGINT: STOPPING=1, stop reading, write the checkpoint, exit.
#ifndef SENSORGATE_GATEWAY_DAEMON_DAEMON_H_
#define SENSORGATE_GATEWAY_DAEMON_DAEMON_H_

#include <string>

#include "gateway/config/config.h"

namespace sensorgate {

// Runs the daemon until SIGTERM or SIGINT. Returns the process exit code:
// 0 after a clean stop, 1 when it cannot start or must stop on an error.
int RunDaemon(const std::string& config_path, const Config& config);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_DAEMON_DAEMON_H_
