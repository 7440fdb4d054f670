#include "gateway/http/http_sink.h"

#include "gateway/base/json_format.h"

namespace sensorgate {

HttpSink::HttpSink(Providers providers, Clock* clock)
    : providers_(std::move(providers)), clock_(clock), server_(this) {}

HttpSink::~HttpSink() = default;

Status HttpSink::Start(const HostPort& listen) {
  listen_ = listen.text;
  return server_.Start(listen);
}

void HttpSink::OnWindow(const WindowEvent& e) {
  const WindowSummary& w = e.window;
  const Kept k{w.count, w.total, w.avg, w.min, w.max, w.last, w.time_us, e.firing, e.stale};
  auto it = windows_.find(w.key);
  if (it == windows_.end()) {
    windows_.emplace(std::string(w.key), k);
  } else {
    it->second = k;
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
  out->push_back('[');
  bool first = true;
  for (const auto& [key, k] : windows_) {
    if (!first) out->push_back(',');
    first = false;
    AppendWindowJson(out, Summary(key, k));
  }
  out->push_back(']');
}

void HttpSink::WriteAlerts(std::string* out) {
  if (providers_.refresh) providers_.refresh();
  out->push_back('[');
  bool first = true;
  const auto append = [&](const char* rule, const std::string& key, const Kept& k) {
    if (!first) out->push_back(',');
    first = false;
    AppendFiringAlertJson(out, rule, Summary(key, k));
  };
  for (const auto& [key, k] : windows_) {
    if (k.firing) append("hot", key, k);
    if (k.stale) append("stale", key, k);
  }
  out->push_back(']');
}

LinkState HttpSink::Link() const {
  LinkState l;
  l.name = "http";
  l.up = server_.epoll_fd() >= 0;
  l.state = l.up ? "listening on " + listen_ + " (port " + std::to_string(server_.port()) + ")" : "not listening";
  return l;
}

}  // namespace sensorgate
