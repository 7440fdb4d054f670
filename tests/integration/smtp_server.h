// SmtpServer: Debian's aiosmtpd (tests/integration/smtp_server.py, run by
// /usr/bin/python3) on 127.0.0.1 for one test, stopped by its destructor;
// TestCertificates: a test CA and a server certificate for 127.0.0.1, made
// with openssl; ParseMail: a received message read back with Python's
// `email` package.
#ifndef SENSORGATE_TESTS_INTEGRATION_SMTP_SERVER_H_
#define SENSORGATE_TESTS_INTEGRATION_SMTP_SERVER_H_

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/daemon_process.h"
#include "tests/integration/run_command.h"

namespace sensorgate {
namespace testing_util {

inline const char* kPython = "/usr/bin/python3";
inline std::string SmtpScript() { return std::string(SENSORGATE_SOURCE_DIR) + "/tests/integration/smtp_server.py"; }

inline bool HaveAiosmtpd() {
  return access(kPython, X_OK) == 0 && RunCommand({kPython, "-c", "import aiosmtpd"}).exit_code == 0;
}

inline int PickPort() { return std::atoi(RunCommand({kPython, SmtpScript(), "--pick-port"}).out.c_str()); }

struct TestCertificates {
  std::string ca, cert, key;        // the CA the gateway trusts, the server's pair
  std::string other_ca;             // a CA that signed nothing here
  bool ok = false;
};

inline TestCertificates MakeCertificates(const std::string& dir) {
  TestCertificates c;
  const std::string script =
      "set -e; cd '" + dir + "'; "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=sensorgate test CA' ; "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj '/CN=other CA' ; "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' ; "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf ; "
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
      "-extfile ext.cnf";
  const CommandResult r = RunCommand({"/bin/sh", "-c", script});
  c.ok = r.exit_code == 0;
  c.ca = dir + "/ca.crt";
  c.other_ca = dir + "/other.crt";
  c.cert = dir + "/server.crt";
  c.key = dir + "/server.key";
  return c;
}

class SmtpServer {
 public:
  // Starts the server with `args` (see smtp_server.py) writing mails to
  // `dir`, on `port`; waits until it listens.
  SmtpServer(const std::string& dir, int port, const std::vector<std::string>& args) : dir_(dir), port_(port) {
    const std::string ready = dir + "/ready." + std::to_string(port);
    unlink(ready.c_str());
    std::vector<std::string> argv = {kPython, SmtpScript(), "--dir", dir, "--port", std::to_string(port),
                                     "--ready", ready};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    const int64_t deadline = NowMs() + 15000;
    struct stat st;
    while (NowMs() < deadline && stat(ready.c_str(), &st) != 0) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // it failed to start
        pid_ = -1;
        break;
      }
      usleep(20000);  // polls for the file
    }
    ready_ = stat(ready.c_str(), &st) == 0;
  }
  ~SmtpServer() { Stop(); }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// The .eml files in `dir`, sorted.
inline std::vector<std::string> MailFiles(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".eml") == 0) out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Waits until `dir` holds at least `n` mails; returns them.
inline std::vector<std::string> AwaitMails(const std::string& dir, size_t n, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  std::vector<std::string> files = MailFiles(dir);
  while (files.size() < n && NowMs() < deadline) {
    usleep(20000);  // polls for files
    files = MailFiles(dir);
  }
  return files;
}

// A message read back by Python's email package.
struct ParsedMail {
  bool ok = false;
  std::vector<std::string> raw_header_names;     // as they appear, continuation lines joined
  std::map<std::string, std::string> headers;    // decoded (RFC 2047) values
  std::string body;                              // decoded text
  std::string json;                              // what the parser printed
};

}  // namespace testing_util
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_INTEGRATION_SMTP_SERVER_H_
