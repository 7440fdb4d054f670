#include "simulator/profile_stream.h"

#include <algorithm>

#include "gateway/base/time_util.h"
#include "simulator/flows_profile.h"
#include "simulator/processes_profile.h"
#include "simulator/record_format.h"
#include "simulator/traffic_profile.h"

namespace sensorgate {
namespace {

const char* const kGarbageLines[] = {
    "kernel: nf_conntrack: table full, dropping packet",
    "<html><body>502 Bad Gateway</body></html>",
    "\xef\xbb\xbf\xc3\xa7\xc3\xa3o ~~ ",
    "}{ \"key\": ",
};

// One line of the temperature truth file (documented in --help, TRUTH FILE):
// {"key":"sensor07","hot_from_reading":1200,"hot_to_reading":1574,
//  "from":"<RFC 3339>","to":"<RFC 3339>","peak":88.1,
//  "episode_from_reading":1125,"episode_to_reading":1724}
// Reading numbers are 0-based indexes of the key's own good readings in
// generation order (a late reading keeps its number). hot_from..hot_to,
// both included, are exactly the readings above --hot-temp; "from"/"to" are
// their timestamps, "peak" the highest. episode_from..episode_to is the
// whole excursion. A field whose reading was never generated is null.
std::string TruthLine(const TruthEntry& t) {
  const HotEpisode& e = t.episode;
  const auto reading = [&t](uint64_t index) {
    return index < t.readings ? std::to_string(index) : std::string("null");
  };
  const auto time = [](bool seen, TimeMicros when) {
    return seen ? "\"" + FormatRfc3339(when) + "\"" : std::string("null");
  };
  char peak[16];
  const std::string peak_text =
      t.from_seen ? std::string(peak, FormatTenths(t.peak_tenths, peak)) : "null";
  return "{\"key\":\"" + t.key + "\",\"hot_from_reading\":" + reading(e.hot_from()) +
         ",\"hot_to_reading\":" + reading(e.hot_to()) +
         ",\"from\":" + time(t.from_seen, t.from_time) + ",\"to\":" + time(t.to_seen, t.to_time) +
         ",\"peak\":" + peak_text + ",\"episode_from_reading\":" + reading(e.start) +
         ",\"episode_to_reading\":" + reading(e.last()) + "}\n";
}

// {"sensor":"sensor07","kind":"glitch","time":"<RFC 3339>","value":-999.9}
std::string CleanLine(const CleanEvent& c, const std::string& key) {
  char value[16];
  return "{\"sensor\":\"" + key + "\",\"kind\":\"" + (c.spike ? "spike" : "glitch") +
         "\",\"time\":\"" + FormatRfc3339(c.time) +
         "\",\"value\":" + std::string(value, FormatTenths(c.tenths, value)) + "}\n";
}

StreamOptions MakeStreamOptions(const SimOptions& o) {
  StreamOptions s;
  s.equipment = o.equipment;
  s.count = o.count;
  if (o.count == 0 && o.duration_micros > 0 && o.rate > 0) {
    // 90% of what the run should reach, so the episodes fit in it.
    s.expected_readings_per_equipment = static_cast<uint64_t>(
        0.9 * static_cast<double>(o.duration_micros) / 1e6 * o.rate / o.equipment);
  }
  s.seed = o.seed;
  s.simulated_time = o.has_start_time;
  s.start_time = o.start_time;
  s.step_micros = o.step_micros;
  s.hot = o.hot;
  s.hot_temp_tenths = o.hot_temp_tenths;
  s.late_fraction = o.late_fraction;
  s.bad_fraction = o.bad_fraction;
  s.number_payload = o.payload == PayloadFormat::kNumber;
  s.glitch_fraction = o.glitch_fraction;
  s.spike_fraction = o.spike_fraction;
  return s;
}

// The temperature profile: ReadingStream's records, formatted.
class TemperatureProfile : public ProfileStream {
 public:
  TemperatureProfile(const SimOptions& options, StreamHooks* hooks)
      : stream_(MakeStreamOptions(options), hooks), formatter_(&stream_.keys(), options.payload) {}

  bool Next(ProfileLine* line) override {
    if (!stream_.Next(&record_)) return false;
    line->text = formatter_.Format(record_);
    line->key = record_.equipment;
    line->good = record_.bad == BadKind::kNone;
    return true;
  }

  const std::vector<std::string>& keys() const override { return stream_.keys(); }

  std::string TruthText() const override {
    std::string text;
    for (const TruthEntry& entry : stream_.Truth()) text += TruthLine(entry);
    for (const CleanEvent& c : stream_.clean_events())
      text += CleanLine(c, stream_.Key(c.equipment));
    return text;
  }

 private:
  ReadingStream stream_;
  RecordFormatter formatter_;
  Record record_;
};

}  // namespace

std::string ProfileKeyName(std::string_view prefix, uint32_t index, uint32_t count) {
  const size_t width = std::max<size_t>(2, std::to_string(count).size());
  std::string digits = std::to_string(index + 1);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return std::string(prefix) + digits;
}

LineProfile::LineProfile(const SimOptions& options, StreamHooks* hooks)
    : options_(options),
      hooks_(hooks),
      bad_rng_(options.seed, kProfileBadStream),
      bad_threshold_(Rng::ChanceThreshold(options.bad_fraction)) {}

bool LineProfile::Next(ProfileLine* line) {
  if (!has_pending_) {
    if (!NextGood(&good_, &pending_key_)) return false;
    has_pending_ = true;
  }
  line->key = pending_key_;
  if (bad_rng_.Chance(bad_threshold_)) {
    switch (bad_rng_.Below(3)) {
      case 0:  // cut short: 1 .. size-1 bytes
        bad_.assign(good_, 0, 1 + bad_rng_.Below(good_.size() - 1));
        break;
      case 1:
        bad_ = kGarbageLines[bad_rng_.Below(sizeof kGarbageLines / sizeof kGarbageLines[0])];
        break;
      default:
        bad_ = "{}";
        break;
    }
    line->text = bad_;
    line->good = false;
    return true;
  }
  line->text = good_;
  line->good = true;
  has_pending_ = false;
  return true;
}

std::unique_ptr<ProfileStream> MakeProfileStream(const SimOptions& options, StreamHooks* hooks) {
  switch (options.profile) {
    case SimProfile::kTraffic:
      return std::make_unique<TrafficProfile>(options, hooks);
    case SimProfile::kProcesses:
      return std::make_unique<ProcessesProfile>(options, hooks);
    case SimProfile::kFlows:
      return std::make_unique<FlowsProfile>(options, hooks);
    case SimProfile::kTemperature:
      break;
  }
  return std::make_unique<TemperatureProfile>(options, hooks);
}

}  // namespace sensorgate
