#include "gateway/http/http_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "gateway/http/dashboard_html.h"
#include "gateway/http/http_request.h"

namespace sensorgate {
namespace {

constexpr size_t kConnectionLimit = 64;
constexpr int64_t kConnectionTimeoutUs = int64_t{30} * 1000 * 1000;
// What one Run() does at most, so that one client cannot starve the loop:
// connections accepted, and per connection bytes read, requests answered and
// bytes written. What is left is served by the next Run() (the socket stays
// ready, or timeout_ms() says 0).
constexpr int kAcceptsPerRun = 16;
constexpr size_t kReadChunk = 16 * 1024;
constexpr int kReadsPerRun = 4;
constexpr int kRequestsPerRun = 16;
constexpr size_t kWriteBudget = 1024 * 1024;

constexpr char kMetricsType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kJsonType[] = "application/json";
constexpr char kHtmlType[] = "text/html; charset=utf-8";
constexpr char kTextType[] = "text/plain; charset=utf-8";
constexpr char kScriptType[] = "text/javascript; charset=utf-8";
constexpr char kStyleType[] = "text/css; charset=utf-8";
// The dashboard needs nothing but its own script and style (same origin, no
// inline code: inline event handlers, inline scripts and eval are all
// refused) and same-origin fetches. Trusted Types make any assignment of a
// string to innerHTML (or another HTML sink) throw in browsers that know them.
constexpr char kDashboardPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'";

std::string AddressText(const sockaddr* addr, socklen_t len) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (getnameinfo(addr, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) !=
      0) {
    return "?";
  }
  return addr->sa_family == AF_INET6 ? "[" + std::string(host) + "]:" + serv
                                     : std::string(host) + ":" + serv;
}

}  // namespace

struct HttpServer::Connection {
  int fd = -1;
  std::string peer;      // "ADDR:PORT", for the log
  std::string in;        // bytes read and not parsed yet (at most a head and a read)
  uint64_t skip = 0;     // body bytes of the last request still to discard
  std::string head;      // status line and headers of the answer being sent
  std::unique_ptr<std::string> owned;  // the body built for it, if not a literal
  std::string_view body;  // what is left to send of the body
  size_t head_sent = 0;
  bool close_after = false;   // close once the answer is sent
  bool more = false;          // requests wait in `in` (the slice ran out)
  uint32_t watched = 0;       // the epoll events watched
  int64_t last_io_us = 0;     // the last byte either way
  int64_t head_started_us = kNever;  // the first byte of a request not complete yet

  bool sending() const { return head_sent < head.size() || !body.empty(); }
};

struct HttpServer::Response {
  int status = 200;
  const char* type = kTextType;
  std::string_view body;
  std::unique_ptr<std::string> owned;  // body points into it when set
  const char* extra_header = nullptr;
  const char* extra_value = nullptr;
  bool close = false;       // "Connection: close", and the connection closes
  bool keep_alive = false;  // "Connection: keep-alive" (an HTTP/1.0 client asked for it)
};

namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

// The body of an error answer: the reason in lower case, one line.
std::string_view ErrorBody(int status) {
  switch (status) {
    case 400: return "bad request\n";
    case 411: return "request bodies must have a Content-Length\n";
    case 413: return "request body too large\n";
    case 431: return "request header too large\n";
    case 505: return "HTTP version not supported\n";
    default: return "error\n";
  }
}

}  // namespace

HttpServer::HttpServer(HttpContent* content, Clock* clock) : content_(content), clock_(clock) {}

HttpServer::~HttpServer() {
  while (!connections_.empty()) Close(connections_.back().get());
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void HttpServer::Warn(const char* format, ...) {
  if (!log_limiter_.Allow(clock_->MonotonicUs())) return;
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  Log(LogLevel::kWarning, "http: %s", buf);
}

Status HttpServer::Start(const HostPort& listen_addr) {
  const std::string& listen = listen_addr.text;
  const std::string where = "[http] listen = " + listen;
  if (listen_fd_ >= 0) return Status::Error(where + ": the HTTP server is already started");
  const std::string& host = listen_addr.host;
  const uint16_t port = listen_addr.port;
  const bool bracketed = listen_addr.ipv6_literal;

  addrinfo hints{};
  hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : AI_ADDRCONFIG);
  addrinfo* found = nullptr;
  const int gai = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (gai != 0) {
    return Status::Error(where + ": cannot resolve " + host + ": " + gai_strerror(gai));
  }

  std::string errors;
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    std::string error;
    fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (fd < 0) {
      error = std::string("cannot create a socket: ") + std::strerror(errno);
    } else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
               // An IPv6 address is that address only, not the IPv4 ones too.
               (a->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)) {
      error = std::string("cannot set socket options: ") + std::strerror(errno);
    } else if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = "cannot bind to port " + std::to_string(port) + ": " + std::strerror(errno);
    } else if (::listen(fd, SOMAXCONN) != 0) {
      error = std::string("cannot listen: ") + std::strerror(errno);
    }
    if (!error.empty()) {
      if (fd >= 0) ::close(fd);
      fd = -1;
      if (!errors.empty()) errors.append("; ");
      // Name the address when it is not the one written in listen (a host name).
      const std::string address = AddressText(a->ai_addr, a->ai_addrlen);
      if (address != listen) errors += address + ": ";
      errors += error;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    if (errors.empty()) errors = "no IPv4 or IPv6 address for " + host;
    return Status::Error(where + ": " + errors);
  }

  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listening socket; connections have their own
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0 || ep < 0 ||
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    if (ep >= 0) ::close(ep);
    return Status::Error(where + ": cannot watch the listening socket: " + error);
  }
  listen_fd_ = fd;
  epoll_fd_ = ep;
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return Status::Ok();
}

int HttpServer::epoll_fd() const { return epoll_fd_; }

int64_t HttpServer::Deadline(const Connection& c) const {
  return std::min(c.last_io_us, c.head_started_us) + kConnectionTimeoutUs;
}

int64_t HttpServer::timeout_ms() const {
  if (listen_fd_ < 0 || connections_.empty()) return -1;
  int64_t earliest = kNever;
  for (const auto& c : connections_) {
    if (c->more) return 0;
    earliest = std::min(earliest, Deadline(*c));
  }
  const int64_t left_us = earliest - clock_->MonotonicUs();
  return left_us <= 0 ? 0 : (left_us + 999) / 1000;
}

void HttpServer::Run() {
  if (listen_fd_ < 0) return;
  // Connections whose slice ran out with requests left go first, then what
  // epoll reports (level-triggered: what is left is reported again).
  for (size_t i = 0; i < connections_.size();) {
    Connection* c = connections_[i].get();
    if (c->more && !Serve(c)) {
      Close(c);  // moves the last one into slot i
    } else {
      ++i;
    }
  }
  epoll_event events[kConnectionLimit + 1];
  const int n = epoll_wait(epoll_fd_, events, static_cast<int>(kConnectionLimit + 1), 0);
  for (int i = 0; i < n; ++i) {
    auto* c = static_cast<Connection*>(events[i].data.ptr);
    if (c == nullptr) {
      Accept();
    } else if (!Serve(c)) {
      Close(c);
    }
  }
  const int64_t now = clock_->MonotonicUs();
  for (size_t i = 0; i < connections_.size();) {
    Connection* c = connections_[i].get();
    if (now >= Deadline(*c)) {
      Warn("%s: closed after %lld s without progress", c->peer.c_str(),
           static_cast<long long>(kConnectionTimeoutUs / 1000000));
      Close(c);
    } else {
      ++i;
    }
  }
}

void HttpServer::Accept() {
  for (int i = 0; i < kAcceptsPerRun; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // EAGAIN: none left. Others (a connection reset before it was taken,
      // EMFILE): try again at the next Run(), the socket stays ready.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        Warn("cannot accept a connection: %s", std::strerror(errno));
      }
      return;
    }
    const std::string peer = AddressText(reinterpret_cast<sockaddr*>(&addr), len);
    if (connections_.size() >= kConnectionLimit) {
      // Taken and closed at once, rather than left in the backlog: the
      // listening socket would stay ready and the loop spin. A short answer
      // first, into the empty socket buffer, so the client knows why.
      static constexpr char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 21\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
          "too many connections\n";
      (void)!send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      Warn("%s: refused, %zu connections open already", peer.c_str(), kConnectionLimit);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->peer = peer;
    c->last_io_us = clock_->MonotonicUs();
    connections_.push_back(std::move(c));
    Watch(connections_.back().get(), EPOLLIN);
    if (connections_.back()->watched == 0) Close(connections_.back().get());
  }
}

void HttpServer::Watch(Connection* c, uint32_t events) {
  if (c->watched == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = c;
  if (epoll_ctl(epoll_fd_, c->watched == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) == 0) {
    c->watched = events;
  } else {
    Warn("%s: cannot watch the connection: %s", c->peer.c_str(), std::strerror(errno));
  }
}

void HttpServer::Close(Connection* c) {
  // Lingering a little: what the client sent and we did not read would make
  // close() send a reset, which can destroy the answer before it is read.
  if (c->close_after) {
    shutdown(c->fd, SHUT_WR);
    char buf[4096];
    for (int i = 0; i < 16 && recv(c->fd, buf, sizeof buf, MSG_DONTWAIT) > 0; ++i) {
    }
  }
  ::close(c->fd);  // also leaves the epoll set
  for (auto& slot : connections_) {
    if (slot.get() == c) {
      std::swap(slot, connections_.back());
      connections_.pop_back();
      return;
    }
  }
}

bool HttpServer::Flush(Connection* c, size_t* budget) {
  while (c->sending() && *budget > 0) {
    iovec iov[2];
    int n = 0;
    if (c->head_sent < c->head.size()) {
      iov[n].iov_base = c->head.data() + c->head_sent;
      iov[n++].iov_len = c->head.size() - c->head_sent;
    }
    if (!c->body.empty()) {
      iov[n].iov_base = const_cast<char*>(c->body.data());
      iov[n++].iov_len = std::min(c->body.size(), *budget);
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    const ssize_t sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return false;  // the client went away
    }
    c->last_io_us = clock_->MonotonicUs();
    size_t left = static_cast<size_t>(sent);
    *budget -= std::min(left, *budget);
    const size_t from_head = std::min(left, c->head.size() - c->head_sent);
    c->head_sent += from_head;
    left -= from_head;
    c->body.remove_prefix(left);
  }
  if (!c->sending()) {
    // Nothing of the answer stays allocated once it is sent.
    c->owned.reset();
    c->body = {};
    c->head.clear();
    c->head_sent = 0;
  }
  return true;
}

bool HttpServer::Serve(Connection* c) {
  c->more = false;
  size_t write_budget = kWriteBudget;
  int reads = 0, requests = 0;
  for (;;) {
    if (c->sending()) {
      if (!Flush(c, &write_budget)) return false;
      if (c->sending()) {
        // The socket is full (wait for room) or the slice is used up (the
        // socket stays writable: epoll reports it again).
        Watch(c, EPOLLOUT);
        return true;
      }
    }
    if (c->close_after) return false;
    // Discard the body of the last request.
    const size_t skipped = static_cast<size_t>(std::min<uint64_t>(c->skip, c->in.size()));
    c->in.erase(0, skipped);
    c->skip -= skipped;
    if (c->skip == 0 && !c->in.empty()) {
      if (requests == kRequestsPerRun) {
        c->more = true;  // timeout_ms() says 0: the next Run() goes on
        Watch(c, EPOLLIN);
        return true;
      }
      HttpRequest request;
      const HttpParseResult parsed = ParseHttpRequest(c->in, &request);
      if (parsed.outcome != HttpParseResult::kIncomplete) {
        ++requests;
        c->head_started_us = kNever;
        Response r;
        bool head_only = false;
        if (parsed.outcome == HttpParseResult::kError) {
          Warn("%s: %d: %s", c->peer.c_str(), parsed.status, parsed.reason);
          r.status = parsed.status;
          r.body = ErrorBody(parsed.status);
          r.close = true;
          c->in.clear();
        } else if (request.method != "GET" && request.method != "HEAD") {
          // Not read: its body, nor anything after it.
          r.status = 405;
          r.body = "method not allowed\n";
          r.extra_header = "Allow";
          r.extra_value = "GET, HEAD";
          r.close = true;
          c->in.clear();
        } else {
          head_only = request.method == "HEAD";
          Answer(request.path, &r);
          r.close = !request.keep_alive;
          r.keep_alive = request.keep_alive && request.minor_version == 0;
          c->in.erase(0, parsed.head_bytes);
          c->skip = request.content_length;
        }
        Queue(c, &r, head_only);
        continue;
      }
      if (c->head_started_us == kNever) c->head_started_us = clock_->MonotonicUs();
    }
    if (reads == kReadsPerRun) {
      Watch(c, EPOLLIN);
      return true;  // level-triggered: reported again if more is there
    }
    ++reads;
    char buf[kReadChunk];
    const ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return false;  // the client is done: nothing complete is left
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        Watch(c, EPOLLIN);
        if (c->in.empty() && c->in.capacity() > kReadChunk) std::string().swap(c->in);
        return true;
      }
      return false;
    }
    c->last_io_us = clock_->MonotonicUs();
    size_t used = 0;
    if (c->skip > 0 && c->in.empty()) {
      used = static_cast<size_t>(std::min<uint64_t>(c->skip, static_cast<uint64_t>(n)));
      c->skip -= used;
    }
    c->in.append(buf + used, static_cast<size_t>(n) - used);
  }
}

void HttpServer::Queue(Connection* c, Response* r, bool head_only) {
  char line[160];
  std::snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n", r->status, StatusText(r->status),
                r->body.size());
  std::string& h = c->head;
  h.assign(line);
  h.append("Content-Type: ").append(r->type).append("\r\n");
  h.append("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
  if (r->extra_header != nullptr) h.append(r->extra_header).append(": ").append(r->extra_value).append("\r\n");
  if (r->close) h.append("Connection: close\r\n");
  if (r->keep_alive) h.append("Connection: keep-alive\r\n");
  h.append("\r\n");
  c->head_sent = 0;
  c->close_after = r->close;
  if (head_only) {
    c->body = {};
    c->owned.reset();
  } else {
    c->body = r->body;
    c->owned = std::move(r->owned);
  }
}

void HttpServer::Answer(std::string_view path, Response* r) {
  if (path == "/") {
    r->body = kDashboardHtml;
    r->type = kHtmlType;
    r->extra_header = "Content-Security-Policy";
    r->extra_value = kDashboardPolicy;
    return;
  }
  if (path == "/dashboard.js") {
    r->body = kDashboardJs;
    r->type = kScriptType;
    return;
  }
  if (path == "/dashboard.css") {
    r->body = kDashboardCss;
    r->type = kStyleType;
    return;
  }
  Endpoint e;
  if (path == "/metrics") {
    e = kMetrics;
  } else if (path == "/healthz") {
    e = kHealthz;
  } else if (path == "/api/windows") {
    e = kWindows;
  } else if (path == "/api/alerts") {
    e = kAlerts;
  } else if (path == "/api/alerts/pending") {
    e = kPending;
  } else if (path == "/api/config") {
    e = kConfig;
  } else if (path == "/api/links") {
    e = kLinks;
  } else if (path == "/api/rules" || path.substr(0, 11) == "/api/rules/") {
    e = kRules;
  } else {
    r->status = 404;
    r->body = "not found\n";
    return;
  }
  // The body is built in a string of its own, sent from there and freed
  // once sent: nothing of a large answer (/metrics
  // lists every key) stays allocated between requests. The last size of the
  // endpoint's answer sizes the buffer, so it is not built by doublings.
  auto body = std::make_unique<std::string>();
  body->reserve(body_size_hint_[e] + body_size_hint_[e] / 8);
  int status = 200;
  const char* type = kJsonType;
  switch (e) {
    case kMetrics:
      content_->WriteMetrics(body.get());
      type = kMetricsType;
      break;
    case kHealthz: {
      std::string why;
      if (content_->Healthy(&why)) {
        *body = "ok\n";
      } else {
        status = 503;
        *body = why.empty() ? std::string("unhealthy") : why;
        if (body->back() != '\n') body->push_back('\n');
      }
      type = kTextType;
      break;
    }
    case kWindows:
      content_->WriteWindows(body.get());
      break;
    case kAlerts:
      content_->WriteAlerts(body.get());
      break;
    case kLinks:
      content_->WriteLinks(body.get());
      break;
    case kPending:
      content_->WritePendingAlerts(body.get());
      break;
    case kConfig:
      content_->WriteConfig(body.get());
      break;
    case kEndpointCount:
      break;
    case kRules:
      if (!content_->WriteRule(path.size() > 11 ? path.substr(11) : std::string_view(), body.get())) {
        r->status = 404;
        r->body = "no such rule\n";
        return;
      }
      break;
  }
  body_size_hint_[e] = body->size();
  r->status = status;
  r->type = type;
  r->body = *body;
  r->owned = std::move(body);
}

}  // namespace sensorgate
