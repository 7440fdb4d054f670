// MosquittoBroker: a real mosquitto broker for integration tests, started on
// 127.0.0.1 on a free port and stopped at the end of the test; optionally with
// persistence (sessions and queued QoS 1 messages survive Restart()), TLS
// (certificates made by TestCa with the openssl command line) and password
// authentication (a password file made with mosquitto_passwd).
//
// Self-contained: POSIX and the standard library only (no gtest). Everything
// is in sensorgate::testing_util::mqtt_test so that it does not clash with
// daemon_process.h / run_command.h (which define ReadFile, NowMs, ...).
//
// Typical use:
//   mqtt_test::BrokerOptions o;
//   o.tls = true;
//   o.require_password = true;
//   mqtt_test::MosquittoBroker broker(dir.path(), o);
//   ASSERT_TRUE(broker.Start()) << broker.error();
//   ... broker.uri(), broker.ca_file(), broker.password_file_for_client(p) ...
//   ASSERT_TRUE(broker.WaitForSubscription("client-id", 10000)) << broker.Log();
//
// Running as root: mosquitto then drops privileges to the user "mosquitto",
// so the broker directory is made 0755 (it must sit in traversable parents,
// such as a mkdtemp directory directly under /tmp), the persistence folder
// 0777, certificates and the server key 0644, and the broker's password file
// is given to the user mosquitto (mode 0600).
#ifndef SENSORGATE_TESTS_INTEGRATION_MOSQUITTO_BROKER_H_
#define SENSORGATE_TESTS_INTEGRATION_MOSQUITTO_BROKER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sensorgate {
namespace testing_util {
namespace mqtt_test {

// ---------------------------------------------------------------------------
// Small helpers.

// Milliseconds of the monotonic clock.
inline int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Sleeps `ms` milliseconds.
inline void SleepMs(int ms) {
  timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = static_cast<long>(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Calls `done` every 10 ms until it returns true (then true) or `timeout_ms`
// passed (then false; `done` is always called at least once).
template <typename Predicate>
bool PollUntil(Predicate done, int timeout_ms) {
  const int64_t deadline = MonotonicMs() + timeout_ms;
  while (!done()) {
    if (MonotonicMs() >= deadline) return false;
    SleepMs(10);
  }
  return true;
}

// The whole content of a file ("" when it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Size of a file in bytes (0 when it does not exist).
inline size_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<size_t>(st.st_size);
}

// Replaces `path` with `content`, created with `mode` (the mode is also set on
// an existing file, whatever the umask). Returns false on failure.
inline bool WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  return ::close(fd) == 0 && ok;
}

// `text` quoted for /bin/sh (single quotes).
inline std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs `cmd` with /bin/sh (popen). Its standard output and standard error both
// go to *output (when not null). Returns the exit status, 128 + the signal
// number when killed by a signal, or -1 when the shell could not be run.
inline int RunShell(const std::string& cmd, std::string* output) {
  if (output != nullptr) output->clear();
  FILE* pipe = ::popen(("( " + cmd + " ) 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    if (output != nullptr) output->append(buf, n);
  }
  const int status = ::pclose(pipe);
  if (status == -1) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Full path of the executable `name`, searched in PATH and then in /usr/sbin,
// /sbin, /usr/bin, /bin (mosquitto lives in /usr/sbin, often not in a user's
// PATH). A name containing '/' is taken as a path. "" when not found.
inline std::string FindTool(const char* name) {
  const std::string n = name;
  if (n.empty()) return "";
  if (n.find('/') != std::string::npos) return ::access(name, X_OK) == 0 ? n : "";
  const char* env = std::getenv("PATH");
  std::string dirs = env != nullptr ? env : "";
  dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t from = 0;
  while (from <= dirs.size()) {
    size_t colon = dirs.find(':', from);
    if (colon == std::string::npos) colon = dirs.size();
    const std::string dir = dirs.substr(from, colon - from);
    if (!dir.empty()) {
      const std::string full = dir + "/" + n;
      struct stat st;
      if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0) {
        return full;
      }
    }
    from = colon + 1;
  }
  return "";
}

// Whether the executable `name` exists (see FindTool). Tests skip themselves
// when e.g. HaveTool("mosquitto") is false.
inline bool HaveTool(const char* name) { return !FindTool(name).empty(); }

// Starts argv[0] (a path) with fork/exec: standard input from /dev/null,
// standard output to `out_path` and standard error to `err_path` ("" means
// /dev/null; files are created 0644, appended to with `append`, else
// truncated). File descriptors above 2 are not inherited. Returns the process
// id, or -1 when it could not be started (an exec failure shows as exit 127).
inline pid_t SpawnProcess(const std::vector<std::string>& argv, const std::string& out_path,
                          const std::string& err_path, bool append = false) {
  if (argv.empty()) return -1;
  // Everything the child needs is prepared before fork(): after it, the child
  // (possibly of a multi-threaded test) only makes async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string out = out_path.empty() ? "/dev/null" : out_path;
  const std::string err = err_path.empty() ? "/dev/null" : err_path;
  const int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int in_fd = ::open("/dev/null", O_RDONLY);
    const int out_fd = ::open(out.c_str(), flags, 0644);
    const int err_fd = ::open(err.c_str(), flags, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(127);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    for (int fd = 3; fd < static_cast<int>(max_fd); ++fd) ::close(fd);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to `timeout_ms` for the child `pid` to end. Returns its exit code,
// 128 + the signal number when killed by a signal, or -1 when it still runs
// at the deadline (or is not a child of this process). 0 ms only checks.
inline int WaitProcessMs(pid_t pid, int timeout_ms) {
  if (pid <= 0) return -1;
  const int64_t deadline = MonotonicMs() + timeout_ms;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0 && errno != EINTR) return -1;
    if (MonotonicMs() >= deadline) return -1;
    SleepMs(5);
  }
}

// Kills the child `pid` with SIGKILL and reaps it.
inline void KillProcess(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Sends SIGTERM to the child `pid`, waits up to `timeout_ms`, then SIGKILL.
// Returns the exit code as WaitProcessMs does (-1 when it had to be killed).
inline int StopProcess(pid_t pid, int timeout_ms) {
  if (pid <= 0) return -1;
  ::kill(pid, SIGTERM);
  const int code = WaitProcessMs(pid, timeout_ms);
  if (code == -1) KillProcess(pid);
  return code;
}

// A TCP port on 127.0.0.1 that the kernel says is free now (it may be taken
// again before use: callers retry). -1 on failure.
inline int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Whether a TCP connection to 127.0.0.1:port is accepted.
inline bool CanConnect(int port) {
  if (port <= 0 || port > 65535) return false;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Whether this process runs as root (mosquitto then drops privileges to the
// user "mosquitto", which must be able to read its files).
inline bool RunningAsRoot() { return ::geteuid() == 0; }

// Makes `path` owned by the user "mosquitto" when running as root (no-op
// otherwise, or when that user does not exist).
inline void GiveToMosquittoUser(const std::string& path) {
  if (!RunningAsRoot()) return;
  const passwd* pw = ::getpwnam("mosquitto");
  if (pw == nullptr) return;
  if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    ::chmod(path.c_str(), 0644);  // at least readable for the broker
  }
}

// ---------------------------------------------------------------------------
// TestCa: certificates for a TLS broker, made with the openssl command line
// (EC prime256v1 keys, valid 2 days; takes well under a second).

class TestCa {
 public:
  // Files go into `dir` (created 0755 if missing).
  explicit TestCa(std::string dir) : dir_(std::move(dir)) {}

  // Makes the CA (ca.key, ca.pem), a server certificate signed by it for
  // CN=127.0.0.1 with subjectAltName IP:127.0.0.1 and DNS:localhost
  // (server.key, server.pem), and an unrelated CA (wrong-ca.key,
  // wrong-ca.pem) that a client can use to see verification fail. Returns
  // false with a message in *error (when not null) on failure.
  bool Generate(std::string* error) {
    const auto fail = [error](const std::string& message) {
      if (error != nullptr) *error = message;
      return false;
    };
    if (!HaveTool("openssl")) return fail("TestCa: the openssl command is not installed");
    if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
      return fail("TestCa: cannot create " + dir_ + ": " + std::strerror(errno));
    }
    ::chmod(dir_.c_str(), 0755);
    const std::string cnf = File("openssl.cnf");
    // An own configuration, so that the system openssl.cnf plays no part.
    const std::string config =
        "[req]\n"
        "distinguished_name = dn\n"
        "prompt = no\n"
        "[dn]\n"
        "CN = placeholder\n"
        "[v3_ca]\n"
        "basicConstraints = critical,CA:TRUE\n"
        "keyUsage = critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n"
        "[v3_server]\n"
        "basicConstraints = critical,CA:FALSE\n"
        "keyUsage = critical,digitalSignature,keyAgreement\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid,issuer\n"
        "[v3_client]\n"
        "basicConstraints = critical,CA:FALSE\n"
        "keyUsage = critical,digitalSignature,keyAgreement\n"
        "extendedKeyUsage = clientAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid,issuer\n";
    if (!WriteFile(cnf, config, 0644)) return fail("TestCa: cannot write " + cnf);
    const std::string openssl = ShellQuote(FindTool("openssl"));
    const std::string newkey = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string conf = " -config " + ShellQuote(cnf);
    const std::vector<std::string> commands = {
        // The CA.
        openssl + " req -x509" + newkey + conf + " -extensions v3_ca -days 2" +
            " -subj '/O=sensorgate tests/CN=sensorgate test CA'" + " -keyout " +
            ShellQuote(ca_key_file()) + " -out " + ShellQuote(ca_file()),
        // The unrelated CA (another name and key).
        openssl + " req -x509" + newkey + conf + " -extensions v3_ca -days 2" +
            " -subj '/O=sensorgate tests/CN=sensorgate wrong CA'" + " -keyout " +
            ShellQuote(wrong_ca_key_file()) + " -out " + ShellQuote(wrong_ca_file()),
        // The server key and request, then the certificate signed by the CA.
        openssl + " req -new" + newkey + conf + " -subj '/O=sensorgate tests/CN=127.0.0.1'" +
            " -keyout " + ShellQuote(server_key_file()) + " -out " + ShellQuote(File("server.csr")),
        openssl + " x509 -req -in " + ShellQuote(File("server.csr")) + " -CA " +
            ShellQuote(ca_file()) + " -CAkey " + ShellQuote(ca_key_file()) + " -set_serial 0x" +
            RandomHex() + " -days 2 -extfile " + ShellQuote(cnf) + " -extensions v3_server" +
            " -out " + ShellQuote(server_cert_file()),
        // A client key and certificate signed by the CA, for mutual TLS.
        openssl + " req -new" + newkey + conf + " -subj '/O=sensorgate tests/CN=sensorgate gateway'" +
            " -keyout " + ShellQuote(client_key_file()) + " -out " + ShellQuote(File("client.csr")),
        openssl + " x509 -req -in " + ShellQuote(File("client.csr")) + " -CA " +
            ShellQuote(ca_file()) + " -CAkey " + ShellQuote(ca_key_file()) + " -set_serial 0x" +
            RandomHex() + " -days 2 -extfile " + ShellQuote(cnf) + " -extensions v3_client" +
            " -out " + ShellQuote(client_cert_file()),
    };
    for (const std::string& command : commands) {
      std::string output;
      const int code = RunShell(command, &output);
      if (code != 0) {
        return fail("TestCa: `" + command + "` exited " + std::to_string(code) + ": " + output);
      }
    }
    for (const std::string& f : {ca_file(), ca_key_file(), wrong_ca_file(), wrong_ca_key_file(),
                                 server_cert_file(), server_key_file(), client_cert_file()}) {
      if (FileSize(f) == 0) return fail("TestCa: " + f + " was not made");
      ::chmod(f.c_str(), 0644);  // readable by the broker after it dropped privileges
    }
    // The gateway refuses a private key that others can read.
    if (FileSize(client_key_file()) == 0) return fail("TestCa: " + client_key_file() + " was not made");
    ::chmod(client_key_file().c_str(), 0600);
    return true;
  }

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return File("ca.pem"); }
  std::string ca_key_file() const { return File("ca.key"); }
  std::string server_cert_file() const { return File("server.pem"); }
  std::string server_key_file() const { return File("server.key"); }
  std::string wrong_ca_file() const { return File("wrong-ca.pem"); }
  std::string client_cert_file() const { return File("client.pem"); }
  std::string client_key_file() const { return File("client.key"); }
  std::string wrong_ca_key_file() const { return File("wrong-ca.key"); }

 private:
  std::string File(const std::string& name) const { return dir_ + "/" + name; }

  // A positive 63-bit serial number in hex (unique enough between runs).
  static std::string RandomHex() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t mixed = static_cast<uint64_t>(ts.tv_sec);
    mixed *= uint64_t{1000000007};
    mixed ^= static_cast<uint64_t>(ts.tv_nsec) << 20;
    mixed ^= static_cast<uint64_t>(::getpid());
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx",
                  static_cast<unsigned long long>((mixed & uint64_t{0x7fffffffffffffff}) | uint64_t{1}));
    return buf;
  }

  std::string dir_;
};

// ---------------------------------------------------------------------------
// MosquittoBroker.

struct BrokerOptions {
  // Keep sessions and queued messages in DIR/db across Restart()
  // (mosquitto saves its database when it receives SIGTERM).
  bool persistent = false;
  // Listen with TLS only (certificates from a TestCa in DIR/tls); uri() is
  // then "ssl://...". Clients need ca_file(); no client certificate is asked.
  bool tls = false;
  // Refuse anonymous clients; only `username` with `password` may connect.
  bool require_password = false;
  // With tls: clients must present a certificate signed by the test CA.
  bool require_certificate = false;
  std::string username = "gateway";
  std::string password = "s3cret-pw";
};

class MosquittoBroker {
 public:
  // The broker's files go into `dir`: mosquitto.conf, mosquitto.log (its
  // standard error, kept across restarts), passwd, db/ and tls/. `dir` must
  // exist; it is made 0755 so that the broker can read it after dropping
  // privileges.
  MosquittoBroker(const std::string& dir, BrokerOptions options = BrokerOptions())
      : dir_(dir), options_(std::move(options)), ca_(dir + "/tls") {}
  ~MosquittoBroker() { Stop(); }
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Writes the configuration (and certificates, password file on the first
  // call), starts mosquitto on a free port (up to 5 ports are tried) and waits
  // until it listens (and, without TLS, accepts a TCP connection). False,
  // with error(), when it could not be started or died.
  bool Start() {
    if (pid_ > 0) return Fail("Start: the broker already runs");
    if (!Prepare()) return false;
    for (int attempt = 0; attempt < 5; ++attempt) {
      const int port = FreePort();
      if (port <= 0) continue;
      if (StartOn(port)) return true;
    }
    return false;
  }

  // Stops the broker with SIGTERM (it then saves its database when
  // persistent) and starts it again on the same port. Also restarts a broker
  // that was stopped or killed. With persistent, sessions and queued QoS 1
  // messages survive.
  bool Restart() {
    if (port_ <= 0) return Start();
    Stop();
    // The port is normally free at once (mosquitto sets SO_REUSEADDR); a few
    // tries in case it is briefly not.
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (StartOn(port_)) return true;
      SleepMs(200);
    }
    return false;
  }

  // Stops the broker with SIGTERM (SIGKILL after 10 s). No-op when stopped.
  void Stop() {
    if (pid_ > 0) {
      last_exit_code_ = StopProcess(pid_, 10000);
      pid_ = -1;
    }
  }

  // Kills the broker with SIGKILL (nothing is saved). No-op when stopped.
  void Kill() {
    if (pid_ > 0) {
      KillProcess(pid_);
      last_exit_code_ = 128 + SIGKILL;
      pid_ = -1;
    }
  }

  // Whether the broker process still runs (reaps it when it ended).
  bool Running() {
    if (pid_ <= 0) return false;
    const int code = WaitProcessMs(pid_, 0);
    if (code == -1) return true;
    last_exit_code_ = code;
    pid_ = -1;
    return false;
  }

  // Process id of the broker (-1 when not running).
  pid_t pid() const { return pid_; }
  // Exit code of the last broker process that ended (-1: unknown / killed).
  int last_exit_code() const { return last_exit_code_; }
  // The port (kept across Restart; -1 before Start).
  int port() const { return port_; }
  // "tcp://127.0.0.1:PORT", or "ssl://127.0.0.1:PORT" with TLS.
  std::string uri() const {
    return std::string(options_.tls ? "ssl" : "tcp") + "://127.0.0.1:" + std::to_string(port_);
  }
  const BrokerOptions& options() const { return options_; }
  const std::string& dir() const { return dir_; }
  std::string config_path() const { return dir_ + "/mosquitto.conf"; }
  std::string log_path() const { return dir_ + "/mosquitto.log"; }
  // The broker's log (all its runs since Start()).
  std::string Log() const { return ReadFile(log_path()); }
  // The current size of the log: pass it as `from` to await only what is
  // logged after now.
  size_t LogMark() const { return FileSize(log_path()); }
  // The log offset where the latest (re)start began.
  size_t start_mark() const { return start_mark_; }
  // The log from byte offset `from` on.
  std::string LogSince(size_t from) const {
    const std::string log = Log();
    return from < log.size() ? log.substr(from) : std::string();
  }
  // Why Start()/Restart() failed (with the log's content), or "".
  const std::string& error() const { return error_; }

  // The CA certificate clients verify the broker with (TLS only).
  std::string ca_file() const { return ca_.ca_file(); }
  // An unrelated CA certificate: clients using it must fail to connect.
  std::string wrong_ca_file() const { return ca_.wrong_ca_file(); }
  const TestCa& ca() const { return ca_; }
  // The broker's password file (mosquitto_passwd format), when required.
  std::string broker_password_file() const { return dir_ + "/passwd"; }

  // Writes options().password to `path` (no trailing newline unless asked)
  // with mode 0600, as the gateway refuses secret files others can read.
  // Returns `path` ("" when it could not be written).
  std::string password_file_for_client(const std::string& path, bool trailing_newline = false) const {
    return WriteFile(path, options_.password + (trailing_newline ? "\n" : ""), 0600) ? path : "";
  }

  // Waits until `text` appears in the log at or after byte offset `from`
  // (default: since the latest (re)start). False at the deadline.
  bool WaitForLog(const std::string& text, int timeout_ms, size_t from = kSinceStart) const {
    const size_t begin = from == kSinceStart ? start_mark_ : from;
    return PollUntil(
        [&] {
          const std::string log = Log();
          return log.size() > begin && log.find(text, begin) != std::string::npos;
        },
        timeout_ms);
  }

  // Waits until the broker logged a subscription of `client_id` (to `filter`
  // when it is not empty), at or after `from` (default: since the latest
  // (re)start). mosquitto logs each subscription ("log_type subscribe") as
  // "<time>: <client_id> <qos> <filter>".
  bool WaitForSubscription(const std::string& client_id, int timeout_ms,
                           const std::string& filter = "", size_t from = kSinceStart) const {
    const size_t begin = from == kSinceStart ? start_mark_ : from;
    return PollUntil([&] { return HasSubscription(Log(), begin, client_id, filter); }, timeout_ms);
  }

  // Common command-line options for mosquitto_pub / mosquitto_sub, quoted
  // for the shell: host, port, and --cafile / -u / -P as the options need.
  std::string ClientArgs() const {
    std::string args = "-h 127.0.0.1 -p " + std::to_string(port_);
    if (options_.tls) args += " --cafile " + ShellQuote(ca_file());
    if (options_.tls && options_.require_certificate) {
      args += " --cert " + ShellQuote(ca_.client_cert_file()) + " --key " + ShellQuote(ca_.client_key_file());
    }
    if (options_.require_password) {
      args += " -u " + ShellQuote(options_.username) + " -P " + ShellQuote(options_.password);
    }
    return args;
  }

  // The same as an argument list (for SpawnProcess).
  std::vector<std::string> ClientArgv() const {
    std::vector<std::string> args = {"-h", "127.0.0.1", "-p", std::to_string(port_)};
    if (options_.tls) args.insert(args.end(), {"--cafile", ca_file()});
    if (options_.tls && options_.require_certificate) {
      args.insert(args.end(), {"--cert", ca_.client_cert_file(), "--key", ca_.client_key_file()});
    }
    if (options_.require_password) {
      args.insert(args.end(), {"-u", options_.username, "-P", options_.password});
    }
    return args;
  }

  // `from` value meaning "since the latest (re)start".
  static constexpr size_t kSinceStart = static_cast<size_t>(-1);

 private:
  bool Fail(const std::string& message) {
    error_ = message;
    return false;
  }

  // Whether `log` holds, from `begin`, a line "<time>: <id> <digit> <filter>".
  static bool HasSubscription(const std::string& log, size_t begin, const std::string& client_id,
                              const std::string& filter) {
    const std::string needle = ": " + client_id + " ";
    size_t at = begin;
    while ((at = log.find(needle, at)) != std::string::npos) {
      const size_t line_start = log.rfind('\n', at);
      const size_t prefix_from = line_start == std::string::npos ? 0 : line_start + 1;
      size_t line_end = log.find('\n', at);
      if (line_end == std::string::npos) line_end = log.size();
      const size_t qos = at + needle.size();
      bool timestamp_only = prefix_from < at;
      for (size_t i = prefix_from; i < at; ++i) {
        if (log[i] < '0' || log[i] > '9') timestamp_only = false;
      }
      if (timestamp_only && qos + 1 < line_end && log[qos] >= '0' && log[qos] <= '2' &&
          log[qos + 1] == ' ' && line_end > qos + 2 &&
          (filter.empty() || log.compare(qos + 2, line_end - (qos + 2), filter) == 0)) {
        return true;
      }
      at += needle.size();
    }
    return false;
  }

  // Once: the directory, certificates, password file, persistence folder.
  bool Prepare() {
    if (prepared_) return true;
    if (mosquitto_.empty()) mosquitto_ = FindTool("mosquitto");
    if (mosquitto_.empty()) return Fail("the mosquitto broker is not installed");
    struct stat st;
    if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Fail("no directory " + dir_);
    }
    ::chmod(dir_.c_str(), 0755);
    if (options_.tls) {
      std::string message;
      if (!ca_.Generate(&message)) return Fail(message);
    }
    if (options_.require_password) {
      const std::string tool = FindTool("mosquitto_passwd");
      if (tool.empty()) return Fail("mosquitto_passwd is not installed");
      const std::string file = broker_password_file();
      ::unlink(file.c_str());
      std::string output;
      const int code = RunShell(ShellQuote(tool) + " -b -c " + ShellQuote(file) + " " +
                                    ShellQuote(options_.username) + " " +
                                    ShellQuote(options_.password),
                                &output);
      if (code != 0) {
        return Fail("mosquitto_passwd exited " + std::to_string(code) + ": " + output);
      }
      ::chmod(file.c_str(), 0600);
      GiveToMosquittoUser(file);
    }
    if (options_.persistent) {
      const std::string db = dir_ + "/db";
      if (::mkdir(db.c_str(), 0777) != 0 && errno != EEXIST) {
        return Fail("cannot create " + db + ": " + std::strerror(errno));
      }
      ::chmod(db.c_str(), 0777);  // the user mosquitto writes the database
    }
    // A fresh log for this broker; restarts append to it.
    if (!WriteFile(log_path(), "", 0644)) return Fail("cannot write " + log_path());
    prepared_ = true;
    return true;
  }

  std::string Config(int port) const {
    // max_queued_messages 0: a lagging or offline subscriber's QoS 1
    // messages are never dropped. max_inflight_messages keeps its default
    // (20). The log goes to standard error, with subscriptions.
    std::string text = "# Written by tests/integration/mosquitto_broker.h\n"
                       "per_listener_settings false\n"
                       "listener " +
                       std::to_string(port) +
                       " 127.0.0.1\n"
                       "max_queued_messages 0\n"
                       "log_dest stderr\n"
                       "log_type error\nlog_type warning\nlog_type notice\n"
                       "log_type information\nlog_type subscribe\n"
                       "connection_messages true\n";
    if (options_.tls) {
      text += "cafile " + ca_.ca_file() + "\ncertfile " + ca_.server_cert_file() + "\nkeyfile " +
              ca_.server_key_file() + "\nrequire_certificate " +
              (options_.require_certificate ? "true" : "false") + "\n";
    }
    if (options_.require_password) {
      text += "allow_anonymous false\npassword_file " + broker_password_file() + "\n";
    } else {
      text += "allow_anonymous true\n";
    }
    if (options_.persistent) {
      text += "persistence true\npersistence_location " + dir_ + "/db/\n";
    } else {
      text += "persistence false\n";
    }
    return text;
  }

  bool StartOn(int port) {
    port_ = port;
    if (!WriteFile(config_path(), Config(port), 0644)) return Fail("cannot write " + config_path());
    start_mark_ = LogMark();
    pid_ = SpawnProcess({mosquitto_, "-c", config_path()}, "", log_path(), /*append=*/true);
    if (pid_ <= 0) {
      pid_ = -1;
      return Fail("cannot start " + mosquitto_ + ": " + std::strerror(errno));
    }
    // Up when it logged "mosquitto version X running" (after opening its
    // listener) and the port accepts TCP connections; or dead. With TLS the
    // TCP probe is left out: the listener is open once "running" is logged,
    // and a probe would log "Client connection from 127.0.0.1 failed:
    // error:0A000126:SSL routines::unexpected eof while reading."
    const bool up = PollUntil(
        [this] {
          if (!Running()) return true;
          const std::string log = Log();
          return log.find(" running", start_mark_) != std::string::npos &&
                 (options_.tls || CanConnect(port_));
        },
        10000);
    if (up && Running()) {
      error_.clear();
      return true;
    }
    Stop();
    return Fail("mosquitto did not start on port " + std::to_string(port) + " (exit " +
                std::to_string(last_exit_code_) + "); log:\n" + LogSince(start_mark_));
  }

  const std::string dir_;
  const BrokerOptions options_;
  TestCa ca_;
  std::string mosquitto_;
  bool prepared_ = false;
  int port_ = -1;
  pid_t pid_ = -1;
  int last_exit_code_ = -1;
  size_t start_mark_ = 0;
  std::string error_;
};

}  // namespace mqtt_test
}  // namespace testing_util
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_INTEGRATION_MOSQUITTO_BROKER_H_
