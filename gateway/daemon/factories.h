// Factories: the one place that turns a validated Config into the sources
// and sinks it asks for. Each kind of source or sink is one entry in a table
// (factories.cc): whether the configuration enables it, whether a reload
// needs it rebuilt, and how to build and start it. Adding a sink is a new
// folder under gateway/sinks/ and one entry here.
//
// Called on the loop thread, at start-up and on a reload.
#ifndef SENSORGATE_GATEWAY_DAEMON_FACTORIES_H_
#define SENSORGATE_GATEWAY_DAEMON_FACTORIES_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/base/clock.h"
#include "gateway/base/status.h"
#include "gateway/config/config.h"
#include "gateway/sinks/sink.h"
#include "gateway/sources/source.h"

namespace sensorgate {

// What sources are built with.
struct SourceContext {
  RecordReceiver* receiver;         // the pipeline
  Clock* clock;
  const SourcePositions* positions;  // where to resume (from the checkpoint)
};

// What sinks are built with: the gateway-wide views the HTTP sink serves.
struct SinkContext {
  Clock* clock;
  std::function<void(std::string*)> metrics;
  std::function<bool(std::string*)> healthy;
  std::function<void(std::string*)> links;
  std::function<void()> refresh;  // publishes the windows that changed
  // /api/windows and /api/alerts, written from the pipeline's table.
  std::function<void(std::string*)> windows_json;
  std::function<void(std::string*)> alerts_json;
  // /api/rules (name empty) and /api/rules/NAME; false: no such rule.
  std::function<bool(std::string_view, std::string*)> rules_json;
  // /api/alerts/pending (from the pipeline's table) and /api/config (from
  // the configuration in force).
  std::function<void(std::string*)> pending_json;
  std::function<void(std::string*)> config_json;
};

struct SourceFactory {
  const char* name;  // "file", "mqtt"
  bool (*enabled)(const Config& config);
  // True when a running source built from `running` must be rebuilt to
  // follow `next` (its section changed, or a secret file did).
  bool (*must_restart)(const Config& running, const Config& next, const Source& source);
  // Builds and starts the source. An error names the section and the cause.
  Status (*make)(const Config& config, const SourceContext& context, std::unique_ptr<Source>* out);
  // Optional: starts a stopped source again with `next`, keeping its state
  // and counters (MQTT: the journal and the redelivery table). Null: a
  // source that must restart is rebuilt from its position instead.
  Status (*restart)(const Config& next, Source* stopped);
  // Optional: loads the shared libraries the source needs for `config`
  // (dlopen, gateway/base/dynamic_library.h); LoadComponentLibraries() puts
  // the section before its error. Null: none.
  Status (*load)(const Config& config);
};

struct SinkFactory {
  const char* name;  // "log", "http"
  bool (*enabled)(const Config& config);
  // True when the running sink, built from `running`, must be rebuilt to
  // follow `next` (its section changed, or a secret file did).
  bool (*must_restart)(const Config& running, const Config& next, const Sink& sink);
  Status (*make)(const Config& config, const SinkContext& context, std::unique_ptr<Sink>* out);
  // Optional, as SourceFactory::load.
  Status (*load)(const Config& config);
};

// Every kind of source and sink this build has, in the order they are served.
const std::vector<SourceFactory>& SourceFactories();
const std::vector<SinkFactory>& SinkFactories();

// Loads the shared libraries of every source and sink `config` enables
// (libcurl for [email], librdkafka for [kafka], OpenSSL for [mqtt] over TLS),
// before any of them starts. The first that is missing is the error, e.g.
// "[kafka]: cannot load librdkafka.so.1 (Debian package librdkafka1): ...":
// the daemon does not start (exit 1), a reload is refused, --check fails.
// A library loaded stays loaded (a reload that drops [kafka] keeps it).
Status LoadComponentLibraries(const Config& config);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_DAEMON_FACTORIES_H_
