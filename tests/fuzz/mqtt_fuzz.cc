// libFuzzer target: arbitrary bytes from a broker to the gateway's MQTT
// client. A listener on 127.0.0.1 accepts the client's connection; the
// server side sends a CONNACK (unless the first byte's low bit says not to),
// then the rest of the input, then closes. The client must neither crash nor read out of
// bounds, must deliver only PUBLISH packets that fit what was sent, and must
// end closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/base/clock.h"
#include "gateway/base/host_port.h"
#include "gateway/base/log.h"
#include "gateway/sources/mqtt/mqtt_connection.h"

namespace {

struct Handler : sensorgate::MqttConnection::Handler {
  size_t sent = 0;  // bytes the server sent
  void OnConnected(bool) override {}
  void OnSubAck(uint16_t, const uint8_t* codes, size_t n) override {
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; ++i) sink = static_cast<uint8_t>(sink ^ codes[i]);
    (void)sink;
  }
  void OnPublish(const sensorgate::mqtt::Publish& p, bool too_long) override {
    if (p.topic.size() + p.payload.size() > sent) __builtin_trap();
    if (too_long && !p.payload.empty()) __builtin_trap();
    volatile char sink = 0;
    for (char c : p.topic) sink = static_cast<char>(sink ^ c);
    for (char c : p.payload) sink = static_cast<char>(sink ^ c);
    (void)sink;
  }
  void OnBatchEnd() override {}
  void OnClosed(const std::string&, bool) override { closed = true; }
  bool closed = false;
};

int Listener(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    __builtin_trap();
  }
  *port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint16_t port = 0;
  static const int listener = Listener(&port);
  static const bool quiet = [] {
    sensorgate::SetLogLevel(sensorgate::LogLevel::kError);
    return true;
  }();
  (void)quiet;
  if (size > 300000) return 0;

  sensorgate::FakeClock clock;
  Handler handler;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  {
    sensorgate::MqttConnection c(ep, &clock, &handler, 1024);  // small: the too-long path is reached
    sensorgate::MqttConnection::Settings s;
    sensorgate::ParseHostPort("127.0.0.1:" + std::to_string(port), false, &s.broker);
    s.client_id = "fuzz";
    c.Begin(s);
    c.Poll(1 << 20);  // starts the connection
    const int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (server < 0) __builtin_trap();
    std::string out;
    if (size == 0 || (data[0] & 1) == 0) out.assign("\x20\x02\x00\x00", 4);  // CONNACK, accepted
    if (size > 1) out.append(reinterpret_cast<const char*>(data) + 1, size - 1);
    handler.sent = out.size();
    size_t at = 0;
    // Written in parts as the client reads, so that nothing waits on a full buffer.
    for (int rounds = 0; rounds < 100000 && !handler.closed; ++rounds) {
      if (at < out.size()) {
        const ssize_t n = send(server, out.data() + at, out.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) at += static_cast<size_t>(n);
        if (at == out.size()) shutdown(server, SHUT_WR);
      }
      char sink[4096];
      while (recv(server, sink, sizeof sink, MSG_DONTWAIT) > 0) {
      }
      c.Poll(1 << 20);
      if (c.idle()) break;
    }
    close(server);
    c.Close();
  }
  close(ep);
  return 0;
}
