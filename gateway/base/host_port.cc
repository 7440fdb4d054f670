#include "gateway/base/host_port.h"

#include <cctype>
#include <charconv>

namespace sensorgate {

bool ParseHostPort(std::string_view text, bool allow_port_zero, HostPort* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  const bool bracketed = host.front() == '[';
  if (bracketed) {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
    for (char c : host) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
    if (host.find(':') == std::string_view::npos) return false;  // "[127.0.0.1]" is no IPv6 literal
  } else {
    for (char c : host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
    }
  }
  if (port.empty() || port.size() > 5) return false;
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535 || (p == 0 && !allow_port_zero)) {
    return false;
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(p);
  out->ipv6_literal = bracketed;
  out->text = std::string(text);
  return true;
}

}  // namespace sensorgate
