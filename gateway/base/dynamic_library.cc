#include "gateway/base/dynamic_library.h"

#include <dlfcn.h>

#include <cstring>
#include <string>
#include <vector>

namespace sensorgate {
namespace {

std::string LoadError(const DynamicLibrary& library, const char* why) {
  return std::string("cannot load ") + library.soname + " (Debian package " + library.package +
         "): " + (why != nullptr ? why : "unknown error");
}

}  // namespace

Status OpenDynamicLibrary(const DynamicLibrary& library, const DynamicSymbol* symbols, size_t count) {
  // RTLD_NOW: an incomplete library fails here, not at the first call of a
  // missing function. RTLD_LOCAL: its symbols stay out of the global scope,
  // so libraries loaded later cannot bind to them by accident.
  void* handle = dlopen(library.soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Status::Error(LoadError(library, dlerror()));
  std::vector<void*> addresses(count);
  for (size_t i = 0; i < count; ++i) {
    dlerror();
    addresses[i] = dlsym(handle, symbols[i].name);
    if (addresses[i] == nullptr) {
      const char* why = dlerror();
      const std::string message =
          LoadError(library, why != nullptr ? why : (std::string(symbols[i].name) + " is null").c_str());
      dlclose(handle);
      return Status::Error(message);
    }
  }
  // POSIX makes a function's address from dlsym() usable as a function
  // pointer; memcpy writes it without punning the member's type.
  static_assert(sizeof(void*) == sizeof(void (*)()), "function and object pointers differ in size");
  for (size_t i = 0; i < count; ++i) std::memcpy(symbols[i].slot, &addresses[i], sizeof(void*));
  return Status::Ok();
}

const Status& LoadOnce(std::once_flag* flag, Status* outcome, const std::function<Status()>& load) {
  std::call_once(*flag, [&] { *outcome = load(); });
  return *outcome;
}

}  // namespace sensorgate
