#include "gateway/http/http_sink.h"

#include <utility>

namespace sensorgate {

HttpSink::HttpSink(Providers providers, Clock* clock)
    : providers_(std::move(providers)), clock_(clock), server_(this) {}

HttpSink::~HttpSink() = default;

Status HttpSink::Start(const HostPort& listen) {
  listen_ = listen.text;
  return server_.Start(listen);
}

void HttpSink::SetStateWriters(JsonWriter windows, JsonWriter alerts) {
  windows_ = std::move(windows);
  alerts_ = std::move(alerts);
}

void HttpSink::SetDashboardWriters(JsonWriter pending, JsonWriter config) {
  pending_ = std::move(pending);
  config_ = std::move(config);
}

void HttpSink::WritePendingAlerts(std::string* out) {
  if (providers_.refresh) providers_.refresh();
  if (pending_) {
    pending_(out);
  } else {
    out->append("[]");
  }
}

void HttpSink::WriteConfig(std::string* out) {
  if (config_) {
    config_(out);
  } else {
    out->append("{}");
  }
}

int64_t HttpSink::next_tick_us() const {
  const int64_t ms = server_.timeout_ms();
  return ms < 0 ? kNever : clock_->MonotonicUs() + ms * 1000;
}

void HttpSink::Tick(int64_t now_us) {
  (void)now_us;
  server_.Run();
}

void HttpSink::WriteWindows(std::string* out) {
  if (providers_.refresh) providers_.refresh();
  if (windows_) {
    windows_(out);
  } else {
    out->append("[]");
  }
}

bool HttpSink::WriteRule(std::string_view name, std::string* out) {
  if (!rules_) {
    if (!name.empty()) return false;
    out->append("[]");
    return true;
  }
  return rules_(name, out);
}

void HttpSink::WriteAlerts(std::string* out) {
  if (providers_.refresh) providers_.refresh();
  if (alerts_) {
    alerts_(out);
  } else {
    out->append("[]");
  }
}

LinkState HttpSink::Link() const {
  LinkState l;
  l.name = "http";
  l.up = server_.epoll_fd() >= 0;
  l.state = l.up ? "listening on " + listen_ + " (port " + std::to_string(server_.port()) + ")" : "not listening";
  return l;
}

}  // namespace sensorgate
