#include "simulator/traffic_profile.h"

#include <algorithm>
#include <numeric>

#include "simulator/record_format.h"

namespace sensorgate {
namespace {

constexpr int64_t kMaxOffsetStepMicros = 40;
constexpr int64_t kSurgeFactor = 6;
constexpr int64_t kLatencyFactor = 8;

uint64_t CyclesOf(int64_t micros, int64_t step_micros) {
  return static_cast<uint64_t>((micros + step_micros - 1) / step_micros);
}

}  // namespace

TrafficProfile::TrafficProfile(const SimOptions& options, StreamHooks* hooks)
    : LineProfile(options, hooks),
      cells_(static_cast<uint32_t>(options.equipment)),
      value_rng_(options.seed, kProfileValueStream),
      order_rng_(options.seed, kProfileOrderStream),
      time_rng_(options.seed, kProfileTimeStream),
      protocol_rng_(options.seed, kProfileProtocolStream) {
  Rng setup_rng(options.seed, kProfileSetupStream);
  for (uint32_t i = 0; i < cells_; ++i) {
    keys_.push_back(ProfileKeyName("C", i, cells_));
    base_bytes_.push_back(setup_rng.Between(50000, 500000));
    base_latency_tenths_.push_back(setup_rng.Between(100, 600));
  }
  episode_of_.assign(cells_, -1);
  PlanEpisodes(&setup_rng);
  order_.resize(cells_);
  std::iota(order_.begin(), order_.end(), 0u);
  if (options_.has_start_time) {
    max_offset_step_micros_ =
        std::min<int64_t>(kMaxOffsetStepMicros, (options_.step_micros - 1) / cells_);
  }
}

void TrafficProfile::PlanEpisodes(Rng* rng) {
  if (options_.hot <= 0) return;
  const auto hot = static_cast<uint32_t>(options_.hot);
  std::vector<uint32_t> ids(cells_);
  std::iota(ids.begin(), ids.end(), 0u);
  for (uint32_t i = 0; i < 2 * hot; ++i) std::swap(ids[i], ids[i + rng->Below(cells_ - i)]);
  const uint64_t lead = CyclesOf(kTrafficLeadMicros, options_.step_micros);
  const uint64_t length = CyclesOf(kTrafficEpisodeMicros, options_.step_micros);
  // Whole cycles the run is known (or expected, 90% of --duration x --rate)
  // to reach; the episode and one cycle after it fit in them.
  uint64_t cycles = options_.count / cells_;
  if (options_.count == 0 && options_.duration_micros > 0 && options_.rate > 0) {
    cycles = static_cast<uint64_t>(0.9 * static_cast<double>(options_.duration_micros) / 1e6 *
                                   options_.rate / cells_);
  }
  const uint64_t latest =
      cycles >= TrafficMinCycles(options_.step_micros) ? cycles - 1 - length : 2 * lead;
  for (uint32_t i = 0; i < 2 * hot; ++i) {
    Episode e;
    e.cell = ids[i];
    e.surge = i < hot;
    e.from_cycle = static_cast<uint64_t>(
        rng->Between(static_cast<int64_t>(lead), static_cast<int64_t>(latest)));
    e.to_cycle = e.from_cycle + length;
    episodes_.push_back(e);
  }
  std::sort(episodes_.begin(), episodes_.end(), [this](const Episode& a, const Episode& b) {
    return a.from_cycle != b.from_cycle ? a.from_cycle < b.from_cycle
                                        : keys_[a.cell] < keys_[b.cell];
  });
  for (size_t i = 0; i < episodes_.size(); ++i) {
    episode_of_[episodes_[i].cell] = static_cast<int>(i);
  }
}

void TrafficProfile::StartCycle(TimeMicros cycle_time) {
  for (Episode& e : episodes_) {
    if (e.from_cycle == cycle_) {
      e.from_seen = true;
      e.from_time = cycle_time;
    }
    if (e.to_cycle == cycle_) {
      e.to_seen = true;
      e.to_time = cycle_time;
    }
  }
}

bool TrafficProfile::NextGood(std::string* text, uint32_t* key) {
  for (;;) {
    if (stopping_ || (options_.count != 0 && generated_ == options_.count)) return false;
    if (slot_ == cells_) {
      ++cycle_;
      slot_ = 0;
    }
    if (slot_ == 0) {
      if (!BeforeCycle(cycle_)) {
        stopping_ = true;
        continue;
      }
      for (uint32_t i = cells_ - 1; i > 0; --i) {
        std::swap(order_[i], order_[order_rng_.Below(i + 1)]);
      }
      offset_micros_ = 0;
    }
    if (!BeforeRecord(generated_)) {
      stopping_ = true;
      continue;
    }
    break;
  }
  const uint32_t cell = order_[slot_];
  TimeMicros t;
  if (options_.has_start_time) {
    const TimeMicros cycle_time =
        options_.start_time + static_cast<TimeMicros>(cycle_) * options_.step_micros;
    if (slot_ == 0) StartCycle(cycle_time);
    t = cycle_time + offset_micros_;
    offset_micros_ +=
        static_cast<int64_t>(time_rng_.Below(static_cast<uint64_t>(max_offset_step_micros_) + 1));
  } else {
    t = std::max(WallClockMicros(), last_time_);
    if (slot_ == 0) StartCycle(t);
  }
  t = std::min(t, kMaxTimeMicros);
  last_time_ = t;
  ++slot_;
  ++generated_;

  const uint64_t p = protocol_rng_.Below(100);
  const char* protocol = p < 70 ? "TCP" : p < 95 ? "UDP" : "ICMP";
  bool surge = false;
  bool slow = false;
  const int index = episode_of_[cell];
  if (index >= 0) {
    const Episode& e = episodes_[static_cast<size_t>(index)];
    const bool in = cycle_ >= e.from_cycle && cycle_ < e.to_cycle;
    surge = in && e.surge;
    slow = in && !e.surge;
  }
  int64_t bytes;
  if (p < 95) {
    bytes = base_bytes_[cell] * value_rng_.Between(900, 1100) / 1000;
    if (surge) bytes *= kSurgeFactor;
  } else {
    bytes = value_rng_.Between(64, 1500);  // ICMP: small, never surges
  }
  int64_t latency = base_latency_tenths_[cell] * value_rng_.Between(900, 1100) / 1000;
  if (slow) latency *= kLatencyFactor;

  char latency_text[16];
  text->assign("{\"time\":\"");
  *text += FormatRfc3339(t);
  *text += "\",\"cell\":\"";
  *text += keys_[cell];
  *text += "\",\"protocol\":\"";
  *text += protocol;
  *text += "\",\"bytes\":";
  *text += std::to_string(bytes);
  *text += ",\"packets\":";
  *text += std::to_string(bytes / 1000 + 1);
  *text += ",\"latency_ms\":";
  text->append(latency_text, FormatTenths(static_cast<int32_t>(latency), latency_text));
  *text += "}";
  *key = cell;
  return true;
}

std::string TrafficProfile::TruthText() const {
  std::string text;
  const auto time = [](bool seen, TimeMicros when) {
    return seen ? "\"" + FormatRfc3339(when) + "\"" : std::string("null");
  };
  for (const Episode& e : episodes_) {
    text += "{\"cell\":\"" + keys_[e.cell] + "\",\"kind\":\"" + (e.surge ? "surge" : "latency") +
            "\",\"from\":" + time(e.from_seen, e.from_time) +
            ",\"to\":" + time(e.to_seen, e.to_time) + "}\n";
  }
  return text;
}

}  // namespace sensorgate
