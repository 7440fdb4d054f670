#include "tests/sim/sim_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace sensorgate {
namespace simtest {
namespace {

namespace ondemand = simdjson::ondemand;

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(list);
  while (std::getline(in, part, '|')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// What the walk found in one record.
struct Fields {
  std::vector<std::string> order;
  bool has_key = false;
  ondemand::json_type key_type = ondemand::json_type::null;
  std::string key;
  bool has_value = false;
  ondemand::json_type value_type = ondemand::json_type::null;
  double value = 0;
  std::string value_text;
  bool has_time = false;
  ondemand::json_type time_type = ondemand::json_type::null;
  std::string time;
};

// Walks a value completely (so that malformed JSON anywhere is found),
// remembering the fields the gateway reads. Returns false on any error.
bool Walk(ondemand::value value, const std::string& path, Fields* f) {
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  const bool is_key = path == "sensor";
  const bool is_value = path == "padrao.leitura.temperatura";
  const bool is_time = path == "data_evento";
  if (is_key) {
    f->has_key = true;
    f->key_type = type;
  }
  if (is_value) {
    f->has_value = true;
    f->value_type = type;
  }
  if (is_time) {
    f->has_time = true;
    f->time_type = type;
  }
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object object;
      if (value.get_object().get(object)) return false;
      for (auto field : object) {
        std::string_view name;
        if (field.unescaped_key().get(name)) return false;
        const std::string child = path.empty() ? std::string(name) : path + "." + std::string(name);
        f->order.push_back(child);
        simdjson::simdjson_result<ondemand::value> child_value = field.value();
        ondemand::value v;
        if (child_value.get(v)) return false;
        if (!Walk(v, child, f)) return false;
      }
      return true;
    }
    case ondemand::json_type::array: {
      ondemand::array array;
      if (value.get_array().get(array)) return false;
      for (auto element : array) {
        ondemand::value v;
        if (element.get(v)) return false;
        if (!Walk(v, path + "[]", f)) return false;
      }
      return true;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      if (value.get_string().get(s)) return false;
      if (is_key) f->key = std::string(s);
      if (is_time) f->time = std::string(s);
      return true;
    }
    case ondemand::json_type::number: {
      std::string_view raw = value.raw_json_token();
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' ||
                              raw.back() == '\n')) {
        raw.remove_suffix(1);
      }
      double d;
      if (value.get_double().get(d)) return false;
      if (is_key) f->key = std::string(raw);
      if (is_value) {
        f->value = d;
        f->value_text = std::string(raw);
      }
      return true;
    }
    case ondemand::json_type::boolean: {
      bool b;
      return !value.get_bool().get(b);
    }
    case ondemand::json_type::null: {
      bool is_null;
      return !value.is_null().get(is_null) && is_null;
    }
  }
  return false;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/sensorgate-sim-test-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

pid_t StartProcess(const std::vector<std::string>& argv, const std::string& out_path,
                   const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                   out_path.empty() ? "/dev/null" : out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                   err_path.empty() ? "/dev/null" : err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int WaitProcess(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    // Polls for the child's exit; there is no portable blocking wait with a deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void KillProcess(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
}

ProcessResult RunProcess(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  TempDir dir;
  const std::string out = dir.File("stdout");
  const std::string err = dir.File("stderr");
  ProcessResult result;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = StartProcess(argv, out, err);
  if (pid < 0) {
    result.err = "cannot start " + argv[0];
    return result;
  }
  result.exit_code = WaitProcess(pid, timeout);
  if (result.exit_code == -1) {
    result.timed_out = true;
    KillProcess(pid);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.out = ReadFile(out);
  result.err = ReadFile(err);
  return result;
}

std::vector<std::string> SimCommand(const std::vector<std::string>& args) {
  std::vector<std::string> argv = SplitList(SENSORGATE_SIM_EMULATOR);
  argv.push_back(SENSORGATE_SIM_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ProcessResult RunSim(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  return RunProcess(SimCommand(args), timeout);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t from = 0;
  while (from < text.size()) {
    const size_t nl = text.find('\n', from);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(from));
      break;
    }
    lines.emplace_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  return lines;
}

bool MatchesShape(std::string_view text, std::string_view pattern) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t t = 0;
  for (const char p : pattern) {
    switch (p) {
      case '#':
        if (t >= text.size() || !digit(text[t])) return false;
        ++t;
        break;
      case '@':
        if (t >= text.size() || text[t] < 'A' || text[t] > 'Z') return false;
        ++t;
        break;
      case '*':
        if (t >= text.size() || !digit(text[t])) return false;
        while (t < text.size() && digit(text[t])) ++t;
        break;
      case '~':
        if (t < text.size() && text[t] == '-') ++t;
        if (t >= text.size() || !digit(text[t])) return false;
        while (t < text.size() && digit(text[t])) ++t;
        if (t + 1 >= text.size() || text[t] != '.' || !digit(text[t + 1])) return false;
        t += 2;
        break;
      default:
        if (t >= text.size() || text[t] != p) return false;
        ++t;
    }
  }
  return t == text.size();
}

bool ParseTimestamp(std::string_view s, int64_t* micros) {
  if (s.size() != 27) return false;
  const char* const shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  for (size_t i = 0; i < 27; ++i) {
    const bool digit = s[i] >= '0' && s[i] <= '9';
    if (shape[i] == 'd' ? !digit : s[i] != shape[i]) return false;
  }
  const auto num = [&s](size_t at, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; ++i) v = v * 10 + (s[at + i] - '0');
    return v;
  };
  struct tm tm = {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 59) {
    return false;
  }
  const time_t seconds = timegm(&tm);
  *micros = static_cast<int64_t>(seconds) * 1000000 + num(20, 6);
  return true;
}

CheckedRecord CheckRecord(std::string_view line) {
  CheckedRecord r;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > 64 * 1024) {
    r.reason = "too_long";
    return r;
  }
  simdjson::padded_string padded(line);
  ondemand::parser parser;
  ondemand::document doc;
  Fields f;
  bool parsed = !parser.iterate(padded).get(doc);
  if (parsed) {
    ondemand::object object;
    parsed = !doc.get_object().get(object);
    if (parsed) {
      for (auto field : object) {
        std::string_view name;
        if (field.unescaped_key().get(name)) {
          parsed = false;
          break;
        }
        f.order.emplace_back(name);
        simdjson::simdjson_result<ondemand::value> child_value = field.value();
        ondemand::value v;
        if (child_value.get(v) || !Walk(v, std::string(name), &f)) {
          parsed = false;
          break;
        }
      }
    }
    // Anything after the object is an error too.
    const char* location = nullptr;
    if (parsed && doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS) parsed = false;
  }
  r.field_order = f.order;
  if (!parsed) {
    r.reason = "parse";
    return r;
  }
  if (!f.has_key) {
    r.reason = "key_missing";
    return r;
  }
  if (f.key_type != ondemand::json_type::string && f.key_type != ondemand::json_type::number) {
    r.reason = "key_not_string";
    return r;
  }
  if (f.key.empty()) {
    r.reason = "key_empty";
    return r;
  }
  if (f.key.size() > 128) {
    r.reason = "key_long";
    return r;
  }
  for (const char c : f.key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      r.reason = "key_control";
      return r;
    }
  }
  if (!f.has_value) {
    r.reason = "value_missing";
    return r;
  }
  if (f.value_type != ondemand::json_type::number || !std::isfinite(f.value)) {
    r.reason = "value_not_number";
    return r;
  }
  if (!f.has_time) {
    r.reason = "time_missing";
    return r;
  }
  if (f.time_type != ondemand::json_type::string || !ParseTimestamp(f.time, &r.micros)) {
    r.reason = "time_bad";
    return r;
  }
  r.ok = true;
  r.key = f.key;
  r.value = f.value;
  r.value_text = f.value_text;
  return r;
}

}  // namespace simtest
}  // namespace sensorgate
