#include "gateway/config/config_engine.h"

#include "gateway/base/file_util.h"

#include <ini.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "gateway/base/host_port.h"
#include "gateway/base/time_util.h"

namespace sensorgate {

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

int TopicKeyLevel(std::string_view key) {
  constexpr std::string_view kPrefix = "@topic.";
  if (key.substr(0, kPrefix.size()) != kPrefix) return -1;
  const std::string_view n = key.substr(kPrefix.size());
  int v = -1;
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
  if (ec != std::errc() || p != n.data() + n.size() || v < 0 || v > 63) return -1;
  return v;
}

bool IsHostPort(std::string_view s, bool allow_port_zero) {
  HostPort unused;
  return ParseHostPort(s, allow_port_zero, &unused);
}

const char* CheckName(const ConfigValue& v) {
  for (char c : v.text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return "";
    }
  }
  return nullptr;
}

const char* CheckPrintable(const ConfigValue& v) { return HasControl(v.text) ? "" : nullptr; }

std::string NumberText(double v) {
  char buf[400];
  const bool whole = std::fabs(v) < 1e16 && std::floor(v) == v;
  auto [p, ec] = whole ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, p);
}

namespace {

std::string SizeText(double bytes) {
  static const char* kUnits[] = {"GiB", "MiB", "KiB"};
  static const double kScale[] = {1073741824.0, 1048576.0, 1024.0};
  for (int i = 0; i < 3; ++i) {
    if (bytes >= kScale[i] && std::fmod(bytes, kScale[i]) == 0) {
      return NumberText(bytes / kScale[i]) + kUnits[i];
    }
  }
  return NumberText(bytes) + "B";
}

}  // namespace

std::string KeyAllowed(const KeySpec& s) {
  switch (s.type) {
    case KeyType::kInt:
      return "must be an integer from " + NumberText(s.lo) + " to " + NumberText(s.hi);
    case KeyType::kNumber:
      if (s.lo < -1e299) return "must be a finite number";
      return "must be a number from " + NumberText(s.lo) + " to " + NumberText(s.hi) +
             (s.choices ? ", or off" : "");
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

namespace {

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

// Parses text as the spec's type. Returns "" or the reason (KeyAllowed() text).
std::string ParseValue(const SectionSpec& section, const KeySpec& s, const std::string& text,
                       ConfigValue* v) {
  v->text = text;
  const std::string allowed = KeyAllowed(s);
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
      if (!text.empty() && section.check_files) {
        // `credential:NAME`: the file systemd's LoadCredential= put in $CREDENTIALS_DIRECTORY.
        const std::string path = s.type == KeyType::kSecretFile ? SecretFilePath(text) : text;
        if (path.empty()) return "credential " + text.substr(11) + ": $CREDENTIALS_DIRECTORY is not set or the name is bad";
        const std::string problem = CheckReadableFile(path, s.type == KeyType::kSecretFile, allowed);
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

bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// "rdkafka." of the family "rdkafka.*"; "" for a plain key.
std::string_view FamilyPrefix(const KeySpec& k) {
  const std::string_view key = k.key;
  return EndsWith(key, ".*") ? key.substr(0, key.size() - 1) : std::string_view();
}

const KeySpec* FindKey(const SectionSpec& section, std::string_view key) {
  for (const KeySpec& k : section.keys) {
    if (key == k.key) return &k;
  }
  for (const KeySpec& k : section.keys) {
    const std::string_view prefix = FamilyPrefix(k);
    if (!prefix.empty() && key.substr(0, prefix.size()) == prefix) return &k;
  }
  return nullptr;
}

// NAME of a named section: 1 to 32 characters from a-z 0-9 _ -.
bool IsInstanceName(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

struct Loader : ConfigCheck {
  const ConfigSchema& schema;
  const SectionSpec* named = nullptr;  // the "rule.NAME" section, if any
  std::string named_prefix;            // "rule."
  std::string_view text;
  size_t pos = 0;
  int line = 0;
  bool skipping = false;  // in a section refused at its header: its keys are ignored
  std::string raw_line;   // the line being parsed, for columns

  Loader(const ConfigSchema& s, std::string_view t, const std::string& file_name, ConfigMode m)
      : schema(s), text(t) {
    name_ = file_name;
    mode_ = m;
    for (const SectionSpec& sec : schema.sections) {
      if (EndsWith(sec.name, ".NAME")) {
        named = &sec;
        named_prefix = std::string(sec.name, std::strlen(sec.name) - 4);
      }
    }
  }

  bool IsNamedSection(std::string_view s) const {
    return named != nullptr && s.substr(0, named_prefix.size()) == named_prefix;
  }

  // The spec of section s; nullptr if s is unknown.
  const SectionSpec* FindSection(std::string_view s) const {
    if (IsNamedSection(s)) return IsInstanceName(s.substr(named_prefix.size())) ? named : nullptr;
    for (const SectionSpec& sec : schema.sections) {
      if (&sec != named && s == sec.name) return &sec;
    }
    return nullptr;
  }

  RuleConfig* FindRule(std::string_view section) {
    const std::string_view rule_name = section.substr(named_prefix.size());
    for (RuleConfig& r : cfg_.rules) {
      if (r.name == rule_name) return &r;
    }
    return nullptr;
  }
  // A new instance with the table's defaults.
  void AddRule(const std::string& rule_name, int at) {
    RuleConfig r;
    r.name = rule_name;
    r.line = at;
    for (const KeySpec& s : named->keys) {
      if (*s.def == '\0') continue;
      ConfigValue v;
      v.key = s.key;
      if (ParseValue(*named, s, s.def, &v).empty()) (void)named->store_rule(r, s.key, v, KeyAllowed(s), 1);
    }
    cfg_.rules.push_back(std::move(r));
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
        if (l->IsNamedSection(section) && !IsInstanceName(section.substr(l->named_prefix.size()))) {
          l->Error(l->line, "[" + section + "]: a " + l->named_prefix.substr(0, l->named_prefix.size() - 1) +
                                " name is 1 to 32 characters from a-z 0-9 _ -");
        } else if (l->FindSection(section) == nullptr) {
          std::string known;
          for (const SectionSpec& sec : l->schema.sections) {
            known += std::string(known.empty() ? "" : ", ") + sec.name;
          }
          l->Error(l->line, "[" + section + "]: unknown section; sections are: " + known);
        } else if (l->IsNamedSection(section) && l->section_line_.count(section)) {
          l->Error(l->line, "[" + section + "]: given twice (first at line " +
                                std::to_string(l->section_line_[section]) + ")");
        } else {
          l->skipping = false;
          if (l->section_line_.emplace(section, l->line).second && l->IsNamedSection(section)) {
            l->AddRule(section.substr(l->named_prefix.size()), l->line);
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
    const SectionSpec* sec = FindSection(section);
    if (sec == nullptr || skipping) return;  // reported at the header
    const std::string where = "[" + section + "] " + key + " = " + value;
    const KeySpec* spec = FindKey(*sec, key);
    if (spec == nullptr) {
      std::string keys;
      for (const KeySpec& s : sec->keys) keys += std::string(keys.empty() ? "" : ", ") + s.key;
      Error(line, where + ": unknown key; [" + section + "] takes: " + keys);
      return;
    }
    const std::string_view prefix = FamilyPrefix(*spec);
    if (!prefix.empty() && key.size() == prefix.size()) {  // "rdkafka." alone
      Error(line, where + ": name " + spec->family_what + " after " + std::string(prefix));
      return;
    }
    auto [it, inserted] = key_line_.emplace(std::make_pair(section, key), line);
    if (!inserted) {
      Error(line, where + ": given twice (first at line " + std::to_string(it->second) + ")");
      return;
    }
    key_text_[{section, key}] = value;
    ConfigValue v;
    v.key = key;
    const std::string problem = ParseValue(*sec, *spec, value, &v);
    if (!problem.empty()) {
      Error(line, where + ": " + problem);
      bad_.emplace(section, key);
      return;
    }
    if (sec == named) {
      const std::string rule_problem =
          named->store_rule(*FindRule(section), key, v, KeyAllowed(*spec), ValueColumn());
      if (!rule_problem.empty()) {
        Error(line, where + ": " + rule_problem);
        bad_.emplace(section, key);
      }
    } else if (spec->store) {
      spec->store(cfg_, v);
    }
  }

  bool HasErrors() const { return !errors_.empty(); }
  ConfigResult Result() {
    cfg_.path = name_;
    if (errors_not_listed_ > 0) {
      errors_.push_back(name_ + ": " + std::to_string(errors_not_listed_) + " more error(s) not listed");
    }
    return {std::move(cfg_), std::move(errors_)};
  }

  void ApplyDefaults() {
    for (const SectionSpec& sec : schema.sections) {
      if (&sec == named) continue;
      for (const KeySpec& s : sec.keys) {
        if (s.store == nullptr || !FamilyPrefix(s).empty() || key_line_.count({sec.name, s.key})) continue;
        ConfigValue v;
        v.key = s.key;
        const std::string problem = ParseValue(sec, s, s.def, &v);
        if (problem.empty()) s.store(cfg_, v);
      }
    }
  }

  void CheckWhole() {
    for (const auto& [section, at] : section_line_) {
      const SectionSpec* sec = FindSection(section);
      for (const KeySpec& s : sec->keys) {
        if (s.required && !key_line_.count({section, s.key})) {
          Error(at, "[" + section + "] " + s.key + ": required when [" + section + "] is present; it " +
                        KeyAllowed(s));
        }
      }
    }
    for (const SectionSpec& sec : schema.sections) {
      if (sec.finish) sec.finish(*this);
    }
    for (ConfigHook check : schema.checks) check(*this);
  }
};

}  // namespace

int ConfigCheck::LineOf(const std::string& section, const std::string& key) const {
  auto it = key_line_.find({section, key});
  if (it != key_line_.end()) return it->second;
  auto s = section_line_.find(section);
  return s == section_line_.end() ? 0 : s->second;
}

std::string ConfigCheck::Where(const std::string& section, const std::string& key) const {
  return "[" + section + "] " + key + " = " + Text(section, key);
}

std::string ConfigCheck::Text(const std::string& section, const std::string& key) const {
  auto it = key_text_.find({section, key});
  return it == key_text_.end() ? std::string() : it->second;
}

void ConfigCheck::Error(int at, const std::string& what) {
  // A file of garbage must not print a million lines: the first ones say enough.
  if (errors_.size() >= kMaxConfigErrors) {
    ++errors_not_listed_;
    return;
  }
  errors_.push_back(name_ + (at > 0 ? ":" + std::to_string(at) : std::string()) + ": " + what);
}

ConfigResult LoadWithSchema(const ConfigSchema& schema, std::string_view text, const std::string& name,
                            ConfigMode mode) {
  if (text.find('\0') != std::string_view::npos) {
    return {Config{}, {name + ": holds a NUL byte: not a text file"}};
  }
  Loader l(schema, text, name, mode);
  l.ApplyDefaults();
  const int rc = ini_parse_stream(&Loader::Read, &l, &Loader::Handle, &l);
  if (rc > 0 && !l.HasErrors()) l.Error(rc, "cannot parse this line");
  if (rc < 0) l.Error(0, "cannot parse (out of memory)");
  l.CheckWhole();
  return l.Result();
}

}  // namespace sensorgate
