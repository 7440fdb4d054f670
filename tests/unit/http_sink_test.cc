// The HTTP sink (gateway/http/http_sink.h) driven by the daemon's EventLoop:
// /api/windows and /api/alerts come from its state writers (the daemon's
// write them from the pipeline's table), the rest from the gateway's
// providers; it keeps nothing from window events.
#if SENSORGATE_WITH_HTTP

#include "gateway/http/http_sink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "gateway/base/json_format.h"
#include "gateway/daemon/event_loop.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/pipeline/pipeline_metrics.h"
#include "tests/unit/pipeline_records.h"

namespace sensorgate {
namespace {

std::string Get(uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "connect failed";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "write failed";
  }
  std::string all;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t body = all.find("\r\n\r\n");
  return body == std::string::npos ? all : all.substr(body + 4);
}

// Fetches `path` on a client thread while the loop serves the sink.
std::string Fetch(EventLoop* loop, const HttpSink& sink, const std::string& path) {
  std::atomic<bool> done{false};
  std::string body;
  std::thread client([&] {
    body = Get(sink.port(), path);
    done = true;
  });
  for (int i = 0; i < 1000 && !done; ++i) EXPECT_TRUE(loop->RunOnce(10000).ok());
  client.join();
  return body;
}

class HttpSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Open().ok());
    HostPort listen;
    ASSERT_TRUE(ParseHostPort("127.0.0.1:0", true, &listen));
    ASSERT_TRUE(sink_.Start(listen).ok());
    loop_.AddSink(&sink_);
  }
  std::string metrics_ = "# HELP sensorgate_up Up.\n# TYPE sensorgate_up gauge\nsensorgate_up 1\n";
  bool healthy_ = true;
  int refreshed_ = 0;
  EventLoop loop_{SystemClock()};
  HttpSink sink_{HttpSink::Providers{[this](std::string* out) { out->append(metrics_); },
                                     [this](std::string* why) {
                                       *why = "checkpoint failing";
                                       return healthy_;
                                     },
                                     [](std::string* out) { out->append("[{\"name\":\"file\"}]"); },
                                     [this] { ++refreshed_; }},
                 SystemClock()};
};

TEST_F(HttpSinkTest, ServesWindowsAndAlertsFromTheStateWritersWhenAsked) {
  // Before the writers are set: empty arrays.
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/windows"), "[]");
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/alerts"), "[]");
  std::string windows = "[{\"key\":\"a\"}]", alerts = "[]";
  int written = 0;
  sink_.SetStateWriters(
      [&](std::string* out) {
        ++written;
        out->append(windows);
      },
      [&](std::string* out) {
        ++written;
        out->append(alerts);
      });
  // Window events leave nothing in the sink: what it serves is what the
  // writers write at the time of the request.
  const std::string key = "sensor01";
  sink_.OnWindow(WindowEvent{"hot", WindowSummary{key, 1, 1, 80, 80, 80, 80, 1678882539000000}, true, false});
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/windows"), windows);
  alerts = "[{\"rule\":\"hot\",\"key\":\"a\"}]";
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/alerts"), alerts);
  windows = "[]";
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/windows"), "[]");
  EXPECT_EQ(written, 3);
  EXPECT_EQ(refreshed_, 5);  // before each of the five answers
}

TEST_F(HttpSinkTest, ServesMetricsHealthAndLinksFromTheProviders) {
  EXPECT_EQ(Fetch(&loop_, sink_, "/metrics"), metrics_);
  EXPECT_EQ(Fetch(&loop_, sink_, "/healthz"), "ok\n");
  healthy_ = false;
  EXPECT_EQ(Fetch(&loop_, sink_, "/healthz"), "checkpoint failing\n");
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/links"), "[{\"name\":\"file\"}]");
  const LinkState l = sink_.Link();
  EXPECT_TRUE(l.up);
  EXPECT_NE(l.state.find("listening on 127.0.0.1:0"), std::string::npos) << l.state;
}

TEST_F(HttpSinkTest, ServesPendingAlertsAndConfigFromTheDashboardWriters) {
  // Before the writers are set: an empty array and an empty object.
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/alerts/pending"), "[]");
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/config"), "{}");
  std::string pending = "[{\"rule\":\"hot\",\"key\":\"a\"}]";
  const std::string config = "{\"alert\":{\"enabled\":true,\"above\":75}}";
  sink_.SetDashboardWriters([&](std::string* out) { out->append(pending); },
                            [&](std::string* out) { out->append(config); });
  const int refreshed = refreshed_;
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/alerts/pending"), pending);
  EXPECT_EQ(refreshed_, refreshed + 1);  // pending windows published first
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/config"), config);
  EXPECT_EQ(refreshed_, refreshed + 1);
}

using test_records::AlertConfigAbove75;
using test_records::Feed;
using test_records::Record;

// The pipeline's windows and alerts as the HTTP sink shows them, written
// from the pipeline's table (as the daemon wires it).
void ServeFrom(HttpSink* sink, const Pipeline* p) {
  sink->SetStateWriters([p](std::string* out) { AppendPipelineWindowsJson(*p, out); },
                        [p](std::string* out) { AppendPipelineAlertsJson(*p, out); });
}

TEST(HttpSinkJson, WindowsAreTheReplayWindowLinesAsAnArray) {
  HttpSink sink({}, SystemClock());
  Pipeline p(DefaultConfig(), RecordFormat::kJson, &sink);
  ServeFrom(&sink, &p);
  std::string out;
  sink.WriteWindows(&out);
  EXPECT_EQ(out, "[]");
  Feed(&p, Record("\"b\"", 80, "2023-03-15T12:15:39Z"));
  Feed(&p, Record("\"a\"", 70, "2023-03-15T12:15:37.166944Z"));
  Feed(&p, Record("\"a\"", 72, "2023-03-15T12:15:38Z"));
  out.clear();
  sink.WriteWindows(&out);  // as current as the last record, with nothing published
  EXPECT_EQ(out,
            "[{\"event\":\"window\",\"key\":\"a\",\"count\":2,\"total\":2,\"avg\":71,\"min\":70,"
            "\"max\":72,\"last\":72,\"time\":\"2023-03-15T12:15:38.000000Z\"},"
            "{\"event\":\"window\",\"key\":\"b\",\"count\":1,\"total\":1,\"avg\":80,\"min\":80,"
            "\"max\":80,\"last\":80,\"time\":\"2023-03-15T12:15:39.000000Z\"}]");
  // Exactly the replay's lines, in its order.
  std::string lines = "[";
  for (uint32_t s : p.windows().SlotsByKey()) {
    if (lines.size() > 1) lines += ",";
    AppendWindowJson(&lines, p.windows().Summary(s));
  }
  EXPECT_EQ(out, lines + "]");
}

TEST(HttpSinkJson, AlertsListOnlyAlertsFiringNow) {
  constexpr TimeMicros kMinute = 60 * kMicrosPerSecond;
  HttpSink sink({}, SystemClock());
  Pipeline p(AlertConfigAbove75(), RecordFormat::kJson, &sink);
  ServeFrom(&sink, &p);
  std::string out;
  sink.WriteAlerts(&out);
  EXPECT_EQ(out, "[]");
  Feed(&p, Record("\"z\"", 80, "2023-03-15T12:00:00Z"), kMinute);
  Feed(&p, Record("\"cool\"", 60, "2023-03-15T12:00:01Z"), 5 * kMinute);
  Feed(&p, Record("\"a\\\"q\"", 90, "2023-03-15T12:00:02Z"), 5 * kMinute);
  Feed(&p, Record("\"z\"", 74, "2023-03-15T12:00:03.25Z"), kMinute);  // avg 77: still firing
  Feed(&p, Record("\"r\"", 76, "2023-03-15T12:00:04Z"), 5 * kMinute);
  Feed(&p, Record("\"r\"", 60, "2023-03-15T12:00:05Z"), 5 * kMinute);  // resolved
  out.clear();
  sink.WriteAlerts(&out);
  EXPECT_EQ(out,
            "[{\"rule\":\"hot\",\"key\":\"a\\\"q\",\"avg\":90,\"count\":1,"
            "\"time\":\"2023-03-15T12:00:02.000000Z\"},"
            "{\"rule\":\"hot\",\"key\":\"z\",\"avg\":77,\"count\":2,"
            "\"time\":\"2023-03-15T12:00:03.250000Z\"}]");
  p.CheckStale(5 * kMinute);  // z has sent nothing for 4 minutes
  out.clear();
  sink.WriteAlerts(&out);
  EXPECT_EQ(out,
            "[{\"rule\":\"hot\",\"key\":\"a\\\"q\",\"avg\":90,\"count\":1,"
            "\"time\":\"2023-03-15T12:00:02.000000Z\"},"
            "{\"rule\":\"hot\",\"key\":\"z\",\"avg\":77,\"count\":2,"
            "\"time\":\"2023-03-15T12:00:03.250000Z\"},"
            "{\"rule\":\"stale\",\"key\":\"z\",\"avg\":77,\"count\":2,"
            "\"time\":\"2023-03-15T12:00:03.250000Z\"}]");
}

}  // namespace
}  // namespace sensorgate

#endif  // SENSORGATE_WITH_HTTP
