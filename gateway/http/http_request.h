// HttpRequest: the parser of an HTTP/1.x request head (request line and
// header fields, RFC 9112), for HttpServer. Pure: no I/O, no allocation but
// the decoded path, so that it can be tested and fuzzed on its own.
//
// What it accepts, and what it refuses (the status the server answers):
//   - "METHOD SP request-target SP HTTP/1.x", lines ending in CRLF or a bare
//     LF; empty lines before the request line are skipped (RFC 9112 2.2).
//   - request line and headers at most kMaxHttpHeadBytes together (431);
//   - the version HTTP/1.0 or HTTP/1.1; another HTTP/D.D, the HTTP/2
//     preface among them, gets 505; anything else 400;
//   - origin-form targets ("/path?query"), and absolute-form ones
//     ("http://host/path", RFC 9112 3.2.2: the host is ignored); the query
//     is dropped, the path percent-decoded (%XX; a malformed escape is kept
//     as written, as libmicrohttpd did); a decoded NUL is refused (400);
//   - header names are tokens, compared case-insensitively; a line folded
//     onto the previous one (obs-fold), a space before the colon, a control
//     byte (NUL among them) anywhere: 400;
//   - a body only with Content-Length (digits; repeated values must agree,
//     400), at most kMaxHttpBodyBytes (413); any Transfer-Encoding: 411
//     (chunked request bodies are not read; the connection closes).
// Thread-compatible: no state.
#ifndef SENSORGATE_GATEWAY_HTTP_HTTP_REQUEST_H_
#define SENSORGATE_GATEWAY_HTTP_HTTP_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sensorgate {

constexpr size_t kMaxHttpHeadBytes = 8 * 1024;
constexpr uint64_t kMaxHttpBodyBytes = 1024 * 1024;

struct HttpRequest {
  std::string_view method;  // points into the parsed bytes
  std::string path;         // percent-decoded, without the query
  int minor_version = 1;    // HTTP/1.<minor_version>
  bool keep_alive = true;   // the connection stays open after the answer
  uint64_t content_length = 0;  // body bytes that follow the head
};

struct HttpParseResult {
  enum Outcome { kIncomplete, kComplete, kError };
  Outcome outcome = kIncomplete;
  size_t head_bytes = 0;  // kComplete: bytes of the head, final empty line included
  int status = 0;         // kError: 400, 411, 413, 431 or 505
  const char* reason = "";  // kError: what was wrong, for the log (static text)
};

// Parses the request head at the start of `in` (which may hold less, or
// more: a body, further requests). kIncomplete: the head is not all there
// yet and what is there is fine so far.
HttpParseResult ParseHttpRequest(std::string_view in, HttpRequest* request);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_HTTP_HTTP_REQUEST_H_
