// README.md's configuration reference is the key table of gateway/config.cc
// written as Markdown: this test keeps the two in agreement. When it fails it
// prints the block README.md should hold.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gateway/config/config.h"

namespace sensorgate {
namespace {

std::string Cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

std::string ReferenceTable() {
  std::string t = "| key | default | allowed | what it does |\n|---|---|---|---|\n";
  for (const ConfigKeyInfo& k : ConfigKeys()) {
    std::string def = k.required ? "required" : k.default_text.empty() ? "(none)" : "`" + std::string(k.default_text) + "`";
    std::string allowed(k.allowed);
    if (allowed.rfind("must be ", 0) == 0) allowed = allowed.substr(8);
    t += "| `[" + std::string(k.section) + "] " + std::string(k.key) + "` | " + Cell(def) + " | " + Cell(allowed) +
         " | " + Cell(k.doc) + " |\n";
  }
  return t;
}

TEST(Readme, ConfigurationReferenceIsTheKeyTable) {
  std::ifstream in(std::string(SENSORGATE_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string table = ReferenceTable();
  EXPECT_NE(ss.str().find(table), std::string::npos)
      << "README.md must hold this table (generated from gateway/config.cc):\n" << table;
}

}  // namespace
}  // namespace sensorgate
