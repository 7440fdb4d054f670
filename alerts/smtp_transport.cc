#include "alerts/smtp_transport.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "alerts/curl_api.h"
#include "gateway/base/clock.h"

namespace sensorgate {
namespace {

CURLM* M(void* p) { return static_cast<CURLM*>(p); }
CURL* E(void* p) { return static_cast<CURL*>(p); }

std::string Classify(CURLcode code, const char* errbuf, long response) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "connect";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return "tls";
    case CURLE_USE_SSL_FAILED:
      return "starttls";
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
      return "auth";
    default:
      break;
  }
  if (std::strstr(errbuf, "RCPT") != nullptr) return "recipient";
  if (std::strstr(errbuf, "MAIL failed") != nullptr) return "sender";
  if (response >= 400) return "rejected";
  return "other";
}

}  // namespace

SmtpTransport::SmtpTransport() = default;

SmtpTransport::~SmtpTransport() {
  Cancel();
  if (multi_) Curl().curl_multi_cleanup(M(multi_));
  if (epfd_ >= 0) close(epfd_);
}

Status SmtpTransport::Init(const SmtpOptions& options) {
  const Status loaded = LoadCurl();
  if (!loaded.ok()) return loaded;
  opt_ = options;
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return Status::Error(std::string("epoll_create1: ") + std::strerror(errno));
  multi_ = Curl().curl_multi_init();
  if (multi_ == nullptr) return Status::Error("curl_multi_init failed");
  Curl().curl_multi_setopt(M(multi_), CURLMOPT_SOCKETFUNCTION, &SmtpTransport::SocketCallback);
  Curl().curl_multi_setopt(M(multi_), CURLMOPT_SOCKETDATA, this);
  Curl().curl_multi_setopt(M(multi_), CURLMOPT_TIMERFUNCTION, &SmtpTransport::TimerCallback);
  Curl().curl_multi_setopt(M(multi_), CURLMOPT_TIMERDATA, this);
  return Status::Ok();
}

int SmtpTransport::SocketCallback(void*, int sock, int what, void* userp, void*) {
  auto* self = static_cast<SmtpTransport*>(userp);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(self->epfd_, EPOLL_CTL_DEL, sock, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.data.fd = sock;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev.events |= EPOLLIN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev.events |= EPOLLOUT;
  if (epoll_ctl(self->epfd_, EPOLL_CTL_MOD, sock, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(self->epfd_, EPOLL_CTL_ADD, sock, &ev);
  }
  return 0;
}

int SmtpTransport::TimerCallback(void*, long timeout_ms, void* userp) {
  auto* self = static_cast<SmtpTransport*>(userp);
  self->timer_due_us_ = timeout_ms < 0 ? -1 : MonotonicMicros() + static_cast<int64_t>(timeout_ms) * 1000;
  return 0;
}

size_t SmtpTransport::ReadCallback(char* buffer, size_t size, size_t nitems, void* userp) {
  auto* self = static_cast<SmtpTransport*>(userp);
  const size_t n = std::min(size * nitems, self->body_.size() - self->body_pos_);
  std::memcpy(buffer, self->body_.data() + self->body_pos_, n);
  self->body_pos_ += n;
  return n;
}

Status SmtpTransport::Send(std::string message, Done done) {
  if (busy() || multi_ == nullptr) return Status::Error("smtp: busy or not initialised");
  const CurlApi& curl = Curl();
  CURL* e = curl.curl_easy_init();
  if (e == nullptr) return Status::Error("curl_easy_init failed");
  body_ = std::move(message);
  body_pos_ = 0;
  done_ = std::move(done);
  errbuf_[0] = 0;
  curl_slist* rcpt = nullptr;
  for (const std::string& to : opt_.to) rcpt = curl.curl_slist_append(rcpt, ("<" + to + ">").c_str());
  rcpt_ = rcpt;
  const bool smtps = opt_.url.rfind("smtps://", 0) == 0;
  long use_ssl = CURLUSESSL_ALL;
  if (!smtps) {
    use_ssl = opt_.starttls == SmtpSecurity::kStartTlsRequired ? CURLUSESSL_ALL
              : opt_.starttls == SmtpSecurity::kStartTlsTry    ? CURLUSESSL_TRY
                                                               : CURLUSESSL_NONE;
  }
  const long timeout_ms = static_cast<long>(std::max<int64_t>(1, opt_.timeout_us / 1000));
  curl.curl_easy_setopt(e, CURLOPT_URL, opt_.url.c_str());
  curl.curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl.curl_easy_setopt(e, CURLOPT_MAIL_FROM, ("<" + opt_.from + ">").c_str());
  curl.curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
  curl.curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl.curl_easy_setopt(e, CURLOPT_READFUNCTION, &SmtpTransport::ReadCallback);
  curl.curl_easy_setopt(e, CURLOPT_READDATA, this);
  curl.curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_.size()));
  curl.curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl);
  curl.curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl.curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!opt_.ca_file.empty()) curl.curl_easy_setopt(e, CURLOPT_CAINFO, opt_.ca_file.c_str());
  if (!opt_.username.empty()) {
    curl.curl_easy_setopt(e, CURLOPT_USERNAME, opt_.username.c_str());
    curl.curl_easy_setopt(e, CURLOPT_PASSWORD, opt_.password.c_str());
  }
  curl.curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl.curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl.curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl.curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, std::max(1L, std::min(30L, timeout_ms / 1000)));
  curl.curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl.curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
  easy_ = e;
  const CURLMcode mc = curl.curl_multi_add_handle(M(multi_), e);
  if (mc != CURLM_OK) {
    Cancel();
    return Status::Error(std::string("curl_multi_add_handle: ") + curl.curl_multi_strerror(mc));
  }
  return Status::Ok();
}

int64_t SmtpTransport::next_due_us() const { return timer_due_us_ < 0 ? kNever : timer_due_us_; }

void SmtpTransport::Drive(int64_t now_us) {
  (void)now_us;
  if (multi_ == nullptr) return;
  int running = 0;
  epoll_event events[16];
  const int n = epoll_wait(epfd_, events, 16, 0);
  for (int i = 0; i < n; ++i) {
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    Curl().curl_multi_socket_action(M(multi_), events[i].data.fd, flags, &running);
  }
  // curl's timer is on the real monotonic clock, whatever clock the caller has.
  if (timer_due_us_ >= 0 && timer_due_us_ <= MonotonicMicros()) {
    timer_due_us_ = -1;
    Curl().curl_multi_socket_action(M(multi_), CURL_SOCKET_TIMEOUT, 0, &running);
  }
  CheckDone();
}

void SmtpTransport::WaitFor(int64_t deadline_us) {
  while (busy()) {
    const int64_t now = MonotonicMicros();
    if (now >= deadline_us) return;
    int64_t until = deadline_us;
    if (timer_due_us_ >= 0) until = std::min(until, timer_due_us_);
    const int wait_ms = static_cast<int>(std::clamp<int64_t>((until - now + 999) / 1000, 0, 1000));
    epoll_event ev;
    // Only waits; Drive() below takes the events.
    const int n = epoll_wait(epfd_, &ev, 1, wait_ms);
    (void)n;
    Drive(MonotonicMicros());
  }
}

void SmtpTransport::CheckDone() {
  int left = 0;
  while (CURLMsg* msg = Curl().curl_multi_info_read(M(multi_), &left)) {
    if (msg->msg != CURLMSG_DONE || msg->easy_handle != easy_) continue;
    const CURLcode code = msg->data.result;
    SmtpResult r;
    Curl().curl_easy_getinfo(E(easy_), CURLINFO_RESPONSE_CODE, &r.response_code);
    r.ok = code == CURLE_OK;
    if (!r.ok) {
      r.reason = Classify(code, errbuf_, r.response_code);
      r.error = errbuf_[0] ? std::string(errbuf_) : std::string(Curl().curl_easy_strerror(code));
      if (r.response_code > 0) r.error += " (server said " + std::to_string(r.response_code) + ")";
    }
    Done done = std::move(done_);
    Cancel();
    if (done) done(r);
    return;  // `done` may have started the next mail
  }
}

void SmtpTransport::Cancel() {
  if (easy_ != nullptr) {
    Curl().curl_multi_remove_handle(M(multi_), E(easy_));
    Curl().curl_easy_cleanup(E(easy_));
    easy_ = nullptr;
  }
  if (rcpt_ != nullptr) {
    Curl().curl_slist_free_all(static_cast<curl_slist*>(rcpt_));
    rcpt_ = nullptr;
  }
  done_ = nullptr;
  body_.clear();
  body_.shrink_to_fit();
}

}  // namespace sensorgate
