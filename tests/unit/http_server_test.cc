// HttpServer over loopback, driven by a small epoll loop as the daemon drives
// it; clients are plain sockets on helper threads.
#if SENSORGATE_WITH_HTTP

#include "gateway/http/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/http/dashboard_html.h"
#include "gateway/http/http_request.h"

namespace sensorgate {
namespace {

using SteadyClock = std::chrono::steady_clock;

class FakeContent : public HttpContent {
 public:
  void WriteMetrics(std::string* out) override {
    ++calls;
    out->append(metrics);
    if (numbered) out->append("# answer " + std::to_string(++metrics_answers) + "\n");
  }
  void WriteWindows(std::string* out) override {
    ++calls;
    out->append(windows);
  }
  void WriteAlerts(std::string* out) override {
    ++calls;
    out->append(alerts);
  }
  bool Healthy(std::string* why) override {
    ++calls;
    *why = why_not;
    return healthy;
  }

  std::string metrics = "# HELP sensorgate_up Up.\n# TYPE sensorgate_up gauge\nsensorgate_up 1\n";
  std::string windows =
      R"([{"event":"window","key":"sensor01","count":2,"total":9,"avg":71,"min":70,"max":72,"last":72,"time":"2023-03-15T12:15:38.000000Z"}])";
  std::string alerts = R"([{"rule":"hot","key":"sensor01","avg":71,"count":2,"time":"2023-03-15T12:15:38.000000Z"}])";
  bool healthy = true;
  std::string why_not;
  int calls = 0;
  bool numbered = false;  // each /metrics answer ends with its number
  int metrics_answers = 0;
};

// "HOST:PORT" as the configuration loader parses it.
HostPort Listen(const std::string& text) {
  HostPort hp;
  EXPECT_TRUE(ParseHostPort(text, true, &hp)) << text;
  return hp;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // the client's, if it failed

  // The header's value, or "" if absent.
  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

Response ParseResponse(const std::string& raw) {
  Response r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) {
    r.error = "malformed response: " + raw;
    return r;
  }
  r.status = std::stoi(raw.substr(9, 3));
  size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    const size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    pos = eol + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

int ConnectTo(const std::string& ip, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len;
  const bool v6 = ip.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One request over a fresh connection; reads until the server closes it.
Response Exchange(const std::string& ip, uint16_t port, const std::string& request) {
  const int fd = ConnectTo(ip, port);
  if (fd < 0) return Response{0, {}, {}, std::string("connect: ") + std::strerror(errno)};
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return Response{0, {}, {}, "send failed"};
  }
  std::string raw;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  if (n < 0) return Response{0, {}, {}, std::string("recv: ") + std::strerror(errno)};
  return ParseResponse(raw);
}

std::string Request(const std::string& method, const std::string& path) {
  return method + " " + path + " HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n";
}

// The daemon's loop in miniature: waits on the server's epoll descriptor (and
// on `done`) no longer than timeout_ms(), then calls Run(). Returns when
// `done` has counted `clients` finished clients, or false after 10 s.
bool Serve(HttpServer* server, int done, uint64_t clients) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = server->epoll_fd();
  epoll_ctl(ep, EPOLL_CTL_ADD, server->epoll_fd(), &ev);
  ev.data.fd = done;
  epoll_ctl(ep, EPOLL_CTL_ADD, done, &ev);
  const SteadyClock::time_point deadline = SteadyClock::now() + std::chrono::seconds(10);
  uint64_t finished = 0;
  while (finished < clients && SteadyClock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count() + 1;
    const int64_t t = server->timeout_ms();
    const int wait = static_cast<int>(t < 0 ? left : std::min<int64_t>(t, left));
    epoll_event events[4];
    const int n = epoll_wait(ep, events, 4, wait);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == done) {
        uint64_t count = 0;
        if (read(done, &count, sizeof count) == sizeof count) finished += count;
      }
    }
    server->Run();
  }
  close(ep);
  return finished >= clients;
}

// Sends each request on its own connection and thread, all at once, while
// the calling thread serves them.
std::vector<Response> FetchAll(HttpServer* server, const std::vector<std::string>& requests,
                               const std::string& ip = "127.0.0.1") {
  std::vector<Response> responses(requests.size());
  const int done = eventfd(0, EFD_CLOEXEC);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < requests.size(); ++i) {
    clients.emplace_back([&, i] {
      responses[i] = Exchange(ip, server->port(), requests[i]);
      const uint64_t one = 1;
      EXPECT_EQ(write(done, &one, sizeof one), static_cast<ssize_t>(sizeof one));
    });
  }
  EXPECT_TRUE(Serve(server, done, requests.size())) << "the server did not answer in 10 s";
  for (std::thread& t : clients) t.join();
  close(done);
  return responses;
}

Response Fetch(HttpServer* server, const std::string& method, const std::string& path,
               const std::string& ip = "127.0.0.1") {
  return FetchAll(server, {Request(method, path)}, ip)[0];
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status s = server_.Start(Listen("127.0.0.1:0"));
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_NE(server_.port(), 0);
    ASSERT_GE(server_.epoll_fd(), 0);
  }
  Response Get(const std::string& path) { return Fetch(&server_, "GET", path); }

  FakeContent content_;
  HttpServer server_{&content_};
};

TEST_F(HttpServerTest, ServesMetricsAsPrometheusText) {
  const Response r = Get("/metrics");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  EXPECT_EQ(r.body, content_.metrics);
}

TEST_F(HttpServerTest, ServesWindowsAndAlertsAsJson) {
  const std::vector<Response> r =
      FetchAll(&server_, {Request("GET", "/api/windows"), Request("GET", "/api/alerts")});
  ASSERT_EQ(r[0].error, "");
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].Header("content-type"), "application/json");
  EXPECT_EQ(r[0].Header("cache-control"), "no-store");
  EXPECT_EQ(r[0].body, content_.windows);
  ASSERT_EQ(r[1].error, "");
  EXPECT_EQ(r[1].status, 200);
  EXPECT_EQ(r[1].Header("content-type"), "application/json");
  EXPECT_EQ(r[1].Header("cache-control"), "no-store");
  EXPECT_EQ(r[1].body, content_.alerts);
}

TEST_F(HttpServerTest, HealthzIsOkOr503WithTheReason) {
  Response r = Get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  content_.healthy = false;
  content_.why_not = "main loop stalled for 42 s";
  r = Get("/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "main loop stalled for 42 s\n");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
}

TEST_F(HttpServerTest, IgnoresTheQueryString) {
  const Response r = Get("/api/windows?since=0");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, content_.windows);
}

TEST_F(HttpServerTest, UnknownPathsAre404) {
  for (const char* path : {"/nope", "/metrics/", "/api", "/api/windows/x", "/index.html"}) {
    const Response r = Get(path);
    ASSERT_EQ(r.error, "") << path;
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.Header("cache-control"), "no-store") << path;
  }
  EXPECT_EQ(content_.calls, 0);
}

TEST_F(HttpServerTest, MethodsOtherThanGetAndHeadAre405) {
  const std::vector<Response> r = FetchAll(
      &server_,
      {"POST /metrics HTTP/1.1\r\nHost: g\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
       Request("DELETE", "/api/windows"), Request("PUT", "/"), Request("OPTIONS", "/nope")});
  for (const Response& x : r) {
    ASSERT_EQ(x.error, "");
    EXPECT_EQ(x.status, 405);
    EXPECT_EQ(x.Header("allow"), "GET, HEAD");
    EXPECT_EQ(x.Header("cache-control"), "no-store");
  }
  EXPECT_EQ(content_.calls, 0);
}

TEST_F(HttpServerTest, HeadGivesTheHeadersWithoutTheBody) {
  const Response r = Fetch(&server_, "HEAD", "/metrics");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.Header("content-length"), std::to_string(content_.metrics.size()));
  EXPECT_EQ(r.body, "");
}

TEST_F(HttpServerTest, KeepsTheConnectionOpenBetweenRequests) {
  // Two requests, one after the other, on one connection; a GET with a body
  // (ignored) in between.
  std::vector<Response> responses;
  const int done = eventfd(0, EFD_CLOEXEC);
  std::thread client([&] {
    const int fd = ConnectTo("127.0.0.1", server_.port());
    const std::vector<std::string> requests = {
        "GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n",
        "GET /api/alerts HTTP/1.1\r\nHost: g\r\nContent-Length: 5\r\n\r\nhello",
        Request("GET", "/metrics")};
    std::string raw;
    for (const std::string& request : requests) {
      if (fd < 0 || send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) break;
      // Read until this response is complete (headers and Content-Length bytes).
      for (;;) {
        const size_t end = raw.find("\r\n\r\n");
        if (end != std::string::npos) {
          const Response head = ParseResponse(raw.substr(0, end + 4));
          const size_t length = std::stoul("0" + head.Header("content-length"));
          if (raw.size() >= end + 4 + length) {
            responses.push_back(ParseResponse(raw.substr(0, end + 4 + length)));
            raw.erase(0, end + 4 + length);
            break;
          }
        }
        char buf[4096];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
      }
    }
    if (fd >= 0) close(fd);
    const uint64_t one = 1;
    EXPECT_EQ(write(done, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  });
  EXPECT_TRUE(Serve(&server_, done, 1));
  client.join();
  close(done);
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].body, "ok\n");
  EXPECT_EQ(responses[0].Header("connection"), "");  // not "close"
  EXPECT_EQ(responses[1].status, 200);
  EXPECT_EQ(responses[1].body, content_.alerts);
  EXPECT_EQ(responses[2].status, 200);
  EXPECT_EQ(responses[2].body, content_.metrics);
}

TEST_F(HttpServerTest, ServesSeveralClientsAtOnce) {
  std::vector<std::string> requests;
  for (int i = 0; i < 12; ++i) requests.push_back(Request("GET", i % 2 ? "/metrics" : "/healthz"));
  const std::vector<Response> r = FetchAll(&server_, requests);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(r[i].status, 200) << r[i].error;
    EXPECT_EQ(r[i].body, i % 2 ? content_.metrics : "ok\n");
  }
}

TEST_F(HttpServerTest, ServesALargeBody) {
  content_.metrics.clear();
  for (int i = 0; i < 20000; ++i) content_.metrics += "sensorgate_window_average{key=\"k" + std::to_string(i) + "\"} 1\n";
  const Response r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, content_.metrics);
}

// Each answer owns its body until it is sent: a second request built while a
// large first answer is still being written does not change the first.
TEST_F(HttpServerTest, AnswersInFlightKeepTheirOwnBodies) {
  for (int i = 0; i < 20000; ++i) content_.metrics += "sensorgate_window_average{key=\"k" + std::to_string(i) + "\"} 1\n";
  content_.numbered = true;
  const std::vector<Response> r = FetchAll(&server_, {Request("GET", "/metrics"), Request("GET", "/metrics"),
                                                      Request("GET", "/api/windows")});
  ASSERT_EQ(content_.calls, 3);
  for (const Response& x : r) EXPECT_EQ(x.status, 200) << x.error;
  // The two /metrics answers are whole, each with its own number.
  const std::string first = content_.metrics + "# answer 1\n", second = content_.metrics + "# answer 2\n";
  EXPECT_TRUE((r[0].body == first && r[1].body == second) || (r[0].body == second && r[1].body == first))
      << r[0].body.size() << " and " << r[1].body.size() << " bytes";
  EXPECT_EQ(r[2].body, content_.windows);
}

// Heap in use, every arena (glibc only; sanitizers have their own allocator).
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A large answer is freed once sent: the server keeps no buffer sized for
// the largest answer it ever gave (/metrics lists every key).
TEST_F(HttpServerTest, KeepsNothingOfALargeAnswerOnceSent) {
  content_.metrics.assign(4 << 20, '#');
  content_.metrics.back() = '\n';
  (void)Get("/healthz");  // first-use allocations (the connection list)
  const size_t before = HeapInUse();
  {
    const Response r = Get("/metrics");
    ASSERT_EQ(r.body.size(), content_.metrics.size()) << r.error;
  }
  const size_t after = HeapInUse();
  EXPECT_LT(after, before + (256 << 10)) << before << " bytes in use before, " << after << " after";
}
#endif

TEST_F(HttpServerTest, ListensOnTheGivenAddressOnly) {
  // Every address of this machine but 127.0.0.1: another loopback address
  // and those of the network interfaces.
  std::vector<std::string> others = {"127.0.0.2"};
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr) continue;
      char text[INET6_ADDRSTRLEN];
      if (a->ifa_addr->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
      } else if (a->ifa_addr->sa_family == AF_INET6 &&
                 !IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr)) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, text, sizeof text);
      } else {
        continue;
      }
      if (std::string(text) != "127.0.0.1") others.push_back(text);
    }
    freeifaddrs(list);
  }
  if (others.empty()) GTEST_SKIP() << "this machine has no address but 127.0.0.1";
  for (const std::string& ip : others) {
    const int fd = ConnectTo(ip, server_.port());
    EXPECT_LT(fd, 0) << "connected to " << ip << ":" << server_.port();
    if (fd >= 0) close(fd);
  }
  EXPECT_EQ(Get("/healthz").status, 200);  // while 127.0.0.1 answers
}

TEST_F(HttpServerTest, RunNeverBlocks) {
  // Nothing pending.
  SteadyClock::time_point start = SteadyClock::now();
  for (int i = 0; i < 100; ++i) server_.Run();
  EXPECT_LT(SteadyClock::now() - start, std::chrono::milliseconds(500));
  // A client that connected and sent half a request, then went quiet.
  const int fd = ConnectTo("127.0.0.1", server_.port());
  ASSERT_GE(fd, 0);
  const char half[] = "GET /metrics HTTP/1.1\r\nHost: g";
  ASSERT_EQ(send(fd, half, sizeof half - 1, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof half - 1));
  pollfd p{server_.epoll_fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);  // the connection is waiting to be accepted
  start = SteadyClock::now();
  for (int i = 0; i < 100; ++i) server_.Run();
  EXPECT_LT(SteadyClock::now() - start, std::chrono::milliseconds(500));
  EXPECT_EQ(content_.calls, 0);
  close(fd);
  server_.Run();
}

TEST(HttpServer, NotStartedIsInert) {
  FakeContent content;
  HttpServer server(&content);
  EXPECT_EQ(server.epoll_fd(), -1);
  EXPECT_EQ(server.timeout_ms(), -1);
  EXPECT_EQ(server.port(), 0);
  server.Run();
}

TEST(HttpServer, ListensOnIpv6Loopback) {
  FakeContent content;
  HttpServer server(&content);
  const Status s = server.Start(Listen("[::1]:0"));
  if (!s.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << s.message();
  const Response r = Fetch(&server, "GET", "/healthz", "::1");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_LT(ConnectTo("127.0.0.1", server.port()), 0);
}

TEST(HttpServer, ResolvesAHostName) {
  FakeContent content;
  HttpServer server(&content);
  const Status s = server.Start(Listen("localhost:0"));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_NE(server.port(), 0);
}

TEST(HostPort, RefusesMalformedListenAddresses) {
  for (const char* listen : {"127.0.0.1", ":80", "::1:80", "[::1:80", "[]:80", "127.0.0.1:65536",
                             "127.0.0.1:x", "127.0.0.1:", "[127.0.0.1]:80", "host name:80", "h\x01:80"}) {
    HostPort hp;
    EXPECT_FALSE(ParseHostPort(listen, true, &hp)) << listen;
  }
  HostPort hp;
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0", false, &hp));
  ASSERT_TRUE(ParseHostPort("[::1]:9108", false, &hp));
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 9108);
  EXPECT_TRUE(hp.ipv6_literal);
  EXPECT_EQ(hp.text, "[::1]:9108");
  ASSERT_TRUE(ParseHostPort("plant-gw_1.local:0", true, &hp));
  EXPECT_EQ(hp.host, "plant-gw_1.local");
  EXPECT_FALSE(hp.ipv6_literal);
}

TEST(HttpServer, ReportsAPortInUse) {
  FakeContent content;
  HttpServer first(&content);
  ASSERT_TRUE(first.Start(Listen("127.0.0.1:0")).ok());
  HttpServer second(&content);
  const std::string listen = "127.0.0.1:" + std::to_string(first.port());
  const Status s = second.Start(Listen(listen));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("[http] listen = " + listen + ": ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("in use"), std::string::npos) << s.message();
}

TEST(HttpServer, StartingTwiceIsAnError) {
  FakeContent content;
  HttpServer server(&content);
  ASSERT_TRUE(server.Start(Listen("127.0.0.1:0")).ok());
  const uint16_t port = server.port();
  EXPECT_FALSE(server.Start(Listen("127.0.0.1:0")).ok());
  EXPECT_EQ(server.port(), port);
}

TEST(HttpDashboard, IsServedAtTheRootWithAStrictPolicy) {
  FakeContent content;
  HttpServer server(&content);
  ASSERT_TRUE(server.Start(Listen("127.0.0.1:0")).ok());
  const Response r = Fetch(&server, "GET", "/");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  const std::string policy = r.Header("content-security-policy");
  EXPECT_NE(policy.find("connect-src 'self'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("script-src 'self';"), std::string::npos) << policy;
  EXPECT_NE(policy.find("style-src 'self';"), std::string::npos) << policy;
  EXPECT_NE(policy.find("require-trusted-types-for 'script'"), std::string::npos) << policy;
  // No inline code and no eval may run.
  EXPECT_EQ(policy.find("unsafe"), std::string::npos) << policy;
  EXPECT_EQ(r.body, kDashboardHtml);
  EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(r.body.find("<script src=\"/dashboard.js\" defer></script>"), std::string::npos);
  EXPECT_NE(r.body.find("<link rel=\"stylesheet\" href=\"/dashboard.css\">"), std::string::npos);
}

TEST(HttpDashboard, ServesItsScriptAndStyle) {
  FakeContent content;
  HttpServer server(&content);
  ASSERT_TRUE(server.Start(Listen("127.0.0.1:0")).ok());
  Response r = Fetch(&server, "GET", "/dashboard.js");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.body, kDashboardJs);
  for (const char* api : {"/api/windows", "/api/alerts", "/api/alerts/pending", "/api/config", "/api/links",
                          "/api/rules"}) {
    EXPECT_NE(r.body.find(std::string("getJson(\"") + api + "\")"), std::string::npos) << api;
  }
  EXPECT_NE(r.body.find("POLL_MS = 2000"), std::string::npos);
  EXPECT_NE(r.body.find("setTimeout(poll, POLL_MS)"), std::string::npos);
  EXPECT_NE(r.body.find("PAGE_SIZE = 50"), std::string::npos);
  r = Fetch(&server, "GET", "/dashboard.css");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(r.body, kDashboardCss);
  EXPECT_NE(r.body.find("@media (max-width: 600px)"), std::string::npos);
  EXPECT_EQ(content.calls, 0);
}

TEST(HttpDashboard, IsSmallAndSelfContained) {
  const std::string page = std::string(kDashboardHtml) + std::string(kDashboardJs) + std::string(kDashboardCss);
  EXPECT_LT(page.size(), 40u * 1024);
  // No external assets: the only URL is the SVG namespace; the page loads
  // its own script and style, nothing else.
  std::string rest = page;
  const std::string svg_ns = "http://www.w3.org/2000/svg";
  rest.erase(rest.find(svg_ns), svg_ns.size());
  for (const char* own : {"<script src=\"/dashboard.js\"", "<link rel=\"stylesheet\" href=\"/dashboard.css\">"}) {
    const size_t at = rest.find(own);
    ASSERT_NE(at, std::string::npos) << own;
    rest.erase(at, std::string(own).size());
  }
  for (const char* needle : {"http://", "https://", "//cdn", "<link", "src=", "href=", "@import", "url("}) {
    EXPECT_EQ(rest.find(needle), std::string::npos) << needle;
  }
  // Data from readings is set as text, never parsed as markup, and no code
  // is made from strings.
  for (const char* needle : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                             "new Function", "setAttribute(\"on", "setAttribute(\"style", " onclick=",
                             " onload=", " onerror="}) {
    EXPECT_EQ(page.find(needle), std::string::npos) << needle;
  }
}

TEST_F(HttpServerTest, ServesPendingAlertsAndConfigFromTheContent) {
  const std::vector<Response> r =
      FetchAll(&server_, {Request("GET", "/api/alerts/pending"), Request("GET", "/api/config")});
  ASSERT_EQ(r[0].error, "");
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].Header("content-type"), "application/json");
  EXPECT_EQ(r[0].body, "[]");  // HttpContent's defaults
  ASSERT_EQ(r[1].error, "");
  EXPECT_EQ(r[1].status, 200);
  EXPECT_EQ(r[1].Header("content-type"), "application/json");
  EXPECT_EQ(r[1].body, "{}");
  EXPECT_EQ(Get("/api/alerts/pending/x").status, 404);
  EXPECT_EQ(Get("/api/config/").status, 404);
}


// ---- The protocol, over one connection served from this thread: the client
// socket is read without blocking between calls of Run().

// Calls Run() until `fd` has something to read (or is closed); false after 10 s.
bool ServeUntilReadable(HttpServer* server, int fd) {
  const SteadyClock::time_point deadline = SteadyClock::now() + std::chrono::seconds(10);
  while (SteadyClock::now() < deadline) {
    server->Run();
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10) > 0) return true;
  }
  return false;
}

// Reads what the server sends while serving it, until `enough(raw)` or the
// server closes the connection (*closed).
std::string ServeAndRead(HttpServer* server, int fd, const std::function<bool(const std::string&)>& enough,
                         bool* closed) {
  std::string raw;
  *closed = false;
  while (!enough(raw)) {
    if (!ServeUntilReadable(server, fd)) break;
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      *closed = true;
      break;
    }
    if (n > 0) raw.append(buf, static_cast<size_t>(n));
  }
  return raw;
}

// The complete responses at the start of `raw` (bodies by Content-Length;
// `head_only`: none).
std::vector<Response> SplitResponses(std::string raw, bool head_only = false) {
  std::vector<Response> out;
  for (;;) {
    const size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) break;
    const Response head = ParseResponse(raw.substr(0, end + 4));
    const size_t length = head_only ? 0 : std::stoul("0" + head.Header("content-length"));
    if (raw.size() < end + 4 + length) break;
    out.push_back(ParseResponse(raw.substr(0, end + 4 + length)));
    raw.erase(0, end + 4 + length);
  }
  return out;
}

auto HasResponses(size_t n) {
  return [n](const std::string& raw) { return SplitResponses(raw).size() >= n; };
}
bool Never(const std::string&) { return false; }

class HttpProtocolTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    fd_ = ConnectTo("127.0.0.1", server_.port());
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
  }
  void Send(const std::string& bytes) {
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  // Sends `bytes`, then reads until `n` responses are in or the server closes.
  std::vector<Response> Exchange(const std::string& bytes, size_t n, bool* closed) {
    Send(bytes);
    return SplitResponses(ServeAndRead(&server_, fd_, HasResponses(n), closed));
  }
  // Whether the server closes the connection (reading whatever comes first).
  bool ServerCloses() {
    bool closed = false;
    ServeAndRead(&server_, fd_, Never, &closed);
    return closed;
  }

  int fd_ = -1;
};

TEST_F(HttpProtocolTest, AnswersPipelinedRequestsInOrder) {
  bool closed = false;
  const std::vector<Response> r =
      Exchange("GET /healthz HTTP/1.1\r\nHost: g\r\n\r\nGET /api/windows HTTP/1.1\r\nHost: g\r\n\r\n"
               "GET /nope HTTP/1.1\r\nHost: g\r\n\r\nGET /api/alerts HTTP/1.1\r\nHost: g\r\n\r\n"
               "GET /metrics HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n",
               5, &closed);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].body, "ok\n");
  EXPECT_EQ(r[1].body, content_.windows);
  EXPECT_EQ(r[2].status, 404);
  EXPECT_EQ(r[3].body, content_.alerts);
  EXPECT_EQ(r[4].body, content_.metrics);
  EXPECT_EQ(r[4].Header("connection"), "close");
  EXPECT_TRUE(ServerCloses());
}

TEST_F(HttpProtocolTest, ReadsARequestSentOneByteAtATime) {
  const std::string request = "GET /api/ale%72ts?x=1 HTTP/1.1\r\nHost: g\r\nX-Long: abc\r\n\r\n";
  for (char c : request) {
    Send(std::string(1, c));
    server_.Run();
  }
  bool closed = false;
  const std::vector<Response> r = SplitResponses(ServeAndRead(&server_, fd_, HasResponses(1), &closed));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, content_.alerts);
}

TEST_F(HttpProtocolTest, RefusesAHeadOver8KiBWith431AndCloses) {
  bool closed = false;
  const std::vector<Response> r =
      Exchange("GET /healthz HTTP/1.1\r\nHost: g\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 431);
  EXPECT_EQ(r[0].Header("connection"), "close");
  EXPECT_TRUE(ServerCloses());
  EXPECT_EQ(content_.calls, 0);
}

TEST_F(HttpProtocolTest, ClosesAnHttp10ConnectionAfterTheAnswer) {
  bool closed = false;
  const std::vector<Response> r = Exchange("GET /healthz HTTP/1.0\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].Header("connection"), "close");
  EXPECT_TRUE(ServerCloses());
}

TEST_F(HttpProtocolTest, KeepsAnHttp10ConnectionThatAsksForKeepAlive) {
  bool closed = false;
  std::vector<Response> r = Exchange("GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].Header("connection"), "keep-alive");
  EXPECT_FALSE(closed);
  r = Exchange("GET /api/alerts HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, content_.alerts);
  EXPECT_FALSE(closed);
}

TEST_F(HttpProtocolTest, SkipsTheBodyOfAGetAndServesTheNextRequest) {
  bool closed = false;
  const std::string body(100000, 'x');  // more than one read
  const std::vector<Response> r = Exchange(
      "GET /healthz HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + body + "GET /api/alerts HTTP/1.1\r\n\r\n", 2,
      &closed);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].body, "ok\n");
  EXPECT_EQ(r[1].body, content_.alerts);
  EXPECT_FALSE(closed);
}

TEST_F(HttpProtocolTest, RefusesAChunkedRequestWith411AndCloses) {
  bool closed = false;
  const std::vector<Response> r =
      Exchange("GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 411);
  EXPECT_TRUE(ServerCloses());
}

TEST_F(HttpProtocolTest, RefusesABodyOver1MiBWith413) {
  bool closed = false;
  const std::vector<Response> r = Exchange("GET /healthz HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 413);
  EXPECT_TRUE(ServerCloses());
}

TEST_F(HttpProtocolTest, RefusesABadRequestLineWith400AndCloses) {
  bool closed = false;
  const std::vector<Response> r = Exchange("GET /healthz\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 400);
  EXPECT_EQ(r[0].Header("connection"), "close");
  EXPECT_TRUE(ServerCloses());
}

TEST_F(HttpProtocolTest, RefusesPostWith405AndAllowAndCloses) {
  bool closed = false;
  const std::vector<Response> r =
      Exchange("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.1\r\n\r\n", 1, &closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 405);
  EXPECT_EQ(r[0].Header("allow"), "GET, HEAD");
  EXPECT_TRUE(ServerCloses());
  EXPECT_EQ(content_.calls, 0);
}

TEST_F(HttpProtocolTest, DecodesAPercentEncodedPath) {
  bool closed = false;
  const std::vector<Response> r =
      Exchange("GET /api/%77indows HTTP/1.1\r\n\r\nGET http://gw:9108/%68ealthz?a=%00 HTTP/1.1\r\n\r\n"
               "GET /healthz%00 HTTP/1.1\r\n\r\n",
               3, &closed);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].body, content_.windows);
  EXPECT_EQ(r[1].body, "ok\n");  // absolute form; the query is not decoded
  EXPECT_EQ(r[2].status, 400);   // a NUL in the path
}

TEST_F(HttpProtocolTest, HeadHasTheLengthOfTheGetButNoBody) {
  Send("HEAD /api/windows HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n");
  bool closed = false;
  const std::string raw = ServeAndRead(
      &server_, fd_, [](const std::string& s) { return s.find("ok\n") != std::string::npos; }, &closed);
  const std::vector<Response> head = SplitResponses(raw, true);
  ASSERT_EQ(head.size(), 2u) << raw;
  EXPECT_EQ(head[0].Header("content-length"), std::to_string(content_.windows.size()));
  // The next bytes after the HEAD answer's headers are the next answer.
  EXPECT_EQ(head[1].status, 200);
  EXPECT_EQ(head[1].Header("content-length"), "3");
}

TEST_F(HttpProtocolTest, ASlowReaderGetsALargeBodyWhole) {
  // A small receive buffer, set before connecting (the window is agreed
  // then): the server finds the socket full many times over.
  close(fd_);
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int small = 64 * 1024;
  ASSERT_EQ(setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(server_.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  content_.metrics.clear();
  for (int i = 0; content_.metrics.size() < (5u << 20); ++i) {
    content_.metrics += "sensorgate_window_average{key=\"k" + std::to_string(i) + "\"} 1\n";
  }
  Send("GET /metrics HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n");
  // Reads a little at a time, the server running in between: it must wait
  // for room (EPOLLOUT), not block nor drop what the socket did not take.
  std::string raw;
  const SteadyClock::time_point deadline = SteadyClock::now() + std::chrono::seconds(60);
  auto complete = [&] { return raw.size() > 3 && raw.compare(raw.size() - 3, 3, "ok\n") == 0; };
  while (!complete() && SteadyClock::now() < deadline) {
    server_.Run();
    char buf[16384];
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) continue;
    const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    ASSERT_NE(n, 0) << "closed after " << raw.size() << " bytes";
    if (n > 0) raw.append(buf, static_cast<size_t>(n));
  }
  const std::vector<Response> r = SplitResponses(raw);
  ASSERT_EQ(r.size(), 2u) << raw.size() << " bytes: " << raw.substr(0, 200);
  EXPECT_TRUE(r[0].body == content_.metrics) << r[0].body.size() << " of " << content_.metrics.size();
  EXPECT_EQ(r[1].body, "ok\n");
}

TEST_F(HttpProtocolTest, KeepsListeningBeyond64Connections) {
  std::vector<int> clients;
  for (int i = 0; i < 63; ++i) {  // and fd_: 64
    clients.push_back(ConnectTo("127.0.0.1", server_.port()));
    ASSERT_GE(clients.back(), 0);
  }
  // Until all 64 are taken: a request on the last one is answered.
  const int last = clients.back();
  ASSERT_EQ(send(last, "GET /healthz HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL), 25);
  bool closed = false;
  EXPECT_EQ(SplitResponses(ServeAndRead(&server_, last, HasResponses(1), &closed)).size(), 1u);
  // The 65th: told so and closed; the listener is not stuck.
  const int extra = ConnectTo("127.0.0.1", server_.port());
  ASSERT_GE(extra, 0);
  const std::vector<Response> busy = SplitResponses(ServeAndRead(&server_, extra, Never, &closed));
  EXPECT_TRUE(closed);
  if (!busy.empty()) {
    EXPECT_EQ(busy[0].status, 503);
  }
  close(extra);
  EXPECT_EQ(server_.timeout_ms() > 0, true);  // no work pending: the loop does not spin
  // Once some close, new ones are served.
  for (int i = 0; i < 10; ++i) close(clients[i]);
  clients.erase(clients.begin(), clients.begin() + 10);
  for (int i = 0; i < 20; ++i) server_.Run();
  const int fresh = ConnectTo("127.0.0.1", server_.port());
  ASSERT_GE(fresh, 0);
  ASSERT_EQ(send(fresh, "GET /healthz HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL), 25);
  const std::vector<Response> r = SplitResponses(ServeAndRead(&server_, fresh, HasResponses(1), &closed));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  close(fresh);
  for (int fd : clients) close(fd);
}

TEST(HttpTimeout, ClosesAHalfSentRequestAfter30SecondsOfTheClock) {
  FakeContent content;
  FakeClock clock;
  HttpServer server(&content, &clock);
  ASSERT_TRUE(server.Start(Listen("127.0.0.1:0")).ok());
  EXPECT_EQ(server.timeout_ms(), -1);  // no connection
  const int fd = ConnectTo("127.0.0.1", server.port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "GET /metrics HTTP/1.1\r\nHo", 25, MSG_NOSIGNAL), 25);
  // Until the server has accepted and read it (the deadline starts then).
  pollfd p{server.epoll_fd(), POLLIN, 0};
  for (int i = 0; i < 100 && server.timeout_ms() < 0; ++i) {
    poll(&p, 1, 100);
    server.Run();
  }
  for (int i = 0; i < 5; ++i) server.Run();
  EXPECT_EQ(server.timeout_ms(), 30000);
  clock.Advance(29'000'000);
  EXPECT_EQ(server.timeout_ms(), 1000);
  server.Run();
  char c;
  EXPECT_EQ(recv(fd, &c, 1, MSG_DONTWAIT), -1);  // still open
  EXPECT_EQ(errno, EAGAIN);
  clock.Advance(1'000'001);
  EXPECT_EQ(server.timeout_ms(), 0);
  server.Run();
  EXPECT_EQ(recv(fd, &c, 1, 0), 0);  // closed by the server
  EXPECT_EQ(server.timeout_ms(), -1);
  EXPECT_EQ(content.calls, 0);
  close(fd);
}

TEST(HttpTimeout, ARequestTrickledInStillEndsAfter30Seconds) {
  FakeContent content;
  FakeClock clock;
  HttpServer server(&content, &clock);
  ASSERT_TRUE(server.Start(Listen("127.0.0.1:0")).ok());
  const int fd = ConnectTo("127.0.0.1", server.port());
  ASSERT_GE(fd, 0);
  // A byte every 10 s (slowloris): each keeps the connection from being
  // idle, but the head must be in within 30 s of its first byte.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(send(fd, "G", 1, MSG_NOSIGNAL), 1);
    for (int tries = 0; tries < 100; ++tries) {
      pollfd p{server.epoll_fd(), POLLIN, 0};
      if (poll(&p, 1, 100) == 0) break;
      server.Run();
    }
    clock.Advance(10'000'000);
  }
  server.Run();
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), 0);
  close(fd);
}

TEST(HttpCurl, KeepsTheConnectionAliveForCurl) {
  if (system("curl --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  FakeContent content;
  HttpServer server(&content);
  ASSERT_TRUE(server.Start(Listen("127.0.0.1:0")).ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  std::string out;
  const int done = eventfd(0, EFD_CLOEXEC);
  std::thread client([&] {
    // Two URLs in one curl: the second reuses the connection.
    const std::string command = "curl -sS -v " + url + "/healthz " + url + "/api/alerts 2>&1";
    FILE* p = popen(command.c_str(), "r");
    char buf[4096];
    size_t n;
    while (p != nullptr && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (p != nullptr) pclose(p);
    const uint64_t one = 1;
    EXPECT_EQ(write(done, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  });
  EXPECT_TRUE(Serve(&server, done, 1));
  client.join();
  close(done);
  EXPECT_NE(out.find("ok\n"), std::string::npos) << out;
  EXPECT_NE(out.find(content.alerts), std::string::npos) << out;
  EXPECT_NE(out.find("Re-using existing connection"), std::string::npos) << out;
}

// The parser alone: what each malformed head gets.
TEST(HttpRequestParser, GivesEachMalformedHeadItsStatus) {
  const std::pair<std::string, int> cases[] = {
      {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400},        // obs-fold
      {"GET / HTTP/1.1\r\nX : a\r\n\r\n", 400},              // space before the colon
      {std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", sizeof "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n" - 1), 400},  // NUL
      {"GET / HTTP/1.2\r\n\r\n", 505},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      {"GET / HTTP/1\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\n\r\n", 400},
      {"GET nopath HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 411},
  };
  for (const auto& [head, status] : cases) {
    HttpRequest request;
    const HttpParseResult r = ParseHttpRequest(head, &request);
    EXPECT_EQ(r.outcome, HttpParseResult::kError) << head;
    EXPECT_EQ(r.status, status) << head;
  }
  HttpRequest request;
  EXPECT_EQ(ParseHttpRequest("GET / HTTP/1.1\r\nHost: x\r\n", &request).outcome, HttpParseResult::kIncomplete);
  const std::string bare_lf = "\r\nGET /a%2Fb%zz?q HTTP/1.1\nHost: x\n\nrest";
  const HttpParseResult ok = ParseHttpRequest(bare_lf, &request);
  ASSERT_EQ(ok.outcome, HttpParseResult::kComplete);
  EXPECT_EQ(ok.head_bytes, bare_lf.find("rest"));
  EXPECT_EQ(request.path, "/a/b%zz");
  EXPECT_TRUE(request.keep_alive);
}

}  // namespace
}  // namespace sensorgate

#endif  // SENSORGATE_WITH_HTTP
