// ReadingStream: the simulator's records in the order they are emitted.
//
// Time advances in cycles. A cycle is one reading from each equipment, in an
// order shuffled by the seed. Each reading is stamped when it is generated:
// with simulated time (start + cycle * step + a few microseconds, always less
// than one step in all) or with the wall clock (never going backwards). A
// reading chosen late is held back and emitted at the end of the next cycle,
// after that cycle's readings, with its original stamp. Before each good
// record, with the --bad probability, a malformed record is emitted instead
// (and the roll is repeated), so malformed records are extra: the good
// records do not depend on --bad. Every random choice (values, order,
// lateness, malformations, ids, glitches, spikes) draws from its own Rng
// stream of the seed, so turning one feature on does not change what the
// others produce.
//
// Glitches and spikes (--glitch, --spike) replace the value of a good
// reading after the equipment model produced it, so the model's own walk is
// the same with or without them. They are only applied where a cleaning rule
// can judge them (see CleanEligible in reading_stream.cc).
//
// The stream is driven by one thread. StreamHooks lets the caller pace the
// readings, stop at a deadline and act at cycle boundaries.
#ifndef SENSORGATE_SIMULATOR_READING_STREAM_H_
#define SENSORGATE_SIMULATOR_READING_STREAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/base/time_util.h"
#include "simulator/equipment_model.h"
#include "simulator/rng.h"

namespace sensorgate {

// What kind of malformed record to write, or kNone for a good reading.
enum class BadKind : uint8_t {
  kNone,
  kTruncated,           // the good line cut short
  kValueString,         // "temperatura":"73.3"
  kValueTrue,           // "temperatura":true
  kValueNull,           // "temperatura":null
  kMissingSensor,       // no "sensor" field
  kMissingTemperature,  // "leitura":{}
  kControlEscape,       // "sensor":"sen\u0001sor07"
  kControlRaw,          // the same with a raw 0x01 byte
  kOversized,           // a line over 64 KiB
  kGarbage,             // not JSON at all
  kEmptySensor,         // "sensor":""
};

struct Record {
  uint32_t equipment = 0;  // 0-based; the key is ReadingStream::Key(equipment)
  int32_t tenths = 0;      // temperature in tenths of a degree Celsius
  TimeMicros time = 0;
  uint64_t noise = 0;  // random bits for the id suffix and the malformation
  BadKind bad = BadKind::kNone;
};

struct StreamOptions {
  int equipment = 50;
  uint64_t count = 0;  // good readings; 0: until Stop()
  // Readings per equipment the run is expected to reach when count is 0
  // (from --duration and --rate); 0: unknown. Sizes the hot episodes.
  uint64_t expected_readings_per_equipment = 0;
  uint64_t seed = 1;
  bool simulated_time = false;
  TimeMicros start_time = 0;
  int64_t step_micros = 100000;
  int hot = 0;
  int32_t hot_temp_tenths = 800;
  double late_fraction = 0;
  double bad_fraction = 0;
  bool number_payload = false;  // restricts malformations to bare-number kinds
  double glitch_fraction = 0;   // [0, 1]
  double spike_fraction = 0;    // [0, 1]
};

// A glitch reads kGlitchLowTenths or kGlitchHighTenths, far out of any
// physical range; a spike reads its normal value plus kSpikeTenths, in range.
constexpr int32_t kGlitchLowTenths = -9999;
constexpr int32_t kGlitchHighTenths = 99999;
constexpr int32_t kSpikeTenths = 300;
// A glitch or spike is only applied from a key's reading kCleanWarmupReadings
// on, never during a hot episode nor in the kCleanWarmupReadings readings
// after it, and a spike only kCleanWarmupReadings + 1 readings or more after
// the key's previous spike: a 60-reading window before a spike then holds only
// normal readings (glitches are out of range and never enter a window).
constexpr uint64_t kCleanWarmupReadings = 60;

// What the truth file says about one glitch or spike.
struct CleanEvent {
  uint32_t equipment = 0;
  bool spike = false;  // false: glitch
  TimeMicros time = 0;
  int32_t tenths = 0;
};

// What the truth file says about one hot equipment.
struct TruthEntry {
  std::string key;
  HotEpisode episode;
  bool from_seen = false;  // reading hot_from() was generated
  bool to_seen = false;    // reading hot_to() was generated
  bool last_seen = false;  // reading last() was generated
  uint64_t readings = 0;   // readings of this key generated in all
  TimeMicros from_time = 0;
  TimeMicros to_time = 0;
  int32_t peak_tenths = 0;
};

class StreamHooks {
 public:
  virtual ~StreamHooks() = default;
  // Called before each new reading is generated and stamped; `generated` is
  // the number of good readings generated so far. Returning false stops the
  // stream as Stop() does.
  virtual bool BeforeReading(uint64_t generated) = 0;
  // Called before the first reading of cycle `cycle` (>= 1). Returning false
  // stops the stream.
  virtual bool BeforeCycle(uint64_t cycle) = 0;
};

class ReadingStream {
 public:
  // REQUIRES: options were validated (see ParseSimCommandLine). `hooks` may
  // be null and must outlive the stream.
  ReadingStream(const StreamOptions& options, StreamHooks* hooks);

  // Sets *record to the next record to emit. Returns false when the stream
  // has ended: count reached or stopped, and every held reading emitted.
  bool Next(Record* record);

  // Generates no further readings; Next() then returns the readings still
  // held back and ends.
  void Stop() { stopping_ = true; }

  // Equipment key, "sensor07". REQUIRES: equipment < options.equipment.
  const std::string& Key(uint32_t equipment) const { return keys_[equipment]; }
  const std::vector<std::string>& keys() const { return keys_; }

  uint64_t generated() const { return generated_; }

  // One entry per hot equipment, sorted by key, as far as the run got.
  std::vector<TruthEntry> Truth() const;

  // Every glitch and spike generated, in generation order.
  const std::vector<CleanEvent>& clean_events() const { return clean_events_; }

 private:
  enum class Phase { kReadings, kRelease, kDrain, kDone };

  bool NextGood(Record* record);
  void GenerateReading(uint32_t equipment, Record* record);
  void MakeBad(const Record& good, Record* bad);
  void PlanHotEpisodes(Rng* setup_rng);
  void MaybeGlitchOrSpike(uint64_t index, Record* record);

  const StreamOptions options_;
  StreamHooks* const hooks_;
  const uint32_t equipment_count_;
  std::vector<std::string> keys_;
  std::vector<EquipmentModel> models_;
  std::vector<int> truth_index_;  // per equipment: index into truth_, or -1
  std::vector<TruthEntry> truth_;

  Rng value_rng_;
  Rng order_rng_;
  Rng time_rng_;
  Rng late_rng_;
  Rng bad_rng_;
  Rng noise_rng_;
  Rng glitch_rng_;
  Rng spike_rng_;
  const uint64_t late_threshold_;
  const uint64_t bad_threshold_;
  const uint64_t glitch_threshold_;
  const uint64_t spike_threshold_;
  std::vector<uint64_t> next_spike_index_;  // per equipment: earliest reading for a spike
  std::vector<CleanEvent> clean_events_;
  int64_t max_offset_step_micros_ = 0;

  Phase phase_ = Phase::kReadings;
  bool stopping_ = false;
  uint64_t generated_ = 0;
  uint64_t cycle_ = 0;
  uint32_t slot_ = 0;
  int64_t offset_micros_ = 0;
  TimeMicros last_time_ = 0;
  std::vector<uint32_t> order_;
  std::vector<Record> held_previous_;  // late in the previous cycle: emitted at the end of this one
  std::vector<Record> held_current_;   // late in this cycle
  size_t release_pos_ = 0;
  bool has_pending_ = false;
  Record pending_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_READING_STREAM_H_
