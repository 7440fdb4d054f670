#include "simulator/reading_stream.h"

#include <algorithm>
#include <numeric>

namespace sensorgate {
namespace {

// Rng stream numbers: one per kind of choice, so they do not disturb each other.
enum RngStream : uint64_t {
  kSetupStream = 1,
  kValueStream,
  kOrderStream,
  kTimeStream,
  kLateStream,
  kBadStream,
  kNoiseStream,
  kGlitchStream,
  kSpikeStream,
};

// Episode length (ramps and plateau) when the run's length is unknown, and
// the longest one otherwise; and how late an episode may start when the
// run's length is unknown.
constexpr uint64_t kDefaultEpisodeReadings = 360;
constexpr uint64_t kMaxEpisodeReadings = 600;
constexpr uint64_t kDefaultLatestStart = kHotLeadReadings + 600;

// Largest gap between two readings of one cycle.
constexpr int64_t kMaxOffsetStepMicros = 40;

// Relative weights of the malformations; oversized lines are rarer because
// each is over 64 KiB.
struct BadWeight {
  BadKind kind;
  uint32_t json_weight;
  uint32_t number_weight;  // 0: not applicable to a bare-number payload
};
constexpr BadWeight kBadWeights[] = {
    {BadKind::kTruncated, 4, 4},     {BadKind::kValueString, 4, 4},
    {BadKind::kValueTrue, 4, 4},     {BadKind::kValueNull, 4, 4},
    {BadKind::kMissingSensor, 4, 0}, {BadKind::kMissingTemperature, 4, 4},
    {BadKind::kControlEscape, 4, 0}, {BadKind::kControlRaw, 4, 0},
    {BadKind::kOversized, 1, 1},     {BadKind::kGarbage, 4, 4},
    {BadKind::kEmptySensor, 4, 0},
};

std::string KeyName(uint32_t index, int width) {
  std::string digits = std::to_string(index + 1);
  if (static_cast<int>(digits.size()) < width) {
    digits.insert(0, static_cast<size_t>(width) - digits.size(), '0');
  }
  return "sensor" + digits;
}

}  // namespace

ReadingStream::ReadingStream(const StreamOptions& options, StreamHooks* hooks)
    : options_(options),
      hooks_(hooks),
      equipment_count_(static_cast<uint32_t>(options.equipment)),
      value_rng_(options.seed, kValueStream),
      order_rng_(options.seed, kOrderStream),
      time_rng_(options.seed, kTimeStream),
      late_rng_(options.seed, kLateStream),
      bad_rng_(options.seed, kBadStream),
      noise_rng_(options.seed, kNoiseStream),
      glitch_rng_(options.seed, kGlitchStream),
      spike_rng_(options.seed, kSpikeStream),
      late_threshold_(Rng::ChanceThreshold(options.late_fraction)),
      bad_threshold_(Rng::ChanceThreshold(options.bad_fraction)),
      glitch_threshold_(Rng::ChanceThreshold(options.glitch_fraction)),
      spike_threshold_(Rng::ChanceThreshold(options.spike_fraction)) {
  const int width = std::max(2, static_cast<int>(std::to_string(equipment_count_).size()));
  keys_.reserve(equipment_count_);
  models_.reserve(equipment_count_);
  Rng setup_rng(options.seed, kSetupStream);
  for (uint32_t i = 0; i < equipment_count_; ++i) {
    keys_.push_back(KeyName(i, width));
    models_.emplace_back(
        static_cast<int32_t>(setup_rng.Between(kNormalMeanMinTenths, kNormalMeanMaxTenths)));
  }
  truth_index_.assign(equipment_count_, -1);
  PlanHotEpisodes(&setup_rng);
  order_.resize(equipment_count_);
  std::iota(order_.begin(), order_.end(), 0u);
  if (options_.simulated_time) {
    max_offset_step_micros_ =
        std::min<int64_t>(kMaxOffsetStepMicros, (options_.step_micros - 1) / equipment_count_);
  }
  if (spike_threshold_ != 0) next_spike_index_.assign(equipment_count_, kCleanWarmupReadings);
  held_previous_.reserve(64);
  held_current_.reserve(64);
}

void ReadingStream::PlanHotEpisodes(Rng* rng) {
  if (options_.hot <= 0) return;
  std::vector<uint32_t> ids(equipment_count_);
  std::iota(ids.begin(), ids.end(), 0u);
  const auto hot = static_cast<uint32_t>(options_.hot);
  for (uint32_t i = 0; i < hot; ++i) {
    std::swap(ids[i], ids[i + rng->Below(equipment_count_ - i)]);
  }
  const uint64_t per_equipment = options_.count != 0 ? options_.count / equipment_count_
                                                     : options_.expected_readings_per_equipment;
  const bool known = per_equipment >= kMinHotReadingsPerEquipment;
  const uint64_t length =
      known ? std::min(per_equipment - kHotLeadReadings - kHotTailReadings, kMaxEpisodeReadings)
            : kDefaultEpisodeReadings;
  // Ramps of an eighth each, but never so long that the plateau gets short.
  const uint64_t ramp =
      std::clamp(length / 8, kHotMinRampReadings, (length - kHotMinPlateauReadings) / 3);
  const uint64_t latest_start =
      known ? per_equipment - kHotTailReadings - length : kDefaultLatestStart;
  for (uint32_t i = 0; i < hot; ++i) {
    EquipmentModel& model = models_[ids[i]];
    HotEpisode e;
    e.start = static_cast<uint64_t>(
        rng->Between(static_cast<int64_t>(kHotLeadReadings), static_cast<int64_t>(latest_start)));
    e.ramp_up = e.ramp_down = e.recovery = static_cast<uint32_t>(ramp);
    e.plateau = static_cast<uint32_t>(length - 3 * ramp);
    e.plateau_tenths = options_.hot_temp_tenths + static_cast<int32_t>(rng->Between(10, 80));
    e.low_tenths = model.mean_tenths() - static_cast<int32_t>(rng->Between(30, 80));
    model.SetHotEpisode(e, options_.hot_temp_tenths);
    TruthEntry entry;
    entry.key = keys_[ids[i]];
    entry.episode = e;
    truth_.push_back(entry);
  }
  // Index the entries by equipment, sorted by key (keys sort as numbers).
  std::sort(truth_.begin(), truth_.end(),
            [](const TruthEntry& a, const TruthEntry& b) { return a.key < b.key; });
  for (size_t t = 0; t < truth_.size(); ++t) {
    for (uint32_t i = 0; i < hot; ++i) {
      if (keys_[ids[i]] == truth_[t].key) truth_index_[ids[i]] = static_cast<int>(t);
    }
  }
}

std::vector<TruthEntry> ReadingStream::Truth() const {
  std::vector<TruthEntry> truth = truth_;
  for (uint32_t i = 0; i < equipment_count_; ++i) {
    if (truth_index_[i] >= 0)
      truth[static_cast<size_t>(truth_index_[i])].readings = models_[i].readings();
  }
  return truth;
}

bool ReadingStream::Next(Record* record) {
  if (!has_pending_) {
    if (!NextGood(&pending_)) return false;
    has_pending_ = true;
  }
  if (bad_rng_.Chance(bad_threshold_)) {
    MakeBad(pending_, record);
    return true;
  }
  *record = pending_;
  has_pending_ = false;
  return true;
}

bool ReadingStream::NextGood(Record* record) {
  for (;;) {
    switch (phase_) {
      case Phase::kReadings: {
        if (stopping_ || (options_.count != 0 && generated_ == options_.count)) {
          // Held readings of the previous cycle first, then this cycle's.
          held_previous_.insert(held_previous_.end(), held_current_.begin(), held_current_.end());
          held_current_.clear();
          release_pos_ = 0;
          phase_ = Phase::kDrain;
          continue;
        }
        if (slot_ == equipment_count_) {
          release_pos_ = 0;
          phase_ = Phase::kRelease;
          continue;
        }
        if (slot_ == 0) {
          if (cycle_ > 0 && hooks_ != nullptr && !hooks_->BeforeCycle(cycle_)) {
            stopping_ = true;
            continue;
          }
          for (uint32_t i = equipment_count_ - 1; i > 0; --i) {
            std::swap(order_[i], order_[order_rng_.Below(i + 1)]);
          }
          offset_micros_ = 0;
        }
        if (hooks_ != nullptr && !hooks_->BeforeReading(generated_)) {
          stopping_ = true;
          continue;
        }
        GenerateReading(order_[slot_], record);
        ++slot_;
        ++generated_;
        if (late_rng_.Chance(late_threshold_)) {
          held_current_.push_back(*record);
          continue;
        }
        return true;
      }
      case Phase::kRelease:
        if (release_pos_ < held_previous_.size()) {
          *record = held_previous_[release_pos_++];
          return true;
        }
        held_previous_.swap(held_current_);
        held_current_.clear();
        ++cycle_;
        slot_ = 0;
        phase_ = Phase::kReadings;
        continue;
      case Phase::kDrain:
        if (release_pos_ < held_previous_.size()) {
          *record = held_previous_[release_pos_++];
          return true;
        }
        held_previous_.clear();
        phase_ = Phase::kDone;
        continue;
      case Phase::kDone:
        return false;
    }
  }
}

void ReadingStream::GenerateReading(uint32_t equipment, Record* record) {
  EquipmentModel& model = models_[equipment];
  const uint64_t index = model.readings();
  record->equipment = equipment;
  record->tenths = model.NextTenths(&value_rng_);
  record->noise = noise_rng_.Next();
  record->bad = BadKind::kNone;
  TimeMicros t;
  if (options_.simulated_time) {
    t = options_.start_time + static_cast<TimeMicros>(cycle_) * options_.step_micros +
        offset_micros_;
    offset_micros_ +=
        static_cast<int64_t>(time_rng_.Below(static_cast<uint64_t>(max_offset_step_micros_) + 1));
  } else {
    t = std::max(WallClockMicros(), last_time_);
  }
  t = std::min(t, kMaxTimeMicros);
  last_time_ = t;
  record->time = t;
  const int truth = truth_index_[equipment];
  if (truth >= 0) {
    TruthEntry& entry = truth_[static_cast<size_t>(truth)];
    const HotEpisode& e = entry.episode;
    if (index == e.hot_from()) {
      entry.from_seen = true;
      entry.from_time = t;
      entry.peak_tenths = record->tenths;
    }
    if (index >= e.hot_from() && index <= e.hot_to()) {
      entry.peak_tenths = std::max(entry.peak_tenths, record->tenths);
    }
    if (index == e.hot_to()) {
      entry.to_seen = true;
      entry.to_time = t;
    }
    if (index == e.last()) entry.last_seen = true;
  }
  if (glitch_threshold_ != 0 || spike_threshold_ != 0) MaybeGlitchOrSpike(index, record);
}

void ReadingStream::MaybeGlitchOrSpike(uint64_t index, Record* record) {
  // Both rolls are made for every reading, eligible or not, so the glitches
  // chosen do not depend on --spike and the reverse.
  const bool glitch = glitch_rng_.Chance(glitch_threshold_);
  const bool glitch_high = glitch && glitch_rng_.Below(2) == 1;
  const bool spike = spike_rng_.Chance(spike_threshold_);
  if (!glitch && !spike) return;
  if (index < kCleanWarmupReadings) return;
  const EquipmentModel& model = models_[record->equipment];
  if (model.hot()) {
    const HotEpisode& e = model.episode();
    // A window that still holds episode readings cannot judge a spike.
    if (index >= e.start && index <= e.last() + kCleanWarmupReadings) return;
  }
  CleanEvent event;
  event.equipment = record->equipment;
  event.time = record->time;
  if (glitch) {
    record->tenths = glitch_high ? kGlitchHighTenths : kGlitchLowTenths;
  } else {
    uint64_t& next = next_spike_index_[record->equipment];
    if (index < next) return;
    next = index + kCleanWarmupReadings + 1;
    record->tenths += kSpikeTenths;
    event.spike = true;
  }
  event.tenths = record->tenths;
  clean_events_.push_back(event);
}

void ReadingStream::MakeBad(const Record& good, Record* bad) {
  uint32_t total = 0;
  for (const BadWeight& w : kBadWeights) {
    total += options_.number_payload ? w.number_weight : w.json_weight;
  }
  uint64_t pick = bad_rng_.Below(total);
  BadKind kind = BadKind::kGarbage;
  for (const BadWeight& w : kBadWeights) {
    const uint32_t weight = options_.number_payload ? w.number_weight : w.json_weight;
    if (pick < weight) {
      kind = w.kind;
      break;
    }
    pick -= weight;
  }
  *bad = good;
  bad->bad = kind;
  bad->noise = bad_rng_.Next();
}

}  // namespace sensorgate
