#include "simulator/equipment_model.h"

#include <algorithm>

namespace sensorgate {
namespace {

constexpr int32_t kWanderLimitTenths = 30;
constexpr int32_t kNormalNoiseTenths = 50;
constexpr int32_t kEpisodeNoiseTenths = 5;

// from + (to - from) * step / steps, in 64-bit so nothing overflows.
int32_t Lerp(int32_t from, int32_t to, uint64_t step, uint64_t steps) {
  return static_cast<int32_t>(from + (static_cast<int64_t>(to) - from) *
                                         static_cast<int64_t>(step) / static_cast<int64_t>(steps));
}

}  // namespace

int32_t EquipmentModel::NextTenths(Rng* rng) {
  const uint64_t i = index_++;
  if (hot_ && i >= episode_.start && i <= episode_.last()) return EpisodeTenths(i, rng);
  return NormalTenths(rng);
}

int32_t EquipmentModel::NormalTenths(Rng* rng) {
  wander_tenths_ += static_cast<int32_t>(rng->Between(-1, 1));
  wander_tenths_ = std::clamp(wander_tenths_, -kWanderLimitTenths, kWanderLimitTenths);
  const int32_t noise = static_cast<int32_t>(rng->Between(-kNormalNoiseTenths, kNormalNoiseTenths));
  return std::min(mean_tenths_ + wander_tenths_ + noise, kNormalMaxTenths);
}

int32_t EquipmentModel::EpisodeTenths(uint64_t i, Rng* rng) const {
  const HotEpisode& e = episode_;
  const int32_t noise =
      static_cast<int32_t>(rng->Between(-kEpisodeNoiseTenths, kEpisodeNoiseTenths));
  uint64_t k = i - e.start;
  if (k < e.ramp_up) {
    const int32_t trend = Lerp(mean_tenths_, hot_temp_tenths_, k + 1, e.ramp_up + 1);
    return std::min(trend + noise, hot_temp_tenths_);
  }
  k -= e.ramp_up;
  if (k < e.plateau) return e.plateau_tenths + noise;
  k -= e.plateau;
  if (k < e.ramp_down) {
    const int32_t trend = Lerp(hot_temp_tenths_, e.low_tenths, k + 1, e.ramp_down + 1);
    return std::min(trend + noise, hot_temp_tenths_);
  }
  k -= e.ramp_down;
  const int32_t trend = Lerp(e.low_tenths, mean_tenths_, k + 1, e.recovery + 1);
  return std::min(trend + noise, kNormalMaxTenths);
}

}  // namespace sensorgate
