// OpenSSL, loaded with dlopen() when [mqtt] uses TLS (an ssl:// uri; see
// gateway/base/dynamic_library.h): the MQTT connection calls it through this
// table only, so a gateway without TLS never maps libssl and libcrypto.
//
// SSL_CTX_set_min_proto_version, SSL_CTX_set_mode and
// SSL_set_tlsext_host_name are macros over SSL_CTX_ctrl() and SSL_ctrl():
// their callers call those through the table with the macros' arguments.
#ifndef SENSORGATE_GATEWAY_SOURCES_MQTT_OPENSSL_API_H_
#define SENSORGATE_GATEWAY_SOURCES_MQTT_OPENSSL_API_H_

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gateway/base/dynamic_library.h"
#include "gateway/base/status.h"

namespace sensorgate {

// Every libcrypto function sensorgate calls. A new call needs its name here.
#define SENSORGATE_LIBCRYPTO_FUNCTIONS(X) \
  X(ERR_get_error)                        \
  X(ERR_clear_error)                      \
  X(ERR_reason_error_string)              \
  X(ERR_error_string_n)                   \
  X(X509_VERIFY_PARAM_set1_ip_asc)        \
  X(X509_verify_cert_error_string)

// Every libssl function sensorgate calls.
#define SENSORGATE_LIBSSL_FUNCTIONS(X)  \
  X(TLS_client_method)                  \
  X(SSL_CTX_new)                        \
  X(SSL_CTX_free)                       \
  X(SSL_CTX_ctrl)                       \
  X(SSL_CTX_set_verify)                 \
  X(SSL_CTX_set_default_verify_paths)   \
  X(SSL_CTX_load_verify_locations)      \
  X(SSL_CTX_use_certificate_chain_file) \
  X(SSL_CTX_use_PrivateKey_file)        \
  X(SSL_CTX_check_private_key)          \
  X(SSL_new)                            \
  X(SSL_free)                           \
  X(SSL_set_fd)                         \
  X(SSL_get0_param)                     \
  X(SSL_ctrl)                           \
  X(SSL_set1_host)                      \
  X(SSL_connect)                        \
  X(SSL_read)                           \
  X(SSL_write)                          \
  X(SSL_shutdown)                       \
  X(SSL_get_error)                      \
  X(SSL_get_verify_result)

struct OpenSslApi {
  SENSORGATE_LIBCRYPTO_FUNCTIONS(SENSORGATE_DYNAMIC_MEMBER)
  SENSORGATE_LIBSSL_FUNCTIONS(SENSORGATE_DYNAMIC_MEMBER)
};

// Loads libcrypto.so.3 and libssl.so.3 (Debian package libssl3) the first
// time; the same outcome after that. Any thread. OpenSSL 3 initialises
// itself on first use.
const Status& LoadOpenSsl();

// REQUIRES: LoadOpenSsl() returned OK.
const OpenSslApi& OpenSsl();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_MQTT_OPENSSL_API_H_
