// Status: the outcome of an operation that can fail at run time.
//
// A Status is either OK or carries a human-readable message meant for an
// operator (it already names the file, line or peer involved). No exceptions
// cross sensorgate's own interfaces; library exceptions are caught at the
// boundary and turned into a Status. Status values are plain data and may be
// used from any thread.
#ifndef SENSORGATE_GATEWAY_BASE_STATUS_H_
#define SENSORGATE_GATEWAY_BASE_STATUS_H_

#include <string>
#include <utility>

namespace sensorgate {

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  // REQUIRES: !ok()
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_STATUS_H_
