// The configuration engine: reads the INI file of DESIGN.md section 3 against
// a schema of sections, each declared beside the component that uses it.
//
// A component describes its section as a SectionSpec: a table of KeySpec
// (name, type, default, range, one-line doc, and the function that stores a
// checked value into the typed Config), plus optional hooks that fill derived
// values and check keys against each other. The daemon assembles the sections
// in the order of DESIGN.md section 3 into a ConfigSchema
// (gateway/daemon/config_schema.cc) and loads through LoadWithSchema(). The
// engine does the rest: it parses and range-checks every value, refuses
// unknown sections and keys, keys given twice and missing required keys, and
// words every error as
//   sensorgate.ini:12: [window] size = 0: must be an integer from 1 to 100000
//
// Named sections ([rule.NAME]) are one SectionSpec whose name ends in ".NAME";
// each instance becomes a RuleConfig in Config::rules, filled by the spec's
// store_rule. A schema holds at most one named section, the last.
//
// Single-threaded; a load touches the file system only to check the files a
// Path or SecretFile key names.
#ifndef SENSORGATE_GATEWAY_CONFIG_CONFIG_ENGINE_H_
#define SENSORGATE_GATEWAY_CONFIG_CONFIG_ENGINE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/config/config.h"

namespace sensorgate {

// A value after its type has been checked; the store function picks the field.
struct ConfigValue {
  std::string key;  // as written: "rdkafka.linger.ms" for the family "rdkafka.*"
  std::string text;
  int64_t i = 0;  // Int, Duration (µs), Size (bytes)
  double d = 0;   // Number
  bool b = false;
  std::vector<std::string> list;
};

using KeyStoreFn = void (*)(Config&, const ConfigValue&);
// Extra validation of a string or list value: returns nullptr or what is allowed.
using KeyCheckFn = const char* (*)(const ConfigValue&);

struct KeySpec {
  const char* key;      // "PREFIX.*": a pass-through family (e.g. rdkafka.*)
  KeyType type;
  const char* def;      // default as INI text; "" = none (empty)
  bool required;        // required when the section is present
  double lo, hi;        // Int/Number: value; Duration: µs; Size: bytes; String/Path: bytes; List: items
  const char* choices;  // Enum: "a|b"; Number, Duration: "off" if off is allowed
  const char* doc;
  KeyStoreFn store;     // nullptr in named sections (SectionSpec::store_rule stores)
  KeyCheckFn check;
  const char* allowed_text;  // for String/List/Path: what the check allows
  const char* family_what = nullptr;  // families: what follows the prefix, "a librdkafka property"
};

class ConfigCheck;
// A hook of a section or the schema; reports through ConfigCheck::Error.
using ConfigHook = void (*)(ConfigCheck&);
// Stores one checked value of a named section's key into its RuleConfig.
// `allowed` is the key's Allowed text, `column` the 1-based column of the
// value in its line. Returns "" or the problem.
using RuleStoreFn = std::string (*)(RuleConfig&, std::string_view key, const ConfigValue&,
                                    const std::string& allowed, size_t column);

struct SectionSpec {
  const char* name;            // "gateway"; "rule.NAME" for the named sections [rule.NAME]
  std::vector<KeySpec> keys;   // in the order of the documentation
  // After the last line, in schema order, before any check: derived values
  // (e.g. the enabled flag, defaults taken from other keys). Reports nothing.
  ConfigHook finish = nullptr;
  // Checks between this section's keys; run where ConfigSchema::checks puts it.
  ConfigHook validate = nullptr;
  bool check_files = true;     // non-empty Path / SecretFile values must be readable files
  RuleStoreFn store_rule = nullptr;  // named sections only
};

struct ConfigSchema {
  std::vector<SectionSpec> sections;  // documentation order; the named section last
  // Run in this order after every finish hook: sections' validate hooks and
  // checks spanning sections. The order is the order of the messages.
  std::vector<ConfigHook> checks;
};

// Errors listed at most per load; the rest are counted in one last line.
constexpr size_t kMaxConfigErrors = 100;

// What the hooks see of a load in progress: the Config being filled, which
// sections and keys the text gave, and the errors so far. Lives for one load.
class ConfigCheck {
 public:
  Config& config() { return cfg_; }
  ConfigMode mode() const { return mode_; }
  // The section's header was given (and accepted).
  bool Present(const std::string& section) const { return section_line_.count(section) > 0; }
  bool Given(const std::string& section, const std::string& key) const {
    return key_line_.count({section, key}) > 0;
  }
  // False if the key was given with a value that was refused: checks between
  // keys then stay silent, so a refused value is reported once.
  bool Good(const std::string& section, const std::string& key) const {
    return bad_.count({section, key}) == 0;
  }
  bool GivenGood(const std::string& section, const std::string& key) const {
    return Given(section, key) && Good(section, key);
  }
  // The key's line; else its section header's line; else 0.
  int LineOf(const std::string& section, const std::string& key) const;
  // "[section] key = value as written" (value empty when not given).
  std::string Where(const std::string& section, const std::string& key) const;
  // The value as written; "" when not given.
  std::string Text(const std::string& section, const std::string& key) const;
  // Adds "NAME:LINE: what" (no ":LINE" when line is 0).
  void Error(int line, const std::string& what);

 protected:
  ConfigCheck() = default;
  ~ConfigCheck() = default;

  std::string name_;  // the file, in messages
  ConfigMode mode_ = ConfigMode::kDaemon;
  Config cfg_{};
  std::vector<std::string> errors_;
  uint64_t errors_not_listed_ = 0;  // beyond kMaxConfigErrors
  std::map<std::string, int> section_line_;                       // first header line
  std::map<std::pair<std::string, std::string>, int> key_line_;  // where each key was set
  std::map<std::pair<std::string, std::string>, std::string> key_text_;
  std::set<std::pair<std::string, std::string>> bad_;  // given, but refused
};

// Reads and validates `text` against the schema; `name` stands for the file
// in messages. Defaults come from the tables, so "" gives every default.
ConfigResult LoadWithSchema(const ConfigSchema& schema, std::string_view text, const std::string& name,
                            ConfigMode mode);

// What an error message says a key allows: "must be an integer from 1 to 100000".
std::string KeyAllowed(const KeySpec& spec);

// --- helpers for the tables ---

// Shortest text that reads back as v; whole numbers written out in full.
std::string NumberText(double v);
bool HasControl(std::string_view s);
// a.b.c: non-empty parts without control characters.
bool IsDottedPath(std::string_view s);
bool IsHostPort(std::string_view s, bool allow_port_zero);
// 1 to the key's hi letters, digits, '.', '_' or '-' (the length is the table's).
const char* CheckName(const ConfigValue& v);
// No control characters.
const char* CheckPrintable(const ConfigValue& v);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_CONFIG_CONFIG_ENGINE_H_
