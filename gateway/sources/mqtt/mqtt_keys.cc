// [mqtt]: the key table of the MQTT source.
#include "gateway/sources/mqtt/mqtt_keys.h"

#include <string_view>

namespace sensorgate {
namespace {

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
const char* CheckMqttUri(const ConfigValue& v) {
  std::string_view s = v.text;
  for (std::string_view scheme : {"tcp://", "ssl://"}) {
    if (s.substr(0, scheme.size()) == scheme && IsHostPort(s.substr(scheme.size()), false)) {
      return nullptr;
    }
  }
  return "";
}
const char* CheckFilters(const ConfigValue& v) {
  for (const auto& f : v.list) {
    if (!IsMqttFilter(f)) return "";
  }
  return nullptr;
}

void FinishMqtt(ConfigCheck& check) {
  Config& c = check.config();
  c.mqtt.enabled = check.Present("mqtt");
  if (c.mqtt.client_id.empty()) c.mqtt.client_id = "sensorgate-" + c.gateway.name;
}

// Mutual TLS takes both cert_file and key_file, or neither.
void ValidateMqtt(ConfigCheck& check) {
  const Config& c = check.config();
  if (c.mqtt.enabled && check.Good("mqtt", "cert_file") && check.Good("mqtt", "key_file") &&
      c.mqtt.cert_file.empty() != c.mqtt.key_file.empty()) {
    const bool has_cert = !c.mqtt.cert_file.empty();
    check.Error(check.LineOf("mqtt", has_cert ? "cert_file" : "key_file"),
                check.Where("mqtt", has_cert ? "cert_file" : "key_file") + ": needs " +
                    (has_cert ? "key_file" : "cert_file") +
                    " as well (mutual TLS takes both cert_file and key_file, or neither)");
  }
}

#define STORE(expr) [](Config& c, const ConfigValue& v) { (void)v; expr; }

}  // namespace

SectionSpec MqttKeys() {
  SectionSpec section;
  section.name = "mqtt";
  section.keys = {
    {"uri", KeyType::kString, "", true, 1, 1024, nullptr, "broker address, tcp:// or ssl://",
     STORE(c.mqtt.uri = v.text), CheckMqttUri, "must be tcp://HOST:PORT or ssl://HOST:PORT"},
    {"topics", KeyType::kList, "", true, 1, 64, nullptr,
     "MQTT topic filters, wildcards allowed", STORE(c.mqtt.topics = v.list), CheckFilters,
     "must be a comma-separated list of 1 to 64 MQTT topic filters ('+' and '#' only as whole levels, '#' last)"},
    {"qos", KeyType::kInt, "1", false, 0, 1, nullptr, "subscription QoS",
     STORE(c.mqtt.qos = static_cast<int>(v.i)), nullptr, nullptr},
    {"client_id", KeyType::kString, "", false, 1, 128, nullptr,
     "MQTT client id [sensorgate-<name>]", STORE(c.mqtt.client_id = v.text), CheckName,
     "must be 1 to 128 letters, digits, '.', '_' or '-'"},
    {"clean_session", KeyType::kBool, "false", false, 0, 0, nullptr,
     "false keeps a persistent session: nothing is lost while the gateway is down",
     STORE(c.mqtt.clean_session = v.b), nullptr, nullptr},
    {"username", KeyType::kString, "", false, 0, 256, nullptr, "MQTT user name",
     STORE(c.mqtt.username = v.text), CheckPrintable, "must be at most 256 bytes, no control characters"},
    {"password_file", KeyType::kSecretFile, "", false, 0, 4096, nullptr,
     "file holding the MQTT password (never the password inline)",
     STORE(c.mqtt.password_file = v.text), nullptr, nullptr},
    {"ca_file", KeyType::kPath, "", false, 0, 4096, nullptr,
     "CA certificates to verify the broker (ssl://)", STORE(c.mqtt.ca_file = v.text), nullptr, nullptr},
    {"cert_file", KeyType::kPath, "", false, 0, 4096, nullptr,
     "client certificate for mutual TLS", STORE(c.mqtt.cert_file = v.text), nullptr, nullptr},
    {"key_file", KeyType::kSecretFile, "", false, 0, 4096, nullptr,
     "client private key for mutual TLS", STORE(c.mqtt.key_file = v.text), nullptr, nullptr},
    {"payload", KeyType::kEnum, "json", false, 0, 0, "json|number",
     "json, or number: the payload is a bare number",
     STORE(c.mqtt.payload = v.text == "number" ? PayloadFormat::kNumber : PayloadFormat::kJson),
     nullptr, nullptr},
  };
  section.finish = FinishMqtt;
  section.validate = ValidateMqtt;
  return section;
}

#undef STORE

}  // namespace sensorgate
