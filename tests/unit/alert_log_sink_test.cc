// The alert log sink (gateway/sinks/log/alert_log_sink.h): every alert event
// as the replay writes it, firing as a warning and resolved as info.
#include "gateway/sinks/log/alert_log_sink.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "gateway/base/log.h"

namespace sensorgate {
namespace {

TEST(AlertLogSink, LogsEachEventAsTheReplayWritesIt) {
  SetLogLevel(LogLevel::kInfo);
  AlertLogSink sink;
  std::string key = "sensor16";  // the event's views die after the call
  ::testing::internal::CaptureStderr();
  sink.OnAlert(AlertEvent{"hot", "firing", key, 75.21, 60, 1678882537166944});
  key = "sensor17";
  sink.OnAlert(AlertEvent{"hot", "resolved", key, 72.5, 60, 1678882538000000});
  const std::string err = ::testing::internal::GetCapturedStderr();
  // Under journald (JOURNAL_STREAM set) the level is a "<N>" prefix instead.
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  const std::string warning = journal ? "<4>" : "warning: ", info = journal ? "<6>" : "info: ";
  EXPECT_NE(err.find(warning + "alert {\"event\":\"alert\",\"rule\":\"hot\",\"state\":\"firing\",\"key\":\"sensor16\","
                     "\"avg\":75.21,\"count\":60,\"time\":\"2023-03-15T12:15:37.166944Z\"}\n"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(info + "alert {\"event\":\"alert\",\"rule\":\"hot\",\"state\":\"resolved\",\"key\":\"sensor17\","),
            std::string::npos)
      << err;
  EXPECT_EQ(sink.Link().state, "2 alert events logged");
  EXPECT_EQ(sink.name(), "log");
}

}  // namespace
}  // namespace sensorgate
