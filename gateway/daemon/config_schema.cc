// The configuration schema: every section's key table, each declared beside
// its component, assembled in the order of DESIGN.md section 3 and the
// example configuration, with the checks that span sections. Defines the
// loading functions declared in gateway/config/config.h.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/config/config_engine.h"
#include "gateway/config/sink_keys.h"
#include "gateway/http/http_keys.h"
#include "gateway/parse/reading_keys.h"
#include "gateway/rules/rule_keys.h"
#include "gateway/sources/file/file_keys.h"
#include "gateway/sources/mqtt/mqtt_keys.h"

namespace sensorgate {
namespace {

// A configuration larger than this is not one.
constexpr off_t kMaxConfigBytes = 1 << 20;

constexpr double kS = 1e6;  // microseconds per second, for duration bounds

// [gateway] name defaults to the host name.
void FinishGateway(ConfigCheck& check) {
  Config& c = check.config();
  if (c.gateway.name.empty()) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "sensorgate");
    c.gateway.name = host;
  }
}

#define STORE(expr) [](Config& c, const ConfigValue& v) { (void)v; expr; }

// [gateway]: the daemon's own keys. state_dir names a directory, so Path
// values here are not checked as readable files.
SectionSpec GatewayKeys() {
  SectionSpec section;
  section.name = "gateway";
  section.keys = {
    {"name", KeyType::kString, "", false, 1, 64, nullptr,
     "identifies this gateway in every record and mail [host name]",
     STORE(c.gateway.name = v.text), CheckName, "must be 1 to 64 letters, digits, '.', '_' or '-'"},
    {"state_dir", KeyType::kPath, "", false, 1, 4096, nullptr,
     "offsets, checkpoint, spool and outbox live here [required outside --replay]",
     STORE(c.gateway.state_dir = v.text), CheckPrintable, "must be a directory path"},
    {"checkpoint_interval", KeyType::kDuration, "10s", false, 1 * kS, 3600 * kS,
     nullptr, "how often the checkpoint is written", STORE(c.gateway.checkpoint_interval_us = v.i),
     nullptr, nullptr},
    {"log_level", KeyType::kEnum, "info", false, 0, 0, "error|warning|info|debug",
     "least severe message logged", STORE(c.gateway.log_level = v.text == "error"     ? LogLevel::kError
                                                               : v.text == "warning" ? LogLevel::kWarning
                                                               : v.text == "info"    ? LogLevel::kInfo
                                                                                     : LogLevel::kDebug),
     nullptr, nullptr},
    {"memory_max", KeyType::kSize, "64MiB", false, 1 << 20, 68719476736.0, nullptr,
     "ceiling for the fixed memory of all windows; --check fails above it",
     STORE(c.gateway.memory_max_bytes = static_cast<uint64_t>(v.i)), nullptr, nullptr},
  };
  section.finish = FinishGateway;
  section.check_files = false;
  return section;
}

#undef STORE

// payload = number carries no key: [reading] key must be a topic level.
void CheckPayloadKey(ConfigCheck& check) {
  const Config& c = check.config();
  if (c.mqtt.enabled && c.mqtt.payload == PayloadFormat::kNumber && TopicKeyLevel(c.reading.key) < 0 &&
      check.Good("reading", "key")) {
    check.Error(
        check.LineOf("mqtt", "payload"),
        check.Where("mqtt", "payload") + ": needs [reading] key = @topic.N (a bare number carries no key)");
  }
}

// An @topic.N key needs [mqtt], and cannot serve [file].
void CheckTopicKey(ConfigCheck& check) {
  const Config& c = check.config();
  const bool topic_key = TopicKeyLevel(c.reading.key) >= 0;
  if (topic_key && !c.mqtt.enabled) {
    check.Error(check.LineOf("reading", "key"),
                check.Where("reading", "key") + ": @topic keys need an [mqtt] section");
  } else if (topic_key && c.file.enabled) {
    check.Error(check.LineOf("reading", "key"),
                check.Where("reading", "key") +
                    ": @topic keys cannot be used with [file] (a file line has no topic); "
                    "use a JSON path or CSV column, or run one gateway per source");
  }
}

// The daemon needs a source and a state directory; --replay needs neither.
void CheckDaemonNeeds(ConfigCheck& check) {
  if (check.mode() != ConfigMode::kDaemon) return;
  const Config& c = check.config();
  if (!c.file.enabled && !c.mqtt.enabled) {
    check.Error(0, "at least one of [file] and [mqtt] is needed (except with --replay)");
  }
  if (c.gateway.state_dir.empty() && check.Good("gateway", "state_dir")) {
    check.Error(check.LineOf("gateway", "state_dir"),
                "[gateway] state_dir: required (offsets, checkpoint, spool and outbox live there), "
                "except with --replay");
  }
}

// What a process of this build can hold at all, whatever memory_max says.
// Where pointers have 32 bits (armhf), the address space is 3 GiB at best
// (4 GiB under a 64-bit kernel), shared with code, libraries, stacks and
// buffers, and malloc refuses any one block over 2 GiB (PTRDIFF_MAX): the
// windows may take 2 GiB at most. Elsewhere memory_max (at most 64 GiB) is
// the only ceiling. The plan is reckoned in 64 bits either way, so a product
// that would wrap a 32-bit size_t to a small number is seen at its true size.
constexpr uint64_t kAddressSpacePlanMax = sizeof(void*) < 8 ? uint64_t{2} << 30 : UINT64_MAX;

// The plan's total against [gateway] memory_max and against what a 32-bit
// process can address, reported at the key that made the largest item large
// (DESIGN.md section 3).
void CheckMemory(ConfigCheck& check) {
  const Config& cfg = check.config();
  if (!check.Good("gateway", "memory_max")) return;
  for (const RuleConfig& r : cfg.rules) {
    const std::string s = "rule." + r.name;
    if (!check.GivenGood(s, "window")) return;  // reported; a plan without that rule would mislead
  }
  const MemoryPlan plan = PlanMemory(cfg);
  const bool over_max = plan.total > cfg.gateway.memory_max_bytes;
  const bool over_space = plan.total > kAddressSpacePlanMax;
  if (!(over_max || over_space) || plan.items.empty()) return;
  size_t largest = 0;
  for (size_t i = 1; i < plan.items.size(); ++i) {
    if (plan.items[i].bytes > plan.items[largest].bytes) largest = i;
  }
  const std::string& rule = plan.items[largest].rule;
  std::string section, key;
  const std::vector<std::pair<std::string, std::string>> candidates =
      rule == "hot" && cfg.hot_rule && largest == 0
          ? std::vector<std::pair<std::string, std::string>>{{"window", "max_keys"},
                                                             {"window", "size"},
                                                             {"gateway", "memory_max"}}
          : std::vector<std::pair<std::string, std::string>>{{"rule." + rule, "max_keys"},
                                                             {"rule." + rule, "window"},
                                                             {"rule." + rule, "max_distinct"},
                                                             {"gateway", "memory_max"}};
  for (const auto& [sec, k] : candidates) {
    if (!over_max && k == "memory_max") continue;  // within it: not the key to change
    if (check.Given(sec, k)) {
      section = sec;
      key = k;
      break;
    }
  }
  int at = 0;
  std::string where;
  if (!section.empty()) {
    at = check.LineOf(section, key);
    where = check.Where(section, key) + ": ";
  } else {
    const std::string sec = rule == "hot" ? "window" : "rule." + rule;
    at = check.LineOf(sec, "");
    where = "[" + sec + "]: ";
  }
  if (at == 0 && !cfg.rules.empty()) {  // hot from defaults alone: name a rule that adds to it
    const std::string sec = "rule." + cfg.rules.back().name;
    at = check.LineOf(sec, "window");
    where = check.Where(sec, "window") + ": ";
  }
  std::string details;
  for (const MemoryPlan::Item& item : plan.items) {
    details += (details.empty() ? "" : "; ") + std::string("rule ") + item.rule + ": " + item.detail;
  }
  if (!over_max) {
    check.Error(at, where + "the windows need " + HumanBytes(plan.total) + " (" + details +
                        "), more than a 32-bit process can hold: at most " + HumanBytes(kAddressSpacePlanMax) +
                        " of windows where pointers have 32 bits (armhf); lower max_keys or the window, or "
                        "run the 64-bit build (arm64)");
    return;
  }
  const std::string limit =
      check.Given("gateway", "memory_max") ? check.Text("gateway", "memory_max") : "64MiB";
  check.Error(at, where + "the windows need " + HumanBytes(plan.total) + " (" + details +
                      "), over [gateway] memory_max = " + limit);
}

// The sections in the order of DESIGN.md section 3 and the example file (the
// order of ConfigKeys() and of the "sections are:" message), the named
// [rule.NAME] last; the checks in the order their messages are given.
const ConfigSchema& Schema() {
  static const ConfigSchema* const schema = new ConfigSchema{
      {GatewayKeys(), FileKeys(), MqttKeys(), ReadingKeys(), WindowKeys(), AlertKeys(), EmailKeys(), KafkaKeys(),
       HttpKeys(), RuleKeys()},
      {AlertKeys().validate, ReadingKeys().validate, CheckPayloadKey, CheckTopicKey, MqttKeys().validate,
       CheckDaemonNeeds, RuleKeys().validate, CheckMemory}};
  return *schema;
}

}  // namespace

ConfigResult LoadConfigText(std::string_view text, const std::string& name, ConfigMode mode) {
  return LoadWithSchema(Schema(), text, name, mode);
}

ConfigResult LoadConfigFile(const std::string& path, ConfigMode mode) {
  // Non-blocking, so that a FIFO cannot hold the start-up; only a regular
  // file of a sane size is read (a directory, /dev/zero or a pipe is refused).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return {Config{}, {path + ": cannot open: " + std::strerror(errno)}};
  struct stat st;
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot read: ") + std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    problem = "is a directory: --config takes a regular file";
  } else if (!S_ISREG(st.st_mode)) {
    problem = "not a regular file (a device, pipe or socket): --config takes a regular file";
  } else if (st.st_size > kMaxConfigBytes) {
    problem = "is " + std::to_string(st.st_size) + " bytes: a configuration is at most " +
              std::to_string(kMaxConfigBytes) + " bytes";
  }
  std::string text;
  while (problem.empty()) {
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) problem = std::string("cannot read: ") + std::strerror(errno);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxConfigBytes)) problem = "grew past the size limit while read";
  }
  ::close(fd);
  if (!problem.empty()) return {Config{}, {path + ": " + problem}};
  return LoadConfigText(text, path, mode);
}

Config DefaultConfig() { return LoadConfigText("", "(defaults)", ConfigMode::kReplay).config; }

std::vector<ConfigKeyInfo> ConfigKeys() {
  static const std::vector<std::string>* const allowed = [] {
    auto* a = new std::vector<std::string>;
    for (const SectionSpec& section : Schema().sections) {
      for (const KeySpec& k : section.keys) a->push_back(KeyAllowed(k));
    }
    return a;
  }();
  std::vector<ConfigKeyInfo> out;
  size_t i = 0;
  for (const SectionSpec& section : Schema().sections) {
    for (const KeySpec& k : section.keys) {
      out.push_back({section.name, k.key, k.type, k.def, k.required, (*allowed)[i++], k.doc});
    }
  }
  return out;
}

}  // namespace sensorgate
