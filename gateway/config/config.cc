#include "gateway/config/config.h"

#include <ini.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "gateway/base/host_port.h"
#include "gateway/base/time_util.h"

namespace sensorgate {
namespace {

// A value after its type has been checked; the store function picks the field.
struct Value {
  std::string text;
  int64_t i = 0;  // Int, Duration (µs), Size (bytes)
  double d = 0;   // Number
  bool b = false;
  std::vector<std::string> list;
};

using StoreFn = void (*)(Config&, const Value&);
// Extra validation of a string or list value: returns nullptr or what is allowed.
using CheckFn = const char* (*)(const Value&);

struct Spec {
  const char* section;
  const char* key;
  KeyType type;
  const char* def;      // default as INI text; "" = none (empty)
  bool required;        // required when the section is present
  double lo, hi;        // Int/Number: value; Duration: µs; Size: bytes; String: bytes; List: items
  const char* choices;  // Enum: "a|b"; Duration: "off" if off is allowed
  const char* doc;
  StoreFn store;
  CheckFn check;
  const char* allowed_text;  // for String/List/Path: what the check allows
};

constexpr double kS = 1e6;  // microseconds per second, for duration bounds

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool IsDottedPath(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view part = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || HasControl(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsTopicKey(std::string_view s, int* level) {
  constexpr std::string_view kPrefix = "@topic.";
  if (s.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view n = s.substr(kPrefix.size());
  int v = -1;
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
  if (ec != std::errc() || p != n.data() + n.size() || v < 0 || v > 63) return false;
  if (level) *level = v;
  return true;
}

bool IsHostPort(std::string_view s, bool allow_port_zero) {
  HostPort unused;
  return ParseHostPort(s, allow_port_zero, &unused);
}

bool IsMailAddress(std::string_view s) {
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.size() > 254) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' || c == '(' ||
        c == ')' || c == ';' || c == '\\') {
      return false;
    }
  }
  return s.find('@', at + 1) == std::string_view::npos;
}

bool IsKafkaTopic(std::string_view s) {
  if (s.empty() || s.size() > 249 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

bool IsMqttFilter(std::string_view s) {
  if (s.empty() || s.size() > 65535 || HasControl(s)) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    const std::string_view level = s.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (level.find_first_of("+#") != std::string_view::npos) {
      if (level.size() != 1) return false;
      if (level == "#" && slash != std::string_view::npos) return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// --- checks (nullptr: fine) ---
const char* CheckName(const Value& v) {
  for (char c : v.text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return "";
    }
  }
  return nullptr;
}
const char* CheckPrintable(const Value& v) { return HasControl(v.text) ? "" : nullptr; }
const char* CheckKeyPath(const Value& v) {
  // "@topic.64" is a topic key out of range, not the JSON path "@topic"."64".
  if (v.text.rfind("@topic.", 0) == 0) return IsTopicKey(v.text, nullptr) ? nullptr : "";
  return IsDottedPath(v.text) ? nullptr : "";
}
const char* CheckPath(const Value& v) { return v.text.empty() || IsDottedPath(v.text) ? nullptr : ""; }
const char* CheckMqttUri(const Value& v) {
  std::string_view s = v.text;
  for (std::string_view scheme : {"tcp://", "ssl://"}) {
    if (s.substr(0, scheme.size()) == scheme && IsHostPort(s.substr(scheme.size()), false)) {
      return nullptr;
    }
  }
  return "";
}
const char* CheckSmtpUrl(const Value& v) {
  std::string_view s = v.text;
  for (std::string_view scheme : {"smtp://", "smtps://"}) {
    if (s.substr(0, scheme.size()) == scheme) {
      std::string_view rest = s.substr(scheme.size());
      if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
      if (!rest.empty() && !HasControl(rest) && rest.find(' ') == std::string_view::npos &&
          rest.find('/') == std::string_view::npos) {
        return nullptr;
      }
    }
  }
  return "";
}
const char* CheckMail(const Value& v) { return IsMailAddress(v.text) ? nullptr : ""; }
const char* CheckMailList(const Value& v) {
  for (const auto& a : v.list) {
    if (!IsMailAddress(a)) return "";
  }
  return nullptr;
}
const char* CheckFilters(const Value& v) {
  for (const auto& f : v.list) {
    if (!IsMqttFilter(f)) return "";
  }
  return nullptr;
}
const char* CheckBrokers(const Value& v) {
  for (const auto& b : v.list) {
    if (!IsHostPort(b, false)) return "";
  }
  return nullptr;
}
const char* CheckTopic(const Value& v) { return v.text.empty() || IsKafkaTopic(v.text) ? nullptr : ""; }
const char* CheckListen(const Value& v) { return IsHostPort(v.text, true) ? nullptr : ""; }
const char* CheckGlobs(const Value& v) {
  for (const auto& g : v.list) {
    if (HasControl(g)) return "";
  }
  return nullptr;
}

void SetListen(Config& c, const std::string& text) {
  c.http.listen = text;
  if (!ParseHostPort(text, true, &c.http.listen_addr)) c.http.listen_addr = HostPort{};
}

#define STORE(expr) [](Config& c, const Value& v) { (void)v; expr; }

// The table. Bounds: Int/Number values; Duration µs; Size bytes; String/Path
// length in bytes; List number of items.
const Spec kSpecs[] = {
    {"gateway", "name", KeyType::kString, "", false, 1, 64, nullptr,
     "identifies this gateway in every record and mail [host name]",
     STORE(c.gateway.name = v.text), CheckName, "must be 1 to 64 letters, digits, '.', '_' or '-'"},
    {"gateway", "state_dir", KeyType::kPath, "", false, 1, 4096, nullptr,
     "offsets, checkpoint, spool and outbox live here [required outside --replay]",
     STORE(c.gateway.state_dir = v.text), CheckPrintable, "must be a directory path"},
    {"gateway", "checkpoint_interval", KeyType::kDuration, "10s", false, 1 * kS, 3600 * kS,
     nullptr, "how often the checkpoint is written", STORE(c.gateway.checkpoint_interval_us = v.i),
     nullptr, nullptr},
    {"gateway", "log_level", KeyType::kEnum, "info", false, 0, 0, "error|warning|info|debug",
     "least severe message logged", STORE(c.gateway.log_level = v.text == "error"     ? LogLevel::kError
                                                               : v.text == "warning" ? LogLevel::kWarning
                                                               : v.text == "info"    ? LogLevel::kInfo
                                                                                     : LogLevel::kDebug),
     nullptr, nullptr},
    {"gateway", "memory_max", KeyType::kSize, "64MiB", false, 1 << 20, 68719476736.0, nullptr,
     "ceiling for the fixed memory of all windows; --check fails above it",
     STORE(c.gateway.memory_max_bytes = static_cast<uint64_t>(v.i)), nullptr, nullptr},

    {"file", "path", KeyType::kList, "", true, 1, 64, nullptr,
     "one or more globs of sensor log files; new matching files are picked up",
     STORE(c.file.paths = v.list), CheckGlobs, "must be a comma-separated list of 1 to 64 globs"},
    {"file", "format", KeyType::kEnum, "json", false, 0, 0, "json|csv",
     "json: one object a line; csv: the first line is the header",
     STORE(c.file.format = v.text == "csv" ? RecordFormat::kCsv : RecordFormat::kJson), nullptr,
     nullptr},
    {"file", "from", KeyType::kEnum, "end", false, 0, 0, "beginning|end",
     "where to start in a file never seen before", STORE(c.file.from_beginning = v.text == "beginning"),
     nullptr, nullptr},

    {"mqtt", "uri", KeyType::kString, "", true, 1, 1024, nullptr, "broker address, tcp:// or ssl://",
     STORE(c.mqtt.uri = v.text), CheckMqttUri, "must be tcp://HOST:PORT or ssl://HOST:PORT"},
    {"mqtt", "topics", KeyType::kList, "", true, 1, 64, nullptr,
     "MQTT topic filters, wildcards allowed", STORE(c.mqtt.topics = v.list), CheckFilters,
     "must be a comma-separated list of 1 to 64 MQTT topic filters ('+' and '#' only as whole levels, '#' last)"},
    {"mqtt", "qos", KeyType::kInt, "1", false, 0, 1, nullptr, "subscription QoS",
     STORE(c.mqtt.qos = static_cast<int>(v.i)), nullptr, nullptr},
    {"mqtt", "client_id", KeyType::kString, "", false, 1, 128, nullptr,
     "MQTT client id [sensorgate-<name>]", STORE(c.mqtt.client_id = v.text), CheckName,
     "must be 1 to 128 letters, digits, '.', '_' or '-'"},
    {"mqtt", "clean_session", KeyType::kBool, "false", false, 0, 0, nullptr,
     "false keeps a persistent session: nothing is lost while the gateway is down",
     STORE(c.mqtt.clean_session = v.b), nullptr, nullptr},
    {"mqtt", "username", KeyType::kString, "", false, 0, 256, nullptr, "MQTT user name",
     STORE(c.mqtt.username = v.text), CheckPrintable, "must be at most 256 bytes, no control characters"},
    {"mqtt", "password_file", KeyType::kSecretFile, "", false, 0, 4096, nullptr,
     "file holding the MQTT password (never the password inline)",
     STORE(c.mqtt.password_file = v.text), nullptr, nullptr},
    {"mqtt", "ca_file", KeyType::kPath, "", false, 0, 4096, nullptr,
     "CA certificates to verify the broker (ssl://)", STORE(c.mqtt.ca_file = v.text), nullptr, nullptr},
    {"mqtt", "cert_file", KeyType::kPath, "", false, 0, 4096, nullptr,
     "client certificate for mutual TLS", STORE(c.mqtt.cert_file = v.text), nullptr, nullptr},
    {"mqtt", "key_file", KeyType::kSecretFile, "", false, 0, 4096, nullptr,
     "client private key for mutual TLS", STORE(c.mqtt.key_file = v.text), nullptr, nullptr},
    {"mqtt", "payload", KeyType::kEnum, "json", false, 0, 0, "json|number",
     "json, or number: the payload is a bare number",
     STORE(c.mqtt.payload = v.text == "number" ? PayloadFormat::kNumber : PayloadFormat::kJson),
     nullptr, nullptr},

    {"reading", "key", KeyType::kString, "sensor", false, 1, 1024, nullptr,
     "dotted JSON path, CSV column, or @topic.N (N-th MQTT topic level, 0-based)",
     STORE(c.reading.key = v.text), CheckKeyPath,
     "must be a dotted path (a.b.c), a CSV column, or @topic.N with N from 0 to 63"},
    {"reading", "value", KeyType::kString, "padrao.leitura.temperatura", false, 1, 1024, nullptr,
     "dotted JSON path or CSV column of the value; ignored with payload = number",
     STORE(c.reading.value = v.text), CheckPath, "must be a dotted path (a.b.c) or a CSV column"},
    {"reading", "time", KeyType::kString, "data_evento", false, 0, 1024, nullptr,
     "RFC 3339 string or unix seconds/milliseconds number; empty: arrival time",
     STORE(c.reading.time = v.text), CheckPath,
     "must be empty (arrival time), a dotted path (a.b.c) or a CSV column"},
    {"reading", "min", KeyType::kNumber, "-1000000", false, -1e300, 1e300, nullptr,
     "readings below this are rejected", STORE(c.reading.min = v.d), nullptr, nullptr},
    {"reading", "max", KeyType::kNumber, "1000000", false, -1e300, 1e300, nullptr,
     "readings above this are rejected", STORE(c.reading.max = v.d), nullptr, nullptr},

    {"window", "size", KeyType::kInt, "60", false, 1, 100000, nullptr,
     "readings kept per key, a ring buffer", STORE(c.window.size = static_cast<uint32_t>(v.i)),
     nullptr, nullptr},
    {"window", "max_keys", KeyType::kInt, "10000", false, 1, 1000000, nullptr,
     "readings for further new keys are rejected and counted",
     STORE(c.window.max_keys = static_cast<uint32_t>(v.i)), nullptr, nullptr},

    {"alert", "above", KeyType::kNumber, "", true, -1e6, 1e6, nullptr,
     "a window average above this is hot", STORE(c.alert.above = v.d), nullptr, nullptr},
    {"alert", "clear_below", KeyType::kNumber, "", false, -1e6, 1e6, nullptr,
     "a firing alert resolves when the average falls below this [= above]",
     STORE(c.alert.clear_below = v.d), nullptr, nullptr},
    {"alert", "for", KeyType::kDuration, "0s", false, 0, 7 * 86400 * kS, nullptr,
     "the average must stay hot this long (reading time) before firing",
     STORE(c.alert.for_us = v.i), nullptr, nullptr},
    {"alert", "min_samples", KeyType::kInt, "1", false, 1, 100000, nullptr,
     "no alert while the window holds fewer readings",
     STORE(c.alert.min_samples = static_cast<uint32_t>(v.i)), nullptr, nullptr},
    {"alert", "stale_after", KeyType::kDuration, "off", false, 1 * kS, 30 * 86400 * kS, "off",
     "alert when a key sends nothing this long (daemon only)", STORE(c.alert.stale_after_us = v.i),
     nullptr, nullptr},

    {"email", "url", KeyType::kString, "", true, 1, 1024, nullptr, "mail server, smtp:// or smtps://",
     STORE(c.email.url = v.text), CheckSmtpUrl, "must be smtp://HOST[:PORT] or smtps://HOST[:PORT]"},
    {"email", "starttls", KeyType::kEnum, "required", false, 0, 0, "required|try|off",
     "STARTTLS for smtp:// URLs",
     STORE(c.email.starttls = v.text == "try" ? StartTls::kTry
                              : v.text == "off" ? StartTls::kOff
                                                : StartTls::kRequired),
     nullptr, nullptr},
    {"email", "username", KeyType::kString, "", false, 0, 256, nullptr, "SMTP user name",
     STORE(c.email.username = v.text), CheckPrintable, "must be at most 256 bytes, no control characters"},
    {"email", "password_file", KeyType::kSecretFile, "", false, 0, 4096, nullptr,
     "file holding the SMTP password", STORE(c.email.password_file = v.text), nullptr, nullptr},
    {"email", "from", KeyType::kString, "", true, 3, 254, nullptr, "sender address",
     STORE(c.email.from = v.text), CheckMail, "must be one mail address such as sensorgate@plant.example"},
    {"email", "to", KeyType::kList, "", true, 1, 100, nullptr, "recipient addresses",
     STORE(c.email.to = v.list), CheckMailList,
     "must be a comma-separated list of 1 to 100 mail addresses"},
    {"email", "group_wait", KeyType::kDuration, "10s", false, 0, 3600 * kS, nullptr,
     "collect alerts this long, then send one mail listing all",
     STORE(c.email.group_wait_us = v.i), nullptr, nullptr},
    {"email", "repeat", KeyType::kDuration, "4h", false, 60 * kS, 30 * 86400 * kS, nullptr,
     "remind about alerts still firing this often", STORE(c.email.repeat_us = v.i), nullptr, nullptr},
    {"email", "send_resolved", KeyType::kBool, "true", false, 0, 0, nullptr,
     "mail when an alert resolves", STORE(c.email.send_resolved = v.b), nullptr, nullptr},
    {"email", "max_per_hour", KeyType::kInt, "20", false, 1, 3600, nullptr,
     "beyond this, alerts wait for the next allowed mail",
     STORE(c.email.max_per_hour = static_cast<uint32_t>(v.i)), nullptr, nullptr},
    {"email", "timeout", KeyType::kDuration, "30s", false, 1 * kS, 600 * kS, nullptr,
     "give up one delivery attempt after this long", STORE(c.email.timeout_us = v.i), nullptr, nullptr},
    {"email", "ca_file", KeyType::kPath, "", false, 0, 4096, nullptr,
     "CA certificates to verify the mail server [system store]", STORE(c.email.ca_file = v.text),
     nullptr, nullptr},

    {"kafka", "brokers", KeyType::kList, "", true, 1, 64, nullptr, "bootstrap brokers, HOST:PORT",
     STORE(c.kafka.brokers = v.list), CheckBrokers,
     "must be a comma-separated list of 1 to 64 HOST:PORT addresses"},
    {"kafka", "topic", KeyType::kString, "", true, 1, 249, nullptr, "topic of the aggregates",
     STORE(c.kafka.topic = v.text), CheckTopic,
     "must be a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"},
    {"kafka", "alerts_topic", KeyType::kString, "", false, 0, 249, nullptr,
     "topic of the alert events [none]", STORE(c.kafka.alerts_topic = v.text), CheckTopic,
     "must be empty or a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"},
    {"kafka", "interval", KeyType::kDuration, "10s", false, 100 * 1000, 3600 * kS, nullptr,
     "publish one aggregate per key that changed, this often", STORE(c.kafka.interval_us = v.i),
     nullptr, nullptr},
    {"kafka", "spool_max", KeyType::kSize, "64MiB", false, 1 << 20, 1099511627776.0, nullptr,
     "disk buffer while the cluster cannot be reached",
     STORE(c.kafka.spool_max_bytes = static_cast<uint64_t>(v.i)), nullptr, nullptr},
    {"kafka", "rdkafka.*", KeyType::kString, "", false, 0, 4096, nullptr,
     "any key starting rdkafka. is passed to librdkafka as is", nullptr, CheckPrintable,
     "must be at most 4096 bytes, no control characters"},

    {"http", "listen", KeyType::kString, "127.0.0.1:9108", false, 1, 300, nullptr,
     "address of /metrics, /healthz, /api/windows and the dashboard",
     STORE(SetListen(c, v.text)), CheckListen, "must be HOST:PORT, e.g. 127.0.0.1:9108"},

    // [rule.NAME]: stored by ApplyRuleKey() into the section's RuleConfig.
    {"rule.NAME", "where", KeyType::kString, "", false, 0, 1024, nullptr,
     "optional filter on the record's fields, e.g. DstPort in (443, 8000) [none]", nullptr, nullptr,
     "must be empty or a filter: FIELD OP LITERAL, FIELD [not] in (LITERAL, ...) or exists(FIELD), "
     "joined by and, or, not, ( ); OP one of =, !=, <, <=, >, >="},
    {"rule.NAME", "key", KeyType::kString, "", false, 0, 1024, nullptr,
     "group by these fields (joined with \"/\"); empty: one group, \"*\"", nullptr, nullptr,
     "must be empty or a comma-separated list of 1 to 8 fields (dotted paths a.b.c, CSV columns or @topic.N)"},
    {"rule.NAME", "value", KeyType::kString, "", false, 0, 1024, nullptr,
     "the number that sum, avg, min, max, stddev, last and slope use [none]", nullptr, nullptr,
     "must be empty or a field (a dotted path a.b.c, a CSV column or @topic.N)"},
    {"rule.NAME", "time", KeyType::kString, "", false, 0, 1024, nullptr,
     "event-time field, or @arrival (processing time) [[reading] time]", nullptr, nullptr,
     "must be @arrival, a dotted path (a.b.c) or a CSV column"},
    {"rule.NAME", "window", KeyType::kString, "", true, 1, 1024, nullptr,
     "count N | tumbling D | sliding D every S | total", nullptr, nullptr,
     "must be count N (N from 1 to 100000), tumbling D, sliding D every S (D a multiple of S) or total; "
     "D and S from 100ms to 7d"},
    {"rule.NAME", "lateness", KeyType::kDuration, "0s", false, 0, 86400 * kS, nullptr,
     "event time only: how long a window waits for late records", nullptr, nullptr, nullptr},
    {"rule.NAME", "aggregates", KeyType::kString, "count", false, 1, 1024, nullptr,
     "what is computed over each window", nullptr, nullptr,
     "must be a comma-separated list of count, sum, avg, min, max, stddev, last, slope, distinct(FIELD), each once"},
    {"rule.NAME", "alert", KeyType::kString, "", false, 0, 1024, nullptr,
     "optional: AGG OP NUMBER, or zscore(AGG) OP NUMBER", nullptr, nullptr,
     "must be empty, AGG OP NUMBER or zscore(AGG) OP NUMBER, with AGG one of the aggregates and OP one of >, >=, <, <="},
    {"rule.NAME", "clear", KeyType::kString, "", false, 0, 1024, nullptr,
     "resolves a firing alert [the alert condition is false]", nullptr, nullptr,
     "must be empty, AGG OP NUMBER or zscore(AGG) OP NUMBER, with AGG one of the aggregates and OP one of >, >=, <, <="},
    {"rule.NAME", "for", KeyType::kDuration, "0s", false, 0, 7 * 86400 * kS, nullptr,
     "the alert condition must hold this long before firing", nullptr, nullptr, nullptr},
    {"rule.NAME", "min_samples", KeyType::kInt, "1", false, 1, 100000, nullptr,
     "no alert while the window holds fewer values", nullptr, nullptr, nullptr},
    {"rule.NAME", "baseline", KeyType::kInt, "30", false, 2, 10000, nullptr,
     "closed windows of history for zscore()", nullptr, nullptr, nullptr},
    {"rule.NAME", "outlier_z", KeyType::kNumber, "off", false, 0.1, 1000, "off",
     "count windows: flag a value this many stddev from its window", nullptr, nullptr, nullptr},
    {"rule.NAME", "min", KeyType::kNumber, "-1000000", false, -1e300, 1e300, nullptr,
     "values below this are skipped (value_out_of_range)", nullptr, nullptr, nullptr},
    {"rule.NAME", "max", KeyType::kNumber, "1000000", false, -1e300, 1e300, nullptr,
     "values above this are skipped (value_out_of_range)", nullptr, nullptr, nullptr},
    {"rule.NAME", "max_keys", KeyType::kInt, "10000", false, 1, 1000000, nullptr,
     "records of further new keys are skipped and counted", nullptr, nullptr, nullptr},
    {"rule.NAME", "max_distinct", KeyType::kInt, "100000", false, 1, 10000000, nullptr,
     "distinct values held by this rule in all", nullptr, nullptr, nullptr},
    {"rule.NAME", "kafka_topic", KeyType::kString, "", false, 0, 249, nullptr,
     "where the rule's results go [[kafka] topic]", nullptr, CheckTopic,
     "must be empty or a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"},
};
#undef STORE

// In the order of DESIGN.md section 3 and the example configuration.
const char* const kSections[] = {"gateway", "file",  "mqtt",  "reading", "window",
                                 "alert",   "email", "kafka", "http"};

constexpr std::string_view kRulePrefix = "rule.";
constexpr const char kRuleSpecSection[] = "rule.NAME";

// NAME of [rule.NAME]: 1 to 32 characters from a-z 0-9 _ -.
bool IsRuleName(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

bool IsRuleSection(std::string_view s) { return s.substr(0, kRulePrefix.size()) == kRulePrefix; }

// The section of the table that holds the keys of section s.
std::string_view SpecSection(std::string_view s) { return IsRuleSection(s) ? kRuleSpecSection : s; }

bool IsKnownSection(std::string_view s) {
  if (IsRuleSection(s)) return IsRuleName(s.substr(kRulePrefix.size()));
  for (const char* k : kSections) {
    if (s == k) return true;
  }
  return false;
}

// Shortest text that reads back as v; whole numbers are written out in full
// ("100000", not the shorter "1e+05" to_chars would pick).
std::string Num(double v) {
  char buf[400];
  const bool whole = std::fabs(v) < 1e16 && std::floor(v) == v;
  auto [p, ec] = whole ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, p);
}

std::string SizeText(double bytes) {
  static const char* kUnits[] = {"GiB", "MiB", "KiB"};
  static const double kScale[] = {1073741824.0, 1048576.0, 1024.0};
  for (int i = 0; i < 3; ++i) {
    if (bytes >= kScale[i] && std::fmod(bytes, kScale[i]) == 0) return Num(bytes / kScale[i]) + kUnits[i];
  }
  return Num(bytes) + "B";
}

std::string Allowed(const Spec& s) {
  switch (s.type) {
    case KeyType::kInt:
      return "must be an integer from " + Num(s.lo) + " to " + Num(s.hi);
    case KeyType::kNumber:
      if (s.lo < -1e299) return "must be a finite number";
      return "must be a number from " + Num(s.lo) + " to " + Num(s.hi) + (s.choices ? ", or off" : "");
    case KeyType::kDuration:
      return std::string("must be a duration with a unit (ms, s, m, h, d) from ") +
             FormatDuration(static_cast<int64_t>(s.lo)) + " to " +
             FormatDuration(static_cast<int64_t>(s.hi)) + (s.choices ? ", or off" : "");
    case KeyType::kSize:
      return "must be a size with a unit (KiB, MiB, GiB) from " + SizeText(s.lo) + " to " +
             SizeText(s.hi);
    case KeyType::kBool:
      return "must be true or false";
    case KeyType::kEnum: {
      std::string r = "must be one of: ";
      for (const char* p = s.choices; *p; ++p) r += *p == '|' ? std::string(", ") : std::string(1, *p);
      return r;
    }
    case KeyType::kSecretFile:
      return "must be a file readable by the gateway and by no one else (chmod 600)";
    case KeyType::kPath:
      return s.allowed_text ? s.allowed_text : "must be a readable file";
    default:
      return s.allowed_text ? s.allowed_text : "must be a path";
  }
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    std::string_view item = s.substr(start, comma == std::string_view::npos ? comma : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    out.emplace_back(item);
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

// Checks a file named by the configuration. Returns "" or the problem;
// `allowed` is what the key allows, appended to a secret file's mode problem.
std::string CheckReadableFile(const std::string& path, bool secret, const std::string& allowed) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::string("cannot read: ") + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (access(path.c_str(), R_OK) != 0) return std::string("cannot read: ") + std::strerror(errno);
  if (secret && (st.st_mode & (S_IROTH | S_IWOTH))) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string(st.st_mode & S_IROTH ? "readable" : "writable") + " by others (mode " + mode +
           "): " + allowed;
  }
  return "";
}

// Parses text as the spec's type. Returns "" or the reason (Allowed() text).
std::string ParseValue(const Spec& s, const std::string& text, Value* v) {
  v->text = text;
  const std::string allowed = Allowed(s);
  const char* b = text.data();
  const char* e = text.data() + text.size();
  switch (s.type) {
    case KeyType::kInt: {
      int64_t n;
      auto [p, ec] = std::from_chars(b, e, n);
      if (ec != std::errc() || p != e || n < s.lo || n > s.hi) return allowed;
      v->i = n;
      return "";
    }
    case KeyType::kNumber: {
      if (s.choices && text == "off") {
        v->d = 0;
        return "";
      }
      double d;
      auto [p, ec] = std::from_chars(b, e, d);
      if (ec != std::errc() || p != e || !std::isfinite(d) || d < s.lo || d > s.hi) return allowed;
      v->d = d;
      return "";
    }
    case KeyType::kDuration: {
      if (s.choices && text == "off") {
        v->i = 0;
        return "";
      }
      int64_t us;
      if (!ParseDuration(text, &us) || us < s.lo || us > s.hi) return allowed;
      v->i = us;
      return "";
    }
    case KeyType::kSize: {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(b, e, n);
      if (ec != std::errc() || p == b) return allowed;
      const std::string_view unit(p, static_cast<size_t>(e - p));
      uint64_t scale = unit == "B"     ? 1
                       : unit == "KiB" ? 1ULL << 10
                       : unit == "MiB" ? 1ULL << 20
                       : unit == "GiB" ? 1ULL << 30
                                       : 0;
      if (scale == 0 || n > (1ULL << 50) / scale) return allowed;
      const double bytes = static_cast<double>(n * scale);
      if (bytes < s.lo || bytes > s.hi) return allowed;
      v->i = static_cast<int64_t>(n * scale);
      return "";
    }
    case KeyType::kBool:
      if (text == "true") v->b = true;
      else if (text == "false") v->b = false;
      else return allowed;
      return "";
    case KeyType::kEnum: {
      const std::string_view choices = s.choices;
      size_t start = 0;
      while (true) {
        const size_t bar = choices.find('|', start);
        if (choices.substr(start, bar == std::string_view::npos ? bar : bar - start) == text) return "";
        if (bar == std::string_view::npos) return allowed;
        start = bar + 1;
      }
    }
    case KeyType::kList: {
      v->list = SplitList(text);
      for (const auto& item : v->list) {
        if (item.empty()) return allowed;
      }
      if (v->list.size() < s.lo || v->list.size() > s.hi) return allowed;
      if (s.check && s.check(*v)) return allowed;
      return "";
    }
    case KeyType::kSecretFile:
    case KeyType::kPath:
      if (text.size() > s.hi) return allowed;
      if (HasControl(text)) return allowed;
      if (!text.empty() && s.section != std::string_view("gateway")) {
        const std::string problem = CheckReadableFile(text, s.type == KeyType::kSecretFile, allowed);
        if (!problem.empty()) return problem;
      }
      return "";
    case KeyType::kString:
      if (text.size() < s.lo || text.size() > s.hi) return allowed;
      if (s.check && s.check(*v)) return allowed;
      return "";
  }
  return allowed;
}

const Spec* FindSpec(std::string_view section, std::string_view key) {
  for (const Spec& s : kSpecs) {
    if (section == s.section && key == s.key) return &s;
  }
  if (section == "kafka" && key.substr(0, 8) == "rdkafka.") {
    for (const Spec& s : kSpecs) {
      if (std::string_view(s.key) == "rdkafka.*") return &s;
    }
  }
  return nullptr;
}

// --- [rule.NAME] values ---

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Items of a comma list, trimmed; "" gives no item.
std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  if (Trim(s).empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    out.push_back(Trim(s.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

// Words separated by blanks.
std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

bool IsField(std::string_view s) {
  if (s.rfind("@topic.", 0) == 0) return IsTopicKey(s, nullptr);
  return IsDottedPath(s) && s.find_first_of(" \t,()\"") == std::string_view::npos;
}

// One aggregate as written ("avg", "distinct(F)"); false if it is none.
bool ParseAggregate(std::string_view text, Aggregate* out) {
  static constexpr std::pair<std::string_view, AggregateKind> kNames[] = {
      {"count", AggregateKind::kCount}, {"sum", AggregateKind::kSum},       {"avg", AggregateKind::kAvg},
      {"min", AggregateKind::kMin},     {"max", AggregateKind::kMax},       {"stddev", AggregateKind::kStddev},
      {"last", AggregateKind::kLast},   {"slope", AggregateKind::kSlope}};
  for (const auto& [name, kind] : kNames) {
    if (text == name) {
      *out = Aggregate{kind, "", std::string(name)};
      return true;
    }
  }
  constexpr std::string_view kDistinct = "distinct(";
  if (text.substr(0, kDistinct.size()) == kDistinct && text.size() > kDistinct.size() + 1 && text.back() == ')') {
    const std::string field = Trim(text.substr(kDistinct.size(), text.size() - kDistinct.size() - 1));
    if (!IsField(field)) return false;
    *out = Aggregate{AggregateKind::kDistinct, field, "distinct(" + field + ")"};
    return true;
  }
  return false;
}

bool UsesValue(AggregateKind k) { return k != AggregateKind::kCount && k != AggregateKind::kDistinct; }

// "AGG OP NUMBER" or "zscore(AGG) OP NUMBER"; empty text: no condition.
bool ParseCondition(std::string_view text, RuleCondition* out) {
  RuleCondition c;
  const std::string t = Trim(text);
  if (t.empty()) {
    *out = c;
    return true;
  }
  const size_t op_at = t.find_first_of("<>");
  if (op_at == std::string::npos || op_at == 0) return false;
  const bool eq = op_at + 1 < t.size() && t[op_at + 1] == '=';
  c.op = t[op_at] == '>' ? (eq ? CompareOp::kGe : CompareOp::kGt) : (eq ? CompareOp::kLe : CompareOp::kLt);
  std::string left = Trim(std::string_view(t).substr(0, op_at));
  const std::string right = Trim(std::string_view(t).substr(op_at + (eq ? 2 : 1)));
  constexpr std::string_view kZ = "zscore(";
  if (left.rfind(kZ, 0) == 0 && left.back() == ')') {
    c.zscore = true;
    left = Trim(std::string_view(left).substr(kZ.size(), left.size() - kZ.size() - 1));
  }
  Aggregate agg;
  if (!ParseAggregate(left, &agg)) return false;
  c.aggregate = agg.name;
  auto [p, ec] = std::from_chars(right.data(), right.data() + right.size(), c.threshold);
  if (right.empty() || ec != std::errc() || p != right.data() + right.size() || !std::isfinite(c.threshold)) {
    return false;
  }
  c.enabled = true;
  *out = c;
  return true;
}

constexpr int64_t kMinWindowUs = 100 * 1000;
constexpr int64_t kMaxWindowUs = 7 * 86400 * int64_t{1000000};
constexpr uint64_t kMaxPanes = 10000;

bool ParseWindowDuration(const std::string& text, int64_t* us) {
  return ParseDuration(text, us) && *us >= kMinWindowUs && *us <= kMaxWindowUs;
}

// window = count N | tumbling D | sliding D every S | total. Returns "" or
// the problem.
std::string ParseWindow(const std::string& text, const std::string& allowed, RuleConfig* r) {
  const std::vector<std::string> w = Words(text);
  if (w.size() == 2 && w[0] == "count") {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), n);
    if (ec != std::errc() || p != w[1].data() + w[1].size() || n < 1 || n > 100000) return allowed;
    r->window = WindowKind::kCount;
    r->count = static_cast<uint32_t>(n);
    r->length_us = r->every_us = 0;
    return "";
  }
  if (w.size() == 2 && w[0] == "tumbling") {
    int64_t d = 0;
    if (!ParseWindowDuration(w[1], &d)) return allowed;
    r->window = WindowKind::kTumbling;
    r->length_us = r->every_us = d;
    r->count = 0;
    return "";
  }
  if (w.size() == 4 && w[0] == "sliding" && w[2] == "every") {
    int64_t d = 0, e = 0;
    if (!ParseWindowDuration(w[1], &d) || !ParseWindowDuration(w[3], &e)) return allowed;
    if (d % e != 0) return w[1] + " is not a multiple of " + w[3] + " (a window is made of whole panes)";
    if (static_cast<uint64_t>(d / e) > kMaxPanes) {
      return w[1] + " / " + w[3] + " is " + std::to_string(d / e) + " panes; at most " +
             std::to_string(kMaxPanes);
    }
    r->window = WindowKind::kSliding;
    r->length_us = d;
    r->every_us = e;
    r->count = 0;
    return "";
  }
  if (w.size() == 1 && w[0] == "total") {
    r->window = WindowKind::kTotal;
    r->count = 0;
    r->length_us = r->every_us = 0;
    return "";
  }
  return allowed;
}

// Stores one checked value of a [rule.NAME] key into r. `column` is the
// 1-based column of the value in its line, for `where` faults. Returns "" or
// the problem.
std::string ApplyRuleKey(RuleConfig& r, std::string_view key, const Value& v, const std::string& allowed,
                         size_t column) {
  const std::string& t = v.text;
  if (key == "where") {
    r.has_where = false;
    r.where = WhereExpr();
    if (Trim(t).empty()) return "";
    WhereError e;
    if (!ParseWhere(t, &r.where, &e)) {
      r.where = WhereExpr();
      return "column " + std::to_string(column - 1 + e.column) + ": " + e.what;
    }
    r.has_where = true;
  } else if (key == "key") {
    std::vector<std::string> fields = SplitComma(t);
    if (fields.size() > 8) return allowed;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!IsField(fields[i])) return allowed;
      for (size_t j = 0; j < i; ++j) {
        if (fields[j] == fields[i]) return fields[i] + " given twice";
      }
    }
    r.key_fields = std::move(fields);
  } else if (key == "value") {
    if (!t.empty() && !IsField(t)) return allowed;
    r.value = t;
  } else if (key == "time") {
    if (t == "@arrival") {
      r.time.clear();
    } else if (IsDottedPath(t) && t[0] != '@' && IsField(t)) {
      r.time = t;
    } else {
      return allowed;
    }
  } else if (key == "window") {
    return ParseWindow(t, allowed, &r);
  } else if (key == "lateness") {
    r.lateness_us = v.i;
  } else if (key == "aggregates") {
    std::vector<Aggregate> aggs;
    const std::vector<std::string> items = SplitComma(t);
    if (items.empty()) return allowed;
    for (const std::string& item : items) {
      Aggregate a;
      if (!ParseAggregate(item, &a)) return allowed;
      for (const Aggregate& b : aggs) {
        if (b.name == a.name) return a.name + " given twice";
      }
      aggs.push_back(std::move(a));
    }
    r.aggregates = std::move(aggs);
  } else if (key == "alert" || key == "clear") {
    RuleCondition c;
    if (!ParseCondition(t, &c)) return allowed;
    (key == "alert" ? r.alert : r.clear) = c;
  } else if (key == "for") {
    r.for_us = v.i;
  } else if (key == "min_samples") {
    r.min_samples = static_cast<uint32_t>(v.i);
  } else if (key == "baseline") {
    r.baseline = static_cast<uint32_t>(v.i);
  } else if (key == "outlier_z") {
    r.outlier_z = v.d;
  } else if (key == "min") {
    r.min = v.d;
  } else if (key == "max") {
    r.max = v.d;
  } else if (key == "max_keys") {
    r.max_keys = static_cast<uint32_t>(v.i);
  } else if (key == "max_distinct") {
    r.max_distinct = static_cast<uint32_t>(v.i);
  } else if (key == "kafka_topic") {
    r.kafka_topic = t;
  }
  return "";
}

bool HasAggregate(const RuleConfig& r, const std::string& name) {
  for (const Aggregate& a : r.aggregates) {
    if (a.name == name) return true;
  }
  return false;
}

std::string AggregateNames(const RuleConfig& r) {
  std::string out;
  for (const Aggregate& a : r.aggregates) out += (out.empty() ? "" : ", ") + a.name;
  return out;
}

struct Loader {
  std::string_view text;
  size_t pos = 0;
  int line = 0;
  std::string name;
  ConfigMode mode;
  Config cfg{};
  std::vector<std::string> errors;
  std::map<std::string, int> section_line;                       // first header line
  std::map<std::pair<std::string, std::string>, int> key_line;  // where each key was set
  std::map<std::pair<std::string, std::string>, std::string> key_text;
  std::set<std::pair<std::string, std::string>> bad;  // given, but refused
  bool skipping = false;  // in a section refused at its header: its keys are ignored
  std::string raw_line;   // the line being parsed, for columns

  RuleConfig* FindRule(std::string_view section) {
    const std::string_view rule_name = section.substr(kRulePrefix.size());
    for (RuleConfig& r : cfg.rules) {
      if (r.name == rule_name) return &r;
    }
    return nullptr;
  }
  // A new rule with the table's defaults.
  void AddRule(const std::string& rule_name, int at) {
    RuleConfig r;
    r.name = rule_name;
    r.line = at;
    for (const Spec& s : kSpecs) {
      if (std::string_view(s.section) != kRuleSpecSection || *s.def == '\0') continue;
      Value v;
      if (ParseValue(s, s.def, &v).empty()) (void)ApplyRuleKey(r, s.key, v, Allowed(s), 1);
    }
    cfg.rules.push_back(std::move(r));
  }
  // The 1-based column where the value of the current "key = value" line starts.
  size_t ValueColumn() const {
    size_t i = 0;
    while (i < raw_line.size() && (raw_line[i] == ' ' || raw_line[i] == '\t')) ++i;
    i = raw_line.find_first_of("=:", i);
    if (i == std::string::npos) return 1;
    ++i;
    while (i < raw_line.size() && (raw_line[i] == ' ' || raw_line[i] == '\t')) ++i;
    return i + 1;
  }

  void Error(int at, const std::string& what) {
    errors.push_back(name + (at > 0 ? ":" + std::to_string(at) : std::string()) + ": " + what);
  }
  std::string Where(const std::string& section, const std::string& key) {
    auto it = key_text.find({section, key});
    return "[" + section + "] " + key + " = " + (it == key_text.end() ? "" : it->second);
  }
  // False if the key was given with a value that was refused.
  bool Good(const std::string& section, const std::string& key) const {
    return bad.count({section, key}) == 0;
  }
  int LineOf(const std::string& section, const std::string& key) {
    auto it = key_line.find({section, key});
    if (it != key_line.end()) return it->second;
    auto s = section_line.find(section);
    return s == section_line.end() ? 0 : s->second;
  }

  // inih reader: hands over one line at a time so `line` is always the line
  // being parsed. Leading blanks are removed (inih would read an indented
  // line as the continuation of the previous value), and lines inih cannot
  // parse are reported here, with their number, and passed on as comments.
  static char* Read(char* str, int num, void* stream) {
    Loader* l = static_cast<Loader*>(stream);
    if (l->pos >= l->text.size()) return nullptr;
    size_t end = l->text.find('\n', l->pos);
    if (end == std::string_view::npos) end = l->text.size();
    std::string_view ln = l->text.substr(l->pos, end - l->pos);
    l->pos = end + 1;
    ++l->line;
    if (!ln.empty() && ln.back() == '\r') ln.remove_suffix(1);
    if (l->line == 1 && ln.substr(0, 3) == "\xEF\xBB\xBF") ln.remove_prefix(3);  // UTF-8 BOM
    l->raw_line = std::string(ln);
    while (!ln.empty() && (ln.front() == ' ' || ln.front() == '\t')) ln.remove_prefix(1);
    std::string_view out = ln;
    if (ln.size() + 2 > static_cast<size_t>(num)) {
      l->Error(l->line, "line is longer than " + std::to_string(num - 2) + " characters");
      out = ";";
    } else if (!ln.empty() && ln[0] == '[') {
      const size_t close = ln.find(']');
      std::string_view rest = close == std::string_view::npos ? "" : ln.substr(close + 1);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      if (close == std::string_view::npos || (!rest.empty() && rest[0] != ';' && rest[0] != '#')) {
        l->Error(l->line, "\"" + std::string(ln) + "\": a section header is [name], alone on its line");
        out = ";";
      } else {
        const std::string section(ln.substr(1, close - 1));
        l->skipping = true;
        if (IsRuleSection(section) && !IsRuleName(section.substr(kRulePrefix.size()))) {
          l->Error(l->line, "[" + section + "]: a rule name is 1 to 32 characters from a-z 0-9 _ -");
        } else if (!IsKnownSection(section)) {
          std::string known;
          for (const char* k : kSections) known += std::string(known.empty() ? "" : ", ") + k;
          l->Error(l->line, "[" + section + "]: unknown section; sections are: " + known + ", " +
                                kRuleSpecSection);
        } else if (IsRuleSection(section) && l->section_line.count(section)) {
          l->Error(l->line, "[" + section + "]: given twice (first at line " +
                                std::to_string(l->section_line[section]) + ")");
        } else {
          l->skipping = false;
          if (l->section_line.emplace(section, l->line).second && IsRuleSection(section)) {
            l->AddRule(section.substr(kRulePrefix.size()), l->line);
          }
        }
      }
    } else if (!ln.empty() && ln[0] != ';' && ln[0] != '#' && ln.find('=') == std::string_view::npos &&
               ln.find(':') == std::string_view::npos) {
      l->Error(l->line, "\"" + std::string(ln) + "\": not a \"key = value\" line or a [section] header");
      out = ";";
    }
    std::memcpy(str, out.data(), out.size());
    str[out.size()] = '\n';
    str[out.size() + 1] = '\0';
    return str;
  }

  static int Handle(void* user, const char* section, const char* key, const char* value) {
    static_cast<Loader*>(user)->Set(section, key, value);
    return 1;
  }

  void Set(const std::string& section, const std::string& key, const std::string& value) {
    if (section.empty()) {
      Error(line, key + " = " + value + ": a key before any [section]");
      return;
    }
    if (!IsKnownSection(section) || skipping) return;  // reported at the header
    const std::string where = "[" + section + "] " + key + " = " + value;
    const std::string_view spec_section = SpecSection(section);
    const Spec* spec = FindSpec(spec_section, key);
    if (spec == nullptr) {
      std::string keys;
      for (const Spec& s : kSpecs) {
        if (spec_section == s.section) keys += std::string(keys.empty() ? "" : ", ") + s.key;
      }
      Error(line, where + ": unknown key; [" + section + "] takes: " + keys);
      return;
    }
    if (std::string_view(spec->key) == "rdkafka.*" && key.size() == 8) {  // "rdkafka." alone
      Error(line, where + ": name a librdkafka property after rdkafka.");
      return;
    }
    auto [it, inserted] = key_line.emplace(std::make_pair(section, key), line);
    if (!inserted) {
      Error(line, where + ": given twice (first at line " + std::to_string(it->second) + ")");
      return;
    }
    key_text[{section, key}] = value;
    Value v;
    const std::string problem = ParseValue(*spec, value, &v);
    if (!problem.empty()) {
      Error(line, where + ": " + problem);
      bad.emplace(section, key);
      return;
    }
    if (IsRuleSection(section)) {
      const std::string rule_problem = ApplyRuleKey(*FindRule(section), key, v, Allowed(*spec), ValueColumn());
      if (!rule_problem.empty()) {
        Error(line, where + ": " + rule_problem);
        bad.emplace(section, key);
      }
    } else if (spec->store) {
      spec->store(cfg, v);
    } else {
      cfg.kafka.rdkafka.emplace_back(key.substr(8), value);
    }
  }

  void ApplyDefaults() {
    for (const Spec& s : kSpecs) {
      if (s.store == nullptr || key_line.count({s.section, s.key})) continue;
      Value v;
      const std::string problem = ParseValue(s, s.def, &v);
      if (problem.empty()) s.store(cfg, v);
    }
  }

  void CheckWhole() {
    for (const auto& [section, at] : section_line) {
      for (const Spec& s : kSpecs) {
        if (SpecSection(section) == s.section && s.required && !key_line.count({section, s.key})) {
          Error(at, "[" + section + "] " + s.key + ": required when [" + section +
                        "] is present; it " + Allowed(s));
        }
      }
    }
    Config& c = cfg;
    c.file.enabled = section_line.count("file") > 0;
    c.mqtt.enabled = section_line.count("mqtt") > 0;
    c.alert.enabled = section_line.count("alert") > 0;
    c.email.enabled = section_line.count("email") > 0;
    c.kafka.enabled = section_line.count("kafka") > 0;
    c.http.enabled = section_line.count("http") > 0;
    if (c.gateway.name.empty()) {
      char host[256] = {0};
      if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "sensorgate");
      c.gateway.name = host;
    }
    if (c.mqtt.client_id.empty()) c.mqtt.client_id = "sensorgate-" + c.gateway.name;
    if (!key_line.count({"alert", "clear_below"})) c.alert.clear_below = c.alert.above;
    // Rules between keys are checked only when every key they involve holds
    // a good value (given or default): a refused value is reported once, and
    // not again through the defaults that stand in for it.
    if (c.alert.enabled && Good("alert", "above") && key_line.count({"alert", "above"}) &&
        Good("alert", "clear_below") && c.alert.clear_below > c.alert.above) {
      Error(LineOf("alert", "clear_below"),
            Where("alert", "clear_below") + ": must not be greater than above (" + Num(c.alert.above) + ")");
    }
    if (c.alert.enabled && Good("alert", "min_samples") && Good("window", "size") &&
        c.alert.min_samples > c.window.size) {
      Error(LineOf("alert", "min_samples"), Where("alert", "min_samples") +
                                                ": must be at most [window] size (" +
                                                std::to_string(c.window.size) + ")");
    }
    if (Good("reading", "min") && Good("reading", "max") && c.reading.min >= c.reading.max) {
      if (key_line.count({"reading", "max"})) {
        Error(LineOf("reading", "max"),
              Where("reading", "max") + ": must be greater than min (" + Num(c.reading.min) + ")");
      } else {
        Error(LineOf("reading", "min"),
              Where("reading", "min") + ": must be less than max (" + Num(c.reading.max) + ")");
      }
    }
    const bool topic_key = IsTopicKey(c.reading.key, nullptr);
    if (c.mqtt.enabled && c.mqtt.payload == PayloadFormat::kNumber && !topic_key &&
        Good("reading", "key")) {
      Error(LineOf("mqtt", "payload"),
            Where("mqtt", "payload") + ": needs [reading] key = @topic.N (a bare number carries no key)");
    }
    if (topic_key && !c.mqtt.enabled) {
      Error(LineOf("reading", "key"), Where("reading", "key") + ": @topic keys need an [mqtt] section");
    } else if (topic_key && c.file.enabled) {
      Error(LineOf("reading", "key"), Where("reading", "key") +
                                          ": @topic keys cannot be used with [file] (a file line has no topic); "
                                          "use a JSON path or CSV column, or run one gateway per source");
    }
    if (c.mqtt.enabled && Good("mqtt", "cert_file") && Good("mqtt", "key_file") &&
        c.mqtt.cert_file.empty() != c.mqtt.key_file.empty()) {
      const bool has_cert = !c.mqtt.cert_file.empty();
      Error(LineOf("mqtt", has_cert ? "cert_file" : "key_file"),
            Where("mqtt", has_cert ? "cert_file" : "key_file") + ": needs " +
                (has_cert ? "key_file" : "cert_file") +
                " as well (mutual TLS takes both cert_file and key_file, or neither)");
    }
    if (mode == ConfigMode::kDaemon) {
      if (!c.file.enabled && !c.mqtt.enabled) {
        Error(0, "at least one of [file] and [mqtt] is needed (except with --replay)");
      }
      if (c.gateway.state_dir.empty() && Good("gateway", "state_dir")) {
        Error(LineOf("gateway", "state_dir"),
              "[gateway] state_dir: required (offsets, checkpoint, spool and outbox live there), "
              "except with --replay");
      }
    }
    c.hot_rule = section_line.count("reading") || section_line.count("window") || section_line.count("alert") ||
                 c.rules.empty();
    CheckRules();
    CheckMemory();
  }

  bool Given(const std::string& section, const std::string& key) const {
    return key_line.count({section, key}) > 0;
  }
  // Given and good.
  bool GivenGood(const std::string& section, const std::string& key) const {
    return Given(section, key) && Good(section, key);
  }

  // What the keys of one [rule.NAME] must agree on (DESIGN.md 13.2 to 13.4).
  void CheckRules() {
    for (RuleConfig& r : cfg.rules) {
      const std::string s = std::string(kRulePrefix) + r.name;
      if (r.name == "hot" && cfg.hot_rule) {
        Error(r.line, "[" + s + "]: the name hot is taken by the rule of [reading], [window] and [alert]");
      }
      if (!Given(s, "time") && Good("reading", "time")) r.time = cfg.reading.time;
      if (r.kafka_topic.empty() && cfg.kafka.enabled) r.kafka_topic = cfg.kafka.topic;
      const bool window_ok = GivenGood(s, "window");
      const bool count_window = window_ok && r.window == WindowKind::kCount;
      const bool pane_window =
          window_ok && (r.window == WindowKind::kTumbling || r.window == WindowKind::kSliding);
      const bool aggs_ok = Good(s, "aggregates");
      if (GivenGood(s, "lateness") && r.lateness_us > 0 && window_ok) {
        if (count_window) {
          Error(LineOf(s, "lateness"), Where(s, "lateness") + ": a count window has no lateness");
        } else if (!r.event_time() && Good(s, "time")) {
          Error(LineOf(s, "lateness"), Where(s, "lateness") +
                                           ": needs event time (time is @arrival: windows close by the clock)");
        }
      }
      if (aggs_ok && r.value.empty() && Good(s, "value")) {
        for (const Aggregate& a : r.aggregates) {
          if (UsesValue(a.kind)) {
            Error(LineOf(s, "aggregates"),
                  Where(s, "aggregates") + ": " + a.name + " needs a value (set [" + s + "] value)");
            break;
          }
        }
      }
      for (const char* key : {"alert", "clear"}) {
        const RuleCondition& c = std::string_view(key) == "alert" ? r.alert : r.clear;
        if (!c.enabled || !Good(s, key)) continue;
        if (aggs_ok && !HasAggregate(r, c.aggregate)) {
          Error(LineOf(s, key), Where(s, key) + ": " + c.aggregate + " is not in aggregates (" +
                                    AggregateNames(r) + ")");
        } else if (c.zscore && window_ok && !pane_window) {
          Error(LineOf(s, key), Where(s, key) + ": zscore() needs a tumbling or sliding window");
        }
      }
      if (r.clear.enabled && Good(s, "clear") && !r.alert.enabled && Good(s, "alert")) {
        Error(LineOf(s, "clear"), Where(s, "clear") + ": needs an alert to clear");
      }
      if (GivenGood(s, "outlier_z") && r.outlier_z > 0) {
        if (window_ok && !count_window) {
          Error(LineOf(s, "outlier_z"), Where(s, "outlier_z") + ": needs a count window (window = count N)");
        } else if (r.value.empty() && Good(s, "value")) {
          Error(LineOf(s, "outlier_z"), Where(s, "outlier_z") + ": needs a value (set [" + s + "] value)");
        }
      }
      if (GivenGood(s, "min_samples") && count_window && r.min_samples > r.count) {
        Error(LineOf(s, "min_samples"), Where(s, "min_samples") + ": must be at most the window's count (" +
                                            std::to_string(r.count) + ")");
      }
      if (Good(s, "min") && Good(s, "max") && r.min >= r.max) {
        if (Given(s, "max")) {
          Error(LineOf(s, "max"), Where(s, "max") + ": must be greater than min (" + Num(r.min) + ")");
        } else {
          Error(LineOf(s, "min"), Where(s, "min") + ": must be less than max (" + Num(r.max) + ")");
        }
      }
    }
  }

  // The plan's total against [gateway] memory_max, reported at the key that
  // made the largest item large (DESIGN.md section 3).
  void CheckMemory() {
    if (!Good("gateway", "memory_max")) return;
    for (const RuleConfig& r : cfg.rules) {
      const std::string s = std::string(kRulePrefix) + r.name;
      if (!GivenGood(s, "window")) return;  // reported; a plan without that rule would mislead
    }
    const MemoryPlan plan = PlanMemory(cfg);
    if (plan.total <= cfg.gateway.memory_max_bytes || plan.items.empty()) return;
    size_t largest = 0;
    for (size_t i = 1; i < plan.items.size(); ++i) {
      if (plan.items[i].bytes > plan.items[largest].bytes) largest = i;
    }
    const std::string& rule = plan.items[largest].rule;
    std::string section, key;
    const std::vector<std::pair<std::string, std::string>> candidates =
        rule == "hot" && cfg.hot_rule && largest == 0
            ? std::vector<std::pair<std::string, std::string>>{{"window", "max_keys"}, {"window", "size"},
                                                               {"gateway", "memory_max"}}
            : std::vector<std::pair<std::string, std::string>>{{"rule." + rule, "max_keys"},
                                                               {"rule." + rule, "window"},
                                                               {"rule." + rule, "max_distinct"},
                                                               {"gateway", "memory_max"}};
    for (const auto& [sec, k] : candidates) {
      if (Given(sec, k)) {
        section = sec;
        key = k;
        break;
      }
    }
    int at = 0;
    std::string where;
    if (!section.empty()) {
      at = LineOf(section, key);
      where = Where(section, key) + ": ";
    } else {
      const std::string sec = rule == "hot" ? "window" : "rule." + rule;
      at = LineOf(sec, "");
      where = "[" + sec + "]: ";
    }
    if (at == 0 && !cfg.rules.empty()) {  // hot from defaults alone: name a rule that adds to it
      const std::string sec = "rule." + cfg.rules.back().name;
      at = LineOf(sec, "window");
      where = Where(sec, "window") + ": ";
    }
    std::string details;
    for (const MemoryPlan::Item& item : plan.items) {
      details += (details.empty() ? "" : "; ") + std::string("rule ") + item.rule + ": " + item.detail;
    }
    const std::string limit = Given("gateway", "memory_max") ? key_text[{"gateway", "memory_max"}] : "64MiB";
    Error(at, where + "the windows need " + HumanBytes(plan.total) + " (" + details +
                  "), over [gateway] memory_max = " + limit);
  }
};

}  // namespace

int TopicKeyLevel(std::string_view key) {
  int level = -1;
  return IsTopicKey(key, &level) ? level : -1;
}

ConfigResult LoadConfigText(std::string_view text, const std::string& name, ConfigMode mode) {
  Loader l;
  l.text = text;
  l.name = name;
  l.mode = mode;
  if (text.find('\0') != std::string_view::npos) {
    return {Config{}, {name + ": holds a NUL byte: not a text file"}};
  }
  l.ApplyDefaults();
  const int rc = ini_parse_stream(&Loader::Read, &l, &Loader::Handle, &l);
  if (rc > 0 && l.errors.empty()) l.Error(rc, "cannot parse this line");
  if (rc < 0) l.Error(0, "cannot parse (out of memory)");
  l.CheckWhole();
  l.cfg.path = name;
  return {std::move(l.cfg), std::move(l.errors)};
}

ConfigResult LoadConfigFile(const std::string& path, ConfigMode mode) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {Config{}, {path + ": cannot open: " + std::strerror(errno)}};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return {Config{}, {path + ": cannot read: " + std::strerror(errno)}};
  return LoadConfigText(ss.str(), path, mode);
}

Config DefaultConfig() { return LoadConfigText("", "(defaults)", ConfigMode::kReplay).config; }

std::vector<ConfigKeyInfo> ConfigKeys() {
  static const std::vector<std::string> allowed = [] {
    std::vector<std::string> a;
    for (const Spec& s : kSpecs) a.push_back(Allowed(s));
    return a;
  }();
  std::vector<ConfigKeyInfo> out;
  for (size_t i = 0; i < std::size(kSpecs); ++i) {
    const Spec& s = kSpecs[i];
    out.push_back({s.section, s.key, s.type, s.def, s.required, allowed[i], s.doc});
  }
  return out;
}

}  // namespace sensorgate
