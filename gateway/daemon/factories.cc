#include "gateway/daemon/factories.h"

#include "gateway/sinks/log/alert_log_sink.h"
#include "gateway/sources/file/file_source.h"
#if SENSORGATE_WITH_MQTT
#include "gateway/sources/mqtt/mqtt_source.h"
#include "gateway/sources/mqtt/openssl_api.h"
#endif
#if SENSORGATE_WITH_HTTP
#include "gateway/http/http_sink.h"
#endif
#if SENSORGATE_WITH_SMTP
#include "alerts/curl_api.h"
#include "gateway/sinks/email/email_sink.h"
#endif
#if SENSORGATE_WITH_KAFKA
#include "gateway/sinks/kafka/kafka_sink.h"
#include "gateway/sinks/kafka/rdkafka_api.h"
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
    MakeFileSource, nullptr, nullptr};

#if SENSORGATE_WITH_MQTT
bool SameMqttConfig(const MqttConfig& a, const MqttConfig& b) {
  return a.enabled == b.enabled && a.uri == b.uri && a.topics == b.topics && a.qos == b.qos &&
         a.client_id == b.client_id && a.clean_session == b.clean_session && a.username == b.username &&
         a.password_file == b.password_file && a.ca_file == b.ca_file && a.cert_file == b.cert_file &&
         a.key_file == b.key_file && a.payload == b.payload;
}

// OpenSSL only for an ssl:// broker (as MqttSource reads the uri); the
// connection loads it too, this makes a missing one fail the start.
Status LoadMqttLibraries(const Config& config) {
  if (config.mqtt.uri.rfind("ssl://", 0) != 0) return Status::Ok();
  return LoadOpenSsl();
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
    [](const Config& next, Source* stopped) { return static_cast<MqttSource*>(stopped)->Start(next.mqtt); },
    LoadMqttLibraries};
#else
const SourceFactory kMqttSource{
    "mqtt", [](const Config& c) { return c.mqtt.enabled; },
    [](const Config&, const Config&, const Source&) { return false; },
    [](const Config&, const SourceContext&, std::unique_ptr<Source>*) {
      return Status::Error("[mqtt] is configured but this build has no MQTT support (SENSORGATE_WITH_MQTT)");
    },
    nullptr, nullptr};
#endif

// --- sinks -------------------------------------------------------------------

const SinkFactory kLogSink{
    "log", [](const Config&) { return true; }, [](const Config&, const Config&, const Sink&) { return false; },
    [](const Config&, const SinkContext&, std::unique_ptr<Sink>* out) {
      *out = std::make_unique<AlertLogSink>();
      return Status::Ok();
    },
    nullptr};

#if SENSORGATE_WITH_HTTP
Status MakeHttpSink(const Config& config, const SinkContext& ctx, std::unique_ptr<Sink>* out) {
  auto sink = std::make_unique<HttpSink>(HttpSink::Providers{ctx.metrics, ctx.healthy, ctx.links, ctx.refresh}, ctx.clock);
  sink->SetStateWriters(ctx.windows_json, ctx.alerts_json);
  sink->SetRuleWriter(ctx.rules_json);
  sink->SetDashboardWriters(ctx.pending_json, ctx.config_json);
  const Status s = sink->Start(config.http.listen_addr);
  if (!s.ok()) return s;
  Log(LogLevel::kInfo, "http: listening on %s (port %u)", config.http.listen.c_str(),
      static_cast<unsigned>(sink->port()));
  *out = std::move(sink);
  return Status::Ok();
}

const SinkFactory kHttpSink{
    "http", [](const Config& c) { return c.http.enabled; },
    [](const Config& a, const Config& b, const Sink&) {
      return a.http.enabled != b.http.enabled || a.http.listen != b.http.listen;
    },
    MakeHttpSink, nullptr};
#else
const SinkFactory kHttpSink{
    "http", [](const Config& c) { return c.http.enabled; }, [](const Config&, const Config&, const Sink&) { return false; },
    [](const Config&, const SinkContext&, std::unique_ptr<Sink>*) {
      Log(LogLevel::kWarning, "[http] is configured but this build has no HTTP support (SENSORGATE_WITH_HTTP)");
      return Status::Ok();
    },
    nullptr};
#endif

#if SENSORGATE_WITH_SMTP
bool SameEmailConfig(const EmailConfig& a, const EmailConfig& b) {
  return a.enabled == b.enabled && a.url == b.url && a.starttls == b.starttls && a.username == b.username &&
         a.password_file == b.password_file && a.from == b.from && a.to == b.to &&
         a.group_wait_us == b.group_wait_us && a.group_interval_us == b.group_interval_us &&
         a.repeat_us == b.repeat_us && a.send_resolved == b.send_resolved && a.max_per_hour == b.max_per_hour &&
         a.timeout_us == b.timeout_us && a.ca_file == b.ca_file && a.max_age_us == b.max_age_us;
}

Status MakeEmailSink(const Config& config, const SinkContext& ctx, std::unique_ptr<Sink>* out) {
  EmailSinkSettings settings;
  settings.email = config.email;
  settings.gateway = config.gateway.name;
  settings.outbox_dir = config.gateway.state_dir + "/outbox";
  if (config.http.enabled) settings.dashboard_url = "http://" + config.http.listen + "/";
  auto sink = std::make_unique<EmailSink>(std::move(settings), ctx.clock);
  const Status s = sink->Start();
  if (!s.ok()) return s;
  Log(LogLevel::kInfo, "email: alerts to %zu recipients through %s, %zu mails queued", config.email.to.size(),
      config.email.url.c_str(), sink->queued());
  *out = std::move(sink);
  return Status::Ok();
}

const SinkFactory kEmailSink{
    "email", [](const Config& c) { return c.email.enabled; },
    [](const Config& a, const Config& b, const Sink& sink) {
      return !SameEmailConfig(a.email, b.email) || a.gateway.name != b.gateway.name ||
             a.gateway.state_dir != b.gateway.state_dir || a.http.enabled != b.http.enabled ||
             a.http.listen != b.http.listen || static_cast<const EmailSink&>(sink).PasswordChanged();
    },
    MakeEmailSink, [](const Config&) { return LoadCurl(); }};
#else
const SinkFactory kEmailSink{
    "email", [](const Config& c) { return c.email.enabled; }, [](const Config&, const Config&, const Sink&) { return false; },
    [](const Config&, const SinkContext&, std::unique_ptr<Sink>*) {
      return Status::Error("[email] is configured but this build has no mail support (SENSORGATE_WITH_SMTP)");
    },
    nullptr};
#endif

#if SENSORGATE_WITH_KAFKA
bool SameKafkaConfig(const KafkaConfig& a, const KafkaConfig& b) {
  return a.enabled == b.enabled && a.brokers == b.brokers && a.topic == b.topic &&
         a.alerts_topic == b.alerts_topic && a.interval_us == b.interval_us &&
         a.spool_max_bytes == b.spool_max_bytes && a.compression == b.compression && a.rdkafka == b.rdkafka;
}

Status MakeKafkaSink(const Config& config, const SinkContext& ctx, std::unique_ptr<Sink>* out) {
  auto sink = std::make_unique<KafkaSink>(config.kafka, config.gateway.name, config.gateway.state_dir, ctx.clock);
  std::vector<std::pair<std::string, std::string>> topics;
  for (const RuleConfig& r : config.rules) topics.emplace_back(r.name, r.kafka_topic);
  sink->SetRuleTopics(std::move(topics));
  const Status s = sink->Start();
  if (!s.ok()) return s;
  *out = std::move(sink);
  return Status::Ok();
}

// A rebuilt sink reads the spool its predecessor left (records it had in
// flight are produced again: duplicates by (gateway, seq), never losses).
const SinkFactory kKafkaSink{
    "kafka", [](const Config& c) { return c.kafka.enabled; },
    [](const Config& a, const Config& b, const Sink&) {
      return !SameKafkaConfig(a.kafka, b.kafka) || a.gateway.name != b.gateway.name;
    },
    MakeKafkaSink, [](const Config&) { return LoadRdKafka(); }};
#else
const SinkFactory kKafkaSink{
    "kafka", [](const Config& c) { return c.kafka.enabled; }, [](const Config&, const Config&, const Sink&) { return false; },
    [](const Config&, const SinkContext&, std::unique_ptr<Sink>*) {
      return Status::Error("[kafka] is configured but this build has no Kafka support (SENSORGATE_WITH_KAFKA)");
    },
    nullptr};
#endif

}  // namespace

const std::vector<SourceFactory>& SourceFactories() {
  static const std::vector<SourceFactory> kAll = {kFileSource, kMqttSource};
  return kAll;
}

const std::vector<SinkFactory>& SinkFactories() {
  static const std::vector<SinkFactory> kAll = {kLogSink, kHttpSink, kEmailSink, kKafkaSink};
  return kAll;
}

namespace {

// The factory's libraries for `config`, if it is enabled and has any; an
// error names its section ("[kafka]: cannot load ...").
template <typename Factory>
Status LoadFor(const Factory& f, const Config& config) {
  if (f.load == nullptr || !f.enabled(config)) return Status::Ok();
  const Status s = f.load(config);
  return s.ok() ? s : Status::Error(std::string("[") + f.name + "]: " + s.message());
}

}  // namespace

Status LoadComponentLibraries(const Config& config) {
  for (const SinkFactory& f : SinkFactories()) {
    if (Status s = LoadFor(f, config); !s.ok()) return s;
  }
  for (const SourceFactory& f : SourceFactories()) {
    if (Status s = LoadFor(f, config); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace sensorgate
