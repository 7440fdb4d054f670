#include "simulator/processes_profile.h"

#include <algorithm>

#include "gateway/base/time_util.h"
#include "simulator/record_format.h"

namespace sensorgate {
namespace {

const char* const kCommands[] = {
    "nginx",   "sshd", "postgres", "java",    "python3",
    "systemd", "cron", "bash",     "dockerd", "redis-server",
};

}  // namespace

ProcessesProfile::ProcessesProfile(const SimOptions& options, StreamHooks* hooks)
    : LineProfile(options, hooks),
      machines_(static_cast<uint32_t>(options.equipment)),
      step_seconds_(options.step_micros / kMicrosPerSecond),
      count_rng_(options.seed, kProfileSetupStream),
      value_rng_(options.seed, kProfileValueStream),
      order_rng_(options.seed, kProfileOrderStream),
      time_rng_(options.seed, kProfileTimeStream) {
  for (uint32_t i = 0; i < machines_; ++i) keys_.push_back(ProfileKeyName("M", i, machines_));
  // Without --start-time, the cycles start at the wall clock rounded down to
  // the step, so they still align to the epoch grid.
  const TimeMicros start = options.has_start_time ? options.start_time : WallClockMicros();
  start_seconds_ = start / kMicrosPerSecond / step_seconds_ * step_seconds_;
}

void ProcessesProfile::Shuffle(std::vector<Event>::iterator first,
                               std::vector<Event>::iterator last) {
  const auto n = static_cast<uint64_t>(last - first);
  for (uint64_t i = n; i > 1; --i) {
    std::swap(first[static_cast<int64_t>(i - 1)], first[static_cast<int64_t>(order_rng_.Below(i))]);
  }
}

// Queues cycle cycle_'s own records, shuffled, then the late ones of the
// cycle before, shuffled; keeps this cycle's late ones for the next.
void ProcessesProfile::PlanCycle() {
  queue_.clear();
  pos_ = 0;
  std::vector<Event> late;
  const int64_t from = start_seconds_ + static_cast<int64_t>(cycle_) * step_seconds_;
  const auto stamp = [&](uint32_t machine) {
    return Event{machine, from + static_cast<int64_t>(
                                     time_rng_.Below(static_cast<uint64_t>(step_seconds_)))};
  };
  for (uint32_t m = 0; m < machines_; ++m) {
    const auto x = static_cast<uint32_t>(
        count_rng_.Between(options_.cycle_records_min, options_.cycle_records_max));
    const auto y = static_cast<uint32_t>(
        count_rng_.Between(options_.late_records_min, options_.late_records_max));
    for (uint32_t i = 0; i < x; ++i) queue_.push_back(stamp(m));
    for (uint32_t i = 0; i < y; ++i) late.push_back(stamp(m));
    truth_.push_back(CycleTruth{m, cycle_, x + y, y});
  }
  Shuffle(queue_.begin(), queue_.end());
  Shuffle(late_.begin(), late_.end());
  queue_.insert(queue_.end(), late_.begin(), late_.end());
  late_.swap(late);
  ++cycle_;
}

bool ProcessesProfile::NextGood(std::string* text, uint32_t* key) {
  while (pos_ == queue_.size()) {
    if (done_) return false;
    if (finishing_ || (options_.cycles != 0 && cycle_ == options_.cycles) || !BeforeCycle(cycle_)) {
      // The late records of the last cycle, as if after a next one.
      queue_.clear();
      pos_ = 0;
      Shuffle(late_.begin(), late_.end());
      queue_.swap(late_);
      done_ = true;
      continue;
    }
    PlanCycle();
  }
  if (!finishing_ && !BeforeRecord(generated_)) finishing_ = true;
  const Event& e = queue_[pos_++];
  ++generated_;
  char cpu[16];
  char mem[16];
  const auto cpu_tenths = static_cast<int32_t>(value_rng_.Between(0, 1000));
  const auto mem_tenths = static_cast<int32_t>(value_rng_.Between(1, 400));
  text->assign("{\"ts\":");
  *text += std::to_string(e.ts);
  *text += ",\"machine\":\"";
  *text += keys_[e.machine];
  *text += "\",\"pid\":";
  *text += std::to_string(value_rng_.Between(100, 65535));
  *text += ",\"cmd\":\"";
  *text += kCommands[value_rng_.Below(sizeof kCommands / sizeof kCommands[0])];
  *text += "\",\"cpu\":";
  text->append(cpu, FormatTenths(cpu_tenths, cpu));
  *text += ",\"mem\":";
  text->append(mem, FormatTenths(mem_tenths, mem));
  *text += "}";
  *key = e.machine;
  return true;
}

std::string ProcessesProfile::TruthText() const {
  std::string text;
  for (const CycleTruth& t : truth_) {
    const int64_t from = start_seconds_ + static_cast<int64_t>(t.cycle) * step_seconds_;
    text +=
        "{\"machine\":\"" + keys_[t.machine] + "\",\"cycle\":" + std::to_string(t.cycle) +
        ",\"from\":" + std::to_string(from) + ",\"to\":" + std::to_string(from + step_seconds_) +
        ",\"records\":" + std::to_string(t.records) + ",\"late\":" + std::to_string(t.late) + "}\n";
  }
  return text;
}

}  // namespace sensorgate
