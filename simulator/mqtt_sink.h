// MqttSink: publishes each record as one MQTT message (Eclipse Paho C++),
// on a topic made from a template in which "{key}" becomes the equipment key.
//
// At most kMaxInflight messages are unacknowledged at a time: when that many
// are in flight, Write() waits for the oldest. Close() waits for all of them,
// then disconnects. At QoS 1 nothing is lost: if the connection drops, Paho
// reconnects and every message not yet acknowledged is published again
// (at-least-once, so a broker outage may duplicate a few). If the broker stays
// unreachable for kBrokerTimeout, the sink fails.
//
// Paho throws; every exception is caught here and becomes a Status. Calls
// come from the simulator's one thread; Paho's callbacks only update atomics.
#ifndef SENSORGATE_SIMULATOR_MQTT_SINK_H_
#define SENSORGATE_SIMULATOR_MQTT_SINK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "simulator/record_sink.h"

namespace mqtt {
class async_client;
class message;
class delivery_token;
}  // namespace mqtt

namespace sensorgate {

struct MqttSinkOptions {
  std::string uri;                                // tcp://127.0.0.1:1883
  std::string topic = "plant/{key}/temperature";  // "{key}" is replaced
  int qos = 1;                                    // 0 or 1
  std::string client_id;                          // must not be empty
};

class MqttSink : public RecordSink {
 public:
  static constexpr size_t kMaxInflight = 1000;
  static constexpr std::chrono::seconds kBrokerTimeout{60};

  // `keys` gives the topic of each equipment.
  MqttSink(const MqttSinkOptions& options, const std::vector<std::string>& keys);
  ~MqttSink() override;

  MqttSink(const MqttSink&) = delete;
  MqttSink& operator=(const MqttSink&) = delete;

  // Connects to the broker. Call once, before Write().
  Status Connect();

  Status Write(std::string_view payload, uint32_t equipment) override;
  Status Flush() override;  // Paho sends in the background: nothing to do
  Status Close() override;

 private:
  struct InFlight;

  Status Publish(InFlight* entry);
  Status WaitOldest();
  Status WaitConnected();

  const MqttSinkOptions options_;
  std::vector<std::string> topics_;
  std::unique_ptr<mqtt::async_client> client_;
  std::deque<InFlight> inflight_;
  std::atomic<uint64_t> connections_{0};  // increases at every (re)connection
  std::atomic<bool> connected_{false};
  bool closed_ = false;
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_MQTT_SINK_H_
