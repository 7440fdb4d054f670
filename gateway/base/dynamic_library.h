// Optional shared libraries, loaded with dlopen() only when a configured
// component needs them (as systemd does for its optional dependencies).
//
// libcurl ([email]), librdkafka ([kafka]) and OpenSSL (MQTT over TLS) bring
// large dependency trees: linked into the binary, every gateway maps them and
// pays their relocations and data (about 3.5 MiB of private memory) even when
// its configuration uses none of them. Each library instead has a table of
// function pointers (alerts/curl_api.h, gateway/sinks/kafka/rdkafka_api.h,
// gateway/sources/mqtt/openssl_api.h), declared from the library's own
// headers with decltype so that a signature can never drift, and filled here.
//
// A library is opened once and never closed: the tables point into it for
// the rest of the process, and librdkafka and OpenSSL keep threads and exit
// handlers of their own. Pure functions over their arguments; any thread (the
// callers serialise the first load, see LoadOnce()).
#ifndef SENSORGATE_GATEWAY_BASE_DYNAMIC_LIBRARY_H_
#define SENSORGATE_GATEWAY_BASE_DYNAMIC_LIBRARY_H_

#include <cstddef>
#include <functional>
#include <mutex>

#include "gateway/base/status.h"

namespace sensorgate {

// One function of a table: its name in the library and the table's member
// (a function pointer) that receives its address.
struct DynamicSymbol {
  const char* name;
  void* slot;  // the address of the member, a pointer to a function pointer
};

// The library a table comes from.
struct DynamicLibrary {
  const char* soname;   // "libcurl.so.4": the ABI the headers describe
  const char* package;  // "libcurl4": the Debian package that provides it
};

// dlopen(soname, RTLD_NOW | RTLD_LOCAL), then dlsym() of every symbol into
// its slot. All or nothing: on any failure no slot is written, the library
// is closed again, and the error reads "cannot load SONAME (Debian package
// PACKAGE): <dlerror()>" (dlerror() names the missing file or symbol).
Status OpenDynamicLibrary(const DynamicLibrary& library, const DynamicSymbol* symbols, size_t count);

// Runs `load` once for `flag` and returns its outcome then and on every
// later call (a library that is missing stays missing: no retry loads it
// half-way through a run). Thread-safe through std::call_once, although the
// gateway only loads from its loop thread: the tests build components on
// their own threads.
const Status& LoadOnce(std::once_flag* flag, Status* outcome, const std::function<Status()>& load);

}  // namespace sensorgate

// Helpers for a table's X-macro list: a member per function, typed from the
// library's own declaration, and the DynamicSymbol that fills it.
#define SENSORGATE_DYNAMIC_MEMBER(name) decltype(&::name) name = nullptr;
#define SENSORGATE_DYNAMIC_SYMBOL(table, name) ::sensorgate::DynamicSymbol{#name, &(table).name},

#endif  // SENSORGATE_GATEWAY_BASE_DYNAMIC_LIBRARY_H_
