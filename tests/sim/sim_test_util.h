// Helpers for the sensorgate-sim tests: run the simulator binary as a child
// process, read its output, and check records with an independent reader
// (simdjson On-Demand and a hand-written RFC 3339 parser; nothing from the
// simulator or the gateway), applying the rejection rules of DESIGN.md
// section 4. Tests run on one thread.
#ifndef SENSORGATE_TESTS_SIM_SIM_TEST_UTIL_H_
#define SENSORGATE_TESTS_SIM_SIM_TEST_UTIL_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sensorgate {
namespace simtest {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string out;  // standard output
  std::string err;  // standard error
  double seconds = 0;
};

// Runs `argv` (argv[0] is the program) with standard output and error
// captured, and kills it after `timeout`.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         std::chrono::seconds timeout = std::chrono::seconds(100));

// Runs sensorgate-sim with `args` (under the cross-compiling emulator, if any).
ProcessResult RunSim(const std::vector<std::string>& args,
                     std::chrono::seconds timeout = std::chrono::seconds(100));

// The command line that starts sensorgate-sim with `args`.
std::vector<std::string> SimCommand(const std::vector<std::string>& args);

// Starts `argv` in the background with standard output and error going to
// the given files ("" = /dev/null). Returns the pid, or -1.
pid_t StartProcess(const std::vector<std::string>& argv, const std::string& out_path,
                   const std::string& err_path);

// Waits up to `timeout` for `pid` to exit. Returns its exit code, 128 + the
// signal that killed it, or -1 on time-out (the process is left running).
int WaitProcess(pid_t pid, std::chrono::milliseconds timeout);

// Kills `pid` with SIGKILL and reaps it (for clean-up after a failure).
void KillProcess(pid_t pid);

std::string ReadFile(const std::string& path);
bool FileExists(const std::string& path);
void WriteFile(const std::string& path, std::string_view content);

// Splits on '\n'; a final line without '\n' is kept. The '\n' is dropped,
// a '\r' before it is kept.
std::vector<std::string> Lines(std::string_view text);

// Matches `text` against `pattern`, in which '#' is one digit, '@' one
// capital letter, '*' one or more digits, '~' a number with exactly one
// decimal (-?[0-9]+[.][0-9]) and every other character itself.
bool MatchesShape(std::string_view text, std::string_view pattern);

// Parses "YYYY-MM-DDTHH:MM:SS.ffffffZ" exactly (27 bytes) into microseconds
// since the epoch.
bool ParseTimestamp(std::string_view text, int64_t* micros);

// One record read as the gateway would (DESIGN.md section 4, with key =
// "sensor", value = "padrao.leitura.temperatura", time = "data_evento").
struct CheckedRecord {
  bool ok = false;
  // When !ok: "too_long", "parse", "key_missing", "key_not_string", "key_empty",
  // "key_control", "value_missing", "value_not_number", "time_missing",
  // "time_bad".
  std::string reason;
  std::string key;
  double value = 0;
  int64_t micros = 0;
  std::string value_text;  // the number as written
  // Field names in document order, nested ones as "padrao.leitura".
  std::vector<std::string> field_order;
};

CheckedRecord CheckRecord(std::string_view line);

// Simulated time used by most tests.
constexpr char kStart[] = "2023-03-15T12:00:00Z";
constexpr int64_t kStartMicros = 1678881600LL * 1000000;

}  // namespace simtest
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_SIM_SIM_TEST_UTIL_H_
