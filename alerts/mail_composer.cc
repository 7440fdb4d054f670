#include "alerts/mail_composer.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "gateway/base/json_format.h"
#include "gateway/base/time_util.h"

namespace sensorgate {
namespace {

constexpr const char* kBlocks[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                    "\u2585", "\u2586", "\u2587", "\u2588"};

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return n;
}

bool PlainHeaderText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return s.find("=?") == std::string_view::npos && s.size() <= 900;
}

std::string Base64(std::string_view in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Number(double v) {
  std::string s;
  AppendJsonNumber(&s, v);
  return s;
}

const char* LineName(MailLine l) {
  switch (l) {
    case MailLine::kFiring: return "FIRING";
    case MailLine::kResolved: return "resolved";
    case MailLine::kFiredAndResolved: return "fired and resolved";
  }
  return "";
}

}  // namespace

std::string SafeLineText(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
      ++i;
      continue;
    }
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      out += "\uFFFD";
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) and line/paragraph separators.
    const uint32_t b1 = n >= 2 ? static_cast<unsigned char>(s[i + 1]) : 0;
    const bool c1 = n == 2 && c == 0xC2 && b1 < 0xA0;
    const bool sep = n == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                     (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9);
    if (c1 || sep) {
      out += "\uFFFD";
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string Sparkline(const std::vector<double>& values) {
  const size_t n = std::min<size_t>(values.size(), 16);
  const auto begin = values.end() - static_cast<std::ptrdiff_t>(n);
  std::string out;
  if (n == 0) return out;
  const auto [lo, hi] = std::minmax_element(begin, values.end());
  for (auto it = begin; it != values.end(); ++it) {
    int level = 3;
    if (*hi > *lo) level = static_cast<int>((*it - *lo) / (*hi - *lo) * 7.0 + 0.5);
    out += kBlocks[std::clamp(level, 0, 7)];
  }
  return out;
}

std::string MailDate(int64_t wall_us) {
  const time_t t = static_cast<time_t>(wall_us / 1'000'000);
  struct tm tm;
  gmtime_r(&t, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string MakeMessageId(std::string_view gateway, int64_t wall_us, uint64_t seq, uint64_t random) {
  std::string host;
  for (char c : gateway) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') host += c;
    if (host.size() >= 63) break;
  }
  if (host.empty()) host = "gateway";
  char buf[96];
  std::snprintf(buf, sizeof buf, "<%" PRId64 ".%" PRIu64 ".%016" PRIx64 "@sensorgate.", wall_us, seq, random);
  return std::string(buf) + host + ">";
}

std::string EncodeHeaderText(std::string_view text) {
  if (PlainHeaderText(text)) return std::string(text);
  // Encoded-words of at most 75 characters: 45 bytes of UTF-8 each (base64:
  // 60 characters), cut at character boundaries; invalid bytes become U+FFFD.
  const std::string clean = SafeLineText(text);
  std::string out;
  size_t i = 0;
  while (i < clean.size()) {
    size_t end = i;
    while (end < clean.size()) {
      const size_t n = std::max<size_t>(1, Utf8Length(clean, end));
      if (end + n - i > 45) break;
      end += n;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?utf-8?B?" + Base64(std::string_view(clean).substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string QuotedPrintable(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t col = 0;
  auto put = [&](const std::string& token) {
    if (col + token.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += token;
    col += token.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    const bool line_end_next = i + 1 == text.size() || text[i + 1] == '\n';
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end_next);
    // A dot first on a line stays literal; SMTP dot-stuffing is the client's job.
    if (literal) {
      put(std::string(1, static_cast<char>(c)));
    } else {
      put(std::string{'=', kHex[c >> 4], kHex[c & 15]});
    }
  }
  if (col > 0) out += "\r\n";
  return out;
}

std::string MailSubject(std::string_view gateway, const MailNotification& n) {
  std::string s = "[sensorgate " + std::string(gateway) + "] ";
  s += std::to_string(n.firing) + " firing";
  if (n.resolved > 0) s += ", " + std::to_string(n.resolved) + " resolved";
  if (n.reminder) s += " (reminder)";
  return s;
}

std::string MailBodyText(const MailHeaderInfo& info, const MailNotification& n) {
  std::string b;
  b += n.reminder ? "Still firing:\n\n" : "Alerts:\n\n";
  for (const MailEntry& e : n.entries) {
    const MailAlert& a = e.alert;
    b += "* " + SafeLineText(a.key) + "  rule " + SafeLineText(a.rule) + "  " + LineName(e.line);
    if (a.rule == "stale") {
      b += "  no reading";
    } else if (!a.aggregate.empty()) {
      b += "  " + SafeLineText(a.aggregate) + " " + Number(a.avg) + " " + SafeLineText(a.op) + " " + Number(a.threshold);
    } else {
      b += "  avg " + Number(a.avg) + (a.firing ? " > " : " < ") + Number(a.threshold);
    }
    b += "  count " + std::to_string(a.count) + "  at " + FormatRfc3339(a.time_us);
    const std::string spark = Sparkline(a.recent);
    if (!spark.empty()) b += "  " + spark;
    b += "\n";
  }
  b += "\n-- \nsensorgate " + SafeLineText(info.gateway) + "\n";
  if (!info.dashboard_url.empty()) b += "Dashboard: " + SafeLineText(info.dashboard_url) + "\n";
  return b;
}

std::string ComposeMail(const MailHeaderInfo& info, const MailNotification& n) {
  std::string m;
  m += "From: " + info.from + "\r\n";
  m += "To: ";
  for (size_t i = 0; i < info.to.size(); ++i) m += (i ? ",\r\n " : "") + info.to[i];
  m += "\r\n";
  m += "Subject: " + EncodeHeaderText(MailSubject(info.gateway, n)) + "\r\n";
  m += "Date: " + MailDate(info.date_us) + "\r\n";
  m += "Message-ID: " + info.message_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n";
  m += "\r\n";
  m += QuotedPrintable(MailBodyText(info, n));
  return m;
}

}  // namespace sensorgate
