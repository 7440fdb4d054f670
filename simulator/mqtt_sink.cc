#include "simulator/mqtt_sink.h"

#include <exception>
#include <thread>

#include "mqtt/async_client.h"

namespace sensorgate {
namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kWaitSlice = std::chrono::milliseconds(100);

std::string TopicFor(const std::string& pattern, const std::string& key) {
  std::string topic;
  size_t from = 0;
  for (;;) {
    const size_t at = pattern.find("{key}", from);
    topic.append(pattern, from, at == std::string::npos ? std::string::npos : at - from);
    if (at == std::string::npos) return topic;
    topic += key;
    from = at + 5;
  }
}

}  // namespace

struct MqttSink::InFlight {
  mqtt::const_message_ptr message;
  mqtt::delivery_token_ptr token;
  uint64_t connection = 0;  // connections_ when it was published
};

MqttSink::MqttSink(const MqttSinkOptions& options, const std::vector<std::string>& keys)
    : options_(options) {
  topics_.reserve(keys.size());
  for (const std::string& key : keys) topics_.push_back(TopicFor(options_.topic, key));
}

MqttSink::~MqttSink() {
  if (client_ != nullptr && !closed_) {
    try {
      client_->disconnect()->wait_for(std::chrono::seconds(1));
    } catch (const std::exception&) {
      // Best effort while unwinding; Close() reports errors.
    }
  }
}

Status MqttSink::Connect() {
  try {
    // Paho refuses to queue more than max_buffered_messages publishes that
    // it has not written yet; we keep at most kMaxInflight outstanding.
    client_ = std::make_unique<mqtt::async_client>(options_.uri, options_.client_id,
                                                   static_cast<int>(2 * kMaxInflight));
    client_->set_connected_handler([this](const std::string&) {
      connections_.fetch_add(1);
      connected_.store(true);
    });
    client_->set_connection_lost_handler([this](const std::string&) { connected_.store(false); });
    const mqtt::connect_options connect =
        mqtt::connect_options_builder()
            .clean_session(true)
            .keep_alive_interval(std::chrono::seconds(30))
            .connect_timeout(kConnectTimeout)
            .automatic_reconnect(std::chrono::milliseconds(250), std::chrono::seconds(5))
            .max_inflight(static_cast<int>(kMaxInflight))
            .finalize();
    mqtt::token_ptr token = client_->connect(connect);
    if (!token->wait_for(kConnectTimeout + std::chrono::seconds(5))) {
      return Status::Error("cannot connect to " + options_.uri + ": timed out");
    }
  } catch (const std::exception& e) {
    return Status::Error("cannot connect to " + options_.uri + ": " + e.what());
  }
  // The connected handler runs on Paho's thread, possibly after wait_for().
  if (!connected_.load()) {
    connections_.fetch_add(1);
    connected_.store(true);
  }
  return Status::Ok();
}

Status MqttSink::WaitConnected() {
  const auto deadline = std::chrono::steady_clock::now() + kBrokerTimeout;
  while (!client_->is_connected()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Error("MQTT broker " + options_.uri + " unreachable for " +
                           std::to_string(kBrokerTimeout.count()) + " s; " +
                           std::to_string(inflight_.size()) + " messages unacknowledged");
    }
    std::this_thread::sleep_for(kWaitSlice);  // waiting for Paho's reconnect, no event to wait on
  }
  return Status::Ok();
}

Status MqttSink::Publish(InFlight* entry) {
  for (;;) {
    try {
      entry->connection = connections_.load();
      entry->token = client_->publish(entry->message);
      return Status::Ok();
    } catch (const std::exception& e) {
      if (client_->is_connected()) {
        return Status::Error("cannot publish to " + options_.uri + ": " + e.what());
      }
    }
    Status s = WaitConnected();
    if (!s.ok()) return s;
  }
}

Status MqttSink::Write(std::string_view payload, uint32_t equipment) {
  if (inflight_.size() >= kMaxInflight) {
    Status s = WaitOldest();
    if (!s.ok()) return s;
  }
  InFlight entry;
  try {
    entry.message =
        mqtt::make_message(topics_[equipment], payload.data(), payload.size(), options_.qos, false);
  } catch (const std::exception& e) {
    return Status::Error(std::string("cannot make an MQTT message: ") + e.what());
  }
  Status s = Publish(&entry);
  if (!s.ok()) return s;
  inflight_.push_back(std::move(entry));
  return Status::Ok();
}

Status MqttSink::WaitOldest() {
  InFlight& oldest = inflight_.front();
  const auto give_up = std::chrono::steady_clock::now() + kBrokerTimeout;
  for (;;) {
    bool failed = false;
    try {
      if (oldest.token->wait_for(kWaitSlice)) {
        inflight_.pop_front();
        return Status::Ok();
      }
    } catch (const std::exception&) {
      failed = true;  // lost with the connection: publish again below
    }
    const bool reconnected = connections_.load() != oldest.connection && connected_.load();
    if (failed || reconnected) {
      Status s = WaitConnected();
      if (!s.ok()) return s;
      // Everything published before the reconnection and not acknowledged
      // may be gone with the old session: publish it again, in order.
      const uint64_t now = connections_.load();
      for (InFlight& entry : inflight_) {
        if (entry.connection == now) continue;
        bool done = false;
        try {
          done = entry.token->try_wait();
        } catch (const std::exception&) {
          done = false;
        }
        if (done) {
          entry.connection = now;  // acknowledged; popped when it is the oldest
          continue;
        }
        s = Publish(&entry);
        if (!s.ok()) return s;
      }
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      return Status::Error("MQTT broker " + options_.uri + " did not acknowledge a message for " +
                           std::to_string(kBrokerTimeout.count()) + " s");
    }
  }
}

Status MqttSink::Flush() { return Status::Ok(); }

Status MqttSink::Close() {
  Status result;
  while (!inflight_.empty() && result.ok()) result = WaitOldest();
  try {
    client_->disconnect()->wait_for(std::chrono::seconds(10));
  } catch (const std::exception& e) {
    if (result.ok())
      result = Status::Error("cannot disconnect from " + options_.uri + ": " + e.what());
  }
  closed_ = true;
  return result;
}

}  // namespace sensorgate
