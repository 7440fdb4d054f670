#include "gateway/daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "gateway/daemon/checkpoint.h"
#include "gateway/sources/file/file_follower.h"
#include "gateway/base/json_format.h"
#include "gateway/base/log.h"
#include "gateway/pipeline/pipeline_metrics.h"
#include "gateway/sources/mqtt/mqtt_journal.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/base/time_util.h"
#if SENSORGATE_WITH_HTTP
#include "gateway/http/http_server.h"
#endif
#if SENSORGATE_WITH_MQTT
#include "gateway/sources/mqtt/mqtt_source.h"
#endif
#if SENSORGATE_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace sensorgate {
namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kFollowerPollUs = 1000 * kMs;  // polling fallback beside inotify
constexpr int64_t kStaleCheckUs = 1000 * kMs;
constexpr int64_t kStatusUs = 5000 * kMs;
constexpr size_t kMqttBudget = 4096;  // messages per turn of the loop
constexpr auto kMqttStopTimeout = std::chrono::milliseconds(2000);

// sd_notify(3), when built with libsystemd; a no-op otherwise.
void Notify(const std::string& state) {
#if SENSORGATE_WITH_SYSTEMD
  sd_notify(0, state.c_str());
#else
  (void)state;
#endif
}

int64_t WatchdogUs() {
#if SENSORGATE_WITH_SYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) return static_cast<int64_t>(usec);
#endif
  return 0;
}

bool SameMqttConfig(const MqttConfig& a, const MqttConfig& b) {
  return a.enabled == b.enabled && a.uri == b.uri && a.topics == b.topics && a.qos == b.qos &&
         a.client_id == b.client_id && a.clean_session == b.clean_session && a.username == b.username &&
         a.password_file == b.password_file && a.ca_file == b.ca_file && a.cert_file == b.cert_file &&
         a.key_file == b.key_file;
}

bool SameFileConfig(const FileConfig& a, const FileConfig& b) {
  return a.enabled == b.enabled && a.paths == b.paths && a.format == b.format &&
         a.from_beginning == b.from_beginning;
}

class Daemon : public LineSink, public Sink, public MqttJournal::Reader
#if SENSORGATE_WITH_HTTP
    ,
               public HttpContent
#endif
{
 public:
  Daemon(std::string config_path, Config config)
      : config_path_(std::move(config_path)),
        config_(std::move(config)),
        pipeline_(std::make_unique<Pipeline>(config_, config_.file.format, this)) {}

  ~Daemon() override {
    if (signal_fd_ >= 0) close(signal_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  int Run();

  // LineSink: lines from the file follower.
  void OnHeader(std::string_view line, const RecordOrigin& origin) override { pipeline_->OnHeader(line, origin); }
  void OnLine(const char* data, size_t len, const RecordOrigin& origin) override {
    pipeline_->ProcessRecord(data, len, WallClockMicros(), origin);
  }
  void OnTooLong(const RecordOrigin& origin) override { pipeline_->RejectTooLong(origin); }

  // MqttJournal::Reader: MQTT messages, read back from the journal in order.
  void OnJournaled(std::string_view topic, const char* payload, size_t len, TimeMicros arrival_us,
                   bool too_long) override {
    if (too_long) {
      pipeline_->RejectTooLong(RecordOrigin{topic, 0});
    } else {
      pipeline_->ProcessMessage(topic, payload, len, arrival_us);
    }
  }

  std::string_view name() const override { return "log"; }
  LinkState Link() const override { return LinkState{"log", true, "", 0, "", ""}; }
  // Sink: every alert event goes to the log, as the replay writes it.
  void OnAlert(const AlertEvent& e) override {
    std::string line;
    AppendAlertJson(&line, e.rule, e.state, e.key, e.avg, e.count, e.time_us);
    Log(e.state == "firing" ? LogLevel::kWarning : LogLevel::kInfo, "alert %s", line.c_str());
  }

#if SENSORGATE_WITH_HTTP
  // HttpContent: served on this thread, between records.
  void WriteMetrics(std::string* out) override;
  void WriteWindows(std::string* out) override { AppendWindowsJson(*pipeline_, out); }
  void WriteAlerts(std::string* out) override { AppendFiringAlertsJson(*pipeline_, out); }
  bool Healthy(std::string* why) override {
    if (!checkpoint_status_.ok()) {
      *why = "checkpoint failing: " + checkpoint_status_.message();
      return false;
    }
    return true;
  }
#endif

 private:
  bool OpenStateDir();
  bool StartSources(const std::vector<FilePosition>& positions);
  bool StartHttp();
  bool StartMqtt();
  void StopMqtt();
  void PollMqtt();
  void Watch(int fd);
  void Unwatch(int fd);
  void HandleSignals();
  void Reload();
  void Checkpoint();
  std::string StatusLine();
  std::vector<FilePosition> Positions() const {
    return follower_ ? follower_->Positions() : restored_positions_;
  }

  const std::string config_path_;
  Config config_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<FileFollower> follower_;
#if SENSORGATE_WITH_MQTT
  std::unique_ptr<MqttSource> mqtt_;
#endif
  bool mqtt_more_ = false;  // the journal holds messages not read yet
#if SENSORGATE_WITH_HTTP
  std::unique_ptr<HttpServer> http_;
#endif
  std::vector<FilePosition> restored_positions_;  // kept while [file] is off
  CheckpointMeta meta_;
  std::string checkpoint_path_;
  Status checkpoint_status_;
  uint64_t checkpointed_records_ = UINT64_MAX;
  int64_t started_us_ = MonotonicMicros();
  int64_t last_checkpoint_wall_us_ = 0;
  uint64_t reloads_ = 0, reload_failures_ = 0;
  int epoll_fd_ = -1, signal_fd_ = -1, lock_fd_ = -1;
  bool stop_ = false, reload_ = false;
  // For STATUS=: records/s since the last status.
  uint64_t status_records_ = 0;
  int64_t status_us_ = 0;
};

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

void Daemon::Watch(int fd) {
  if (fd < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void Daemon::Unwatch(int fd) {
  if (fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

bool Daemon::StartSources(const std::vector<FilePosition>& positions) {
  if (!config_.file.enabled) {
    restored_positions_ = positions;
    return true;
  }
  follower_ = std::make_unique<FileFollower>(config_.file, this);
  const Status s = follower_->Start(positions);
  if (!s.ok()) {
    Log(LogLevel::kError, "[file]: %s", s.message().c_str());
    return false;
  }
  Watch(follower_->inotify_fd());
  return true;
}

bool Daemon::StartHttp() {
#if SENSORGATE_WITH_HTTP
  if (!config_.http.enabled) return true;
  http_ = std::make_unique<HttpServer>(this);
  const Status s = http_->Start(config_.http.listen);
  if (!s.ok()) {
    Log(LogLevel::kError, "[http] listen = %s: %s", config_.http.listen.c_str(), s.message().c_str());
    http_.reset();
    return false;
  }
  Log(LogLevel::kInfo, "http: listening on %s (port %u)", config_.http.listen.c_str(),
      static_cast<unsigned>(http_->port()));
  Watch(http_->epoll_fd());
#else
  if (config_.http.enabled) {
    Log(LogLevel::kWarning, "[http] is configured but this build has no HTTP support (SENSORGATE_WITH_HTTP)");
  }
#endif
  return true;
}

bool Daemon::StartMqtt() {
#if SENSORGATE_WITH_MQTT
  if (!config_.mqtt.enabled) return true;
  if (!mqtt_) {
    mqtt_ = std::make_unique<MqttSource>(config_.gateway.state_dir, this);
    const Status s = mqtt_->Open(MqttPosition{meta_.mqtt_generation, meta_.mqtt_offset}, config_.mqtt);
    if (!s.ok()) {
      Log(LogLevel::kError, "[mqtt]: %s", s.message().c_str());
      mqtt_.reset();
      return false;
    }
    Watch(mqtt_->event_fd());
  }
  const Status s = mqtt_->Start(config_.mqtt);
  if (!s.ok()) {
    Log(LogLevel::kError, "%s", s.message().c_str());
    return false;
  }
  mqtt_more_ = true;  // read what the journal kept from before
#else
  if (config_.mqtt.enabled) {
    Log(LogLevel::kError, "[mqtt] is configured but this build has no MQTT support (SENSORGATE_WITH_MQTT)");
    return false;
  }
#endif
  return true;
}

// Disconnects from the broker and reads everything it had sent.
void Daemon::StopMqtt() {
#if SENSORGATE_WITH_MQTT
  if (!mqtt_) return;
  mqtt_->Stop(kMqttStopTimeout);
  while (mqtt_->Poll(SIZE_MAX)) {
  }
  mqtt_more_ = false;
  // What was received, by packet id: a redelivery after the restart is
  // recognized as one.
  mqtt_->journal().SaveRecent();
#endif
}

void Daemon::PollMqtt() {
#if SENSORGATE_WITH_MQTT
  if (mqtt_) mqtt_more_ = mqtt_->Poll(kMqttBudget);
#endif
}

void Daemon::Checkpoint() {
  const std::vector<FilePosition> positions = Positions();
#if SENSORGATE_WITH_MQTT
  if (mqtt_) {
    // The journal is made durable before the checkpoint that points into it.
    mqtt_->journal().Sync();
    const MqttPosition p = mqtt_->journal().position();
    meta_.mqtt_generation = p.generation;
    meta_.mqtt_offset = p.offset;
  }
#endif
  checkpoint_status_ = WriteCheckpoint(checkpoint_path_, *pipeline_, positions, meta_);
  if (!checkpoint_status_.ok()) {
    Log(LogLevel::kError, "checkpoint: %s", checkpoint_status_.message().c_str());
    return;
  }
  checkpointed_records_ = pipeline_->counters().records;
  last_checkpoint_wall_us_ = WallClockMicros();
#if SENSORGATE_WITH_MQTT
  if (mqtt_) mqtt_->journal().Checkpointed(MqttPosition{meta_.mqtt_generation, meta_.mqtt_offset});
#endif
}

std::string Daemon::StatusLine() {
  const int64_t now = MonotonicMicros();
  const uint64_t records = pipeline_->counters().records;
  const double secs = status_us_ ? static_cast<double>(now - status_us_) / 1e6 : 0;
  const double rate = secs > 0 ? static_cast<double>(records - status_records_) / secs : 0;
  status_records_ = records;
  status_us_ = now;
  uint32_t firing = 0;
  const WindowTable& w = pipeline_->windows();
  for (uint32_t s = 0; s < w.key_count(); ++s) firing += pipeline_->alert_phase(s) == AlertPhase::kFiring;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%.0f records/s, %u keys, %u alerts firing, %zu files, %llu rejected",
                rate, w.key_count(), firing, follower_ ? follower_->file_count() : size_t{0},
                static_cast<unsigned long long>(pipeline_->counters().rejected_total()));
  std::string line = buf;
#if SENSORGATE_WITH_MQTT
  if (mqtt_) line += ", " + mqtt_->StateText();
#endif
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
  Notify("RELOADING=1");
  Config& c = next.config;
  if (c.gateway.state_dir != config_.gateway.state_dir) {
    Log(LogLevel::kWarning, "reload: [gateway] state_dir changes only at a restart; still using %s",
        config_.gateway.state_dir.c_str());
    c.gateway.state_dir = config_.gateway.state_dir;
  }
  SetLogLevel(c.gateway.log_level);
  bool mqtt_changed = !SameMqttConfig(c.mqtt, config_.mqtt);
#if SENSORGATE_WITH_MQTT
  if (mqtt_ && !mqtt_changed && mqtt_->PasswordChanged()) mqtt_changed = true;
#endif
  // What the old subscription received is processed under the old rules.
  if (mqtt_changed) StopMqtt();
  pipeline_->Reconfigure(c, c.file.format);
  const bool files_changed = !SameFileConfig(c.file, config_.file);
  const bool http_changed = c.http.enabled != config_.http.enabled || c.http.listen != config_.http.listen;
  const std::vector<FilePosition> positions = Positions();
  config_ = std::move(c);
  if (files_changed) {
    if (follower_) Unwatch(follower_->inotify_fd());
    follower_.reset();
    if (!StartSources(positions)) Log(LogLevel::kError, "reload: [file] could not be started");
  }
  if (mqtt_changed) {
#if SENSORGATE_WITH_MQTT
    if (!config_.mqtt.enabled && mqtt_) {
      Unwatch(mqtt_->event_fd());
      mqtt_.reset();
    }
#endif
    if (!StartMqtt()) Log(LogLevel::kError, "reload: [mqtt] could not be started");
  }
#if SENSORGATE_WITH_HTTP
  if (http_changed) {
    if (http_) Unwatch(http_->epoll_fd());
    http_.reset();
    StartHttp();
  }
#else
  (void)http_changed;
#endif
  ++reloads_;
  Log(LogLevel::kInfo, "reload: configuration applied");
  Notify("READY=1\nSTATUS=" + StatusLine());
}

#if SENSORGATE_WITH_HTTP
void Daemon::WriteMetrics(std::string* out) {
  AppendPipelineMetrics(*pipeline_, out);
  const PipelineCounters& c = pipeline_->counters();
  AppendMetricHeader(out, "sensorgate_stale_alerts_total", MetricType::kCounter,
                     "Stale alerts (no reading for stale_after), by state.");
  AppendMetricSample(out, "sensorgate_stale_alerts_total", {{"state", "firing"}}, static_cast<double>(c.stale_firing));
  AppendMetricSample(out, "sensorgate_stale_alerts_total", {{"state", "resolved"}},
                     static_cast<double>(c.stale_resolved));
  if (follower_) {
    const FileFollower::Stats& s = follower_->stats();
    AppendMetric(out, "sensorgate_files_followed", MetricType::kGauge, "Files followed now.",
                 static_cast<double>(follower_->file_count()));
    AppendMetric(out, "sensorgate_file_bytes_read_total", MetricType::kCounter, "Bytes read from sensor files.",
                 static_cast<double>(s.bytes));
    AppendMetric(out, "sensorgate_file_rotations_total", MetricType::kCounter, "File rotations (renames) seen.",
                 static_cast<double>(s.rotations));
    AppendMetric(out, "sensorgate_file_truncations_total", MetricType::kCounter, "File truncations seen.",
                 static_cast<double>(s.truncations));
    AppendMetric(out, "sensorgate_file_recovered_lines_total", MetricType::kCounter,
                 "Lines read from a copytruncate copy that a plain tail would have lost.",
                 static_cast<double>(s.recovered_lines));
  }
#if SENSORGATE_WITH_MQTT
  if (mqtt_) {
    const MqttSource::Counters& m = mqtt_->counters();
    const MqttJournal::Stats& j = mqtt_->journal().stats();
    AppendMetric(out, "sensorgate_mqtt_connected", MetricType::kGauge,
                 "1 while connected to the MQTT broker and subscribed.", mqtt_->connected() ? 1 : 0);
    AppendMetric(out, "sensorgate_mqtt_messages_total", MetricType::kCounter, "MQTT messages received.",
                 static_cast<double>(m.messages.load()));
    AppendMetric(out, "sensorgate_mqtt_redelivered_total", MetricType::kCounter,
                 "MQTT messages the broker sent again (DUP flag): possible duplicates.",
                 static_cast<double>(m.redelivered.load()));
    AppendMetric(out, "sensorgate_mqtt_duplicates_dropped_total", MetricType::kCounter,
                 "Redelivered MQTT messages dropped: already received (same packet id and content).",
                 static_cast<double>(j.duplicates.load()));
    AppendMetric(out, "sensorgate_mqtt_connects_total", MetricType::kCounter, "Connections made to the broker.",
                 static_cast<double>(m.connects));
    AppendMetric(out, "sensorgate_mqtt_connection_losses_total", MetricType::kCounter,
                 "Connections to the broker lost.", static_cast<double>(m.connection_losses));
    AppendMetric(out, "sensorgate_mqtt_connect_failures_total", MetricType::kCounter,
                 "Connection attempts that failed.", static_cast<double>(m.connect_failures));
    AppendMetric(out, "sensorgate_mqtt_subscribe_failures_total", MetricType::kCounter,
                 "Subscriptions refused or failed.", static_cast<double>(m.subscribe_failures));
    AppendMetric(out, "sensorgate_mqtt_journal_backlog_bytes", MetricType::kGauge,
                 "Bytes of MQTT messages journaled and not yet processed.",
                 static_cast<double>(mqtt_->journal().backlog_bytes()));
    AppendMetric(out, "sensorgate_mqtt_journal_replayed_total", MetricType::kCounter,
                 "MQTT messages read again from the journal after a restart.", static_cast<double>(j.replayed));
    AppendMetric(out, "sensorgate_mqtt_journal_write_errors_total", MetricType::kCounter,
                 "MQTT messages the journal could not write (kept in memory instead).",
                 static_cast<double>(j.write_errors.load()));
    AppendMetric(out, "sensorgate_mqtt_journal_lost_total", MetricType::kCounter,
                 "MQTT messages lost: the journal could not write them and memory was full.",
                 static_cast<double>(j.lost.load()));
    AppendMetric(out, "sensorgate_mqtt_journal_torn_total", MetricType::kCounter,
                 "Torn or damaged journal frames skipped (a crash in the middle of a write).",
                 static_cast<double>(j.torn));
  }
#endif
  AppendMetric(out, "sensorgate_checkpoint_timestamp_seconds", MetricType::kGauge,
               "Wall-clock time of the last checkpoint written.",
               static_cast<double>(last_checkpoint_wall_us_) / 1e6);
  AppendMetric(out, "sensorgate_checkpoint_ok", MetricType::kGauge, "1 if the last checkpoint was written.",
               checkpoint_status_.ok() ? 1 : 0);
  AppendMetric(out, "sensorgate_reloads_total", MetricType::kCounter, "Configurations reloaded on SIGHUP.",
               static_cast<double>(reloads_));
  AppendMetric(out, "sensorgate_reload_failures_total", MetricType::kCounter,
               "SIGHUP reloads refused because the new file was invalid.", static_cast<double>(reload_failures_));
  AppendMetric(out, "sensorgate_uptime_seconds", MetricType::kGauge, "Seconds since the gateway started.",
               static_cast<double>(MonotonicMicros() - started_us_) / 1e6);
}
#endif

int Daemon::Run() {
  SetLogLevel(config_.gateway.log_level);
  if (!OpenStateDir()) return 1;
  std::vector<FilePosition> positions;
  bool found = false;
  const Status restored = ReadCheckpoint(checkpoint_path_, pipeline_.get(), &positions, &meta_, &found);
  if (!restored.ok()) {
    Log(LogLevel::kError, "%s", restored.message().c_str());
    return 1;
  }
  if (found) {
    Log(LogLevel::kInfo, "resumed from %s: %u keys, %zu files", checkpoint_path_.c_str(),
        pipeline_->windows().key_count(), positions.size());
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (signal_fd_ < 0 || epoll_fd_ < 0) {
    Log(LogLevel::kError, "cannot set up the event loop: %s", std::strerror(errno));
    return 1;
  }
  Watch(signal_fd_);
  if (!StartSources(positions) || !StartHttp() || !StartMqtt()) return 1;
  if (follower_) follower_->Poll();
  // Messages journaled before a crash are processed before the first checkpoint.
  while (mqtt_more_) PollMqtt();
  Checkpoint();

  const int64_t watchdog_us = WatchdogUs();
  int64_t now = MonotonicMicros();
  int64_t next_poll = now + kFollowerPollUs, next_checkpoint = now + config_.gateway.checkpoint_interval_us;
  int64_t next_stale = now + kStaleCheckUs, next_status = now + kStatusUs;
  int64_t next_watchdog = watchdog_us > 0 ? now : INT64_MAX;
  status_us_ = now;
  Notify("READY=1\nSTATUS=" + StatusLine());
  Log(LogLevel::kInfo, "sensorgate %s started: %zu files followed%s%s", config_.gateway.name.c_str(),
      follower_ ? follower_->file_count() : size_t{0}, config_.mqtt.enabled ? ", mqtt on" : "",
      watchdog_us > 0 ? ", watchdog on" : "");

  epoll_event events[16];
  while (!stop_) {
    now = MonotonicMicros();
    int64_t wake = std::min({next_poll, next_checkpoint, next_stale, next_status, next_watchdog});
    if (mqtt_more_) wake = now;
#if SENSORGATE_WITH_MQTT
    if (mqtt_) wake = std::min(wake, mqtt_->next_poll_us());
#endif
#if SENSORGATE_WITH_HTTP
    if (http_ && http_->timeout_ms() >= 0) wake = std::min(wake, now + http_->timeout_ms() * kMs);
#endif
    const int timeout_ms = static_cast<int>(std::max<int64_t>(0, (wake - now + kMs - 1) / kMs));
    const int n = epoll_wait(epoll_fd_, events, 16, timeout_ms);
    if (n < 0 && errno != EINTR) {
      Log(LogLevel::kError, "epoll_wait: %s", std::strerror(errno));
      return 1;
    }
    bool http_ready = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == signal_fd_) {
        HandleSignals();
      } else if (follower_ && fd == follower_->inotify_fd()) {
        follower_->Poll();
      }
#if SENSORGATE_WITH_MQTT
      else if (mqtt_ && fd == mqtt_->event_fd()) {
        mqtt_more_ = true;
      }
#endif
#if SENSORGATE_WITH_HTTP
      else if (http_ && fd == http_->epoll_fd()) {
        http_ready = true;
      }
#endif
    }
    if (stop_) break;
    if (reload_) {
      reload_ = false;
      Reload();
    }
#if SENSORGATE_WITH_MQTT
    if (mqtt_ && (mqtt_more_ || MonotonicMicros() >= mqtt_->next_poll_us())) PollMqtt();
#endif
    now = MonotonicMicros();
    if (now >= next_poll) {
      if (follower_) follower_->Poll();
      next_poll = now + kFollowerPollUs;
    }
    if (now >= next_stale) {
      pipeline_->CheckStale(WallClockMicros());
      next_stale = now + kStaleCheckUs;
    }
    if (now >= next_checkpoint) {
      if (pipeline_->counters().records != checkpointed_records_ || !checkpoint_status_.ok()) Checkpoint();
      next_checkpoint = now + config_.gateway.checkpoint_interval_us;
    }
    if (now >= next_watchdog) {
      // Reached only while this loop runs: a stuck loop sends nothing.
      Notify("WATCHDOG=1");
      next_watchdog = now + watchdog_us / 2;
    }
    if (now >= next_status) {
      Notify("STATUS=" + StatusLine());
      next_status = now + kStatusUs;
    }
#if SENSORGATE_WITH_HTTP
    if (http_ && (http_ready || http_->timeout_ms() == 0)) http_->Run();
#else
    (void)http_ready;
#endif
  }

  Notify("STOPPING=1");
  StopMqtt();
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
  Daemon daemon(config_path, config);
  return daemon.Run();
}

}  // namespace sensorgate
