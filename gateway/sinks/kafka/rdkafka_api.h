// librdkafka, loaded with dlopen() when [kafka] is configured (see
// gateway/base/dynamic_library.h): the Kafka sink calls it through this table
// only, so a gateway without [kafka] never maps librdkafka and what it brings
// (libssl, libsasl2, libzstd, liblz4, ...).
#ifndef SENSORGATE_GATEWAY_SINKS_KAFKA_RDKAFKA_API_H_
#define SENSORGATE_GATEWAY_SINKS_KAFKA_RDKAFKA_API_H_

#include <librdkafka/rdkafka.h>

#include "gateway/base/dynamic_library.h"
#include "gateway/base/status.h"

namespace sensorgate {

// Every librdkafka function sensorgate calls. A new call needs its name here.
#define SENSORGATE_RDKAFKA_FUNCTIONS(X) \
  X(rd_kafka_conf_new)                  \
  X(rd_kafka_conf_set)                  \
  X(rd_kafka_conf_destroy)              \
  X(rd_kafka_conf_set_opaque)           \
  X(rd_kafka_conf_set_dr_msg_cb)        \
  X(rd_kafka_conf_set_error_cb)         \
  X(rd_kafka_conf_set_stats_cb)         \
  X(rd_kafka_conf_set_log_cb)           \
  X(rd_kafka_new)                       \
  X(rd_kafka_destroy)                   \
  X(rd_kafka_opaque)                    \
  X(rd_kafka_queue_get_main)            \
  X(rd_kafka_queue_destroy)             \
  X(rd_kafka_queue_io_event_enable)     \
  X(rd_kafka_set_log_queue)             \
  X(rd_kafka_producev)                  \
  X(rd_kafka_poll)                      \
  X(rd_kafka_purge)                     \
  X(rd_kafka_fatal_error)               \
  X(rd_kafka_err2str)                   \
  X(rd_kafka_topic_name)

struct RdKafkaApi {
  SENSORGATE_RDKAFKA_FUNCTIONS(SENSORGATE_DYNAMIC_MEMBER)
};

// Loads librdkafka.so.1 (Debian package librdkafka1) the first time; the
// same outcome after that. Any thread.
const Status& LoadRdKafka();

// REQUIRES: LoadRdKafka() returned OK.
const RdKafkaApi& RdKafka();

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SINKS_KAFKA_RDKAFKA_API_H_
