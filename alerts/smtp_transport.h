// SmtpTransport: sends one mail at a time over SMTP with libcurl's multi
// interface (loaded on first use: alerts/curl_api.h), driven by the
// caller's event loop (DESIGN.md section 8).
//
// libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
// to call it back (CURLMOPT_TIMERFUNCTION). The sockets go into an epoll
// descriptor owned by the transport: fd() becomes readable when any of them
// is ready, and the loop calls Drive(). Nothing here ever waits, except
// WaitFor(), which a bounded flush at stop uses. Never curl_easy_perform.
//
// Transport security: smtps:// (TLS from the start), or smtp:// with STARTTLS
// required (CURLUSESSL_ALL), tried (CURLUSESSL_TRY) or off. Certificate and
// host name verification are always on; ca_file replaces the system store.
// `timeout_us` bounds a whole attempt; a server sending nothing for
// min(timeout, 30 s) is abandoned earlier (low-speed limit).
//
// Not thread-safe: one owner (the loop thread).
#ifndef SENSORGATE_ALERTS_SMTP_TRANSPORT_H_
#define SENSORGATE_ALERTS_SMTP_TRANSPORT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/base/status.h"

namespace sensorgate {

enum class SmtpSecurity { kStartTlsRequired, kStartTlsTry, kStartTlsOff };

struct SmtpOptions {
  std::string url;       // smtp://HOST[:PORT] or smtps://HOST[:PORT]
  SmtpSecurity starttls = SmtpSecurity::kStartTlsRequired;  // smtp:// only
  std::string username;  // "" : no AUTH
  std::string password;
  std::string ca_file;   // "" : the system store
  std::string from;      // envelope sender
  std::vector<std::string> to;
  int64_t timeout_us = 30'000'000;
};

// How an attempt ended.
struct SmtpResult {
  bool ok = false;
  std::string reason;  // for metrics: "connect", "timeout", "tls", "starttls", "auth",
                       // "recipient", "sender", "rejected", "other"
  std::string error;   // one line for the log: libcurl's message and the server's code
  long response_code = 0;
};

class SmtpTransport {
 public:
  using Done = std::function<void(const SmtpResult&)>;

  SmtpTransport();
  ~SmtpTransport();
  SmtpTransport(const SmtpTransport&) = delete;
  SmtpTransport& operator=(const SmtpTransport&) = delete;

  // Loads libcurl (LoadCurl(): its error when it is missing), creates the
  // multi handle and the epoll descriptor. Call once.
  Status Init(const SmtpOptions& options);

  // Starts sending `message` (RFC 5322 text, CRLF). `done` is called from
  // Drive() or WaitFor() when the attempt ends. REQUIRES: !busy().
  Status Send(std::string message, Done done);
  bool busy() const { return easy_ != nullptr; }

  // Readable when curl has a socket ready; -1 before Init().
  int fd() const { return epfd_; }
  // Monotonic µs by which Drive() is due (curl's timer); kNever when none.
  int64_t next_due_us() const;
  // Serves ready sockets and an expired timer; never waits.
  void Drive(int64_t now_us);
  // Drives until the attempt ends or `deadline_us` (monotonic) passes.
  void WaitFor(int64_t deadline_us);
  // Abandons the attempt in progress without calling its `done`.
  void Cancel();

 private:
  static int SocketCallback(void* easy, int sock, int what, void* userp, void* socketp);
  static int TimerCallback(void* multi, long timeout_ms, void* userp);
  static size_t ReadCallback(char* buffer, size_t size, size_t nitems, void* userp);
  void CheckDone();

  SmtpOptions opt_;
  void* multi_ = nullptr;  // CURLM*
  void* easy_ = nullptr;   // CURL* of the attempt in progress
  void* rcpt_ = nullptr;   // curl_slist*
  int epfd_ = -1;
  int64_t timer_due_us_ = -1;  // -1: no timer
  std::string body_;
  size_t body_pos_ = 0;
  Done done_;
  char errbuf_[256] = {0};
};

}  // namespace sensorgate

#endif  // SENSORGATE_ALERTS_SMTP_TRANSPORT_H_
