// The dlopen() loader (gateway/base/dynamic_library.h) and the tables of the
// optional libraries: each table's every function resolves from the real
// library, and a library that is missing, or lacks a function, is an error
// that names the soname, the Debian package and what dlerror() said.
#include "gateway/base/dynamic_library.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>

#if SENSORGATE_WITH_SMTP
#include "alerts/curl_api.h"
#endif
#if SENSORGATE_WITH_KAFKA
#include "gateway/sinks/kafka/rdkafka_api.h"
#endif
#if SENSORGATE_WITH_MQTT
#include "gateway/sources/mqtt/openssl_api.h"
#endif

namespace sensorgate {
namespace {

// A table of our own over libm (always there, never linked by name here).
#define LIBM_FUNCTIONS(X) \
  X(cos)                  \
  X(sqrt)
struct LibmApi {
  LIBM_FUNCTIONS(SENSORGATE_DYNAMIC_MEMBER)
};

TEST(DynamicLibrary, AnExistingLibraryLoadsAndEverySymbolResolves) {
  LibmApi api;
#define SYMBOL(name) SENSORGATE_DYNAMIC_SYMBOL(api, name)
  const DynamicSymbol symbols[] = {LIBM_FUNCTIONS(SYMBOL)};
#undef SYMBOL
  const Status s = OpenDynamicLibrary({"libm.so.6", "libc6"}, symbols, std::size(symbols));
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_NE(api.cos, nullptr);
  ASSERT_NE(api.sqrt, nullptr);
  EXPECT_EQ(api.cos(0.0), 1.0);
  EXPECT_EQ(api.sqrt(16.0), 4.0);
}

TEST(DynamicLibrary, AMissingLibraryNamesItsPackageAndDlerror) {
  LibmApi api;
#define SYMBOL(name) SENSORGATE_DYNAMIC_SYMBOL(api, name)
  const DynamicSymbol symbols[] = {LIBM_FUNCTIONS(SYMBOL)};
#undef SYMBOL
  const Status s = OpenDynamicLibrary({"libsensorgate-none.so.7", "libsensorgate-none7"}, symbols, std::size(symbols));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("cannot load libsensorgate-none.so.7 (Debian package libsensorgate-none7): ", 0), 0u)
      << s.message();
  // dlerror()'s own words: the file and why.
  EXPECT_NE(s.message().find("libsensorgate-none.so.7: cannot open shared object file"), std::string::npos)
      << s.message();
  EXPECT_EQ(api.cos, nullptr);
}

TEST(DynamicLibrary, AMissingSymbolFailsTheWholeTable) {
  struct {
    double (*cos)(double) = nullptr;
    int (*missing)() = nullptr;
  } api;
  const DynamicSymbol symbols[] = {{"cos", &api.cos}, {"sensorgate_no_such_function", &api.missing}};
  const Status s = OpenDynamicLibrary({"libm.so.6", "libc6"}, symbols, std::size(symbols));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("cannot load libm.so.6 (Debian package libc6): ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("undefined symbol: sensorgate_no_such_function"), std::string::npos) << s.message();
  EXPECT_EQ(api.cos, nullptr) << "all or nothing: no slot is written";
}

TEST(DynamicLibrary, LoadOnceKeepsTheFirstOutcome) {
  std::once_flag flag;
  Status outcome;
  int calls = 0;
  const auto fail = [&] {
    ++calls;
    return Status::Error("first");
  };
  EXPECT_EQ(LoadOnce(&flag, &outcome, fail).message(), "first");
  EXPECT_EQ(LoadOnce(&flag, &outcome, [] { return Status::Ok(); }).message(), "first");
  EXPECT_EQ(calls, 1);
}

// Every member of a table is set once its library loaded.
#define EXPECT_MEMBER_SET(name) EXPECT_NE(api.name, nullptr) << #name;

#if SENSORGATE_WITH_SMTP
TEST(DynamicLibrary, LibcurlTableResolvesEveryFunction) {
  const Status& s = LoadCurl();
  ASSERT_TRUE(s.ok()) << s.message();
  const CurlApi& api = Curl();
  SENSORGATE_CURL_FUNCTIONS(EXPECT_MEMBER_SET)
  EXPECT_STREQ(api.curl_easy_strerror(CURLE_OK), "No error");
}
#endif

#if SENSORGATE_WITH_KAFKA
TEST(DynamicLibrary, LibrdkafkaTableResolvesEveryFunction) {
  const Status& s = LoadRdKafka();
  ASSERT_TRUE(s.ok()) << s.message();
  const RdKafkaApi& api = RdKafka();
  SENSORGATE_RDKAFKA_FUNCTIONS(EXPECT_MEMBER_SET)
  EXPECT_STREQ(api.rd_kafka_err2str(RD_KAFKA_RESP_ERR_NO_ERROR), "Success");
}
#endif

#if SENSORGATE_WITH_MQTT
TEST(DynamicLibrary, OpenSslTableResolvesEveryFunction) {
  const Status& s = LoadOpenSsl();
  ASSERT_TRUE(s.ok()) << s.message();
  const OpenSslApi& api = OpenSsl();
  SENSORGATE_LIBCRYPTO_FUNCTIONS(EXPECT_MEMBER_SET)
  SENSORGATE_LIBSSL_FUNCTIONS(EXPECT_MEMBER_SET)
  EXPECT_STREQ(api.X509_verify_cert_error_string(X509_V_OK), "ok");
}
#endif

}  // namespace
}  // namespace sensorgate
