#include "gateway/http/http_request.h"

namespace sensorgate {
namespace {

// RFC 9110 5.6.2: the characters of a token (method, header name).
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Control bytes other than HT, and DEL: never part of a field or target.
bool HasControl(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if ((x >= 'A' && x <= 'Z' ? x | 0x20 : x) != (y >= 'A' && y <= 'Z' ? y | 0x20 : y)) return false;
  }
  return true;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

HttpParseResult Error(int status, const char* reason) {
  HttpParseResult r;
  r.outcome = HttpParseResult::kError;
  r.status = status;
  r.reason = reason;
  return r;
}

// The next line at `*pos` (without its CR LF or LF); false if it has no end
// yet. A CR anywhere but before the LF is left in the line (and refused as a
// control byte by the caller).
bool NextLine(std::string_view in, size_t* pos, std::string_view* line) {
  const size_t nl = in.find('\n', *pos);
  if (nl == std::string_view::npos) return false;
  size_t end = nl;
  if (end > *pos && in[end - 1] == '\r') --end;
  *line = in.substr(*pos, end - *pos);
  *pos = nl + 1;
  return true;
}

// Sets request->path from the request-target: the path of an origin-form
// or absolute-form target, without its query, percent-decoded.
bool DecodeTarget(std::string_view target, std::string* path) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && EqualsNoCase(target.substr(0, scheme.size()), scheme)) {
      target.remove_prefix(scheme.size());
      const size_t slash = target.find_first_of("/?");
      target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
      if (target.empty() || target.front() != '/') target = "/";  // "http://host" or "http://host?q"
      break;
    }
  }
  if (target != "*" && (target.empty() || target.front() != '/')) return false;
  target = target.substr(0, target.find('?'));
  path->clear();
  path->reserve(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size() && HexValue(target[i + 1]) >= 0 &&
        HexValue(target[i + 2]) >= 0) {
      const char c = static_cast<char>(HexValue(target[i + 1]) * 16 + HexValue(target[i + 2]));
      if (c == '\0') return false;
      path->push_back(c);
      i += 2;
    } else {
      path->push_back(target[i]);
    }
  }
  return true;
}

}  // namespace

HttpParseResult ParseHttpRequest(std::string_view in, HttpRequest* request) {
  // Empty lines before the request line (a client's CR LF after a body).
  size_t start = 0;
  while (start < in.size() && (in[start] == '\r' || in[start] == '\n')) {
    if (in[start] == '\r' && (start + 1 >= in.size() || in[start + 1] != '\n')) break;
    ++start;
  }
  // The end of the head: the first empty line after the request line.
  size_t pos = start;
  std::string_view line;
  bool first = true;
  for (;;) {
    if (!NextLine(in, &pos, &line)) {
      if (in.size() - start > kMaxHttpHeadBytes) return Error(431, "request head over 8 KiB");
      return HttpParseResult{};
    }
    if (pos - start > kMaxHttpHeadBytes + 2) return Error(431, "request head over 8 KiB");
    if (line.empty() && !first) break;
    first = false;
  }
  const size_t head_end = pos;

  // The request line.
  pos = start;
  NextLine(in, &pos, &line);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Error(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() || HasControl(target) || target.find('\t') != target.npos) {
    return Error(400, "malformed request line");
  }
  if (version == "HTTP/1.1") {
    request->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    request->minor_version = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && IsDigit(version[5]) &&
             version[6] == '.' && IsDigit(version[7])) {
    return Error(505, "HTTP version not supported");
  } else {
    return Error(400, "malformed request line");
  }
  request->method = method;
  if (!DecodeTarget(target, &request->path)) return Error(400, "malformed request target");

  // The header fields.
  bool close = false, keep_alive = false, chunked = false, has_length = false, too_large = false;
  uint64_t length = 0;
  while (NextLine(in, &pos, &line) && !line.empty()) {
    if (line.front() == ' ' || line.front() == '\t') return Error(400, "folded header line");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return Error(400, "malformed header line");
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = TrimSpace(line.substr(colon + 1));
    if (HasControl(value)) return Error(400, "control byte in a header");
    if (EqualsNoCase(name, "connection")) {
      std::string_view rest = value;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string_view option = TrimSpace(rest.substr(0, comma));
        if (EqualsNoCase(option, "close")) close = true;
        if (EqualsNoCase(option, "keep-alive")) keep_alive = true;
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else if (EqualsNoCase(name, "content-length")) {
      if (value.empty()) return Error(400, "malformed Content-Length");
      uint64_t n = 0;
      bool large = false;
      for (char c : value) {
        if (!IsDigit(c)) return Error(400, "malformed Content-Length");
        if (n > kMaxHttpBodyBytes) {
          large = true;  // no overflow: stop counting, it is too large anyway
        } else {
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
      }
      if (has_length && (n != length || large != too_large)) return Error(400, "conflicting Content-Length");
      has_length = true;
      length = n;
      too_large = large || n > kMaxHttpBodyBytes;
    } else if (EqualsNoCase(name, "transfer-encoding")) {
      chunked = true;
    }
  }
  if (chunked) return Error(411, "Transfer-Encoding on a request");
  if (too_large) return Error(413, "request body over 1 MiB");
  request->content_length = length;
  request->keep_alive = request->minor_version == 1 ? !close : keep_alive && !close;
  HttpParseResult r;
  r.outcome = HttpParseResult::kComplete;
  r.head_bytes = head_end;
  return r;
}

}  // namespace sensorgate
