#include "gateway/http/http_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "gateway/http/dashboard_html.h"
#include "gateway/base/log.h"

namespace sensorgate {
namespace {

constexpr unsigned int kConnectionLimit = 64;
// libmicrohttpd's own limit, never reached (see Callbacks::Accept).
constexpr unsigned int kMhdConnectionLimit = 4 * kConnectionLimit;
constexpr unsigned int kConnectionTimeoutSeconds = 30;

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

// Adds the headers every answer carries, queues `response` and drops our
// reference to it (libmicrohttpd keeps it until it is sent).
MHD_Result QueueResponse(MHD_Connection* connection, unsigned int status, MHD_Response* response,
                         const char* content_type, const char* extra_header = nullptr,
                         const char* extra_value = nullptr) {
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
  if (extra_header != nullptr) MHD_add_response_header(response, extra_header, extra_value);
  const MHD_Result r = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return r;
}

// Queues a body that lives as long as the program (a literal).
MHD_Result Queue(MHD_Connection* connection, unsigned int status, std::string_view body,
                 const char* content_type, const char* extra_header = nullptr,
                 const char* extra_value = nullptr) {
  return QueueResponse(connection, status,
                       MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                       MHD_RESPMEM_PERSISTENT),
                       content_type, extra_header, extra_value);
}

// Queues `body` without copying it: libmicrohttpd frees it once the
// response is done with (it is freed here if no response can be made).
MHD_Result QueueOwned(MHD_Connection* connection, unsigned int status, std::unique_ptr<std::string> body,
                      const char* content_type) {
  MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, body.get());
  if (response != nullptr) body.release();  // the response owns it now
  return QueueResponse(connection, status, response, content_type);
}

}  // namespace

// Collects libmicrohttpd's messages while Start() runs, to return them in
// the Status; after that, logs them (rate-limited: clients can cause them).
struct HttpServer::LogSink {
  std::string* start_messages = nullptr;
  RateLimiter limiter{10, 1};
};

struct HttpServer::Callbacks {
  // Connections are counted here and refused above kConnectionLimit, so
  // that libmicrohttpd's own limit is never reached: at its limit, in epoll
  // mode (0.9.75), it takes the listening socket out of its epoll set and,
  // when the connections closed while the loop was busy, never put it back.
  static MHD_Result Accept(void* cls, const sockaddr* /*addr*/, socklen_t /*len*/) {
    return static_cast<HttpServer*>(cls)->open_connections_ < kConnectionLimit ? MHD_YES : MHD_NO;
  }
  static void Notify(void* cls, MHD_Connection* /*connection*/, void** /*socket_context*/,
                     MHD_ConnectionNotificationCode code) {
    HttpServer* server = static_cast<HttpServer*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) ++server->open_connections_;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED && server->open_connections_ > 0) --server->open_connections_;
  }

  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* /*version*/,
                           const char* /*upload_data*/, size_t* upload_data_size,
                           void** request_state) {
    HttpServer* server = static_cast<HttpServer*>(cls);
    if (*request_state == nullptr) {
      // The headers are in. A method we do not serve is answered now (its
      // body is not read and the connection closes); GET and HEAD wait for
      // the end of the request, so the connection can be kept alive.
      const std::string_view m(method);
      if (m != MHD_HTTP_METHOD_GET && m != MHD_HTTP_METHOD_HEAD) {
        return server->Respond(connection, url, method) ? MHD_YES : MHD_NO;
      }
      *request_state = server;
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      *upload_data_size = 0;  // a body on GET means nothing here: skip it
      return MHD_YES;
    }
    return server->Respond(connection, url, method) ? MHD_YES : MHD_NO;
  }

  static void Log(void* cls, const char* format, va_list args) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, format, args);
    size_t n = std::strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    LogSink* sink = static_cast<LogSink*>(cls);
    if (sink->start_messages != nullptr) {
      if (!sink->start_messages->empty()) sink->start_messages->append("; ");
      sink->start_messages->append(buf, n);
    } else if (sink->limiter.Allow(MonotonicMicros())) {
      sensorgate::Log(LogLevel::kWarning, "http: %s", buf);
    }
  }
};

HttpServer::HttpServer(HttpContent* content) : content_(content), log_sink_(new LogSink) {}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

Status HttpServer::Start(const HostPort& listen_addr) {
  const std::string& listen = listen_addr.text;
  const std::string where = "[http] listen = " + listen;
  if (daemon_ != nullptr) return Status::Error(where + ": the HTTP server is already started");
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

  LogSink* sink = log_sink_.get();
  std::string errors;
  for (addrinfo* a = found; a != nullptr && daemon_ == nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    std::string messages;
    sink->start_messages = &messages;
    // MHD_USE_EPOLL without an internal thread: the caller's loop drives it.
    const unsigned int flags =
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (a->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    // The logger first, so that it gets the messages about the other options.
    daemon_ = MHD_start_daemon(
        flags, port, &Callbacks::Accept, this, &Callbacks::Access, this,
        MHD_OPTION_EXTERNAL_LOGGER, &Callbacks::Log, sink, MHD_OPTION_SOCK_ADDR, a->ai_addr,
        MHD_OPTION_NOTIFY_CONNECTION, &Callbacks::Notify, this,
        MHD_OPTION_CONNECTION_LIMIT, kMhdConnectionLimit, MHD_OPTION_CONNECTION_TIMEOUT,
        kConnectionTimeoutSeconds, MHD_OPTION_END);
    sink->start_messages = nullptr;
    if (daemon_ == nullptr) {
      if (!errors.empty()) errors.append("; ");
      // Name the address when it is not the one written in listen (a host name).
      const std::string address = AddressText(a->ai_addr, a->ai_addrlen);
      if (address != listen) errors += address + ": ";
      errors += messages.empty() ? std::string("cannot start the HTTP server") : messages;
    }
  }
  freeaddrinfo(found);
  if (daemon_ == nullptr) {
    if (errors.empty()) errors = "no IPv4 or IPv6 address for " + host;
    return Status::Error(where + ": " + errors);
  }

  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
  const MHD_DaemonInfo* bound = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  if (info == nullptr || bound == nullptr) {
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
    return Status::Error(where + ": libmicrohttpd gives no epoll descriptor or port");
  }
  epoll_fd_ = info->epoll_fd;
  port_ = bound->port;
  return Status::Ok();
}

int HttpServer::epoll_fd() const { return epoll_fd_; }

int64_t HttpServer::timeout_ms() const {
  if (daemon_ == nullptr) return -1;
  MHD_UNSIGNED_LONG_LONG t = 0;
  if (MHD_get_timeout(daemon_, &t) != MHD_YES) return -1;
  constexpr auto kMax = static_cast<MHD_UNSIGNED_LONG_LONG>(std::numeric_limits<int64_t>::max());
  return t > kMax ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(t);
}

void HttpServer::Run() {
  if (daemon_ != nullptr) MHD_run(daemon_);
}

bool HttpServer::Respond(MHD_Connection* connection, const char* url, const char* method) {
  const std::string_view m(method);
  if (m != MHD_HTTP_METHOD_GET && m != MHD_HTTP_METHOD_HEAD) {
    return Queue(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", kTextType,
                 MHD_HTTP_HEADER_ALLOW, "GET, HEAD") == MHD_YES;
  }
  const std::string_view path(url);
  if (path == "/") {
    return Queue(connection, MHD_HTTP_OK, kDashboardHtml, kHtmlType, "Content-Security-Policy",
                 kDashboardPolicy) == MHD_YES;
  }
  if (path == "/dashboard.js") {
    return Queue(connection, MHD_HTTP_OK, kDashboardJs, kScriptType) == MHD_YES;
  }
  if (path == "/dashboard.css") {
    return Queue(connection, MHD_HTTP_OK, kDashboardCss, kStyleType) == MHD_YES;
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
    return Queue(connection, MHD_HTTP_NOT_FOUND, "not found\n", kTextType) == MHD_YES;
  }
  // The body is built in a string of its own, handed to libmicrohttpd
  // without a copy and freed once sent: nothing of a large answer (/metrics
  // lists every key) stays allocated between requests. The last size of the
  // endpoint's answer sizes the buffer, so it is not built by doublings.
  auto body = std::make_unique<std::string>();
  body->reserve(body_size_hint_[e] + body_size_hint_[e] / 8);
  unsigned int status = MHD_HTTP_OK;
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
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
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
        return Queue(connection, MHD_HTTP_NOT_FOUND, "no such rule\n", kTextType) == MHD_YES;
      }
      break;
  }
  body_size_hint_[e] = body->size();
  return QueueOwned(connection, status, std::move(body), type) == MHD_YES;
}

}  // namespace sensorgate
