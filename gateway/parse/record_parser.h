// RecordParser: one record (a line of a file, an MQTT payload) to a reading
// (key, value, time), or a rejection reason, per DESIGN.md section 4.
//
// JSON records are parsed in place, in one pass over the document that
// follows a small trie of the configured dotted paths. The common record
// (ASCII, no escapes, nesting under 64 levels) takes a fast path: a strict
// RFC 8259 scanner that reads strings 8 bytes at a time and validates every
// byte of the record, skipped values included. Whatever it does not accept
// in full, it hands untouched to simdjson On-Demand, which then decides as it
// always did; so the fast path only answers where simdjson gives the same
// answer (tests/unit/record_parser_test.cc compares the two on mutated
// records). CSV records are split in place against the column indexes of the
// header. No heap allocation per record: the simdjson parser's buffers are
// sized once for the largest record (64 KiB) at construction.
//
// A JSON record is rejected as parse_error when it is not one object, its
// structure is broken (truncated, unbalanced, trailing bytes, invalid UTF-8)
// or a value on a configured path is malformed. Values elsewhere are skipped
// unread (simdjson On-Demand), so a malformed field the gateway never uses
// does not cost the reading.
//
// The input buffer must have kRecordPadding readable bytes after the record
// (their content does not matter). The Reading's key points into the input or
// into the parser and stays valid until the next call.
//
// Not thread-safe: one parser per pipeline thread.
#ifndef SENSORGATE_GATEWAY_PARSE_RECORD_PARSER_H_
#define SENSORGATE_GATEWAY_PARSE_RECORD_PARSER_H_

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/base/status.h"
#include "gateway/base/time_util.h"

namespace sensorgate {

constexpr size_t kRecordPadding = simdjson::SIMDJSON_PADDING;
constexpr size_t kMaxRecordBytes = 64 * 1024;
constexpr size_t kMaxKeyBytes = 128;

enum class RejectReason : uint8_t {
  kParseError,
  kTooLong,
  kKeyMissing,
  kKeyEmpty,
  kKeyTooLong,
  kKeyControlChar,
  kKeyNotText,
  kValueMissing,
  kValueNotNumber,
  kValueNotFinite,
  kValueOutOfRange,
  kTimeMissing,
  kTimeInvalid,
  kTooManyKeys,
};
constexpr size_t kRejectReasonCount = 14;

// Stable snake_case name, used in logs, the replay summary and metrics.
const char* RejectReasonName(RejectReason r);

struct Reading {
  std::string_view key;
  double value = 0;
  TimeMicros time_us = 0;
};

class RecordParser {
 public:
  RecordParser(const ReadingConfig& config, RecordFormat format);
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // CSV only: reads the header line and finds the configured columns. Returns
  // an error naming the missing columns (records are then rejected as missing).
  Status SetCsvHeader(std::string_view header);

  // Parses one record (without its line terminator). `arrival_us` is used as
  // the time when no time path is configured. Returns true and fills *out, or
  // false and sets *why.
  // REQUIRES: kRecordPadding readable bytes after data + len.
  bool Parse(const char* data, size_t len, TimeMicros arrival_us, Reading* out, RejectReason* why);

  // A JSON record whose key comes from elsewhere (the MQTT topic, with
  // [reading] key = @topic.N): the configured key path is not looked for.
  // REQUIRES: kRecordPadding readable bytes after data + len.
  bool ParseWithKey(std::string_view key, const char* data, size_t len, TimeMicros arrival_us,
                    Reading* out, RejectReason* why);

  // For tests: false sends every JSON record through simdjson On-Demand;
  // fast_path_hits() counts the records the fast path answered.
  void set_fast_path(bool on) { fast_path_ = on; }
  uint64_t fast_path_hits() const { return fast_path_hits_; }

  // A bare-number payload (MQTT payload = number) with a key from elsewhere.
  bool ParseNumber(std::string_view key, std::string_view text, TimeMicros arrival_us, Reading* out,
                   RejectReason* why);

 private:
  enum Field : uint8_t { kKey = 0, kValue = 1, kTime = 2, kFieldCount = 3 };
  struct PathNode {
    std::string name;
    bool plain = true;   // no '"' or '\\': comparable with the raw input
    uint8_t leaves = 0;  // bit i: Field i ends here
    std::vector<PathNode> children;
    uint64_t head = 0;   // the name's first 8 bytes, zero-padded (SameName)
    uint64_t lengths = 0;  // bit n: a child's name has n < 64 bytes
  };
  struct Found {
    // What each field turned out to be, before validation.
    enum Kind : uint8_t { kAbsent, kNull, kString, kNumber, kOther, kBad } kind[kFieldCount];
    std::string_view text[kFieldCount];  // string contents or number token
    double number = 0;                   // the value field as a double
    bool number_ok = true;               // false: the value does not fit a double
  };

  void AddPath(std::string_view dotted, Field f);
  bool WalkObject(simdjson::ondemand::object obj, const PathNode& node, Found* found);
  void TakeLeaf(simdjson::ondemand::value v, Field f, Found* found);
  bool Finish(const Found& found, TimeMicros arrival_us, Reading* out, RejectReason* why);
  bool ParseJson(const char* data, size_t len, Found* found);
  // The fast path: true when the record is well-formed JSON it reads in full
  // (*found filled); false when simdjson must decide (*found is then junk).
  bool FastJson(const char* data, size_t len, Found* found);
  static bool SameName(const PathNode& c, const char* name);
  bool ParseCsv(const char* data, size_t len, Found* found);

  const ReadingConfig config_;
  const RecordFormat format_;
  const bool has_time_;
  const bool key_from_topic_;  // [reading] key = @topic.N: no key path in the record
  PathNode root_;
  simdjson::ondemand::parser parser_;
  bool has_escape_ = false;  // the current JSON record holds a backslash
  bool fast_path_ = true;
  uint64_t fast_path_hits_ = 0;
  std::unique_ptr<char[]> fast_copy_;  // the record, a NUL, padding (FastJson)
  Rfc3339Cache time_cache_;
  // CSV: column index of each field (-1: not in the header) and scratch room
  // for unquoted fields.
  std::array<int, kFieldCount> column_ = {-1, -1, -1};
  std::array<std::string, kFieldCount> csv_scratch_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_PARSE_RECORD_PARSER_H_
