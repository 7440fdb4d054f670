// The HTTP sink (gateway/http/http_sink.h) driven by the daemon's EventLoop:
// /api/windows and /api/alerts come from the window events it was given
// (owned copies), the rest from the gateway's providers.
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

TEST_F(HttpSinkTest, ServesTheWindowsItWasGivenSortedByKeyWithOwnedCopies) {
  {
    std::string key = "sensor02";  // the event's view dies with this string
    sink_.OnWindow(WindowEvent{"hot", WindowSummary{key, 2, 9, 71, 70, 72, 72, 1678882538000000}, false, false});
    key = "sensor01";
    sink_.OnWindow(WindowEvent{"hot", WindowSummary{key, 1, 1, 80, 80, 80, 80, 1678882539000000}, true, false});
    key = "sensor02";  // an update replaces the kept window
    sink_.OnWindow(WindowEvent{"hot", WindowSummary{key, 3, 10, 71.5, 70, 72, 72.5, 1678882540000000}, false, true});
  }
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/windows"),
            "[{\"event\":\"window\",\"key\":\"sensor01\",\"count\":1,\"total\":1,\"avg\":80,\"min\":80,\"max\":80,"
            "\"last\":80,\"time\":\"2023-03-15T12:15:39.000000Z\"},"
            "{\"event\":\"window\",\"key\":\"sensor02\",\"count\":3,\"total\":10,\"avg\":71.5,\"min\":70,\"max\":72,"
            "\"last\":72.5,\"time\":\"2023-03-15T12:15:40.000000Z\"}]");
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/alerts"),
            "[{\"rule\":\"hot\",\"key\":\"sensor01\",\"avg\":80,\"count\":1,\"time\":\"2023-03-15T12:15:39.000000Z\"},"
            "{\"rule\":\"stale\",\"key\":\"sensor02\",\"avg\":71.5,\"count\":3,\"time\":\"2023-03-15T12:15:40.000000Z\"}]");
  EXPECT_EQ(refreshed_, 2);  // before each of the two answers
  sink_.OnWindowsReset();
  EXPECT_EQ(Fetch(&loop_, sink_, "/api/windows"), "[]");
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

using test_records::AlertConfigAbove75;
using test_records::Feed;
using test_records::Record;

// The pipeline's windows and alerts as the HTTP sink shows them, through the
// window events the pipeline publishes (as the daemon does).
TEST(HttpSinkJson, WindowsAreTheReplayWindowLinesAsAnArray) {
  HttpSink sink({}, SystemClock());
  Pipeline p(DefaultConfig(), RecordFormat::kJson, &sink);
  p.TrackWindowChanges();
  std::string out;
  p.PublishWindows();
  sink.WriteWindows(&out);
  EXPECT_EQ(out, "[]");
  Feed(&p, Record("\"b\"", 80, "2023-03-15T12:15:39Z"));
  Feed(&p, Record("\"a\"", 70, "2023-03-15T12:15:37.166944Z"));
  Feed(&p, Record("\"a\"", 72, "2023-03-15T12:15:38Z"));
  out.clear();
  p.PublishWindows();
  sink.WriteWindows(&out);
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
  p.TrackWindowChanges();
  std::string out;
  p.PublishWindows();
  sink.WriteAlerts(&out);
  EXPECT_EQ(out, "[]");
  Feed(&p, Record("\"z\"", 80, "2023-03-15T12:00:00Z"), kMinute);
  Feed(&p, Record("\"cool\"", 60, "2023-03-15T12:00:01Z"), 5 * kMinute);
  Feed(&p, Record("\"a\\\"q\"", 90, "2023-03-15T12:00:02Z"), 5 * kMinute);
  Feed(&p, Record("\"z\"", 74, "2023-03-15T12:00:03.25Z"), kMinute);  // avg 77: still firing
  Feed(&p, Record("\"r\"", 76, "2023-03-15T12:00:04Z"), 5 * kMinute);
  Feed(&p, Record("\"r\"", 60, "2023-03-15T12:00:05Z"), 5 * kMinute);  // resolved
  out.clear();
  p.PublishWindows();
  sink.WriteAlerts(&out);
  EXPECT_EQ(out,
            "[{\"rule\":\"hot\",\"key\":\"a\\\"q\",\"avg\":90,\"count\":1,"
            "\"time\":\"2023-03-15T12:00:02.000000Z\"},"
            "{\"rule\":\"hot\",\"key\":\"z\",\"avg\":77,\"count\":2,"
            "\"time\":\"2023-03-15T12:00:03.250000Z\"}]");
  p.CheckStale(5 * kMinute);  // z has sent nothing for 4 minutes
  out.clear();
  p.PublishWindows();
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
