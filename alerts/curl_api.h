// libcurl, loaded with dlopen() when [email] is configured (see
// gateway/base/dynamic_library.h): the SMTP transport calls it through this
// table only, so a gateway without [email] never maps libcurl and its
// dependencies (krb5, ldap, ssh2, nghttp2, ...).
//
// curl_easy_setopt and curl_multi_setopt are variadic: their pointers keep
// the `...`, so each option's argument is passed exactly as before. (curl.h
// wraps the setopt/getinfo names in macros that only check for three
// arguments in C++; calls through the table go through them unchanged.)
#ifndef SENSORGATE_ALERTS_CURL_API_H_
#define SENSORGATE_ALERTS_CURL_API_H_

#include <curl/curl.h>

#include "gateway/base/dynamic_library.h"
#include "gateway/base/status.h"

namespace sensorgate {

// Every libcurl function sensorgate calls. A new call needs its name here.
#define SENSORGATE_CURL_FUNCTIONS(X) \
  X(curl_global_init)                \
  X(curl_multi_init)                 \
  X(curl_multi_cleanup)              \
  X(curl_multi_setopt)               \
  X(curl_multi_add_handle)           \
  X(curl_multi_remove_handle)        \
  X(curl_multi_socket_action)        \
  X(curl_multi_info_read)            \
  X(curl_multi_strerror)             \
  X(curl_easy_init)                  \
  X(curl_easy_setopt)                \
  X(curl_easy_getinfo)               \
  X(curl_easy_strerror)              \
  X(curl_easy_cleanup)               \
  X(curl_slist_append)               \
  X(curl_slist_free_all)

struct CurlApi {
  SENSORGATE_CURL_FUNCTIONS(SENSORGATE_DYNAMIC_MEMBER)
};

// Loads libcurl.so.4 (Debian package libcurl4) and runs curl_global_init(),
// the first time; the same outcome after that. Any thread.
const Status& LoadCurl();

// REQUIRES: LoadCurl() returned OK.
const CurlApi& Curl();

}  // namespace sensorgate

#endif  // SENSORGATE_ALERTS_CURL_API_H_
