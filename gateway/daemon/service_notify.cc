#include "gateway/daemon/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace sensorgate {
namespace {

// A whole decimal number of at most 18 digits (no sign, no blanks), or -1.
int64_t ParseWhole(const char* s) {
  if (s == nullptr || *s == '\0') return -1;
  int64_t v = 0;
  int digits = 0;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9' || ++digits > 18) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

}  // namespace

int NotifySocket(const char* address, std::string_view state) {
  if (address == nullptr || address[0] == '\0') return 0;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const size_t len = std::strlen(address);
  if ((address[0] != '/' && address[0] != '@') || len >= sizeof sa.sun_path) return -EINVAL;
  std::memcpy(sa.sun_path, address, len);
  if (address[0] == '@') sa.sun_path[0] = '\0';  // the abstract namespace
  const socklen_t sa_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len +
                                                  (address[0] == '@' ? 0 : 1));
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  // MSG_NOSIGNAL and MSG_DONTWAIT: a stuck manager must not stop the loop.
  const ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                           reinterpret_cast<const sockaddr*>(&sa), sa_len);
  const int err = errno;
  close(fd);
  if (n < 0) return -err;
  return 1;
}

int NotifyServiceManager(std::string_view state) { return NotifySocket(std::getenv("NOTIFY_SOCKET"), state); }

int64_t WatchdogUsFrom(const char* usec, const char* pid, pid_t self) {
  const int64_t us = ParseWhole(usec);
  if (us <= 0) return 0;
  if (pid != nullptr) {
    const int64_t p = ParseWhole(pid);
    if (p != static_cast<int64_t>(self)) return 0;  // meant for another process
  }
  return us;
}

int64_t ServiceWatchdogUs() {
  return WatchdogUsFrom(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"), getpid());
}

}  // namespace sensorgate
