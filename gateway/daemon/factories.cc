#include "gateway/daemon/factories.h"

#include "gateway/sinks/log/alert_log_sink.h"
#include "gateway/sources/file/file_source.h"
#if SENSORGATE_WITH_MQTT
#include "gateway/sources/mqtt/mqtt_source.h"
#endif
#if SENSORGATE_WITH_HTTP
#include "gateway/http/http_sink.h"
#endif

namespace sensorgate {
namespace {

// --- sources ---------------------------------------------------------------

bool SameFileConfig(const FileConfig& a, const FileConfig& b) {
  return a.enabled == b.enabled && a.paths == b.paths && a.format == b.format &&
         a.from_beginning == b.from_beginning;
}

Status MakeFileSource(const Config& config, const SourceContext& ctx, std::unique_ptr<Source>* out) {
  auto source = std::make_unique<FileSource>(config.file, ctx.receiver, ctx.clock);
  const Status s = source->Start(ctx.positions->files);
  if (!s.ok()) return Status::Error("[file]: " + s.message());
  *out = std::move(source);
  return Status::Ok();
}

const SourceFactory kFileSource{
    "file", [](const Config& c) { return c.file.enabled; },
    [](const Config& a, const Config& b, const Source&) { return !SameFileConfig(a.file, b.file); },
    MakeFileSource, nullptr};

#if SENSORGATE_WITH_MQTT
bool SameMqttConfig(const MqttConfig& a, const MqttConfig& b) {
  return a.enabled == b.enabled && a.uri == b.uri && a.topics == b.topics && a.qos == b.qos &&
         a.client_id == b.client_id && a.clean_session == b.clean_session && a.username == b.username &&
         a.password_file == b.password_file && a.ca_file == b.ca_file && a.cert_file == b.cert_file &&
         a.key_file == b.key_file && a.payload == b.payload;
}

Status MakeMqttSource(const Config& config, const SourceContext& ctx, std::unique_ptr<Source>* out) {
  auto source = std::make_unique<MqttSource>(config.gateway.state_dir, ctx.receiver, ctx.clock);
  Status s = source->Open(ctx.positions->mqtt, config.mqtt);
  if (!s.ok()) return Status::Error("[mqtt]: " + s.message());
  s = source->Start(config.mqtt);
  if (!s.ok()) return s;
  *out = std::move(source);
  return Status::Ok();
}

const SourceFactory kMqttSource{
    "mqtt", [](const Config& c) { return c.mqtt.enabled; },
    [](const Config& a, const Config& b, const Source& s) {
      return !SameMqttConfig(a.mqtt, b.mqtt) || static_cast<const MqttSource&>(s).PasswordChanged();
    },
    MakeMqttSource,
    [](const Config& next, Source* stopped) { return static_cast<MqttSource*>(stopped)->Start(next.mqtt); }};
#else
const SourceFactory kMqttSource{
    "mqtt", [](const Config& c) { return c.mqtt.enabled; },
    [](const Config&, const Config&, const Source&) { return false; },
    [](const Config&, const SourceContext&, std::unique_ptr<Source>*) {
      return Status::Error("[mqtt] is configured but this build has no MQTT support (SENSORGATE_WITH_MQTT)");
    },
    nullptr};
#endif

// --- sinks -------------------------------------------------------------------

const SinkFactory kLogSink{
    "log", [](const Config&) { return true; }, [](const Config&, const Config&) { return false; },
    [](const Config&, const SinkContext&, std::unique_ptr<Sink>* out) {
      *out = std::make_unique<AlertLogSink>();
      return Status::Ok();
    }};

#if SENSORGATE_WITH_HTTP
Status MakeHttpSink(const Config& config, const SinkContext& ctx, std::unique_ptr<Sink>* out) {
  auto sink = std::make_unique<HttpSink>(HttpSink::Providers{ctx.metrics, ctx.healthy, ctx.links, ctx.refresh}, ctx.clock);
  const Status s = sink->Start(config.http.listen_addr);
  if (!s.ok()) return s;
  Log(LogLevel::kInfo, "http: listening on %s (port %u)", config.http.listen.c_str(),
      static_cast<unsigned>(sink->port()));
  *out = std::move(sink);
  return Status::Ok();
}

const SinkFactory kHttpSink{
    "http", [](const Config& c) { return c.http.enabled; },
    [](const Config& a, const Config& b) { return a.http.enabled != b.http.enabled || a.http.listen != b.http.listen; },
    MakeHttpSink};
#else
const SinkFactory kHttpSink{
    "http", [](const Config& c) { return c.http.enabled; }, [](const Config&, const Config&) { return false; },
    [](const Config&, const SinkContext&, std::unique_ptr<Sink>*) {
      Log(LogLevel::kWarning, "[http] is configured but this build has no HTTP support (SENSORGATE_WITH_HTTP)");
      return Status::Ok();
    }};
#endif

}  // namespace

const std::vector<SourceFactory>& SourceFactories() {
  static const std::vector<SourceFactory> kAll = {kFileSource, kMqttSource};
  return kAll;
}

const std::vector<SinkFactory>& SinkFactories() {
  static const std::vector<SinkFactory> kAll = {kLogSink, kHttpSink};
  return kAll;
}

}  // namespace sensorgate
