// sensorgate: the command line (DESIGN.md section 2). The only file not
// linked into the tests.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/daemon/daemon.h"
#include "gateway/daemon/factories.h"
#include "gateway/base/log.h"
#include "gateway/daemon/replay.h"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;

const char kUsage[] =
    "usage: sensorgate --config FILE                 run in the foreground\n"
    "       sensorgate --config FILE --check         validate the configuration and exit\n"
    "       sensorgate --config FILE --replay PATH...  run the pipeline over files as a batch\n"
    "       sensorgate --version | --help\n";

const char kHelp[] =
    "\n"
    "sensorgate reads temperature readings from sensor log files or an MQTT broker,\n"
    "keeps a ring-buffer window per equipment, alerts when an equipment's average runs\n"
    "hot, mails the alerts and forwards per-equipment aggregates to Kafka.\n"
    "\n"
    "  --config FILE   the INI configuration (see systemd/sensorgate.ini.example)\n"
    "  --check         validate FILE and exit: 0 valid, 78 invalid (every error is listed),\n"
    "                  1 a library the configured components need cannot be loaded;\n"
    "                  a valid FILE's memory plan (bytes per rule and in all) is printed\n"
    "  --replay PATH…  read the files in order, start to end (\"-\" is standard input);\n"
    "                  print alert events and then one window line per key as JSON lines\n"
    "                  on standard output, and a summary on standard error\n"
    "  --version       print the version\n"
    "  --help          print this help\n"
    "\n"
    "Exit codes: 0 success, 64 bad command line, 78 bad configuration, 1 other failure.\n";

int Usage(const char* problem) {
  std::fprintf(stderr, "sensorgate: %s\n%s", problem, kUsage);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check = false, replay = false;
  std::vector<std::string> replay_paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (replay && (arg.empty() || arg[0] != '-' || arg == "-")) {
      replay_paths.push_back(arg);
    } else if (arg == "--help" || arg == "-h") {
      std::printf("%s%s", kUsage, kHelp);
      return 0;
    } else if (arg == "--version" || arg == "-V") {
      std::printf("sensorgate %s\n", SENSORGATE_VERSION);
      return 0;
    } else if (arg == "--config" || arg.rfind("--config=", 0) == 0) {
      if (!config_path.empty()) return Usage("--config given twice");
      if (arg == "--config") {
        if (i + 1 >= argc) return Usage("--config needs a FILE");
        config_path = argv[++i];
      } else {
        config_path = arg.substr(9);
      }
      if (config_path.empty()) return Usage("--config needs a FILE");
    } else if (arg == "--check") {
      check = true;
    } else if (arg == "--replay") {
      replay = true;
    } else {
      return Usage(("unknown argument \"" + arg + "\"").c_str());
    }
  }
  if (config_path.empty()) return Usage("--config FILE is required");
  if (check && replay) return Usage("--check and --replay exclude each other");
  if (replay && replay_paths.empty()) return Usage("--replay needs at least one PATH");

  const sensorgate::ConfigResult loaded = sensorgate::LoadConfigFile(
      config_path, replay ? sensorgate::ConfigMode::kReplay : sensorgate::ConfigMode::kDaemon);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
    std::fprintf(stderr, "sensorgate: %zu configuration error(s); nothing started\n",
                 loaded.errors.size());
    return kExitConfig;
  }
  const sensorgate::Config& config = loaded.config;
  sensorgate::SetLogLevel(config.gateway.log_level);
  if (check) {
    // As the daemon's start does (ExecStartPre runs --check): the file is
    // valid, but the gateway could not run it without the library.
    const sensorgate::Status libraries = sensorgate::LoadComponentLibraries(config);
    if (!libraries.ok()) {
      std::fprintf(stderr, "%s\n", libraries.message().c_str());
      return 1;
    }
    std::printf("%s: configuration is valid\n", config_path.c_str());
    std::fputs(sensorgate::FormatMemoryPlan(sensorgate::PlanMemory(config), config.gateway.memory_max_bytes).c_str(),
               stdout);
    return 0;
  }
  if (replay) return sensorgate::RunReplay(config, replay_paths, stdout, stderr);

  return sensorgate::RunDaemon(config_path, config);
}
