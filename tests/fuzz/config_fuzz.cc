// libFuzzer target: arbitrary bytes as an INI configuration. Loading must
// never crash, and either yield a config or errors naming the file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensorgate;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ConfigResult r =
      LoadConfigText(text, "fuzz.ini", size % 2 ? ConfigMode::kDaemon : ConfigMode::kReplay);
  for (const auto& e : r.errors) {
    if (e.rfind("fuzz.ini", 0) != 0) __builtin_trap();  // every error names the file
  }
  if (r.ok() && (r.config.window.size == 0 || r.config.alert.clear_below > r.config.alert.above)) {
    __builtin_trap();
  }
  return 0;
}
