#include "gateway/sources/mqtt/mqtt_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "gateway/sources/mqtt/openssl_api.h"

namespace sensorgate {
namespace {

constexpr int64_t kResolvePollUs = 20 * 1000;
constexpr size_t kReadChunk = 64 * 1024;

// Name lookups that could not be cancelled when their connection closed:
// getaddrinfo_a() still writes into them, so they are freed once done.
}  // namespace

struct MqttConnection::Lookup {
  gaicb request{};
  addrinfo hints{};
  std::string host, port;
};
namespace {

std::mutex g_orphans_mu;
std::vector<MqttConnection::Lookup*> g_orphans;

void ReapOrphans() {
  std::lock_guard<std::mutex> lock(g_orphans_mu);
  for (auto it = g_orphans.begin(); it != g_orphans.end();) {
    if (gai_error(&(*it)->request) != EAI_INPROGRESS) {
      if ((*it)->request.ar_result != nullptr) freeaddrinfo((*it)->request.ar_result);
      delete *it;
      it = g_orphans.erase(it);
    } else {
      ++it;
    }
  }
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string OpenSslReason() {
  const unsigned long e = OpenSsl().ERR_get_error();
  OpenSsl().ERR_clear_error();
  if (e == 0) return "";
  const char* reason = OpenSsl().ERR_reason_error_string(e);
  if (reason != nullptr) return reason;
  char buf[256];
  OpenSsl().ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

const char* TypeName(uint8_t type) {
  static const char* const kNames[] = {"reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
                                       "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE",
                                       "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "reserved"};
  return kNames[type & 15];
}

}  // namespace

MqttConnection::MqttConnection(int epoll_fd, Clock* clock, Handler* handler, size_t max_payload)
    : epoll_fd_(epoll_fd), clock_(clock), handler_(handler), max_payload_(max_payload) {}

MqttConnection::~MqttConnection() { Shut(); }

void MqttConnection::Begin(const Settings& settings) {
  Shut();
  settings_ = settings;
  deadline_us_ = clock_->MonotonicUs() + settings_.connect_timeout_us;
  // Started by the next Poll() (due at once): whatever happens is reported
  // from there, never from inside Begin().
  state_ = State::kResolving;
  resolve_check_us_ = clock_->MonotonicUs();
}

void MqttConnection::StartConnect() {
  ReapOrphans();
  if (settings_.tls) {
    // Loaded here, not at start: a broker without TLS never needs OpenSSL.
    const Status& loaded = LoadOpenSsl();
    if (!loaded.ok()) return Fail("cannot connect: TLS: " + loaded.message());
    const OpenSslApi& ssl = OpenSsl();
    ctx_ = ssl.SSL_CTX_new(ssl.TLS_client_method());
    if (ctx_ == nullptr) return Fail("cannot connect: TLS: cannot make a context: " + OpenSslReason());
    ssl.SSL_CTX_ctrl(ctx_, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, nullptr);  // SSL_CTX_set_min_proto_version
    ssl.SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl.SSL_CTX_ctrl(ctx_, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
                     nullptr);  // SSL_CTX_set_mode
    const bool cas = settings_.ca_file.empty()
                         ? ssl.SSL_CTX_set_default_verify_paths(ctx_) == 1
                         : ssl.SSL_CTX_load_verify_locations(ctx_, settings_.ca_file.c_str(), nullptr) == 1;
    if (!cas) {
      return Fail("cannot connect: TLS: cannot load " + (settings_.ca_file.empty() ? std::string("the system's CAs")
                                                                   : "[mqtt] ca_file = " + settings_.ca_file) +
                  ": " + OpenSslReason());
    }
    if (!settings_.cert_file.empty()) {
      if (ssl.SSL_CTX_use_certificate_chain_file(ctx_, settings_.cert_file.c_str()) != 1) {
        return Fail("cannot connect: TLS: cannot load [mqtt] cert_file = " + settings_.cert_file + ": " + OpenSslReason());
      }
      if (ssl.SSL_CTX_use_PrivateKey_file(ctx_, settings_.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
          ssl.SSL_CTX_check_private_key(ctx_) != 1) {
        return Fail("cannot connect: TLS: cannot load [mqtt] key_file = " + settings_.key_file + " (or it does not match cert_file): " +
                    OpenSslReason());
      }
    }
  }
  auto* lookup = new Lookup;
  lookup->host = settings_.broker.host;
  lookup->port = std::to_string(settings_.broker.port);
  lookup->hints.ai_family = AF_UNSPEC;
  lookup->hints.ai_socktype = SOCK_STREAM;
  lookup->request.ar_name = lookup->host.c_str();
  lookup->request.ar_service = lookup->port.c_str();
  lookup->request.ar_request = &lookup->hints;
  lookup_ = lookup;
  if (IsIpLiteral(lookup->host)) {
    lookup->hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    const int rc = getaddrinfo(lookup->host.c_str(), lookup->port.c_str(), &lookup->hints, &addresses_);
    if (rc != 0) return Fail("cannot connect: cannot resolve " + lookup->host + ": " + gai_strerror(rc));
    next_address_ = addresses_;
    return TryNextAddress();
  }
  lookup->hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  gaicb* list[1] = {&lookup->request};
  const int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr);
  if (rc != 0) return Fail("cannot connect: cannot resolve " + lookup->host + ": " + gai_strerror(rc));
  state_ = State::kResolving;
  resolve_check_us_ = clock_->MonotonicUs() + kResolvePollUs;
}

void MqttConnection::TryNextAddress() {
  while (next_address_ != nullptr) {
    const addrinfo* a = next_address_;
    next_address_ = next_address_->ai_next;
    fd_ = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      last_connect_error_ = std::strerror(errno);
      continue;
    }
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd_, a->ai_addr, a->ai_addrlen) == 0) {
      state_ = State::kConnecting;
      return ConnectDone();
    }
    if (errno == EINPROGRESS) {
      state_ = State::kConnecting;
      Watch();
      return;
    }
    last_connect_error_ = std::strerror(errno);
    close(fd_);
    fd_ = -1;
  }
  Fail("cannot connect: " + (last_connect_error_.empty() ? std::string("no address") : last_connect_error_));
}

void MqttConnection::ConnectDone() {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    last_connect_error_ = std::strerror(err);
    Unwatch();
    close(fd_);
    fd_ = -1;
    return TryNextAddress();
  }
  if (!settings_.tls) return SendConnect();
  const OpenSslApi& ssl = OpenSsl();
  ssl_ = ssl.SSL_new(ctx_);
  if (ssl_ == nullptr || ssl.SSL_set_fd(ssl_, fd_) != 1) return Fail("cannot connect: TLS: " + OpenSslReason());
  const std::string& host = settings_.broker.host;
  if (IsIpLiteral(host)) {
    ssl.X509_VERIFY_PARAM_set1_ip_asc(ssl.SSL_get0_param(ssl_), host.c_str());
  } else {
    // SSL_set_tlsext_host_name
    ssl.SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
    ssl.SSL_set1_host(ssl_, host.c_str());
  }
  state_ = State::kHandshake;
  HandshakeStep();
}

void MqttConnection::HandshakeStep() {
  OpenSsl().ERR_clear_error();
  const int rc = OpenSsl().SSL_connect(ssl_);
  if (rc == 1) return SendConnect();
  const int err = OpenSsl().SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    tls_want_write_ = err == SSL_ERROR_WANT_WRITE;
    Watch();
    return;
  }
  Fail("cannot connect: TLS handshake: " + TlsErrorText(err, rc));
}

void MqttConnection::SendConnect() {
  mqtt::ConnectOptions o;
  o.client_id = settings_.client_id;
  o.username = settings_.username;
  o.password = settings_.password;
  o.clean_session = settings_.clean_session;
  o.keep_alive_s = settings_.keep_alive_s;
  mqtt::AppendConnect(o, &out_);
  state_ = State::kAwaitConnAck;
  last_received_us_ = clock_->MonotonicUs();
  if (!in_) in_.reset(new uint8_t[capacity()]);  // not zeroed: pages become resident as they are used
  Flush();
  if (state_ != State::kIdle) Watch();
}

std::string MqttConnection::TlsErrorText(int ssl_error, int ret) {
  const std::string hint =
      settings_.cert_file.empty()
          ? "; if the broker requires client certificates, set [mqtt] cert_file and key_file"
          : "";
  const long verify = ssl_ != nullptr ? OpenSsl().SSL_get_verify_result(ssl_) : X509_V_OK;
  std::string reason = OpenSslReason();
  if (verify != X509_V_OK) {
    return "the broker's certificate was refused: certificate verify failed (" +
           std::string(OpenSsl().X509_verify_cert_error_string(verify)) + "); checked against " +
           (settings_.ca_file.empty() ? std::string("the system's CAs") : "[mqtt] ca_file = " + settings_.ca_file);
  }
  if (ssl_error == SSL_ERROR_SSL && !reason.empty()) {
    if (reason.find("alert") != std::string::npos) {
      // The broker's alert: "tlsv13 alert certificate required", "sslv3
      // alert bad certificate", "tlsv1 alert unknown ca" ...
      const bool about_us = reason.find("certificate required") != std::string::npos ||
                            reason.find("handshake failure") != std::string::npos ||
                            reason.find("bad certificate") != std::string::npos;
      return "the broker ended the TLS session (" + reason + ")" + (about_us ? hint : "");
    }
    return reason;
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN || (ssl_error == SSL_ERROR_SYSCALL && (ret == 0 || errno == 0))) {
    return "the broker closed the connection" + hint;
  }
  if (ssl_error == SSL_ERROR_SYSCALL) return std::strerror(errno) + hint;
  return reason.empty() ? "TLS error " + std::to_string(ssl_error) : reason;
}

ssize_t MqttConnection::RawRead(char* buf, size_t len, bool* closed) {
  *closed = false;
  if (ssl_ == nullptr) {
    const ssize_t n = recv(fd_, buf, len, 0);
    if (n == 0) {
      *closed = true;
      closed_why_ = "the broker closed the connection";
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      *closed = true;
      closed_why_ = std::strerror(errno);
    }
    return n;
  }
  OpenSsl().ERR_clear_error();
  const int n = OpenSsl().SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
  if (n > 0) return n;
  const int err = OpenSsl().SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_READ) return -1;
  if (err == SSL_ERROR_WANT_WRITE) {
    tls_want_write_ = true;
    return -1;
  }
  *closed = true;
  closed_why_ = TlsErrorText(err, n);
  if (state_ == State::kOpen && err == SSL_ERROR_ZERO_RETURN) closed_why_ = "the broker closed the connection";
  return -1;
}

ssize_t MqttConnection::RawWrite(const char* buf, size_t len) {
  if (ssl_ == nullptr) return send(fd_, buf, len, MSG_NOSIGNAL);
  OpenSsl().ERR_clear_error();
  tls_want_write_ = false;
  const int n = OpenSsl().SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
  if (n > 0) return n;
  const int err = OpenSsl().SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
    tls_want_write_ = err == SSL_ERROR_WANT_WRITE;
    errno = EAGAIN;
    return -1;
  }
  closed_why_ = TlsErrorText(err, n);
  errno = EPIPE;
  return -1;
}

void MqttConnection::Flush() {
  while (out_begin_ < out_.size()) {
    const ssize_t n = RawWrite(out_.data() + out_begin_, out_.size() - out_begin_);
    if (n > 0) {
      out_begin_ += static_cast<size_t>(n);
      last_sent_us_ = clock_->MonotonicUs();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (errno == EINTR) continue;
      break;
    }
    if (closed_why_.empty()) closed_why_ = std::strerror(errno);
    return Fail("connection lost (" + closed_why_ + ")");
  }
  if (out_begin_ == out_.size()) {
    out_.clear();
    out_begin_ = 0;
  }
}

bool MqttConnection::ReadSome(size_t max_bytes) {
  size_t total = 0;
  bool more = false;
  bool closed = false;
  while (state_ == State::kAwaitConnAck || state_ == State::kOpen) {
    if (total >= max_bytes) {
      more = true;
      break;
    }
    const size_t room = capacity() - in_end_;
    if (room == 0) {  // cannot happen: HandleInput() makes room or skips (kept as a guard)
      Fail("connection closed: the input buffer is full");
      return false;
    }
    const ssize_t n = RawRead(reinterpret_cast<char*>(in_.get()) + in_end_, std::min(room, kReadChunk), &closed);
    if (n <= 0) break;
    in_end_ += static_cast<size_t>(n);
    total += static_cast<size_t>(n);
    last_received_us_ = clock_->MonotonicUs();
    ping_sent_us_ = 0;  // anything from the broker shows the connection is alive
    if (!HandleInput()) return false;
  }
  // The batch is stored by the handler before its acknowledgements go out,
  // even when the connection closed meanwhile (the broker sends those
  // messages again: they are dropped as duplicates).
  if (last_messages_ > 0) handler_->OnBatchEnd();
  if (closed) {
    const bool was_open = state_ == State::kOpen;
    const std::string why = closed_why_;
    Shut();
    handler_->OnClosed(was_open ? "connection lost (" + why + ")" : "cannot connect: " + why, was_open);
    return false;
  }
  if (!acks_.empty() && state_ != State::kIdle) {
    out_.append(acks_);
    acks_.clear();
  }
  return more;
}

bool MqttConnection::HandleInput() {
  const uint8_t* base = in_.get();
  while (in_begin_ < in_end_) {
    const size_t avail = in_end_ - in_begin_;
    const uint8_t* p = base + in_begin_;
    if (skip_ > 0) {
      const size_t drop = static_cast<size_t>(std::min<uint64_t>(skip_, avail));
      skip_ -= drop;
      in_begin_ += drop;
      continue;
    }
    size_t header = 0;
    uint32_t body = 0;
    const mqtt::Split split = mqtt::MqttSplit(p, avail, &header, &body);
    if (split == mqtt::Split::kBad) {
      Fail("connection closed: the broker sent a malformed packet (remaining length)");
      return false;
    }
    const uint8_t type = p[0] >> 4;
    if (split == mqtt::Split::kNeedMore) {
      if (header == 0 || header + static_cast<size_t>(body) <= capacity()) break;  // the rest is coming
      // Longer than the buffer: only a PUBLISH may be, and its payload is
      // then too long to keep: it goes on with its topic, the rest is skipped.
      if (type != mqtt::kPublish) {
        Fail(std::string("connection closed: the broker sent a ") + TypeName(type) + " of " +
             std::to_string(body) + " bytes");
        return false;
      }
      const size_t head = mqtt::PublishHeadLength(p[0], p + header, avail - header);
      if (head == 0) break;
      mqtt::Publish m;
      if (!mqtt::ParsePublish(p[0], p + header, body, head, &m)) {
        Fail("connection closed: the broker sent a malformed PUBLISH");
        return false;
      }
      m.payload = {};
      Deliver(m, true);
      skip_ = header + static_cast<uint64_t>(body) - avail;
      in_begin_ = in_end_;
      break;
    }
    if (!HandlePacket(p[0], p + header, body)) return false;
    in_begin_ += header + body;
  }
  // Keep what is left at the front of the buffer.
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_begin_ > 0 && (in_end_ == capacity() || in_begin_ > capacity() / 2)) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  return true;
}

void MqttConnection::Deliver(const mqtt::Publish& m, bool too_long) {
  handler_->OnPublish(m, too_long);
  ++last_messages_;
  if (m.qos == 1) mqtt::AppendAck(mqtt::kPubAck, m.packet_id, &acks_);
  if (m.qos == 2) mqtt::AppendAck(mqtt::kPubRec, m.packet_id, &acks_);
  if (m.qos > 0) last_needed_acks_ = true;
}

bool MqttConnection::HandlePacket(uint8_t first, const uint8_t* body, uint32_t len) {
  const uint8_t type = first >> 4;
  if (state_ == State::kAwaitConnAck && type != mqtt::kConnAck) {
    Fail(std::string("cannot connect: the broker sent a ") + TypeName(type) + " before its CONNACK");
    return false;
  }
  switch (type) {
    case mqtt::kConnAck: {
      if (state_ != State::kAwaitConnAck || len != 2) {
        Fail("connection closed: the broker sent an unexpected CONNACK");
        return false;
      }
      if (body[1] != 0) {
        Fail("cannot connect: " + mqtt::ConnAckText(body[1]) + " (CONNACK " + std::to_string(body[1]) + ")");
        return false;
      }
      state_ = State::kOpen;
      handler_->OnConnected((body[0] & 1) != 0);
      return state_ == State::kOpen;
    }
    case mqtt::kPublish: {
      mqtt::Publish m;
      if (!mqtt::ParsePublish(first, body, len, len, &m)) {
        Fail("connection closed: the broker sent a malformed PUBLISH");
        return false;
      }
      const bool too_long = m.payload.size() > max_payload_;
      if (too_long) m.payload = {};
      Deliver(m, too_long);
      return true;
    }
    case mqtt::kPubRel:
      if (len >= 2) mqtt::AppendAck(mqtt::kPubComp, static_cast<uint16_t>(body[0] << 8 | body[1]), &acks_);
      return true;
    case mqtt::kSubAck:
      if (len < 3) {
        Fail("connection closed: the broker sent a malformed SUBACK");
        return false;
      }
      handler_->OnSubAck(static_cast<uint16_t>(body[0] << 8 | body[1]), body + 2, len - 2);
      return state_ == State::kOpen;
    case mqtt::kPingResp:
    case mqtt::kUnsubAck:
    case mqtt::kPubAck:
    case mqtt::kPubRec:
    case mqtt::kPubComp:
      return true;
    default:
      Fail(std::string("connection closed: the broker sent a ") + TypeName(type) + ", which a client never gets");
      return false;
  }
}

void MqttConnection::Subscribe(uint16_t packet_id, const std::vector<std::string>& filters, int qos) {
  mqtt::AppendSubscribe(packet_id, filters, qos, &out_);
  Flush();
  if (state_ != State::kIdle) Watch();
}

void MqttConnection::Unsubscribe(uint16_t packet_id, const std::vector<std::string>& filters) {
  mqtt::AppendUnsubscribe(packet_id, filters, &out_);
  Flush();
  if (state_ != State::kIdle) Watch();
}

bool MqttConnection::Poll(size_t max_bytes) {
  last_messages_ = 0;
  last_needed_acks_ = false;
  const int64_t now = clock_->MonotonicUs();
  switch (state_) {
    case State::kIdle:
      return false;
    case State::kResolving: {
      if (lookup_ == nullptr) {
        StartConnect();
        break;
      }
      const int rc = gai_error(&lookup_->request);
      if (rc == EAI_INPROGRESS) {
        resolve_check_us_ = now + kResolvePollUs;
        break;
      }
      if (rc != 0) {
        Fail("cannot connect: cannot resolve " + settings_.broker.host + ": " + gai_strerror(rc));
        return false;
      }
      addresses_ = lookup_->request.ar_result;
      lookup_->request.ar_result = nullptr;
      next_address_ = addresses_;
      TryNextAddress();
      break;
    }
    case State::kConnecting: {
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, 0) == 1) ConnectDone();
      break;
    }
    case State::kHandshake:
      HandshakeStep();
      break;
    case State::kAwaitConnAck:
    case State::kOpen:
      break;
  }
  bool more = false;
  if (state_ == State::kAwaitConnAck || state_ == State::kOpen) {
    Flush();
    if (state_ != State::kIdle) more = ReadSome(max_bytes);
    if (state_ != State::kIdle) Flush();
  }
  if (state_ == State::kIdle) return false;
  // Timers.
  const int64_t t = clock_->MonotonicUs();
  if (state_ != State::kOpen && t >= deadline_us_) {
    Fail("cannot connect: no answer in " + std::to_string(settings_.connect_timeout_us / 1000000) + " s");
    return false;
  }
  if (state_ == State::kOpen) {
    const int64_t keep = static_cast<int64_t>(settings_.keep_alive_s) * 1000000;
    if (ping_sent_us_ != 0 && t - ping_sent_us_ >= keep) {
      Fail("connection lost (no answer from the broker in " + std::to_string(settings_.keep_alive_s) + " s)");
      return false;
    }
    if (keep > 0 && ping_sent_us_ == 0 && t - last_sent_us_ >= keep) {
      mqtt::AppendPingReq(&out_);
      ping_sent_us_ = t;
      Flush();
      if (state_ == State::kIdle) return false;
    }
  }
  Watch();
  return more;
}

int64_t MqttConnection::next_due_us() const {
  switch (state_) {
    case State::kIdle: return kNever;
    case State::kResolving: return std::min(resolve_check_us_, deadline_us_);
    case State::kConnecting:
    case State::kHandshake:
    case State::kAwaitConnAck: return deadline_us_;
    case State::kOpen: {
      const int64_t keep = static_cast<int64_t>(settings_.keep_alive_s) * 1000000;
      if (keep == 0) return kNever;
      return ping_sent_us_ != 0 ? ping_sent_us_ + keep : last_sent_us_ + keep;
    }
  }
  return kNever;
}

void MqttConnection::Watch() {
  if (fd_ < 0) return;
  uint32_t want = 0;
  switch (state_) {
    case State::kConnecting: want = static_cast<uint32_t>(EPOLLOUT); break;
    case State::kHandshake:
    case State::kAwaitConnAck:
    case State::kOpen:
      want = EPOLLIN | ((tls_want_write_ || out_begin_ < out_.size()) ? static_cast<uint32_t>(EPOLLOUT) : 0u);
      break;
    default: return;
  }
  if (want == watched_) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = fd_;
  if (epoll_ctl(epoll_fd_, watched_ == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd_, &ev) == 0) watched_ = want;
}

void MqttConnection::Unwatch() {
  if (fd_ >= 0 && watched_ != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
  watched_ = 0;
}

void MqttConnection::Fail(const std::string& why) {
  const bool was_open = state_ == State::kOpen;
  Shut();
  handler_->OnClosed(why, was_open);
}

void MqttConnection::Close() {
  if (state_ == State::kOpen) {
    out_.append(acks_);
    acks_.clear();
    mqtt::AppendDisconnect(&out_);
    Flush();
    if (ssl_ != nullptr && state_ != State::kIdle) OpenSsl().SSL_shutdown(ssl_);
  }
  Shut();
}

void MqttConnection::Shut() {
  Unwatch();
  if (ssl_ != nullptr) {
    OpenSsl().SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ctx_ != nullptr) {
    OpenSsl().SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (addresses_ != nullptr) {
    freeaddrinfo(addresses_);
    addresses_ = nullptr;
  }
  next_address_ = nullptr;
  if (lookup_ != nullptr) {
    if (state_ == State::kResolving && gai_cancel(&lookup_->request) != EAI_CANCELED &&
        gai_error(&lookup_->request) == EAI_INPROGRESS) {
      std::lock_guard<std::mutex> lock(g_orphans_mu);
      g_orphans.push_back(lookup_);  // still being written: freed once done
    } else {
      if (lookup_->request.ar_result != nullptr) freeaddrinfo(lookup_->request.ar_result);
      delete lookup_;
    }
    lookup_ = nullptr;
  }
  state_ = State::kIdle;
  tls_want_write_ = false;
  ping_sent_us_ = 0;
  in_begin_ = in_end_ = 0;
  skip_ = 0;
  out_.clear();
  out_begin_ = 0;
  acks_.clear();
  closed_why_.clear();
  last_connect_error_.clear();
}

}  // namespace sensorgate
