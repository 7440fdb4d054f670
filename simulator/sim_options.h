// SimOptions: everything sensorgate-sim can be told on its command line, and
// the parser that fills it. One table in sim_options.cc lists every option
// (name, argument, help line, how to apply it); the parser, the cross-option
// checks and the --help text are all driven by it, so they cannot disagree.
// Parsing is pure (no I/O) and may run on any thread.
#ifndef SENSORGATE_SIMULATOR_SIM_OPTIONS_H_
#define SENSORGATE_SIMULATOR_SIM_OPTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/base/formats.h"
#include "gateway/base/status.h"
#include "gateway/base/time_util.h"

namespace sensorgate {

// The kind of data to generate (DESIGN.md section 9).
enum class SimProfile { kTemperature, kTraffic, kProcesses, kFlows };

struct SimOptions {
  // What to generate.
  SimProfile profile = SimProfile::kTemperature;
  int equipment = 50;           // keys (sensors, cells, machines, devices), [1, 1000000]
  uint64_t count = 0;           // good records to generate; 0: no limit
  int64_t duration_micros = 0;  // wall-clock run time; 0: no limit
  double rate = 0;              // good readings per second overall; 0: as fast as possible
  uint64_t seed = 1;
  bool has_start_time = false;  // false: timestamps are the wall clock
  TimeMicros start_time = 0;
  int64_t step_micros = 100000;  // simulated time per cycle; the profile's default
  bool step_given = false;

  // Hot equipment (traffic: cells per anomaly kind; flows: web servers) and
  // the truth file.
  int hot = 0;
  int32_t hot_temp_tenths = 800;  // tenths of a degree Celsius
  std::string truth_path;         // empty: no truth file

  // Faults.
  double late_fraction = 0;    // [0, 1]
  double bad_fraction = 0;     // [0, kMaxBadFraction]
  double glitch_fraction = 0;  // temperature: [0, 1]
  double spike_fraction = 0;   // temperature: [0, 1]

  // The processes profile.
  uint64_t cycles = 0;  // 0: no limit
  int cycle_records_min = 5;
  int cycle_records_max = 15;
  int late_records_min = 0;
  int late_records_max = 3;

  // The flows profile: files written instead of one; 0: off.
  int split = 0;

  // File output.
  std::string output_path;  // empty: standard output
  bool crlf = false;
  uint64_t rotate_size = 0;   // bytes; 0: off
  uint64_t rotate_lines = 0;  // 0: off
  int rotate_keep = 5;
  bool copytruncate = false;
  uint64_t rewrite_every = 0;  // cycles; 0: off

  // MQTT output.
  std::string mqtt_uri;  // empty: file output
  std::string topic = "plant/{key}/temperature";
  int qos = 1;
  std::string client_id;  // empty: sensorgate-sim-<pid>
  PayloadFormat payload = PayloadFormat::kJson;
};

constexpr double kMaxBadFraction = 0.99;

// Default --hot of the flows profile (web servers), at most --equipment.
constexpr int kDefaultWebServers = 10;

// The traffic profile's episodes: kTrafficLeadMicros of normal history
// before any, each kTrafficEpisodeMicros long.
constexpr int64_t kTrafficLeadMicros = 600LL * 1000000;
constexpr int64_t kTrafficEpisodeMicros = 120LL * 1000000;

// Cycles needed for the traffic profile's episodes with this step: the lead,
// the episode and one normal cycle after it.
uint64_t TrafficMinCycles(int64_t step_micros);

enum class CommandLineAction { kRun, kHelp, kVersion };

// Parses argv[1..argc) into *options (which starts from its defaults) and
// checks the options against each other. On error, returns a one-line
// message naming the option, what was found and what is allowed; *options is
// then unspecified. "--help" and "--version" set *action and stop parsing.
Status ParseSimCommandLine(int argc, const char* const* argv, SimOptions* options,
                           CommandLineAction* action);

// The --help text, generated from the option table.
std::string SimHelpText();

// True if this binary was built with MQTT output.
bool SimHasMqtt();

// Parses a byte size: a whole number with an optional unit B, KiB, MiB, GiB.
bool ParseByteSize(std::string_view text, uint64_t* bytes);

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_SIM_OPTIONS_H_
