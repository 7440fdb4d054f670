// The sd_notify protocol without libsystemd: datagrams received on real
// AF_UNIX sockets (a path and the abstract namespace), the watchdog's
// environment as sd_watchdog_enabled(3) reads it.
#include "gateway/daemon/service_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

namespace sensorgate {
namespace {

// A bound datagram socket, as systemd's notify socket; `address` as in
// $NOTIFY_SOCKET.
class Receiver {
 public:
  explicit Receiver(const std::string& address) : address_(address) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, address.data(), address.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
    if (address[0] == '@') {
      a.sun_path[0] = '\0';
    } else {
      ++len;
      unlink(address.c_str());
    }
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0) << std::strerror(errno);
  }
  ~Receiver() {
    close(fd_);
    if (address_[0] == '/') unlink(address_.c_str());
  }
  // The datagram waiting now, or "" when none is.
  std::string Take() {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  std::string address_;
  int fd_ = -1;
};

TEST(ServiceNotify, SendsTheStateAsOneDatagramToAPath) {
  char dir[] = "/tmp/sensorgate-notify.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notify";
  {
    Receiver r(path);
    EXPECT_EQ(NotifySocket(path.c_str(), "READY=1\nSTATUS=reading 2 files"), 1);
    EXPECT_EQ(r.Take(), "READY=1\nSTATUS=reading 2 files");
    EXPECT_EQ(NotifySocket(path.c_str(), "WATCHDOG=1"), 1);
    EXPECT_EQ(r.Take(), "WATCHDOG=1");
    EXPECT_EQ(r.Take(), "");
  }
  rmdir(dir);
}

TEST(ServiceNotify, SendsToTheAbstractNamespace) {
  const std::string name = "@sensorgate-notify-test-" + std::to_string(getpid());
  Receiver r(name);
  EXPECT_EQ(NotifySocket(name.c_str(), "STOPPING=1"), 1);
  EXPECT_EQ(r.Take(), "STOPPING=1");
}

TEST(ServiceNotify, WithoutASocketNothingIsSent) {
  EXPECT_EQ(NotifySocket(nullptr, "READY=1"), 0);
  EXPECT_EQ(NotifySocket("", "READY=1"), 0);
  // Neither a path nor an abstract name; and a path nobody listens on.
  EXPECT_EQ(NotifySocket("relative/notify", "READY=1"), -EINVAL);
  EXPECT_EQ(NotifySocket(("/" + std::string(200, 'x')).c_str(), "READY=1"), -EINVAL);
  EXPECT_EQ(NotifySocket("/nonexistent-sensorgate/notify", "READY=1"), -ENOENT);
}

TEST(ServiceNotify, WatchdogFromTheEnvironmentValues) {
  EXPECT_EQ(WatchdogUsFrom(nullptr, nullptr, 42), 0);
  EXPECT_EQ(WatchdogUsFrom("400000", nullptr, 42), 400000);
  EXPECT_EQ(WatchdogUsFrom("400000", "42", 42), 400000);
  EXPECT_EQ(WatchdogUsFrom("400000", "43", 42), 0);  // for another process
  EXPECT_EQ(WatchdogUsFrom("400000", "", 42), 0);
  EXPECT_EQ(WatchdogUsFrom("0", nullptr, 42), 0);
  EXPECT_EQ(WatchdogUsFrom("-5", nullptr, 42), 0);
  EXPECT_EQ(WatchdogUsFrom("12x", nullptr, 42), 0);
  EXPECT_EQ(WatchdogUsFrom("9999999999999999999", nullptr, 42), 0);
}

}  // namespace
}  // namespace sensorgate
