// AlertLogSink: every alert event to the log, as the replay writes it
// (DESIGN.md section 6): `alert {"event":"alert",...}`, firing as a warning,
// resolved as info, so journald shows an equipment running hot.
//
// Keeps nothing; writes on the loop thread.
#ifndef SENSORGATE_GATEWAY_SINKS_LOG_ALERT_LOG_SINK_H_
#define SENSORGATE_GATEWAY_SINKS_LOG_ALERT_LOG_SINK_H_

#include <cstdint>
#include <string>

#include "gateway/sinks/sink.h"

namespace sensorgate {

class AlertLogSink : public Sink {
 public:
  std::string_view name() const override { return "log"; }
  void OnAlert(const AlertEvent& event) override;
  LinkState Link() const override;

 private:
  uint64_t logged_ = 0;
  std::string line_;  // reused
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SINKS_LOG_ALERT_LOG_SINK_H_
