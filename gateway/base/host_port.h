// HostPort: a network address as the configuration writes it, "HOST:PORT",
// with an IPv6 literal in brackets ("[::1]:9108"). Parsed once, by the
// configuration loader; the components that connect or listen take the
// parsed form. Pure functions; any thread.
#ifndef SENSORGATE_GATEWAY_BASE_HOST_PORT_H_
#define SENSORGATE_GATEWAY_BASE_HOST_PORT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sensorgate {

struct HostPort {
  std::string host;       // as written, without the brackets of an IPv6 literal ("::1")
  uint16_t port = 0;      // 0: any free port (where allowed)
  bool ipv6_literal = false;  // written in brackets
  std::string text;       // as written: "[::1]:9108"
};

// Parses "HOST:PORT": HOST a name or IPv4 literal (letters, digits, '.', '-',
// '_') or an IPv6 literal in brackets; PORT a decimal from 1 (0 too with
// `allow_port_zero`) to 65535. Returns false for anything else.
bool ParseHostPort(std::string_view text, bool allow_port_zero, HostPort* out);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_HOST_PORT_H_
