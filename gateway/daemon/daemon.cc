#include "gateway/daemon/daemon.h"

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "gateway/base/json_format.h"
#include "gateway/base/log.h"
#include "gateway/daemon/checkpoint.h"
#include "gateway/daemon/event_loop.h"
#include "gateway/daemon/factories.h"
#include "gateway/daemon/service_notify.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/pipeline/pipeline_metrics.h"

namespace sensorgate {
namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kStaleCheckMaxUs = 60 * 1000 * kMs;  // stale check at least this often (wall clock steps)
constexpr int64_t kStaleCheckMinUs = 10 * kMs;
constexpr int64_t kStatusUs = 5000 * kMs;
constexpr int64_t kPublishUs = 50 * kMs;        // windows to the sinks, at most this late
constexpr int64_t kStopSourcesUs = 2000 * kMs;  // disconnecting at stop
constexpr int64_t kFlushSinksUs = 5000 * kMs;   // sinks making their queues safe at stop
constexpr int64_t kDrainAtStopUs = 5000 * kMs;  // reading what sources received, at stop
constexpr int64_t kStartupProblemUs = 600 * 1000 * kMs;  // /healthz says a damaged checkpoint this long
constexpr int64_t kSourceRetryUs = 10 * 1000 * kMs;      // a source that failed to start is tried again
constexpr rlim_t kMaxOpenFiles = 65536;                  // the soft RLIMIT_NOFILE asked for

// Raises the soft limit of open files to the hard one (at most
// kMaxOpenFiles): systemd and shells start services at a soft 1024, and
// every followed file holds a descriptor. Nothing here uses select(), which
// is what the low soft limit protects.
void RaiseOpenFileLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t want = limit.rlim_max == RLIM_INFINITY ? kMaxOpenFiles : std::min(limit.rlim_max, kMaxOpenFiles);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < want) {
    limit.rlim_cur = want;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// glibc's malloc, tuned for a long-running process whose steady state is
// small (DESIGN.md: memory planned at start-up) but which builds large
// transient buffers now and then (a /metrics answer lists every key, a
// checkpoint is read whole at start):
//  - blocks of 128 KiB and more are mmap()ed and given back when freed. glibc
//    would otherwise raise that threshold (up to 32 MiB) after the first
//    such block is freed, and later large buffers would come from the heap
//    and stay resident after being freed;
//  - the heap's free top is given back beyond 128 KiB (glibc raises that one
//    with the other);
//  - the threads of the libraries (librdkafka, libcurl) share one
//    arena besides the main thread's, instead of getting up to 8 per core,
//    each holding on to its own free memory.
void TuneMalloc() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  mallopt(M_ARENA_MAX, 2);
#endif
}

// Gives the free memory inside the heap back to the system (what a transient
// left between blocks still in use); after start-up, reloads and checkpoints.
void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

// sd_notify(3) (service_notify.h); a no-op when built without it.
void Notify(const std::string& state) {
#if SENSORGATE_WITH_SYSTEMD
  NotifyServiceManager(state);
#else
  (void)state;
#endif
}

int64_t WatchdogUs() {
#if SENSORGATE_WITH_SYSTEMD
  return ServiceWatchdogUs();
#else
  return 0;
#endif
}

struct RunningSource {
  const SourceFactory* factory;
  std::unique_ptr<Source> source;
};

struct RunningSink {
  const SinkFactory* factory;
  std::unique_ptr<Sink> sink;
};

class Daemon {
 public:
  Daemon(std::string config_path, Config config, Clock* clock)
      : config_path_(std::move(config_path)),
        config_(std::move(config)),
        clock_(clock),
        pipeline_(std::make_unique<Pipeline>(config_, config_.file.format, nullptr, clock)),
        loop_(clock),
        started_us_(clock->MonotonicUs()) {}

  ~Daemon() {
    // Sinks and sources go before the loop and the pipeline they are registered with.
    sources_.clear();
    sinks_.clear();
    if (signal_fd_ >= 0) close(signal_fd_);
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  int Run();

 private:
  bool OpenStateDir();
  bool Restore();
  Status StartSource(const SourceFactory& f);
  void StartSources(const char* when);
  Status StartSink(const SinkFactory& f);
  void StopSource(RunningSource* r);
  void HandleSignals();
  void Reload();
  void Checkpoint();
  void PublishWindows();
  void CheckStale();
  void AdvanceRuleClocks();
  std::string StatusLine();
  void WriteMetrics(std::string* out);
  void WriteLinks(std::string* out);
  bool Healthy(std::string* why);

  const std::string config_path_;
  Config config_;
  Clock* const clock_;
  std::unique_ptr<Pipeline> pipeline_;
  EventLoop loop_;
  std::vector<RunningSource> sources_;
  std::vector<RunningSink> sinks_;
  std::map<std::string, std::string> source_errors_;  // enabled sources that failed to start, and why
  SourcePositions positions_;  // as last checkpointed or restored; each source updates its own part
  CheckpointMeta meta_;
  std::string checkpoint_path_;
  Status checkpoint_status_;
  uint64_t checkpointed_records_ = UINT64_MAX;
  const int64_t started_us_;
  int64_t last_checkpoint_wall_us_ = 0;
  uint64_t reloads_ = 0, reload_failures_ = 0;
  uint64_t checkpoints_damaged_ = 0;
  std::string startup_problem_;  // shown by /healthz until startup_problem_until_us_
  int64_t startup_problem_until_us_ = 0;
  int signal_fd_ = -1, lock_fd_ = -1;
  int publish_timer_ = -1, checkpoint_timer_ = -1, stale_timer_ = -1, retry_timer_ = -1;
  int rule_clock_timer_ = -1;
  bool publish_armed_ = false, checkpoint_armed_ = false;
  bool stop_ = false, reload_ = false;
  // For STATUS=: records/s since the last status.
  uint64_t status_records_ = 0;
  int64_t status_us_ = 0;
};

// Reads the newest checkpoint generation that is whole; a damaged one is
// moved aside (`.damaged`), said in the log, /healthz and the metrics, and
// the previous generation is used: its positions are older, so lines are
// read again, not lost. False only when the windows cannot be allocated.
bool Daemon::Restore() {
  const std::string generations[2] = {checkpoint_path_, PreviousCheckpointPath(checkpoint_path_)};
  for (const std::string& path : generations) {
    bool found = false;
    Log(LogLevel::kInfo, "reading the checkpoint %s", path.c_str());
    const Status s = ReadCheckpoint(path, config_.reading, pipeline_.get(), &positions_.files, &meta_, &found);
    if (s.ok() && found) {
      Log(LogLevel::kInfo, "resumed from %s: %u keys, %zu files%s", path.c_str(), pipeline_->windows().key_count(),
          positions_.files.size(),
          meta_.skipped_keys ? (", " + std::to_string(meta_.skipped_keys) + " key lines skipped").c_str() : "");
      return true;
    }
    if (s.ok()) continue;  // none of this generation (a crash between the two renames): the previous one
    ++checkpoints_damaged_;
    const std::string aside = path + ".damaged";
    const bool moved = ::rename(path.c_str(), aside.c_str()) == 0;
    Log(LogLevel::kError, "%s", s.message().c_str());
    Log(LogLevel::kError, "%s is damaged%s; %s", path.c_str(), moved ? (", moved aside to " + aside).c_str() : "",
        &path == &generations[0] ? "trying the previous generation" : "starting without a checkpoint");
    startup_problem_ = path + " was damaged at start" + (moved ? " (kept as " + aside + ")" : std::string()) +
                       (&path == &generations[0] ? "; started from the previous generation"
                                                 : "; started without a checkpoint");
    startup_problem_until_us_ = clock_->MonotonicUs() + kStartupProblemUs;
    // What the damaged file restored is dropped.
    pipeline_ = std::make_unique<Pipeline>(config_, config_.file.format, nullptr, clock_);
    if (!pipeline_->ok()) return false;
    positions_ = SourcePositions{};
    meta_ = CheckpointMeta{};
  }
  return true;
}

bool Daemon::OpenStateDir() {
  const std::string& dir = config_.gateway.state_dir;
  if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    Log(LogLevel::kError, "[gateway] state_dir = %s: cannot create: %s", dir.c_str(), std::strerror(errno));
    return false;
  }
  const std::string lock = dir + "/lock";
  lock_fd_ = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) {
    Log(LogLevel::kError, "%s: cannot open: %s", lock.c_str(), std::strerror(errno));
    return false;
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    Log(LogLevel::kError, "%s: another sensorgate uses this state_dir", dir.c_str());
    return false;
  }
  checkpoint_path_ = dir + "/checkpoint.json";
  return true;
}

Status Daemon::StartSource(const SourceFactory& f) {
  const SourceContext ctx{pipeline_.get(), clock_, &positions_};
  std::unique_ptr<Source> source;
  const Status s = f.make(config_, ctx, &source);
  if (!s.ok()) return s;
  loop_.AddSource(source.get());
  sources_.push_back(RunningSource{&f, std::move(source)});
  return Status::Ok();
}

Status Daemon::StartSink(const SinkFactory& f) {
  SinkContext ctx;
  ctx.clock = clock_;
  ctx.metrics = [this](std::string* out) { WriteMetrics(out); };
  ctx.healthy = [this](std::string* why) { return Healthy(why); };
  ctx.links = [this](std::string* out) { WriteLinks(out); };
  ctx.refresh = [this] { PublishWindows(); };
  ctx.windows_json = [this](std::string* out) { AppendPipelineWindowsJson(*pipeline_, out); };
  ctx.alerts_json = [this](std::string* out) { AppendPipelineAlertsJson(*pipeline_, out); };
  ctx.rules_json = [this](std::string_view name, std::string* out) {
    return AppendPipelineRulesJson(pipeline_.get(), name, out);
  };
  ctx.pending_json = [this](std::string* out) { AppendPipelinePendingAlertsJson(*pipeline_, out); };
  ctx.config_json = [this](std::string* out) { AppendDashboardConfigJson(config_, out); };
  std::unique_ptr<Sink> sink;
  const Status s = f.make(config_, ctx, &sink);
  if (!s.ok() || !sink) return s;
  pipeline_->AddSink(sink.get());
  loop_.AddSink(sink.get());
  sinks_.push_back(RunningSink{&f, std::move(sink)});
  return Status::Ok();
}

// Starts every enabled source not running. One that fails is logged (once
// per distinct error), shown by /healthz and /api/links, and tried again
// every kSourceRetryUs; the rest of the gateway (the other sources, HTTP)
// goes on.
void Daemon::StartSources(const char* when) {
  for (auto it = source_errors_.begin(); it != source_errors_.end();) {
    const bool enabled = std::any_of(SourceFactories().begin(), SourceFactories().end(),
                                     [&](const SourceFactory& f) { return f.name == it->first && f.enabled(config_); });
    it = enabled ? std::next(it) : source_errors_.erase(it);
  }
  for (const SourceFactory& f : SourceFactories()) {
    const bool running =
        std::any_of(sources_.begin(), sources_.end(), [&](const RunningSource& r) { return r.factory == &f; });
    if (running || !f.enabled(config_)) continue;
    const Status s = StartSource(f);
    const auto failed = source_errors_.find(f.name);
    if (s.ok()) {
      if (failed != source_errors_.end()) {
        Log(LogLevel::kInfo, "%s: source %s started", when, f.name);
        source_errors_.erase(failed);
      }
      continue;
    }
    if (failed == source_errors_.end() || failed->second != s.message()) {
      Log(LogLevel::kError, "%s: source %s cannot start: %s (trying again every %llds)", when, f.name,
          s.message().c_str(), static_cast<long long>(kSourceRetryUs / 1000 / kMs));
    }
    source_errors_[f.name] = s.message();
  }
  loop_.SetInterval(retry_timer_, source_errors_.empty() ? kNever : kSourceRetryUs);
}

// Takes the source's position, disconnects it and forgets it: what it had
// received and not handed on is read again by its successor.
void Daemon::StopSource(RunningSource* r) {
  r->source->SavePosition(&positions_);
  r->source->Stop(clock_->MonotonicUs() + kStopSourcesUs);
  loop_.RemoveSource(r->source.get());
  r->source.reset();
}

void Daemon::Checkpoint() {
  for (RunningSource& r : sources_) r.source->SavePosition(&positions_);
  meta_.mqtt_generation = positions_.mqtt.generation;
  meta_.mqtt_offset = positions_.mqtt.offset;
  // The sinks first: the checkpoint must not say an alert happened before
  // whoever has to tell about it has it on disk.
  for (RunningSink& r : sinks_) {
    const Status s = r.sink->PrepareCheckpoint();
    if (!s.ok()) {
      checkpoint_status_ = s;
      Log(LogLevel::kError, "checkpoint: not written: %s", s.message().c_str());
      return;
    }
  }
  checkpoint_status_ = WriteCheckpoint(checkpoint_path_, *pipeline_, positions_.files, meta_);
  if (!checkpoint_status_.ok()) {
    Log(LogLevel::kError, "checkpoint: %s", checkpoint_status_.message().c_str());
    return;
  }
  checkpointed_records_ = pipeline_->counters().records;
  last_checkpoint_wall_us_ = clock_->WallUs();
  for (RunningSource& r : sources_) r.source->Checkpointed(positions_);
  ReleaseFreeMemory();
}

void Daemon::PublishWindows() {
  pipeline_->PublishWindows();
  publish_armed_ = false;
  loop_.SetInterval(publish_timer_, kNever);
}

// Fires the stale alerts that are due, then sleeps until the next key could
// turn stale (at most kStaleCheckMaxUs: the wall clock may step, and a new
// key's deadline is stale_after away); never while stale_after is off.
void Daemon::CheckStale() {
  const int64_t stale_after = config_.alert.enabled ? config_.alert.stale_after_us : 0;
  if (stale_after <= 0) {
    loop_.SetInterval(stale_timer_, kNever);
    return;
  }
  const TimeMicros now = clock_->WallUs();
  const TimeMicros next = pipeline_->CheckStale(now);
  int64_t wait = std::min(kStaleCheckMaxUs, stale_after);
  if (next != kNever) wait = std::min(wait, std::max(next - now, kStaleCheckMinUs));
  loop_.SetInterval(stale_timer_, wait);
}

// @arrival rules: closes the windows the wall clock has passed, then sleeps
// until the next window end (at most a second: the wall clock may step).
void Daemon::AdvanceRuleClocks() {
  if (!pipeline_->uses_arrival_time()) {
    loop_.SetInterval(rule_clock_timer_, kNever);
    return;
  }
  const TimeMicros now = clock_->WallUs();
  const TimeMicros next = pipeline_->AdvanceRuleClocks(now);
  int64_t wait = 1000000;
  if (next != kNever) wait = std::min(wait, std::max<int64_t>(next - now, 1000));
  loop_.SetInterval(rule_clock_timer_, wait);
}

std::string Daemon::StatusLine() {
  const int64_t now = clock_->MonotonicUs();
  const uint64_t records = pipeline_->counters().records;
  const double secs = status_us_ ? static_cast<double>(now - status_us_) / 1e6 : 0;
  const double rate = secs > 0 ? static_cast<double>(records - status_records_) / secs : 0;
  status_records_ = records;
  status_us_ = now;
  uint32_t firing = 0;
  const WindowTable& w = pipeline_->windows();
  for (uint32_t s = 0; s < w.key_count(); ++s) firing += pipeline_->alert_phase(s) == AlertPhase::kFiring;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%.0f records/s, %u keys, %u alerts firing, %llu rejected", rate,
                w.key_count(), firing, static_cast<unsigned long long>(pipeline_->counters().rejected_total()));
  std::string line = buf;
  for (const RunningSource& r : sources_) {
    const LinkState l = r.source->Link();
    line += ", " + l.state;
  }
  return line;
}

void Daemon::HandleSignals() {
  signalfd_siginfo si;
  while (read(signal_fd_, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGHUP) reload_ = true;
    if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stop_ = true;
  }
}

void Daemon::Reload() {
  Log(LogLevel::kInfo, "SIGHUP: reading %s again", config_path_.c_str());
  ConfigResult next = LoadConfigFile(config_path_, ConfigMode::kDaemon);
  if (!next.ok()) {
    ++reload_failures_;
    for (const auto& e : next.errors) Log(LogLevel::kError, "%s", e.c_str());
    Log(LogLevel::kError, "reload refused: the running configuration is kept");
    return;
  }
  Config& c = next.config;
  const Status loaded = LoadComponentLibraries(c);
  if (!loaded.ok()) {
    ++reload_failures_;
    Log(LogLevel::kError, "%s", loaded.message().c_str());
    Log(LogLevel::kError, "reload refused: the running configuration is kept");
    return;
  }
  const Status resized = pipeline_->Reconfigure(c, c.file.format);
  if (!resized.ok()) {
    ++reload_failures_;
    Log(LogLevel::kError, "%s: %s", config_path_.c_str(), resized.message().c_str());
    Log(LogLevel::kError, "reload refused: the running configuration is kept");
    return;
  }
  Notify("RELOADING=1");
  if (c.gateway.state_dir != config_.gateway.state_dir) {
    Log(LogLevel::kWarning, "reload: [gateway] state_dir changes only at a restart; still using %s",
        config_.gateway.state_dir.c_str());
    c.gateway.state_dir = config_.gateway.state_dir;
  }
  SetLogLevel(c.gateway.log_level);
  // Each source and sink says whether the new configuration needs it rebuilt.
  for (RunningSource& r : sources_) {
    const bool enabled = r.factory->enabled(c);
    if (enabled && !r.factory->must_restart(config_, c, *r.source)) continue;
    if (enabled && r.factory->restart) {
      r.source->Stop(clock_->MonotonicUs() + kStopSourcesUs);
      const Status s = r.factory->restart(c, r.source.get());
      if (!s.ok()) Log(LogLevel::kError, "reload: %s", s.message().c_str());
      continue;
    }
    StopSource(&r);
  }
  sources_.erase(std::remove_if(sources_.begin(), sources_.end(), [](const RunningSource& r) { return !r.source; }),
                 sources_.end());
  for (RunningSink& r : sinks_) {
    if (!r.factory->enabled(c) || r.factory->must_restart(config_, c, *r.sink)) {
      (void)r.sink->Flush(clock_->MonotonicUs() + kFlushSinksUs);
      pipeline_->RemoveSink(r.sink.get());
      loop_.RemoveSink(r.sink.get());
      r.sink.reset();
    }
  }
  sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(), [](const RunningSink& r) { return !r.sink; }),
               sinks_.end());
  config_ = std::move(c);
  for (const SinkFactory& f : SinkFactories()) {
    const bool running = std::any_of(sinks_.begin(), sinks_.end(), [&](const RunningSink& r) { return r.factory == &f; });
    if (running || !f.enabled(config_)) continue;
    const Status s = StartSink(f);
    if (!s.ok()) Log(LogLevel::kError, "reload: %s could not be started: %s", f.name, s.message().c_str());
  }
  StartSources("reload");
  if (checkpoint_armed_) loop_.SetInterval(checkpoint_timer_, config_.gateway.checkpoint_interval_us);
  loop_.Expire(stale_timer_);  // stale_after may have changed
  loop_.Expire(rule_clock_timer_);  // so may the rules
  ++reloads_;
  ReleaseFreeMemory();  // the old windows, when resized
  Log(LogLevel::kInfo, "reload: configuration applied");
  Notify("READY=1\nSTATUS=" + StatusLine());
}

// Every problem at once, "; "-separated: each one hides none of the others.
bool Daemon::Healthy(std::string* why) {
  why->clear();
  const auto problem = [why](const std::string& text) {
    if (!why->empty()) why->append("; ");
    why->append(text);
  };
  if (!checkpoint_status_.ok()) problem("checkpoint failing: " + checkpoint_status_.message());
  if (!startup_problem_.empty() && clock_->MonotonicUs() < startup_problem_until_us_) problem(startup_problem_);
  for (const auto& e : source_errors_) problem("source " + e.first + " cannot start: " + e.second);
  for (const RunningSource& r : sources_) {
    const LinkState l = r.source->Link();
    if (!l.healthy) problem(l.name + ": " + l.last_error);
  }
  for (const RunningSink& r : sinks_) {
    const LinkState l = r.sink->Link();
    if (!l.healthy) problem(l.name + ": " + l.last_error);
  }
  return why->empty();
}

void Daemon::WriteLinks(std::string* out) {
  out->push_back('[');
  bool first = true;
  const auto append = [&](const char* kind, const LinkState& l) {
    if (!first) out->push_back(',');
    first = false;
    out->append("{\"kind\":\"");
    out->append(kind);
    out->append("\",\"name\":");
    AppendJsonString(out, l.name);
    out->append(l.up ? ",\"up\":true,\"state\":" : ",\"up\":false,\"state\":");
    AppendJsonString(out, l.state);
    out->append(",\"backlog\":");
    AppendJsonInt(out, static_cast<int64_t>(l.backlog));
    out->append(",\"backlog_unit\":");
    AppendJsonString(out, l.backlog_unit);
    out->append(",\"last_error\":");
    AppendJsonString(out, l.last_error);
    out->push_back('}');
  };
  for (const RunningSource& r : sources_) append("source", r.source->Link());
  for (const auto& e : source_errors_) {
    LinkState l;
    l.name = e.first;
    l.up = false;
    l.healthy = false;
    l.state = "not started";
    l.last_error = e.second;
    append("source", l);
  }
  for (const RunningSink& r : sinks_) append("sink", r.sink->Link());
  out->push_back(']');
}

void Daemon::WriteMetrics(std::string* out) {
  AppendPipelineMetrics(*pipeline_, out);
  const PipelineCounters& c = pipeline_->counters();
  AppendMetricHeader(out, "sensorgate_stale_alerts_total", MetricType::kCounter,
                     "Stale alerts (no reading for stale_after), by state.");
  AppendMetricSample(out, "sensorgate_stale_alerts_total", {{"state", "firing"}}, static_cast<double>(c.stale_firing));
  AppendMetricSample(out, "sensorgate_stale_alerts_total", {{"state", "resolved"}},
                     static_cast<double>(c.stale_resolved));
  for (const RunningSource& r : sources_) r.source->AppendMetrics(out);
  for (const RunningSink& r : sinks_) r.sink->AppendMetrics(out);
  AppendMetric(out, "sensorgate_checkpoint_timestamp_seconds", MetricType::kGauge,
               "Wall-clock time of the last checkpoint written.",
               static_cast<double>(last_checkpoint_wall_us_) / 1e6);
  AppendMetric(out, "sensorgate_checkpoint_ok", MetricType::kGauge, "1 if the last checkpoint was written.",
               checkpoint_status_.ok() ? 1 : 0);
  AppendMetric(out, "sensorgate_checkpoint_damaged_total", MetricType::kCounter,
               "Checkpoint generations found damaged at start (moved aside; an older one was used).",
               static_cast<double>(checkpoints_damaged_));
  AppendMetric(out, "sensorgate_checkpoint_skipped_keys_total", MetricType::kCounter,
               "Key lines of the checkpoint skipped at start: values or times a reading could not have.",
               static_cast<double>(meta_.skipped_keys));
  AppendMetric(out, "sensorgate_reloads_total", MetricType::kCounter, "Configurations reloaded on SIGHUP.",
               static_cast<double>(reloads_));
  AppendMetric(out, "sensorgate_reload_failures_total", MetricType::kCounter,
               "SIGHUP reloads refused because the new file was invalid.", static_cast<double>(reload_failures_));
  AppendMetric(out, "sensorgate_uptime_seconds", MetricType::kGauge, "Seconds since the gateway started.",
               static_cast<double>(clock_->MonotonicUs() - started_us_) / 1e6);
}

int Daemon::Run() {
  // Signals first: a SIGHUP or SIGTERM during start-up waits for the loop.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  RaiseOpenFileLimit();
  TuneMalloc();

  SetLogLevel(config_.gateway.log_level);
  if (!pipeline_->ok()) {
    Log(LogLevel::kError, "[window] size = %u, max_keys = %u: the windows cannot be allocated",
        config_.window.size, config_.window.max_keys);
    return 1;
  }
  // A configured component's library that is missing stops the start here,
  // before anything is opened: 1, not 78, the configuration is valid.
  const Status loaded = LoadComponentLibraries(config_);
  if (!loaded.ok()) {
    Log(LogLevel::kError, "%s", loaded.message().c_str());
    return 1;
  }
  if (!OpenStateDir()) return 1;
  if (!Restore()) return 1;
  positions_.mqtt = MqttPosition{meta_.mqtt_generation, meta_.mqtt_offset};
  pipeline_->TrackWindowChanges();  // the restored windows are published too

  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  const Status opened = loop_.Open();
  if (signal_fd_ < 0 || !opened.ok()) {
    Log(LogLevel::kError, "cannot set up the event loop: %s",
        opened.ok() ? std::strerror(errno) : opened.message().c_str());
    return 1;
  }
  loop_.Watch(signal_fd_, [this] { HandleSignals(); });

  // Sinks before sources: nothing a source hands on is missed by a sink.
  for (const SinkFactory& f : SinkFactories()) {
    if (!f.enabled(config_)) continue;
    const Status s = StartSink(f);
    if (!s.ok()) {
      Log(LogLevel::kError, "%s", s.message().c_str());
      return 1;
    }
  }
  // A source that cannot start is tried again; HTTP and the others go on.
  retry_timer_ = loop_.AddTimer(kNever, [this](int64_t) { StartSources("retry"); });
  StartSources("start");
  // Where each source starts (`from = end` offsets) is on disk before READY.
  Checkpoint();

  // Armed only while records came since the last checkpoint (or it
  // failed): an idle gateway does not wake up for it.
  checkpoint_timer_ = loop_.AddTimer(kNever, [this](int64_t) {
    if (pipeline_->counters().records != checkpointed_records_ || !checkpoint_status_.ok()) Checkpoint();
    if (checkpoint_status_.ok()) {
      checkpoint_armed_ = false;
      loop_.SetInterval(checkpoint_timer_, kNever);
    }
  });
  if (!checkpoint_status_.ok()) {
    checkpoint_armed_ = true;
    loop_.SetInterval(checkpoint_timer_, config_.gateway.checkpoint_interval_us);
  }
  stale_timer_ = loop_.AddTimer(kNever, [this](int64_t) { CheckStale(); });
  loop_.Expire(stale_timer_);
  rule_clock_timer_ = loop_.AddTimer(kNever, [this](int64_t) { AdvanceRuleClocks(); });
  loop_.Expire(rule_clock_timer_);
  // STATUS= only for a service manager listening.
  if (getenv("NOTIFY_SOCKET") != nullptr) {
    loop_.AddTimer(kStatusUs, [this](int64_t) { Notify("STATUS=" + StatusLine()); });
  }
  const int64_t watchdog_us = WatchdogUs();
  if (watchdog_us > 0) {
    // Reached only while the loop turns: a stuck loop sends nothing.
    const int id = loop_.AddTimer(watchdog_us / 2, [](int64_t) { Notify("WATCHDOG=1"); });
    loop_.Expire(id);
  }
  publish_timer_ = loop_.AddTimer(kNever, [this](int64_t) { PublishWindows(); });
  loop_.set_after_sources([this] {
    if (!publish_armed_ && pipeline_->has_changes()) {
      publish_armed_ = true;
      loop_.SetInterval(publish_timer_, kPublishUs);
    }
    if (!checkpoint_armed_ && pipeline_->counters().records != checkpointed_records_) {
      checkpoint_armed_ = true;
      loop_.SetInterval(checkpoint_timer_, config_.gateway.checkpoint_interval_us);
    }
  });

  status_us_ = clock_->MonotonicUs();
  ReleaseFreeMemory();  // what reading the checkpoint and starting up left free
  Notify("READY=1\nSTATUS=" + StatusLine());
  Log(LogLevel::kInfo, "sensorgate %s started: %zu sources, %zu sinks%s", config_.gateway.name.c_str(),
      sources_.size(), sinks_.size(), watchdog_us > 0 ? ", watchdog on" : "");

  while (!stop_) {
    const Status s = loop_.RunOnce();
    if (!s.ok()) {
      Log(LogLevel::kError, "%s", s.message().c_str());
      return 1;
    }
    if (reload_ && !stop_) {
      reload_ = false;
      Reload();
    }
  }

  Notify("STOPPING=1");
  // Disconnect, then read what was already received, for a bounded time:
  // what is left stays in the source (the MQTT journal, the files) for the
  // next start.
  for (RunningSource& r : sources_) r.source->Stop(clock_->MonotonicUs() + kStopSourcesUs);
  const int64_t drain_until = clock_->MonotonicUs() + kDrainAtStopUs;
  for (RunningSource& r : sources_) {
    while (r.source->Poll(loop_.budget()) && clock_->MonotonicUs() < drain_until) {
    }
  }
  pipeline_->PublishWindows();
  for (RunningSink& r : sinks_) {
    const Status s = r.sink->Flush(clock_->MonotonicUs() + kFlushSinksUs);
    if (!s.ok()) Log(LogLevel::kWarning, "stopping: %s: %s", r.factory->name, s.message().c_str());
  }
  Log(LogLevel::kInfo, "stopping: writing the checkpoint");
  Checkpoint();
  const PipelineCounters& c = pipeline_->counters();
  Log(LogLevel::kInfo, "stopped: %llu records read, %llu accepted, %llu rejected",
      static_cast<unsigned long long>(c.records), static_cast<unsigned long long>(c.accepted),
      static_cast<unsigned long long>(c.rejected_total()));
  return checkpoint_status_.ok() ? 0 : 1;
}

}  // namespace

int RunDaemon(const std::string& config_path, const Config& config) {
  Daemon daemon(config_path, config, SystemClock());
  return daemon.Run();
}

}  // namespace sensorgate
