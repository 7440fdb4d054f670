// HttpSink: the [http] listener as a sink (DESIGN.md section 10). It keeps
// no copy of the windows: everything it shows comes from the rest of the
// gateway through callbacks, asked at the time of each request:
//   GET /api/windows  the replay window objects of every key, sorted by key
//   GET /api/alerts   the alerts firing now, sorted by key, then rule
//                     (both written by the daemon from the pipeline's table,
//                     see SetStateWriters)
//   GET /metrics      Prometheus text (the daemon gathers every stage's)
//   GET /healthz      200 "ok", or 503 and the reason
//   GET /api/rules    every [rule.NAME]: counters, watermark, its windows now
//   GET /api/rules/NAME  one of them (404: no such rule)
//   GET /api/links    the state of every source and sink
//   GET /api/alerts/pending  the alerts pending now, sorted by key
//   GET /api/config   the thresholds in force (see SetDashboardWriters)
//   GET /             the dashboard
//
// Runs on the loop thread: the server's epoll descriptor is fd(), and Tick()
// serves whatever is ready without blocking.
#ifndef SENSORGATE_GATEWAY_HTTP_HTTP_SINK_H_
#define SENSORGATE_GATEWAY_HTTP_HTTP_SINK_H_

#include <functional>
#include <memory>
#include <string>

#include "gateway/http/http_server.h"
#include "gateway/sinks/sink.h"

namespace sensorgate {

class HttpSink : public Sink, private HttpContent {
 public:
  // What the sink asks the rest of the gateway for; each appends to `out`.
  struct Providers {
    std::function<void(std::string* out)> metrics;
    std::function<bool(std::string* why)> healthy;
    std::function<void(std::string* out)> links;  // a JSON array
    // Called before /api/windows and /api/alerts are written (the daemon
    // publishes the window changes still pending to the sinks). May be empty.
    std::function<void()> refresh;
  };
  // Each appends a JSON array to `out`.
  using JsonWriter = std::function<void(std::string* out)>;

  HttpSink(Providers providers, Clock* clock);
  ~HttpSink() override;

  // Where /api/windows and /api/alerts come from: the daemon writes them
  // from the pipeline's table when asked, so the sink holds nothing per key.
  // Until set (or when empty), both arrays are "[]".
  void SetStateWriters(JsonWriter windows, JsonWriter alerts);
  // Where /api/alerts/pending (a JSON array, after Providers::refresh) and
  // /api/config (a JSON object) come from. Until set (or when empty): "[]"
  // and "{}".
  void SetDashboardWriters(JsonWriter pending, JsonWriter config);
  // Where /api/rules and /api/rules/NAME come from (HttpContent::WriteRule).
  using RuleWriter = std::function<bool(std::string_view name, std::string* out)>;
  void SetRuleWriter(RuleWriter rules) { rules_ = std::move(rules); }

  // Listens on `listen` (see HttpServer::Start).
  Status Start(const HostPort& listen);
  uint16_t port() const { return server_.port(); }
  const std::string& listen() const { return listen_; }

  std::string_view name() const override { return "http"; }
  void OnAlert(const AlertEvent& event) override { (void)event; }
  int fd() const override { return server_.epoll_fd(); }
  int64_t next_tick_us() const override;
  void Tick(int64_t now_us) override;
  LinkState Link() const override;

  // HttpContent, public for tests: the JSON arrays of /api/windows and
  // /api/alerts (after Providers::refresh), from the state writers.
  void WriteWindows(std::string* out) override;
  void WriteAlerts(std::string* out) override;
  bool WriteRule(std::string_view name, std::string* out) override;
  void WritePendingAlerts(std::string* out) override;
  void WriteConfig(std::string* out) override;

 private:
  // HttpContent
  void WriteMetrics(std::string* out) override { providers_.metrics(out); }
  void WriteLinks(std::string* out) override { providers_.links(out); }
  bool Healthy(std::string* why) override { return providers_.healthy(why); }

  const Providers providers_;
  Clock* const clock_;
  HttpServer server_;
  std::string listen_;
  JsonWriter windows_, alerts_, pending_, config_;
  RuleWriter rules_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_HTTP_HTTP_SINK_H_
