// HttpServer: the [http] endpoint of DESIGN.md section 10, a small HTTP/1.1
// server of its own (no TLS library: we never serve HTTPS).
//
//   GET /             the dashboard (text/html), which loads
//   GET /dashboard.js and /dashboard.css (both compiled in, dashboard_html.h)
//   GET /metrics      Prometheus text format 0.0.4
//   GET /healthz      200 "ok\n", or 503 and the reason
//   GET /api/windows  JSON array of the replay window objects
//   GET /api/alerts   JSON array of the alerts firing now
//   GET /api/alerts/pending  JSON array of the alerts pending now
//   GET /api/config   JSON object: the thresholds the dashboard draws
//   GET /api/links    JSON array of every source's and sink's state
// HEAD is served like GET without a body; other methods get 405 (the
// connection closes), other paths 404. Every response carries
// "Cache-Control: no-store" and a Content-Length.
//
// What a client may send (http_request.h has the parser): HTTP/1.0 and 1.1,
// request line and headers at most 8 KiB together (431), a body only with
// Content-Length and at most 1 MiB (read and discarded; 413 above), no
// Transfer-Encoding (411). Keep-alive and pipelining as HTTP/1.1 says. At most
// 64 connections: the 65th is answered 503 and closed, so the listening
// socket stays served. A connection with no bytes either way for 30 s, or
// whose request head takes longer than 30 s to arrive, is closed.
//
// The server has no thread of its own: the daemon's single-threaded event
// loop drives it. The loop watches epoll_fd() for EPOLLIN, waits no longer
// than timeout_ms(), and then calls Run(), which serves whatever is ready
// without blocking, each connection a bounded slice at a time. HttpContent is
// therefore called from inside Run(), on the loop's (the pipeline's) thread,
// and may read pipeline state without locks.
//
// Not thread-safe: create, start, run and destroy it on one thread.
#ifndef SENSORGATE_GATEWAY_HTTP_HTTP_SERVER_H_
#define SENSORGATE_GATEWAY_HTTP_HTTP_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/host_port.h"
#include "gateway/base/log.h"
#include "gateway/base/metrics.h"
#include "gateway/base/status.h"

namespace sensorgate {

// What the server shows; implemented by the daemon (tests use a fake). Each
// method appends to `out`, which arrives empty. Called from HttpServer::Run().
class HttpContent {
 public:
  virtual ~HttpContent() = default;
  // Prometheus text (every stage's families).
  virtual void WriteMetrics(std::string* out) = 0;
  // JSON array of the replay window objects.
  virtual void WriteWindows(std::string* out) = 0;
  // JSON array of the alerts firing now.
  virtual void WriteAlerts(std::string* out) = 0;
  // /api/rules (name empty): a JSON array of every [rule.NAME]'s state;
  // /api/rules/NAME: that rule's. False when there is no such rule.
  virtual bool WriteRule(std::string_view name, std::string* out) {
    (void)name;
    out->append("[]");
    return true;
  }
  // JSON array: one object per source and sink (name, up, state, backlog,
  // last_error).
  virtual void WriteLinks(std::string* out) { out->append("[]"); }
  // JSON array of the alerts pending now (hot, waiting for `for`).
  virtual void WritePendingAlerts(std::string* out) { out->append("[]"); }
  // JSON object: the configuration the dashboard shows (thresholds).
  virtual void WriteConfig(std::string* out) { out->append("{}"); }
  // True if the gateway is healthy; otherwise false and *why says what is
  // wrong (one line, served as the body of a 503).
  virtual bool Healthy(std::string* why) = 0;
};

class HttpServer {
 public:
  // `content` and `clock` must outlive the server. The clock times the
  // connection timeouts (tests pass a FakeClock).
  explicit HttpServer(HttpContent* content, Clock* clock = SystemClock());
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stops the server: closes the listening socket and all connections.
  ~HttpServer();

  // Listens on `listen`, as the configuration loader parsed [http] listen: an
  // IPv4 literal, an IPv6 literal or a host name, resolved once, here (the
  // first of its addresses that can be bound). Binds that address only. Port
  // 0 picks a free port (see port()). Returns an error naming the address if
  // it cannot be resolved or bound.
  // REQUIRES: not started yet.
  Status Start(const HostPort& listen);

  // The descriptor for the event loop to watch for EPOLLIN (an epoll
  // instance); -1 before a successful Start(). Owned by the server.
  int epoll_fd() const;

  // How long the loop may wait before calling Run() even if epoll_fd() stays
  // quiet: -1 no limit, 0 at once (work is pending). Ask again after each
  // Run(). -1 before a successful Start().
  int64_t timeout_ms() const;

  // Accepts connections, reads requests, calls HttpContent and writes
  // responses, as far as possible without waiting; never blocks. No-op before
  // a successful Start().
  void Run();

  // The port listened on (the chosen one when Start() was given port 0); 0
  // before a successful Start().
  uint16_t port() const { return port_; }

 private:
  struct Connection;  // one client's socket and buffers (http_server.cc)
  struct Response;    // an answer about to be queued (http_server.cc)

  // Accepts what the listening socket holds, a bounded number at a time.
  void Accept();
  // Reads, parses, answers and writes on `c`, a bounded slice; false when
  // `c` is done with and must be closed.
  bool Serve(Connection* c);
  // Writes what the socket takes of `c`'s pending answer; false on error.
  bool Flush(Connection* c, size_t* budget);
  // The answer to one request (GET or HEAD; path already decoded).
  void Answer(std::string_view path, Response* r);
  // Sets `c`'s answer: the status line and headers, then the body.
  void Queue(Connection* c, Response* r, bool head_only);
  // Watches `c` for `events` (EPOLLIN or EPOLLOUT), if not already.
  void Watch(Connection* c, uint32_t events);
  void Close(Connection* c);
  // When `c` is closed if nothing moves (microseconds, monotonic).
  int64_t Deadline(const Connection& c) const;
  void Warn(const char* format, ...) __attribute__((format(printf, 2, 3)));

  // The answers built by HttpContent, each sized by its last answer.
  enum Endpoint { kMetrics, kHealthz, kWindows, kAlerts, kRules, kLinks, kPending, kConfig, kEndpointCount };

  HttpContent* const content_;
  Clock* const clock_;
  RateLimiter log_limiter_{10, 1};  // client-caused warnings
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  uint16_t port_ = 0;
  size_t body_size_hint_[kEndpointCount] = {};  // bytes of the last answer of each endpoint
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_HTTP_HTTP_SERVER_H_
