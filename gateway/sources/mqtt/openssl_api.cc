#include "gateway/sources/mqtt/openssl_api.h"

#include <iterator>
#include <mutex>

namespace sensorgate {
namespace {

OpenSslApi g_openssl;

}  // namespace

const Status& LoadOpenSsl() {
  static std::once_flag once;
  static Status outcome;
  return LoadOnce(&once, &outcome, [] {
    OpenSslApi api;
#define SYMBOL(name) SENSORGATE_DYNAMIC_SYMBOL(api, name)
    const DynamicSymbol crypto[] = {SENSORGATE_LIBCRYPTO_FUNCTIONS(SYMBOL)};
    const DynamicSymbol ssl[] = {SENSORGATE_LIBSSL_FUNCTIONS(SYMBOL)};
#undef SYMBOL
    // libcrypto first: libssl needs it, and a missing libcrypto is named as
    // such. When libssl then fails, libcrypto stays mapped but unused (the
    // table is not published).
    Status s = OpenDynamicLibrary({"libcrypto.so.3", "libssl3"}, crypto, std::size(crypto));
    if (s.ok()) s = OpenDynamicLibrary({"libssl.so.3", "libssl3"}, ssl, std::size(ssl));
    if (s.ok()) g_openssl = api;
    return s;
  });
}

const OpenSslApi& OpenSsl() { return g_openssl; }

}  // namespace sensorgate
