// Configuration: the INI file of DESIGN.md section 3, read with inih.
//
// One table of sections and keys (name, type, default, range, one-line doc)
// drives parsing, validation, `--check` and the example configuration
// (ConfigKeys() exposes it; a test keeps systemd/sensorgate.ini.example and the
// table in agreement). Loading either yields a fully validated Config, so the
// data path never sees raw text, or a list of errors, each naming the file,
// the line, the section and key, what was found and what is allowed:
//   sensorgate.ini:12: [window] size = 0: must be an integer from 1 to 100000
//
// Loading is single-threaded and touches the file system only to read the
// configuration itself and to check secret and CA files.
#ifndef SENSORGATE_GATEWAY_CONFIG_CONFIG_H_
#define SENSORGATE_GATEWAY_CONFIG_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/base/formats.h"
#include "gateway/base/log.h"

namespace sensorgate {

enum class StartTls { kRequired, kTry, kOff };

struct GatewayConfig {
  std::string name;                        // [host name]
  std::string state_dir;                   // required outside --replay
  int64_t checkpoint_interval_us;
  LogLevel log_level;
};

struct FileConfig {
  bool enabled = false;                    // the section is present
  std::vector<std::string> paths;          // globs
  RecordFormat format;
  bool from_beginning;
};

struct MqttConfig {
  bool enabled = false;
  std::string uri;
  std::vector<std::string> topics;
  int qos;
  std::string client_id;                   // [sensorgate-<name>]
  bool clean_session;
  std::string username;
  std::string password_file;
  std::string ca_file, cert_file, key_file;
  PayloadFormat payload;
};

struct ReadingConfig {
  std::string key;
  std::string value;
  std::string time;        // empty: arrival time
  double min;
  double max;
};

struct WindowConfig {
  uint32_t size;
  uint32_t max_keys;
};

struct AlertConfig {
  bool enabled = false;
  double above;
  double clear_below;                  // [= above]
  int64_t for_us;
  uint32_t min_samples;
  int64_t stale_after_us;              // 0: off
};

struct EmailConfig {
  bool enabled = false;
  std::string url;
  StartTls starttls;
  std::string username;
  std::string password_file;
  std::string from;
  std::vector<std::string> to;
  int64_t group_wait_us;
  int64_t repeat_us;
  bool send_resolved;
  uint32_t max_per_hour;
  int64_t timeout_us;
  std::string ca_file;
};

struct KafkaConfig {
  bool enabled = false;
  std::vector<std::string> brokers;
  std::string topic;
  std::string alerts_topic;
  int64_t interval_us;
  uint64_t spool_max_bytes;
  std::vector<std::pair<std::string, std::string>> rdkafka;  // "rdkafka." stripped
};

struct HttpConfig {
  bool enabled = false;
  std::string listen;
};

struct Config {
  std::string path;  // the file it was read from
  GatewayConfig gateway;
  FileConfig file;
  MqttConfig mqtt;
  ReadingConfig reading;
  WindowConfig window;
  AlertConfig alert;
  EmailConfig email;
  KafkaConfig kafka;
  HttpConfig http;
};

// What the configuration is loaded for: --replay needs no source and no state_dir.
enum class ConfigMode { kDaemon, kReplay };

struct ConfigResult {
  Config config;
  std::vector<std::string> errors;  // empty: config is valid
  bool ok() const { return errors.empty(); }
};

// Every default of the table, as if loaded from an empty file for --replay.
Config DefaultConfig();

// Reads and validates the file at path.
ConfigResult LoadConfigFile(const std::string& path, ConfigMode mode);

// Same, from text already in memory; `name` stands for the file in messages.
ConfigResult LoadConfigText(std::string_view text, const std::string& name, ConfigMode mode);

// The level N of an "@topic.N" key (0 to 63), or -1 when `key` is not one.
int TopicKeyLevel(std::string_view key);

// The table behind the loader, for documentation and tests.
enum class KeyType { kString, kPath, kSecretFile, kInt, kNumber, kDuration, kSize, kBool,
                     kEnum, kList };
struct ConfigKeyInfo {
  std::string_view section;
  std::string_view key;       // "rdkafka.*" stands for the pass-through family
  KeyType type;
  std::string_view default_text;  // as written in the INI; "" if none
  bool required;              // required when its section is present
  std::string_view allowed;   // what the error message says is allowed
  std::string_view doc;
};
std::vector<ConfigKeyInfo> ConfigKeys();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_CONFIG_CONFIG_H_
