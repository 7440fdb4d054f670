// The keys of [http] (DESIGN.md section 3), read into Config::http for the
// HTTP server (http_server.h). Compiled in every build, also without
// SENSORGATE_WITH_HTTP, so --check validates [http] everywhere.
#ifndef SENSORGATE_GATEWAY_HTTP_HTTP_KEYS_H_
#define SENSORGATE_GATEWAY_HTTP_HTTP_KEYS_H_

#include "gateway/config/config_engine.h"

namespace sensorgate {

// [http]: the address of /metrics, /healthz, /api/* and the dashboard.
SectionSpec HttpKeys();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_HTTP_HTTP_KEYS_H_
