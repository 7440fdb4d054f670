#include "gateway/sinks/log/alert_log_sink.h"

#include "gateway/base/log.h"

namespace sensorgate {

void AlertLogSink::OnAlert(const AlertEvent& e) {
  line_.clear();
  AppendAlertJson(&line_, e.rule, e.state, e.key, e.avg, e.count, e.time_us);
  Log(e.state == "firing" ? LogLevel::kWarning : LogLevel::kInfo, "alert %s", line_.c_str());
  ++logged_;
}

LinkState AlertLogSink::Link() const {
  LinkState l;
  l.name = "log";
  l.state = std::to_string(logged_) + " alert events logged";
  return l;
}

}  // namespace sensorgate
