// TempDir: a temporary directory for a unit test, removed with its content
// when the test ends (under $TEST_TMPDIR when set, else /tmp).
#ifndef SENSORGATE_TESTS_UNIT_TEMP_DIR_H_
#define SENSORGATE_TESTS_UNIT_TEMP_DIR_H_

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace sensorgate {
namespace testing_util {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/sensorgate_test_XXXXXX";
    path_ = ::mkdtemp(templ.data()) != nullptr ? templ : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  std::string File(const std::string& name) const { return *this / name; }
  // Entries whose name starts with `prefix`.
  int Count(const std::string& prefix) const {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path_, ec)) {
      n += e.path().filename().string().rfind(prefix, 0) == 0;
    }
    return n;
  }
  bool Has(const std::string& name) const {
    struct stat st;
    return ::stat((*this / name).c_str(), &st) == 0;
  }

 private:
  std::string path_;
};

}  // namespace testing_util
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_UNIT_TEMP_DIR_H_
