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
// records). Records of one stream mostly share one layout: the same names in
// the same order with the same blanks. The fast path keeps the last record's
// layout (its shape: the bytes between values, and what each value is for);
// a record whose bytes between values equal the shape's has only its values
// scanned, by the same scanner, and gets the same answer at a fraction of
// the cost. Any other record is scanned in full, and its layout becomes the
// shape. CSV records are split in place against the column indexes of the
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
// Besides the reading of the rule `hot`, the parser extracts the fields of
// every [rule.NAME] (AddField(), DESIGN.md 13.2) in the same pass: after each
// Parse*(), parsed() says whether the record was well-formed and fields()
// holds what each added field turned out to be, whatever the reading's fate.
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
#include "gateway/parse/field_value.h"

namespace sensorgate {

constexpr size_t kRecordPadding = simdjson::SIMDJSON_PADDING;
constexpr size_t kMaxRecordBytes = 64 * 1024;
constexpr size_t kMaxKeyBytes = 128;

class FastScanner;  // record_parser.cc

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
  // With [rule.NAME] sections (DESIGN.md 13.2), a record no rule accepted is
  // rejected with the first rule's reason, which can also be these:
  kFieldMissing,  // a distinct() field is missing, null or not a scalar
  kFiltered,      // its `where` said no
  kLate,          // every window it belongs to has closed
};
constexpr size_t kRejectReasonCount = 17;

// Stable snake_case name, used in logs, the replay summary and metrics.
const char* RejectReasonName(RejectReason r);

struct Reading {
  std::string_view key;
  double value = 0;
  TimeMicros time_us = 0;
};

class RecordParser {
 public:
  // At most this many fields besides the reading's key, value and time.
  static constexpr size_t kMaxExtraFields = kMaxRuleFields;

  // `hot`: extract and check the reading of section 4 (the rule `hot`);
  // without it Parse*() only extracts the added fields and returns false.
  RecordParser(const ReadingConfig& config, RecordFormat format, bool hot = true);
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // Adds a field to extract from every record: a dotted JSON path, a CSV
  // column, or "@topic.N" (level N of the MQTT topic, set_topic()). Returns
  // its index in fields(); the same name gives the same index. Start-up only.
  // REQUIRES: fewer than kMaxExtraFields distinct fields added before.
  uint32_t AddField(std::string_view name);
  size_t field_count() const { return extra_names_.size(); }

  // The topic of the MQTT message about to be parsed ("" for file records):
  // where "@topic.N" fields come from. The view must stay valid until the
  // record is parsed.
  void set_topic(std::string_view topic) { topic_ = topic; }

  // After Parse*(): false when the record was too long or did not parse.
  bool parsed() const { return parsed_; }
  // After Parse*() of a record that parsed: the added fields, by index. Views
  // point into the record or the parser; valid until the next call.
  const FieldValue* fields() const { return values_.data(); }

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
  // fast_path_hits() counts the records the fast path answered, and
  // shape_hits() those of them the last record's shape answered.
  void set_fast_path(bool on) { fast_path_ = on; }
  uint64_t fast_path_hits() const { return fast_path_hits_; }
  uint64_t shape_hits() const { return shape_hits_; }
  // For tests: false keeps to the instructions every machine of the
  // architecture has (SSE2 on x86-64) where AVX2 would be used.
  void set_wide_simd(bool on) { wide_simd_ = on; }

  // A bare-number payload (MQTT payload = number) with a key from elsewhere.
  bool ParseNumber(std::string_view key, std::string_view text, TimeMicros arrival_us, Reading* out,
                   RejectReason* why);

 private:
  // Fields 0 to 2 are the reading's; the added fields follow.
  enum Field : uint8_t { kKey = 0, kValue = 1, kTime = 2, kFieldCount = 3 };
  static constexpr size_t kMaxFields = kFieldCount + kMaxExtraFields;
  struct PathNode {
    std::string name;
    bool plain = true;   // no '"' or '\\': comparable with the raw input
    uint64_t leaves = 0;  // bit i: field i ends here
    std::vector<PathNode> children;
    uint64_t head = 0;   // the name's first 8 bytes, zero-padded (SameName)
    uint64_t lengths = 0;  // bit n: a child's name has n < 64 bytes
  };
  struct Found {
    // What each field turned out to be, before validation. Only the first
    // field count entries are reset per record.
    enum Kind : uint8_t { kAbsent, kNull, kString, kNumber, kOther, kBad } kind[kMaxFields];
    std::string_view text[kMaxFields];  // string contents or number token
    double number[kMaxFields];          // kNumber (the value and added fields): as a double
    bool number_ok[kMaxFields];         // false: the number does not fit a double
  };

  void AddPath(std::string_view dotted, uint32_t f);
  // Starts a record: every field absent.
  void ResetFound();
  // Fills values_ from found_ (added fields; topic fields from topic_).
  void TakeFields();
  bool WalkObject(simdjson::ondemand::object obj, const PathNode& node, Found* found);
  static void MarkObject(const PathNode& node, Found* found);
  void TakeLeaf(simdjson::ondemand::value v, uint32_t f, Found* found);
  bool Finish(const Found& found, TimeMicros arrival_us, Reading* out, RejectReason* why);
  bool ParseJson(const char* data, size_t len, Found* found);
  // A record's layout, as the fast path met it: the record is
  // lit[0] value lit[1] value ... lit[n], and ops[i] says what the value
  // after lit[i] is for (the last op, kEnd, has no value).
  //
  // A record of the same length may also match the shape's record byte for
  // byte but within its values (the fixed form, on SSE2): a string's bytes
  // stay bytes a string holds as is, a number's digits stay digits (and a
  // leading one no '0'); then each value is where it was, and only the
  // reading's are read.
  struct Shape {
    static constexpr size_t kMaxOps = 64;
    static constexpr size_t kMaxLiteral = 1024;
    static constexpr size_t kMaxFixed = 512;  // longer records have no fixed form
    struct Op {
      enum Kind : uint8_t { kSkip, kLeaf, kInto, kEnd } kind;
      uint16_t lit_len;
      uint16_t lit_off;
      uint16_t val_off;  // the value's place in the shape's record
      uint16_t val_len;
      // The fixed form: the value's kind (a Found::Kind) and, for a number,
      // its sign and digits before and after the '.' (255: not a plain
      // decimal of at most 15 digits).
      uint8_t val_kind;
      bool negative;
      uint8_t int_digits;
      uint8_t frac_digits;
      const PathNode* node;  // kLeaf: the matched path; kInto: the object entered
    };
    Op ops[kMaxOps];
    uint32_t n_ops = 0;
    uint32_t lit_size = 0;
    bool valid = false;  // false: being recorded, too large, or none yet
    char lit[kMaxLiteral + 16] = {};  // 16 readable bytes past any literal
    // The fixed form: per byte of the record (and 32 after it, zeros), the
    // range it may take, lo to lo + span (the byte itself; a string's byte
    // 0x20 to 0x7e; a digit; a digit but '0' where it leads a number's
    // integer part of two digits or more), and 0xff where it is a string's
    // byte, which can be neither '"' nor '\\' (32 bytes past the record: zeros).
    uint32_t fixed_len = 0;  // 0: none
    uint8_t fills[kMaxOps];  // the kLeaf and kInto ops, in order
    uint32_t n_fills = 0;
    uint8_t lo[kMaxFixed + 32] = {};
    uint8_t span[kMaxFixed + 32] = {};
    uint8_t text[kMaxFixed + 32] = {};
  };
  // The fast path over fast_copy_ (the record, a NUL, padding): true when
  // the record is well-formed JSON it reads in full (*found filled); false
  // when simdjson must decide (*found is then junk). With `shape`, the
  // record's layout is recorded there.
  bool FastJson(const char* end, Found* found, Shape* shape);
  // The same answer as FastJson() when the record has the layout of shape_;
  // false (and *found junk) when it does not.
  bool ShapeJson(const char* end, Found* found);
  // The fixed form of a just recorded shape, from the record in fast_copy_.
  static void FixShape(const char* record, size_t len, Shape* shape);
  // ShapeJson() by the fixed form: 1 answered (*found filled), 0 not this
  // form (*found untouched), -1 the fast path cannot answer (*found junk).
  int FixedJson(size_t len, Found* found);
  // The leaf value of `op` in a record of the fixed form: as FastLeaf().
  static bool LeafAt(const char* record, const Shape::Op& op, Found* found);
  // What both make of a leaf: its kind and text for every field ending at
  // `match` that has none yet (the first occurrence wins), and for the value
  // and the added fields the number decimal(double*) reads, false when it
  // cannot read it exactly.
  template <class Decimal>
  static bool StoreLeaf(const PathNode& match, Found::Kind kind, std::string_view text, Found* found,
                        Decimal decimal);
  // A leaf value at the scanner: what TakeLeaf() makes of it, for each field
  // ending at `match`.
  static bool FastLeaf(FastScanner& sc, const PathNode& match, Found* found);
  static bool SameName(const PathNode& c, const char* name);
  bool ParseCsv(const char* data, size_t len, Found* found);

  const ReadingConfig config_;
  const RecordFormat format_;
  const bool has_time_;
  const bool hot_;
  const bool key_from_topic_;  // [reading] key = @topic.N: no key path in the record
  PathNode root_;
  simdjson::ondemand::parser parser_;
  bool has_escape_ = false;  // the current JSON record holds a backslash
  bool key_clean_ = false;   // the fast path read the key: no control character in it
  bool fast_path_ = true;
  uint64_t fast_path_hits_ = 0;
  uint64_t shape_hits_ = 0;
  bool wide_simd_ = true;
  std::unique_ptr<char[]> fast_copy_;  // the record, a NUL, padding (FastJson)
  // The last layout the fast path read (shape_) and the one being recorded.
  // A stream of several layouts misses often: after kShapeMissesToRest
  // misses in a row, shape_ is neither tried nor recorded for kShapeRest
  // records.
  std::unique_ptr<Shape> shape_ = std::make_unique<Shape>();
  std::unique_ptr<Shape> next_shape_ = std::make_unique<Shape>();
  uint32_t shape_misses_ = 0;
  uint32_t shape_rest_ = 0;
  Rfc3339Cache time_cache_;
  uint32_t field_count_ = kFieldCount;  // reading fields + added fields
  Found found_;
  bool parsed_ = false;
  std::vector<std::string> extra_names_;  // added fields, by index
  std::vector<int> extra_topic_level_;    // per added field: N of @topic.N, or -1
  std::vector<FieldValue> values_;        // per added field, after a record
  std::string_view topic_;
  // CSV: column index of each field (-1: not in the header) and scratch room
  // for unquoted fields (all of a record's fit: they are never longer).
  std::array<int, kMaxFields> column_;
  std::string csv_scratch_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_PARSE_RECORD_PARSER_H_
