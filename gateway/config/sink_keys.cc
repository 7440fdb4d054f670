// [email] and [kafka]: kept here until their sinks exist, then each moves
// beside its sink like the other sections' tables.
#include "gateway/config/sink_keys.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace sensorgate {
namespace {

constexpr double kS = 1e6;  // microseconds per second, for duration bounds

// RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~ (no dot).
bool IsAtext(unsigned char c) {
  return std::isalnum(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}
// dot-atom-text: atext runs joined by single dots.
bool IsDotAtom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '.') {
      if (s[i - 1] == '.') return false;
    } else if (!IsAtext(c)) {
      return false;
    }
  }
  return true;
}
// quoted-string without folding: printable ASCII, \ and \" escapes.
bool IsQuotedLocal(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c > 0x7e) return false;
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;
      const unsigned char n = static_cast<unsigned char>(s[++i]);
      if (n < 0x20 || n > 0x7e) return false;
    } else if (c == '"') {
      return false;
    }
  }
  return true;
}
// domain-literal: [dtext...], dtext printable ASCII but [ ] \.
bool IsDomainLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x21 || c > 0x7e || c == '[' || c == ']' || c == '\\') return false;
  }
  return true;
}
// An RFC 5322 addr-spec (no comments, no folding white space): a dot-atom or
// quoted-string local part, '@', a dot-atom or domain-literal domain.
bool IsMailAddress(std::string_view s) {
  if (s.size() > 254) return false;
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64) return false;
  if (!IsDotAtom(local) && !IsQuotedLocal(local)) return false;
  return IsDotAtom(domain) || IsDomainLiteral(domain);
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
// smtp://HOST[:PORT][/] or smtps://...: HOST a DNS name, an IPv4 address or
// [IPv6]; PORT 1 to 65535; nothing else (no user info, path or query).
const char* CheckSmtpUrl(const ConfigValue& v) {
  std::string_view s = v.text;
  for (std::string_view scheme : {"smtp://", "smtps://"}) {
    if (s.substr(0, scheme.size()) != scheme) continue;
    std::string_view rest = s.substr(scheme.size());
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    std::string_view host = rest, port;
    if (!rest.empty() && rest.front() == '[') {
      const size_t close = rest.find(']');
      if (close == std::string_view::npos) return "";
      host = rest.substr(1, close - 1);
      const std::string_view tail = rest.substr(close + 1);
      if (!tail.empty() && tail.front() != ':') return "";
      if (!tail.empty()) port = tail.substr(1);
      if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) return "";
    } else {
      const size_t colon = rest.find(':');
      if (colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
      }
      if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') return "";
      for (size_t i = 0; i < host.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(host[i]);
        if (!(std::isalnum(c) || c == '-' || c == '.') || (c == '.' && i > 0 && host[i - 1] == '.')) return "";
      }
    }
    if (rest.find(':') != std::string_view::npos && rest.back() != ']') {
      if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
        return "";
      }
      const int p = std::atoi(std::string(port).c_str());
      if (p < 1 || p > 65535) return "";
    }
    return nullptr;
  }
  return "";
}
const char* CheckMail(const ConfigValue& v) { return IsMailAddress(v.text) ? nullptr : ""; }
const char* CheckMailList(const ConfigValue& v) {
  for (const auto& a : v.list) {
    if (!IsMailAddress(a)) return "";
  }
  return nullptr;
}
const char* CheckBrokers(const ConfigValue& v) {
  for (const auto& b : v.list) {
    if (!IsHostPort(b, false)) return "";
  }
  return nullptr;
}

#define STORE(expr) [](Config& c, const ConfigValue& v) { (void)v; expr; }

void FinishEmail(ConfigCheck& check) { check.config().email.enabled = check.Present("email"); }
void FinishKafka(ConfigCheck& check) { check.config().kafka.enabled = check.Present("kafka"); }

}  // namespace

const char* CheckKafkaTopic(const ConfigValue& v) {
  return v.text.empty() || IsKafkaTopic(v.text) ? nullptr : "";
}

SectionSpec EmailKeys() {
  SectionSpec section;
  section.name = "email";
  section.keys = {
    {"url", KeyType::kString, "", true, 1, 1024, nullptr, "mail server, smtp:// or smtps://",
     STORE(c.email.url = v.text), CheckSmtpUrl, "must be smtp://HOST[:PORT] or smtps://HOST[:PORT]"},
    {"starttls", KeyType::kEnum, "required", false, 0, 0, "required|try|off",
     "STARTTLS for smtp:// URLs",
     STORE(c.email.starttls = v.text == "try" ? StartTls::kTry
                              : v.text == "off" ? StartTls::kOff
                                                : StartTls::kRequired),
     nullptr, nullptr},
    {"username", KeyType::kString, "", false, 0, 256, nullptr, "SMTP user name",
     STORE(c.email.username = v.text), CheckPrintable, "must be at most 256 bytes, no control characters"},
    {"password_file", KeyType::kSecretFile, "", false, 0, 4096, nullptr,
     "file holding the SMTP password", STORE(c.email.password_file = v.text), nullptr, nullptr},
    {"from", KeyType::kString, "", true, 3, 254, nullptr, "sender address",
     STORE(c.email.from = v.text), CheckMail, "must be one mail address such as sensorgate@plant.example"},
    {"to", KeyType::kList, "", true, 1, 100, nullptr, "recipient addresses",
     STORE(c.email.to = v.list), CheckMailList,
     "must be a comma-separated list of 1 to 100 mail addresses"},
    {"group_wait", KeyType::kDuration, "10s", false, 0, 3600 * kS, nullptr,
     "collect alerts this long, then send one mail listing all",
     STORE(c.email.group_wait_us = v.i), nullptr, nullptr},
    {"group_interval", KeyType::kDuration, "5m", false, 0, 86400 * kS, nullptr,
     "later changes to an open group wait this long for the next mail",
     STORE(c.email.group_interval_us = v.i), nullptr, nullptr},
    {"repeat", KeyType::kDuration, "4h", false, 60 * kS, 30 * 86400 * kS, nullptr,
     "remind about alerts still firing this often", STORE(c.email.repeat_us = v.i), nullptr, nullptr},
    {"send_resolved", KeyType::kBool, "true", false, 0, 0, nullptr,
     "mail when an alert resolves", STORE(c.email.send_resolved = v.b), nullptr, nullptr},
    {"max_per_hour", KeyType::kInt, "20", false, 1, 3600, nullptr,
     "beyond this, alerts wait for the next allowed mail",
     STORE(c.email.max_per_hour = static_cast<uint32_t>(v.i)), nullptr, nullptr},
    {"timeout", KeyType::kDuration, "30s", false, 1 * kS, 600 * kS, nullptr,
     "give up one delivery attempt after this long", STORE(c.email.timeout_us = v.i), nullptr, nullptr},
    {"ca_file", KeyType::kPath, "", false, 0, 4096, nullptr,
     "CA certificates to verify the mail server [system store]", STORE(c.email.ca_file = v.text),
     nullptr, nullptr},
    {"max_age", KeyType::kDuration, "1d", false, 1 * kS, 365 * 86400 * kS, nullptr,
     "an undeliverable mail older than this moves to state_dir/outbox/dead",
     STORE(c.email.max_age_us = v.i), nullptr, nullptr},
  };
  section.finish = FinishEmail;
  return section;
}

SectionSpec KafkaKeys() {
  SectionSpec section;
  section.name = "kafka";
  section.keys = {
    {"brokers", KeyType::kList, "", true, 1, 64, nullptr, "bootstrap brokers, HOST:PORT",
     STORE(c.kafka.brokers = v.list), CheckBrokers,
     "must be a comma-separated list of 1 to 64 HOST:PORT addresses"},
    {"topic", KeyType::kString, "", true, 1, 249, nullptr, "topic of the aggregates",
     STORE(c.kafka.topic = v.text), CheckKafkaTopic,
     "must be a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"},
    {"alerts_topic", KeyType::kString, "", false, 0, 249, nullptr,
     "topic of the alert events [none]", STORE(c.kafka.alerts_topic = v.text), CheckKafkaTopic,
     "must be empty or a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"},
    {"interval", KeyType::kDuration, "10s", false, 100 * 1000, 3600 * kS, nullptr,
     "publish one aggregate per key that changed, this often", STORE(c.kafka.interval_us = v.i),
     nullptr, nullptr},
    {"spool_max", KeyType::kSize, "64MiB", false, 1 << 20, 1099511627776.0, nullptr,
     "disk buffer while the cluster cannot be reached",
     STORE(c.kafka.spool_max_bytes = static_cast<uint64_t>(v.i)), nullptr, nullptr},
    {"compression", KeyType::kEnum, "zstd", false, 0, 0, "none|gzip|lz4|zstd",
     "compression of the record batches", STORE(c.kafka.compression = v.text), nullptr, nullptr},
    {"rdkafka.*", KeyType::kString, "", false, 0, 4096, nullptr,
     "any key starting rdkafka. is passed to librdkafka as is",
     STORE(c.kafka.rdkafka.emplace_back(v.key.substr(8), v.text)), CheckPrintable,
     "must be at most 4096 bytes, no control characters", "a librdkafka property"},
  };
  section.finish = FinishKafka;
  return section;
}

#undef STORE

}  // namespace sensorgate
