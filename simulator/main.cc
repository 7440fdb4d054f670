// sensorgate-sim: generates sensor readings (or, with --profile, telecom
// traffic, host events or network flows) to a file, standard output or an
// MQTT broker. See --help (sim_options.cc) for what it does.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "gateway/base/status.h"
#include "gateway/base/time_util.h"
#include "simulator/file_sink.h"
#include "simulator/profile_stream.h"
#include "simulator/sim_options.h"
#ifdef SENSORGATE_SIM_WITH_MQTT
#include "simulator/mqtt_sink.h"
#endif

#ifndef SENSORGATE_VERSION
#define SENSORGATE_VERSION "0.0.0"
#endif

namespace sensorgate {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 64;

volatile sig_atomic_t g_stop_requested = 0;

void OnStopSignal(int) { g_stop_requested = 1; }

void InstallSignalHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a pacing sleep wakes up at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed reader shows up as EPIPE
}

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Paces the readings (--rate), ends the run (--duration, signals) and passes
// cycle boundaries to the sink (--rewrite-every).
class RunControl : public StreamHooks {
 public:
  explicit RunControl(const SimOptions& options)
      : start_nanos_(MonotonicNanos()),
        deadline_nanos_(options.duration_micros > 0 ? start_nanos_ + options.duration_micros * 1000
                                                    : 0),
        nanos_per_reading_(options.rate > 0 ? 1e9 / options.rate : 0) {}

  void set_sink(RecordSink* sink) { sink_ = sink; }
  const Status& status() const { return status_; }

  bool BeforeReading(uint64_t generated) override {
    if (g_stop_requested) return false;
    next_reading_ = generated + 1;
    if (nanos_per_reading_ > 0) return Pace(generated);
    if (deadline_nanos_ != 0 && generated % 64 == 0 && MonotonicNanos() >= deadline_nanos_) {
      return false;
    }
    return true;
  }

  bool BeforeCycle(uint64_t cycle) override {
    if (g_stop_requested) return false;
    // Paced: the previous cycle is flushed and its time has passed before the
    // next one starts (and, with --rewrite-every, truncates the file), so a
    // reader gets to see the previous cycle's last line.
    if (nanos_per_reading_ > 0 && next_reading_ > 0 && !Pace(next_reading_)) return false;
    status_ = sink_->StartCycle(cycle);
    return status_.ok();
  }

 private:
  // Waits until reading `generated` is due, flushing what is written first.
  bool Pace(uint64_t generated) {
    const int64_t due =
        start_nanos_ +
        static_cast<int64_t>(std::llround(static_cast<double>(generated) * nanos_per_reading_));
    int64_t now = MonotonicNanos();
    if (deadline_nanos_ != 0 && now >= deadline_nanos_) return false;
    if (now >= due) return true;
    status_ = sink_->Flush();
    if (!status_.ok()) return false;
    while (now < due) {
      const int64_t wake = deadline_nanos_ != 0 ? std::min(due, deadline_nanos_) : due;
      struct timespec ts;
      ts.tv_sec = static_cast<time_t>(wake / 1000000000);
      ts.tv_nsec = static_cast<long>(wake % 1000000000);
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      if (g_stop_requested) return false;
      now = MonotonicNanos();
      if (deadline_nanos_ != 0 && now >= deadline_nanos_) return false;
    }
    return true;
  }

  const int64_t start_nanos_;
  const int64_t deadline_nanos_;  // 0: none
  const double nanos_per_reading_;
  RecordSink* sink_ = nullptr;
  Status status_;
  uint64_t next_reading_ = 0;  // index of the reading after the last one paced
};

// Writes the truth file whole: to a temporary name, then renamed into place.
Status WriteTruthFile(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  std::FILE* f = std::fopen(temporary.c_str(), "w");
  if (f == nullptr) {
    return Status::Error("cannot create " + temporary + ": " + std::strerror(errno));
  }
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Status::Error("cannot write " + temporary);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status::Error("cannot rename " + temporary + " to " + path + ": " +
                         std::strerror(errno));
  }
  return Status::Ok();
}

// The name of part `part` (1-based) of `parts` with --split: "out/flows.log"
// becomes "out/flows-2.log", the number zero-padded to the width of parts.
std::string SplitPath(const std::string& path, int part, int parts) {
  std::string number = std::to_string(part);
  const size_t width = std::to_string(parts).size();
  if (number.size() < width) number.insert(0, width - number.size(), '0');
  const size_t slash = path.rfind('/');
  const size_t base = slash == std::string::npos ? 0 : slash + 1;
  const size_t dot = path.rfind('.');
  // No extension: no dot in the file name, or only a leading one (".log").
  if (dot == std::string::npos || dot <= base) return path + "-" + number;
  return path.substr(0, dot) + "-" + number + path.substr(dot);
}

FileSinkOptions MakeFileSinkOptions(const SimOptions& options) {
  FileSinkOptions file;
  file.path = options.output_path;
  file.crlf = options.crlf;
  file.rotate_size = options.rotate_size;
  file.rotate_lines = options.rotate_lines;
  file.rotate_keep = options.rotate_keep;
  file.copytruncate = options.copytruncate;
  file.rewrite_every = options.rewrite_every;
  return file;
}

int Run(int argc, char** argv) {
  SimOptions options;
  CommandLineAction action;
  Status s = ParseSimCommandLine(argc, argv, &options, &action);
  if (!s.ok()) {
    std::fprintf(stderr, "sensorgate-sim: %s (see --help)\n", s.message().c_str());
    return kExitUsage;
  }
  if (action == CommandLineAction::kHelp) {
    std::fputs(SimHelpText().c_str(), stdout);
    return kExitOk;
  }
  if (action == CommandLineAction::kVersion) {
    std::printf("sensorgate-sim %s\n", SENSORGATE_VERSION);
    return kExitOk;
  }

  InstallSignalHandlers();
  RunControl control(options);
  std::unique_ptr<ProfileStream> stream = MakeProfileStream(options, &control);

  std::unique_ptr<RecordSink> sink;
  if (!options.mqtt_uri.empty()) {
#ifdef SENSORGATE_SIM_WITH_MQTT
    MqttSinkOptions mqtt;
    mqtt.uri = options.mqtt_uri;
    mqtt.topic = options.topic;
    mqtt.qos = options.qos;
    mqtt.client_id = options.client_id.empty()
                         ? "sensorgate-sim-" + std::to_string(static_cast<long>(getpid()))
                         : options.client_id;
    auto mqtt_sink = std::make_unique<MqttSink>(mqtt, stream->keys());
    s = mqtt_sink->Connect();
    sink = std::move(mqtt_sink);
#endif
  } else {
    FileSinkOptions file = MakeFileSinkOptions(options);
    if (options.split != 0) file.path = SplitPath(options.output_path, 1, options.split);
    auto file_sink = std::make_unique<FileSink>(file);
    s = file_sink->Open();
    sink = std::move(file_sink);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "sensorgate-sim: %s\n", s.message().c_str());
    return kExitFailure;
  }
  control.set_sink(sink.get());

  // With --split, part p (0-based) gets count / split good lines, one more
  // for the first count % split parts; a malformed line goes with the good
  // one it comes before.
  int part = 0;
  uint64_t part_lines = 0;
  const auto quota = [&options](int p) {
    const auto parts = static_cast<uint64_t>(options.split);
    return options.count / parts + (static_cast<uint64_t>(p) < options.count % parts ? 1 : 0);
  };
  ProfileLine line;
  while (stream->Next(&line)) {
    s = sink->Write(line.text, line.key);
    if (!s.ok()) break;
    if (options.split != 0 && line.good && ++part_lines == quota(part) &&
        part + 1 < options.split) {
      s = sink->Close();
      if (!s.ok()) break;
      ++part;
      part_lines = 0;
      FileSinkOptions file = MakeFileSinkOptions(options);
      file.path = SplitPath(options.output_path, part + 1, options.split);
      auto file_sink = std::make_unique<FileSink>(file);
      s = file_sink->Open();
      sink = std::move(file_sink);
      control.set_sink(sink.get());
      if (!s.ok()) break;
    }
  }
  if (s.ok()) s = control.status();
  Status closed = sink->Close();
  if (s.ok()) s = closed;
  if (!options.truth_path.empty()) {
    Status truth = WriteTruthFile(options.truth_path, stream->TruthText());
    if (s.ok()) s = truth;
  }
  if (!s.ok()) {
    if (sink->reader_gone()) return kExitOk;
    std::fprintf(stderr, "sensorgate-sim: %s\n", s.message().c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace
}  // namespace sensorgate

int main(int argc, char** argv) { return sensorgate::Run(argc, argv); }
