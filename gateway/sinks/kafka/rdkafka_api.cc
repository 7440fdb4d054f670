#include "gateway/sinks/kafka/rdkafka_api.h"

#include <iterator>
#include <mutex>

namespace sensorgate {
namespace {

RdKafkaApi g_rdkafka;

}  // namespace

const Status& LoadRdKafka() {
  static std::once_flag once;
  static Status outcome;
  return LoadOnce(&once, &outcome, [] {
    RdKafkaApi api;
#define SYMBOL(name) SENSORGATE_DYNAMIC_SYMBOL(api, name)
    const DynamicSymbol symbols[] = {SENSORGATE_RDKAFKA_FUNCTIONS(SYMBOL)};
#undef SYMBOL
    const Status s = OpenDynamicLibrary({"librdkafka.so.1", "librdkafka1"}, symbols, std::size(symbols));
    if (s.ok()) g_rdkafka = api;
    return s;
  });
}

const RdKafkaApi& RdKafka() { return g_rdkafka; }

}  // namespace sensorgate
