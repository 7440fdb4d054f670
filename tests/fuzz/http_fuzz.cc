// libFuzzer target: arbitrary bytes from HTTP clients to the gateway's HTTP
// server. The first byte says how many connections (1 to 4) and in what
// pieces each sends (1 to 64 bytes at a time, or all at once); the rest is
// split among them in equal parts. Each client sends its part, interleaved
// with Run(), then shuts its side down. The server must neither crash nor
// read out of bounds, must begin every answer with an HTTP/1.1 status line,
// and must end with every connection closed: by the client's end, by its own
// answer, or by the 30 s timeout (the injected clock moves past it when
// nothing else is left).
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/base/clock.h"
#include "gateway/base/host_port.h"
#include "gateway/base/log.h"
#include "gateway/http/http_server.h"

namespace {

class Content : public sensorgate::HttpContent {
 public:
  void WriteMetrics(std::string* out) override { out->append("# TYPE up gauge\nup 1\n"); }
  void WriteWindows(std::string* out) override { out->append("[]"); }
  void WriteAlerts(std::string* out) override { out->append("[]"); }
  bool WriteRule(std::string_view name, std::string* out) override {
    if (name == "hot") out->append("{}");
    return name.empty() || name == "hot";
  }
  bool Healthy(std::string* why) override {
    *why = "stalled";
    return (++calls_ & 1) != 0;
  }

 private:
  unsigned calls_ = 0;
};

struct Client {
  int fd = -1;
  std::string_view to_send;
  bool shut = false;
  bool closed = false;
  std::string received;  // the first bytes the server sent
};

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) __builtin_trap();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sensorgate::FakeClock clock;
  static Content content;
  static sensorgate::HttpServer* const server = [] {
    sensorgate::SetLogLevel(sensorgate::LogLevel::kError);
    auto* s = new sensorgate::HttpServer(&content, &clock);
    sensorgate::HostPort listen;
    if (!sensorgate::ParseHostPort("127.0.0.1:0", true, &listen) || !s->Start(listen).ok()) __builtin_trap();
    return s;
  }();
  if (size == 0 || size > 300000) return 0;

  const unsigned count = 1 + (data[0] & 3);
  const size_t piece = (data[0] >> 2) == 0 ? size : (data[0] >> 2);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  Client clients[4];
  for (unsigned i = 0; i < count; ++i) {
    const size_t share = i + 1 == count ? rest.size() : rest.size() / count;
    clients[i].to_send = rest.substr(0, share);
    rest.remove_prefix(share);
    clients[i].fd = Connect(server->port());
  }

  int quiet = 0;  // rounds in a row in which nothing moved
  for (int round = 0; round < 100000 && quiet < 50; ++round) {
    bool moved = false;
    for (unsigned i = 0; i < count; ++i) {
      Client& c = clients[i];
      if (!c.to_send.empty() && !c.closed) {
        const ssize_t n = send(c.fd, c.to_send.data(), std::min(piece, c.to_send.size()), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          c.to_send.remove_prefix(static_cast<size_t>(n));
          moved = true;
        } else if (n < 0 && errno != EAGAIN) {
          c.to_send = {};  // the server closed it
        }
      }
      if (c.to_send.empty() && !c.shut) {
        shutdown(c.fd, SHUT_WR);
        c.shut = true;
      }
    }
    server->Run();
    bool all_closed = true;
    for (unsigned i = 0; i < count; ++i) {
      Client& c = clients[i];
      char buf[65536];
      ssize_t n;
      while (!c.closed && (n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT)) != -1) {
        if (n == 0) {
          c.closed = true;
          break;
        }
        moved = true;
        if (c.received.size() < 9) c.received.append(buf, std::min<size_t>(static_cast<size_t>(n), 9));
      }
      if (!c.closed && errno != EAGAIN) c.closed = true;  // reset by the server
      all_closed = all_closed && c.closed;
    }
    if (all_closed) break;
    quiet = moved ? 0 : quiet + 1;
    if (!moved) {
      pollfd p{server->epoll_fd(), POLLIN, 0};
      poll(&p, 1, 1);
    }
  }
  for (unsigned i = 0; i < count; ++i) {
    if (!clients[i].received.empty() && clients[i].received.compare(0, 9, "HTTP/1.1 ", 0, clients[i].received.size()) != 0) {
      __builtin_trap();
    }
    close(clients[i].fd);
  }
  // Every connection ends: those the clients closed at once, the others when
  // the clock passes their deadline.
  for (int i = 0; i < 100 && server->timeout_ms() != -1; ++i) {
    pollfd p{server->epoll_fd(), POLLIN, 0};
    poll(&p, 1, 1);
    server->Run();
    if (i > 10) clock.Advance(31'000'000);
  }
  if (server->timeout_ms() != -1) __builtin_trap();
  return 0;
}
