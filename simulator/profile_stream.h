// ProfileStream: the lines of one --profile (DESIGN.md section 9) in the
// order they are emitted, each with the index of its key (for the MQTT topic),
// and the truth file the run leads to.
//
// The temperature profile is ReadingStream and RecordFormatter behind this
// interface, unchanged. The traffic, processes and flows profiles derive from
// LineProfile, which adds the malformed lines of --bad: before each good line,
// with the --bad probability, a malformed one is emitted instead (and the roll
// is repeated), drawn from an Rng stream of its own, so the good lines do not
// depend on --bad. Like ReadingStream, every profile calls StreamHooks before
// each good record and at each cycle boundary, so --rate, --duration, signals
// and --rewrite-every work the same for all of them.
//
// A stream is driven by one thread.
#ifndef SENSORGATE_SIMULATOR_PROFILE_STREAM_H_
#define SENSORGATE_SIMULATOR_PROFILE_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "simulator/reading_stream.h"
#include "simulator/rng.h"
#include "simulator/sim_options.h"

namespace sensorgate {

struct ProfileLine {
  std::string_view text;  // without a line ending; valid until the next Next()
  uint32_t key = 0;       // index into ProfileStream::keys()
  bool good = true;       // false: a malformed line of --bad
};

class ProfileStream {
 public:
  virtual ~ProfileStream() = default;

  // Sets *line to the next line to emit. Returns false when the stream ended.
  virtual bool Next(ProfileLine* line) = 0;

  // The keys, "sensor07", "C07", "M07" or flow devices.
  virtual const std::vector<std::string>& keys() const = 0;

  // The whole truth file as far as the run got (documented in --help).
  virtual std::string TruthText() const = 0;
};

// Returns the stream of options.profile. REQUIRES: options were validated
// (ParseSimCommandLine). `hooks` may be null and must outlive the stream.
std::unique_ptr<ProfileStream> MakeProfileStream(const SimOptions& options, StreamHooks* hooks);

// "C07": prefix and index + 1 zero-padded to the width of count (at least 2).
std::string ProfileKeyName(std::string_view prefix, uint32_t index, uint32_t count);

// Base of the traffic, processes and flows profiles: adds --bad.
class LineProfile : public ProfileStream {
 public:
  bool Next(ProfileLine* line) final;
  const std::vector<std::string>& keys() const final { return keys_; }

 protected:
  LineProfile(const SimOptions& options, StreamHooks* hooks);

  // Formats the next good record into *text and sets *key. Returns false
  // when the profile has no more records.
  virtual bool NextGood(std::string* text, uint32_t* key) = 0;

  // The hooks, or true without them.
  bool BeforeRecord(uint64_t generated) {
    return hooks_ == nullptr || hooks_->BeforeReading(generated);
  }
  bool BeforeCycle(uint64_t cycle) {
    return cycle == 0 || hooks_ == nullptr || hooks_->BeforeCycle(cycle);
  }

  const SimOptions options_;
  std::vector<std::string> keys_;

 private:
  StreamHooks* const hooks_;
  Rng bad_rng_;
  const uint64_t bad_threshold_;
  bool has_pending_ = false;
  uint32_t pending_key_ = 0;
  std::string good_;
  std::string bad_;
};

// Rng stream numbers of the new profiles, apart from ReadingStream's.
enum ProfileRngStream : uint64_t {
  kProfileBadStream = 101,
  kProfileSetupStream,
  kProfileValueStream,
  kProfileOrderStream,
  kProfileTimeStream,
  kProfileProtocolStream,
};

}  // namespace sensorgate

#endif  // SENSORGATE_SIMULATOR_PROFILE_STREAM_H_
