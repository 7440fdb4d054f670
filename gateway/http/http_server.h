// HttpServer: the [http] endpoint of DESIGN.md section 10, on libmicrohttpd.
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
// HEAD is served like GET without a body; other methods get 405, other paths
// 404. Every response carries "Cache-Control: no-store".
//
// The server has no thread of its own: libmicrohttpd runs in its epoll mode
// and the daemon's single-threaded event loop drives it. The loop watches
// epoll_fd() for EPOLLIN, waits no longer than timeout_ms(), and then calls
// Run(), which serves whatever is ready without blocking. HttpContent is
// therefore called from inside Run(), on the loop's (the pipeline's) thread,
// and may read pipeline state without locks.
//
// Not thread-safe: create, start, run and destroy it on one thread.
#ifndef SENSORGATE_GATEWAY_HTTP_HTTP_SERVER_H_
#define SENSORGATE_GATEWAY_HTTP_HTTP_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/base/host_port.h"
#include "gateway/base/metrics.h"
#include "gateway/base/status.h"

struct MHD_Daemon;
struct MHD_Connection;

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
  // `content` must outlive the server.
  explicit HttpServer(HttpContent* content);
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
  struct Callbacks;  // libmicrohttpd's callbacks (http_server.cc)
  struct LogSink;    // where libmicrohttpd's messages go (http_server.cc)

  // Queues the response to one request; false if libmicrohttpd refused it.
  bool Respond(MHD_Connection* connection, const char* url, const char* method);

  // The answers built by HttpContent, each sized by its last answer.
  enum Endpoint { kMetrics, kHealthz, kWindows, kAlerts, kRules, kLinks, kPending, kConfig, kEndpointCount };

  HttpContent* const content_;
  const std::unique_ptr<LogSink> log_sink_;
  MHD_Daemon* daemon_ = nullptr;
  int epoll_fd_ = -1;
  uint16_t port_ = 0;
  size_t body_size_hint_[kEndpointCount] = {};  // bytes of the last answer of each endpoint
  unsigned int open_connections_ = 0;  // counted by Callbacks::Notify
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_HTTP_HTTP_SERVER_H_
