// Configuration: the INI file of DESIGN.md section 3, read with inih.
//
// The typed options: Config and one plain struct per section, filled once at
// load time, so the data path never sees raw text. Each section's table of
// keys (name, type, default, range, one-line doc) lives beside the component
// that uses it and is read by the engine of config_engine.h; the daemon
// assembles them into one schema (gateway/daemon/config_schema.cc, which
// defines LoadConfigFile, LoadConfigText, DefaultConfig and ConfigKeys).
// ConfigKeys() exposes the tables; a test keeps systemd/sensorgate.ini.example
// and the tables in agreement. Loading either yields a fully validated Config
// or a list of errors, each naming the file, the line, the section and key,
// what was found and what is allowed:
//   sensorgate.ini:12: [window] size = 0: must be an integer from 1 to 100000
//
// Named sections [rule.NAME] (DESIGN.md section 13.2) are parsed into typed
// RuleConfig values, their `where` filter into a syntax tree (where.h); a bad
// filter is reported with the column of the fault in its line:
//   x.ini:9: [rule.web] where = DstPort in (443,: column 25: expected a literal
// The loader also plans the windows' memory (PlanMemory) and refuses a file
// whose plan exceeds [gateway] memory_max, at the line of the key that made
// it large; start-up, --replay and a SIGHUP reload all load through here.
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
#include "gateway/base/host_port.h"
#include "gateway/base/log.h"
#include "gateway/config/where.h"

namespace sensorgate {

enum class StartTls { kRequired, kTry, kOff };

struct GatewayConfig {
  std::string name;                        // [host name]
  std::string state_dir;                   // required outside --replay
  int64_t checkpoint_interval_us;
  LogLevel log_level;
  uint64_t memory_max_bytes;               // ceiling of PlanMemory(config).total [64MiB]
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
  int64_t group_interval_us;
  int64_t repeat_us;
  bool send_resolved;
  uint32_t max_per_hour;
  int64_t timeout_us;
  std::string ca_file;
  int64_t max_age_us;
};

struct KafkaConfig {
  bool enabled = false;
  std::vector<std::string> brokers;
  std::string topic;
  std::string alerts_topic;
  int64_t interval_us;
  uint64_t spool_max_bytes;
  std::string compression;  // none | gzip | lz4 | zstd, as librdkafka's compression.type
  std::vector<std::pair<std::string, std::string>> rdkafka;  // "rdkafka." stripped
};

struct HttpConfig {
  bool enabled = false;
  std::string listen;     // as written, e.g. "127.0.0.1:9108" or "[::1]:0"
  HostPort listen_addr;   // the same, parsed
};

// --- [rule.NAME] (DESIGN.md section 13.2) ---

enum class WindowKind { kCount, kTumbling, kSliding, kTotal };

enum class AggregateKind { kCount, kSum, kAvg, kMin, kMax, kStddev, kLast, kSlope, kDistinct };

struct Aggregate {
  AggregateKind kind = AggregateKind::kCount;
  std::string field;  // kDistinct: the field whose distinct values are counted
  std::string name;   // as in the output: "avg", "distinct(DstDevice)"
};

// `AGG OP NUMBER`, or `zscore(AGG) OP NUMBER`.
struct RuleCondition {
  bool enabled = false;
  bool zscore = false;
  std::string aggregate;  // an Aggregate::name of the rule
  CompareOp op = CompareOp::kGt;  // one of > >= < <=
  double threshold = 0;
};

// Limits of the rule engine, checked with the configuration: distinct()
// aggregates in one rule, and different fields all rules read together
// (besides the reading's key, value and time, one pass extracts them all).
inline constexpr size_t kMaxDistinctAggregates = 16;
inline constexpr size_t kMaxRuleFields = 61;

struct RuleConfig {
  std::string name;         // NAME of [rule.NAME]
  int line = 0;             // of its section header
  bool has_where = false;
  WhereExpr where;          // when has_where
  std::vector<std::string> key_fields;  // group by; empty: one group, "*"
  std::string value;        // "" : none (count and distinct() only)
  std::string time;         // event-time field; "" : @arrival (processing time)
  WindowKind window = WindowKind::kTotal;
  uint32_t count = 0;       // kCount: N
  int64_t length_us = 0;    // kTumbling, kSliding: D
  int64_t every_us = 0;     // kSliding: S (D is a multiple of S); kTumbling: = D
  int64_t lateness_us = 0;
  std::vector<Aggregate> aggregates;
  RuleCondition alert;
  RuleCondition clear;      // !clear.enabled: the alert condition being false
  int64_t for_us = 0;
  uint32_t min_samples = 1;
  uint32_t baseline = 30;
  double outlier_z = 0;     // 0: off
  double min = -1e6, max = 1e6;
  uint32_t max_keys = 10000;
  uint32_t max_distinct = 100000;
  std::string kafka_topic;  // [[kafka] topic]
  bool event_time() const { return !time.empty(); }
  // Panes held per key: what the memory plan counts (1 for count and total).
  uint64_t panes() const;
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
  // The rule `hot` ([reading], [window], [alert]) exists when the file has a
  // [reading], [window] or [alert] section, or no [rule.*] (DESIGN.md 13.1).
  bool hot_rule = true;
  std::vector<RuleConfig> rules;  // [rule.NAME] in file order
};

// The fixed memory of every rule's windows, as allocated at start-up
// (DESIGN.md section 3, "Memory is planned at start-up").
struct MemoryPlan {
  struct Item {
    std::string rule;    // "hot" or a [rule.NAME]'s NAME
    uint64_t bytes;      // saturates at UINT64_MAX
    std::string detail;  // how bytes was reckoned, e.g. "size 60 × max_keys 10000 × 8 bytes + ..."
  };
  std::vector<Item> items;  // hot first, then the rules in file order
  uint64_t total = 0;       // saturating sum of the items
};

// What the plan counts per key of the hot rule besides its ring, each the
// size of what gateway/rules/window.h and gateway/pipeline/pipeline.h hold
// (memory_plan_test.cc compares them with the real types):
inline constexpr uint64_t kPlanSlotBytes = 40;      // WindowTable::Slot
inline constexpr uint64_t kPlanKeyTextBytes = 128;  // key bytes WindowTable reserves per key
inline constexpr uint64_t kPlanKeyIndexBytes = 8;   // WindowTable key offset + hash, uint32 each
inline constexpr uint64_t kPlanKeyStateBytes = 32;  // Pipeline KeyState
inline constexpr uint64_t kPlanChangedBytes = 5;    // Pipeline changed_ (uint32) + is_changed_ (uint8)
// And per key of a [rule.NAME] (gateway/rules/): KeyIndex (128 bytes of key
// reserved, offset, hash) and the rule's AlertState; a count window's key
// state; a time window's pane; a distinct() pool entry.
inline constexpr uint64_t kPlanRuleKeyBytes = 128 + 4 + 4 + 16;
inline constexpr uint64_t kPlanCountKeyBytes = 128;
inline constexpr uint64_t kPlanPaneBytes = 128;
// A sliding window of more than one pane per window adds per pane its
// block cache (an Accumulator) and per key the cache's bounds.
inline constexpr uint64_t kPlanPaneCacheBytes = 96;
inline constexpr uint64_t kPlanBlockKeyBytes = 32;
inline constexpr uint64_t kPlanDistinctEntryBytes = 24;
// The rule's own objects (its configuration, filter, scratch): at most.
inline constexpr uint64_t kPlanRuleFixedBytes = 64 * 1024;
inline constexpr uint64_t kPlanPerKeyBytes =
    kPlanSlotBytes + kPlanKeyTextBytes + kPlanKeyIndexBytes + kPlanKeyStateBytes + kPlanChangedBytes;

// The memory plan of a configuration. 64-bit saturating arithmetic: never
// wraps, also where size_t has 32 bits. Pure.
MemoryPlan PlanMemory(const Config& config);

// Bytes in a short human form: "812 bytes", "4.6 MiB", "64 MiB", "1.5 GiB".
std::string HumanBytes(uint64_t bytes);

// What `--check` prints after "configuration is valid", one line per rule
// and one for the total, each ending in '\n':
//   memory plan: rule hot 6.7 MiB (size 60 × max_keys 10000 × 8 bytes + ...)
//   memory plan: total 6.7 MiB of memory_max 64 MiB
std::string FormatMemoryPlan(const MemoryPlan& plan, uint64_t memory_max_bytes);

// What the configuration is loaded for: --replay needs no source and no state_dir.
enum class ConfigMode { kDaemon, kReplay };

struct ConfigResult {
  Config config;
  std::vector<std::string> errors;  // empty: config is valid
  bool ok() const { return errors.empty(); }
};

// The loading functions below are defined with the schema, in
// gateway/daemon/config_schema.cc (link sensorgate_daemon or sensorgate_core).

// Every default of the tables, as if loaded from an empty file for --replay.
Config DefaultConfig();

// Reads and validates the file at path.
ConfigResult LoadConfigFile(const std::string& path, ConfigMode mode);

// Same, from text already in memory; `name` stands for the file in messages.
ConfigResult LoadConfigText(std::string_view text, const std::string& name, ConfigMode mode);

// The level N of an "@topic.N" key (0 to 63), or -1 when `key` is not one.
// Defined in config_engine.cc.
int TopicKeyLevel(std::string_view key);

// The tables behind the loader, for documentation and tests.
enum class KeyType { kString, kPath, kSecretFile, kInt, kNumber, kDuration, kSize, kBool,
                     kEnum, kList };
struct ConfigKeyInfo {
  std::string_view section;   // "rule.NAME" stands for every [rule.NAME] section
  std::string_view key;       // "rdkafka.*" stands for the pass-through family
  KeyType type;
  std::string_view default_text;  // as written in the INI; "" if none
  bool required;              // required when its section is present
  std::string_view allowed;   // what the error message says is allowed
  std::string_view doc;
};
// Every key of every section, in the order of DESIGN.md section 3.
std::vector<ConfigKeyInfo> ConfigKeys();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_CONFIG_CONFIG_H_
