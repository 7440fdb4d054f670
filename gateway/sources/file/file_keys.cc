// [file]: the key table of the file source.
#include "gateway/sources/file/file_keys.h"

namespace sensorgate {
namespace {

const char* CheckGlobs(const ConfigValue& v) {
  for (const auto& g : v.list) {
    if (HasControl(g)) return "";
  }
  return nullptr;
}

void FinishFile(ConfigCheck& check) { check.config().file.enabled = check.Present("file"); }

#define STORE(expr) [](Config& c, const ConfigValue& v) { (void)v; expr; }

}  // namespace

SectionSpec FileKeys() {
  SectionSpec section;
  section.name = "file";
  section.keys = {
    {"path", KeyType::kList, "", true, 1, 64, nullptr,
     "one or more globs of sensor log files; new matching files are picked up",
     STORE(c.file.paths = v.list), CheckGlobs, "must be a comma-separated list of 1 to 64 globs"},
    {"format", KeyType::kEnum, "json", false, 0, 0, "json|csv",
     "json: one object a line; csv: the first line is the header",
     STORE(c.file.format = v.text == "csv" ? RecordFormat::kCsv : RecordFormat::kJson), nullptr,
     nullptr},
    {"from", KeyType::kEnum, "end", false, 0, 0, "beginning|end",
     "where to start in a file never seen before", STORE(c.file.from_beginning = v.text == "beginning"),
     nullptr, nullptr},
  };
  section.finish = FinishFile;
  return section;
}

#undef STORE

}  // namespace sensorgate
