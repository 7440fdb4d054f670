#include "alerts/curl_api.h"

#include <iterator>
#include <mutex>
#include <string>

#include "gateway/base/dynamic_library.h"

namespace sensorgate {
namespace {

CurlApi g_curl;

}  // namespace

const Status& LoadCurl() {
  static std::once_flag once;
  static Status outcome;
  return LoadOnce(&once, &outcome, [] {
    CurlApi api;
#define SYMBOL(name) SENSORGATE_DYNAMIC_SYMBOL(api, name)
    const DynamicSymbol symbols[] = {SENSORGATE_CURL_FUNCTIONS(SYMBOL)};
    const Status s = OpenDynamicLibrary({"libcurl.so.4", "libcurl4"}, symbols, std::size(symbols));
#undef SYMBOL
    if (!s.ok()) return s;
    // Not thread-safe in libcurl: done here, once, before any handle exists.
    const CURLcode code = api.curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) return Status::Error("curl_global_init failed (CURLcode " + std::to_string(code) + ")");
    g_curl = api;
    return Status::Ok();
  });
}

const CurlApi& Curl() { return g_curl; }

}  // namespace sensorgate
