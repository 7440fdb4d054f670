// [http]: the key table of the HTTP server.
#include "gateway/http/http_keys.h"

#include <string>

#include "gateway/base/host_port.h"

namespace sensorgate {
namespace {

const char* CheckListen(const ConfigValue& v) { return IsHostPort(v.text, true) ? nullptr : ""; }

void SetListen(Config& c, const std::string& text) {
  c.http.listen = text;
  if (!ParseHostPort(text, true, &c.http.listen_addr)) c.http.listen_addr = HostPort{};
}

void FinishHttp(ConfigCheck& check) { check.config().http.enabled = check.Present("http"); }

#define STORE(expr) [](Config& c, const ConfigValue& v) { (void)v; expr; }

}  // namespace

SectionSpec HttpKeys() {
  SectionSpec section;
  section.name = "http";
  section.keys = {
    {"listen", KeyType::kString, "127.0.0.1:9108", false, 1, 300, nullptr,
     "address of /metrics, /healthz, /api/windows and the dashboard",
     STORE(SetListen(c, v.text)), CheckListen, "must be HOST:PORT, e.g. 127.0.0.1:9108"},
  };
  section.finish = FinishHttp;
  return section;
}

#undef STORE

}  // namespace sensorgate
