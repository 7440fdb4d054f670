// DaemonProcess: the sensorgate binary running as a daemon under a test, with
// its standard error read line by line so tests can await log lines (with a
// deadline) instead of sleeping; and HttpGet, a plain-socket HTTP/1.0 client.
#ifndef SENSORGATE_TESTS_INTEGRATION_DAEMON_PROCESS_H_
#define SENSORGATE_TESTS_INTEGRATION_DAEMON_PROCESS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace sensorgate {
namespace testing_util {

inline int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

class DaemonProcess {
 public:
  // Starts `sensorgate --config ini` with extra environment entries ("K=V"),
  // and, when `nofile` > 0, RLIMIT_NOFILE set to it (soft and hard).
  DaemonProcess(const std::string& binary, const std::string& ini, const std::vector<std::string>& env = {},
                rlim_t nofile = 0) {
    int err[2];
    if (pipe(err) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], 2);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      close(err[0]);
      close(err[1]);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      if (nofile > 0) {
        const struct rlimit limit = {nofile, nofile};
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(126);
      }
      execl(binary.c_str(), binary.c_str(), "--config", ini.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(err[1]);
    err_fd_ = err[0];
    fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }
  ~DaemonProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) close(err_fd_);
  }

  pid_t pid() const { return pid_; }
  void Signal(int sig) { kill(pid_, sig); }

  // Reads what the daemon wrote, waiting at most timeout_ms for more.
  void Pump(int timeout_ms) {
    pollfd p{err_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return;
    char buf[65536];
    ssize_t n;
    while ((n = read(err_fd_, buf, sizeof buf)) > 0) log_.append(buf, static_cast<size_t>(n));
  }

  // Waits until the log holds `text` after position `from` (bytes). Returns
  // the position just past it, or std::string::npos at the deadline.
  size_t WaitForLog(const std::string& text, int timeout_ms, size_t from = 0) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (true) {
      const size_t at = log_.find(text, from);
      if (at != std::string::npos) return at + text.size();
      const int64_t left = deadline - NowMs();
      if (left <= 0 || exited_) return std::string::npos;
      Pump(static_cast<int>(std::min<int64_t>(left, 200)));
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_status_ = status;
        Pump(0);
      }
    }
  }

  // Waits for the process to end; returns its exit code (-1: killed by a signal).
  int Wait(int timeout_ms) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (!exited_) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_status_ = status;
        break;
      }
      if (NowMs() > deadline) return -2;
      Pump(50);
    }
    Pump(0);
    return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -1;
  }

  void Kill9() {
    kill(pid_, SIGKILL);
    waitpid(pid_, &exit_status_, 0);
    exited_ = true;
  }

  const std::string& log() {
    Pump(0);
    return log_;
  }

  // The port the daemon's HTTP server bound, from its log line.
  int HttpPort(int timeout_ms) {
    const size_t at = WaitForLog("(port ", timeout_ms);
    if (at == std::string::npos) return -1;
    return std::atoi(log_.c_str() + at);
  }

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool exited_ = false;
  int exit_status_ = 0;
  std::string log_;
};

struct HttpResponse {
  int status = 0;
  std::string headers;
  std::string body;
};

// GET http://127.0.0.1:port/path with HTTP/1.0; status 0 when it cannot connect.
inline HttpResponse HttpGet(int port, const std::string& path) {
  HttpResponse r;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // A server that never answers fails the request after 10 s, not the test run.
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return r;
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return r;
  }
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t sep = all.find("\r\n\r\n");
  if (all.rfind("HTTP/", 0) != 0 || sep == std::string::npos) return r;
  r.status = std::atoi(all.c_str() + all.find(' ') + 1);
  r.headers = all.substr(0, sep);
  r.body = all.substr(sep + 4);
  return r;
}

// Polls GET path until pred(body) holds or the deadline passes; returns the last body.
template <typename Pred>
std::string AwaitHttp(int port, const std::string& path, Pred pred, int timeout_ms = 10000) {
  const int64_t deadline = NowMs() + timeout_ms;
  std::string body;
  while (NowMs() < deadline) {
    body = HttpGet(port, path).body;
    if (pred(body)) return body;
    usleep(20000);  // a poll interval between HTTP requests, not a wait for an event
  }
  return body;
}

}  // namespace testing_util
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_INTEGRATION_DAEMON_PROCESS_H_
