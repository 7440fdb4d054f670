// EquipmentModel: the temperature of one simulated equipment, reading by
// reading, in tenths of a degree Celsius (so every value is exact and prints
// with one decimal).
//
// Normally a reading is the equipment's mean (20.0-62.0) plus a slow wander
// (a bounded random walk within +-3.0) plus noise (+-5.0), clamped to at most
// kNormalMaxTenths: no normal reading exceeds 70.0, so no average of normal
// readings does either.
//
// A hot equipment also has one HotEpisode: a ramp up from its mean towards
// the hot temperature (never above it), a plateau strictly above it, a ramp
// down (never above it) to a low point below the mean, and a recovery back to
// the mean, each with noise of only +-0.5 so a window average rises and falls
// with the trend and cannot flap across a 2-degree hysteresis band.
// Plain data: one thread at a time.
#ifndef SENSORGATE_SIMULATOR_EQUIPMENT_MODEL_H_
#define SENSORGATE_SIMULATOR_EQUIPMENT_MODEL_H_

#include <cstdint>

#include "simulator/rng.h"

namespace sensorgate {

constexpr int32_t kNormalMeanMinTenths = 200;
constexpr int32_t kNormalMeanMaxTenths = 620;
constexpr int32_t kNormalMaxTenths = 700;

// Hot episodes are planned so that a 60-reading window sees normal readings
// before (kHotLeadReadings) and after (kHotTailReadings) them; the plateau
// holds at least kHotMinPlateauReadings readings.
constexpr uint64_t kHotLeadReadings = 20;
constexpr uint64_t kHotTailReadings = 60;
constexpr uint64_t kHotMinPlateauReadings = 60;
constexpr uint64_t kHotMinRampReadings = 10;
// Fewest readings per equipment that fit a lead, an episode and a tail.
constexpr uint64_t kMinHotReadingsPerEquipment =
    kHotLeadReadings + kHotMinPlateauReadings + 3 * kHotMinRampReadings + kHotTailReadings;

// One excursion above the hot temperature. Reading numbers are 0-based
// indexes of this equipment's own readings.
struct HotEpisode {
  uint64_t start = 0;  // first reading of the ramp up
  uint32_t ramp_up = 0;
  uint32_t plateau = 0;
  uint32_t ramp_down = 0;
  uint32_t recovery = 0;
  int32_t plateau_tenths = 0;  // plateau readings are this +-0.5
  int32_t low_tenths = 0;      // where the ramp down ends, below the mean

  // First and last (inclusive) reading above the hot temperature.
  uint64_t hot_from() const { return start + ramp_up; }
  uint64_t hot_to() const { return start + ramp_up + plateau - 1; }
  // Last reading of the episode (end of the recovery).
  uint64_t last() const { return hot_to() + ramp_down + recovery; }
};

class EquipmentModel {
 public:
  EquipmentModel() = default;
  explicit EquipmentModel(int32_t mean_tenths) : mean_tenths_(mean_tenths) {}

  // Gives this equipment a hot episode. REQUIRES: no reading generated yet,
  // episode.plateau_tenths - 5 > hot_temp_tenths, episode.low_tenths < mean.
  void SetHotEpisode(const HotEpisode& episode, int32_t hot_temp_tenths) {
    episode_ = episode;
    hot_temp_tenths_ = hot_temp_tenths;
    hot_ = true;
  }

  // Returns reading number readings() and advances to the next.
  int32_t NextTenths(Rng* rng);

  uint64_t readings() const { return index_; }
  int32_t mean_tenths() const { return mean_tenths_; }
  bool hot() const { return hot_; }
  const HotEpisode& episode() const { return episode_; }

 private:
  int32_t NormalTenths(Rng* rng);
  int32_t EpisodeTenths(uint64_t i, Rng* rng) const;

  int32_t mean_tenths_ = 400;
  int32_t wander_tenths_ = 0;
  uint64_t index_ = 0;
  bool hot_ = false;
  int32_t hot_temp_tenths_ = 0;
  HotEpisode episode_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_EQUIPMENT_MODEL_H_
