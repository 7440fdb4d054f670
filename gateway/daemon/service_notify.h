// The service manager's notification protocol (sd_notify(3)), without
// libsystemd: systemd documents it as a stable interface that programs may
// speak themselves. Linking libsystemd for it loaded seven libraries
// (libgcrypt, liblzma, libzstd, liblz4, libcap...) and cost about 1 MiB of
// private memory in every gateway.
//
// A state is one datagram of newline-separated assignments ("READY=1",
// "STATUS=...", "WATCHDOG=1", "RELOADING=1", "STOPPING=1") sent to the
// AF_UNIX socket named by $NOTIFY_SOCKET: a path, or "@name" for the
// abstract namespace. Without $NOTIFY_SOCKET (not started by systemd, or
// not Type=notify) nothing is sent.
#ifndef SENSORGATE_GATEWAY_DAEMON_SERVICE_NOTIFY_H_
#define SENSORGATE_GATEWAY_DAEMON_SERVICE_NOTIFY_H_

#include <sys/types.h>

#include <cstdint>
#include <string_view>

namespace sensorgate {

// Sends `state` to $NOTIFY_SOCKET. Returns 1 when sent, 0 when there is no
// $NOTIFY_SOCKET, -errno when it cannot be sent (the daemon goes on either
// way, as with sd_notify).
int NotifyServiceManager(std::string_view state);

// The same to the socket `address` ("/path" or "@abstract"); 0 when
// `address` is null or empty, -EINVAL when it is neither form or too long.
int NotifySocket(const char* address, std::string_view state);

// The watchdog interval systemd asks for, in microseconds ($WATCHDOG_USEC,
// when $WATCHDOG_PID is unset or names this process), or 0 when there is no
// watchdog, as sd_watchdog_enabled(3).
int64_t ServiceWatchdogUs();

// The same from the values of WATCHDOG_USEC and WATCHDOG_PID (either may be
// null) for the process `self`: 0 unless usec is a whole positive number and
// pid is null or equals self.
int64_t WatchdogUsFrom(const char* usec, const char* pid, pid_t self);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_DAEMON_SERVICE_NOTIFY_H_
