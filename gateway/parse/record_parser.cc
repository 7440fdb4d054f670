#include "gateway/parse/record_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "gateway/base/text.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace sensorgate {

namespace od = simdjson::ondemand;

const char* RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kParseError: return "parse_error";
    case RejectReason::kTooLong: return "too_long";
    case RejectReason::kKeyMissing: return "key_missing";
    case RejectReason::kKeyEmpty: return "key_empty";
    case RejectReason::kKeyTooLong: return "key_too_long";
    case RejectReason::kKeyControlChar: return "key_control_char";
    case RejectReason::kKeyNotText: return "key_not_text";
    case RejectReason::kValueMissing: return "value_missing";
    case RejectReason::kValueNotNumber: return "value_not_number";
    case RejectReason::kValueNotFinite: return "value_not_finite";
    case RejectReason::kValueOutOfRange: return "value_out_of_range";
    case RejectReason::kTimeMissing: return "time_missing";
    case RejectReason::kTimeInvalid: return "time_invalid";
    case RejectReason::kTooManyKeys: return "too_many_keys";
    case RejectReason::kFieldMissing: return "field_missing";
    case RejectReason::kFiltered: return "filtered";
    case RejectReason::kLate: return "late";
  }
  return "unknown";
}

namespace {

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

// --- the fast path ---------------------------------------------------------
//
// A strict scanner of RFC 8259 JSON over [p, end), where *end is a NUL and
// kRecordPadding readable bytes follow it (the parser's copy of the record).
// Every method returns false to give up: on any byte it does not accept
// (malformed JSON, but also a backslash, DEL, a byte of 0x80 or more, nesting
// deeper than kMaxDepth), leaving the record to simdjson. No byte accepts a
// NUL, so no loop needs to look at `end` to stop there; a NUL inside the
// record stops the scan as well.
class FastScanner {
 public:
  static constexpr int kMaxDepth = 64;
  FastScanner(const char* p, const char* end) : p_(p), end_(end) {}

  char Peek() const { return *p_; }
  void Advance() { ++p_; }
  bool AtEnd() const { return p_ == end_; }
  void Blanks() {
    // Most calls find no blank at all: one load and one compare for them.
    while (static_cast<unsigned char>(*p_) <= ' ' &&
           ((uint64_t{1} << (static_cast<unsigned char>(*p_) & 63)) & kBlanks) != 0) {
      ++p_;
    }
  }

  // At '"': the string's bytes (no escapes, no control or non-ASCII byte).
  bool String(std::string_view* out) {
    const char* start = ++p_;
    while (true) {
      // A block at once (the padding makes the load safe): where the first
      // '"', '\\', byte under 0x20 or byte of 0x80 or more is, if any.
      const unsigned stop = StopByte(p_);
      if (stop < kBlock) {
        p_ += stop;
        break;
      }
      p_ += kBlock;
    }
    if (*p_ != '"') return false;  // the end's NUL among them
    *out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }

  // At '-' or a digit: the number's token, checked against the grammar.
  bool Number(std::string_view* out) {
    const char* start = p_;
    if (Peek() == '-') ++p_;
    if (Peek() == '0') {
      ++p_;
    } else if (!Digits()) {
      return false;
    }
    if (Peek() == '.') {
      ++p_;
      if (!Digits()) return false;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++p_;
      if (Peek() == '+' || Peek() == '-') ++p_;
      if (!Digits()) return false;
    }
    *out = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  const char* pos() const { return p_; }

  // The n bytes at `lit` (no NUL among them), when they come next. At least
  // 16 bytes past lit + n and past the end of the record must be readable.
  bool Take(const char* lit, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    size_t i = 0;
    for (; i + kBlock < n; i += kBlock) {
      if (Differ(p_ + i, lit + i, kBlock)) return false;
    }
    // The last block, cut to what is left of the literal (maybe nothing).
    if (Differ(p_ + i, lit + i, n - i)) return false;
    p_ += n;
    return true;
  }

  bool Literal(std::string_view word) {
    // Past a NUL the bytes differ already; the padding makes the read safe.
    if (std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // At a member's name: the name, then blanks, ':' and blanks.
  bool Name(std::string_view* name) {
    if (Peek() != '"' || !String(name)) return false;
    Blanks();
    if (Peek() != ':') return false;
    ++p_;
    Blanks();
    return true;
  }

  // At a value: past it, whatever it is, checked to the last byte.
  bool SkipValue() {
    char closers[kMaxDepth];
    int depth = 0;
    std::string_view ignored;
    while (true) {
      // A value.
      switch (Peek()) {
        case '{':
          ++p_;
          Blanks();
          if (Peek() == '}') {
            ++p_;
            break;
          }
          if (depth == kMaxDepth) return false;
          closers[depth++] = '}';
          if (!Name(&ignored)) return false;
          continue;
        case '[':
          ++p_;
          Blanks();
          if (Peek() == ']') {
            ++p_;
            break;
          }
          if (depth == kMaxDepth) return false;
          closers[depth++] = ']';
          continue;
        default:
          if (!Scalar()) return false;
      }
      // After a value: the next one, or the ends of the containers it closes.
      while (true) {
        if (depth == 0) return true;
        Blanks();
        const char c = Peek();
        if (c == ',') {
          ++p_;
          Blanks();
          if (closers[depth - 1] == '}' && !Name(&ignored)) return false;
          break;
        }
        if (c != closers[depth - 1]) return false;
        ++p_;
        --depth;
      }
    }
  }

 private:
  // The index in [p, p + kBlock) of the first byte a string cannot hold
  // as is: '"', '\\', under 0x20, 0x7f or 0x80 and over; kBlock when none
  // is. As signed bytes, "under 0x20 or 0x80 and over" is one compare. So a
  // string the fast path reads has no control character (a key needs no
  // further check); the rare one with DEL goes to simdjson.
#if defined(__SSE2__)
  static constexpr unsigned kBlock = 16;
  static unsigned StopByte(const char* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                   _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                      _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                                   _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
    return mask == 0 ? kBlock : static_cast<unsigned>(__builtin_ctz(mask));
  }
#elif defined(__aarch64__)
  static constexpr unsigned kBlock = 16;
  static unsigned StopByte(const char* p) {
    const int8x16_t v = vld1q_s8(reinterpret_cast<const int8_t*>(p));
    const uint8x16_t stop = vorrq_u8(vorrq_u8(vceqq_s8(v, vdupq_n_s8('"')), vceqq_s8(v, vdupq_n_s8('\\'))),
                                     vorrq_u8(vcltq_s8(v, vdupq_n_s8(0x20)), vceqq_s8(v, vdupq_n_s8(0x7f))));
    // Four bits per byte, in byte order.
    const uint64_t mask = vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(stop), 4)), 0);
    return mask == 0 ? kBlock : static_cast<unsigned>(__builtin_ctzll(mask)) / 4;
  }
#else
  // Eight bytes in a word; the lowest flagged byte is always a true one.
  static constexpr unsigned kBlock = 8;
  static unsigned StopByte(const char* p) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    uint64_t w = 0;
    for (unsigned i = 0; i < 8; ++i) w |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    auto zero = [](uint64_t x) { return (x - kOnes) & ~x & kHighs; };
    const uint64_t m = zero(w ^ (kOnes * '"')) | zero(w ^ (kOnes * '\\')) | zero(w ^ (kOnes * 0x7f)) |
                       ((w - kOnes * 0x20) & ~w & kHighs) | (w & kHighs);
    return m == 0 ? kBlock : static_cast<unsigned>(__builtin_ctzll(m)) / 8;
  }
#endif
  // Whether the first n (at most kBlock) bytes at a and b differ; reads
  // kBlock bytes at each.
#if defined(__SSE2__)
  static bool Differ(const char* a, const char* b, size_t n) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    const unsigned same = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)));
    const unsigned want = (1u << n) - 1;
    return (same & want) != want;
  }
#elif defined(__aarch64__)
  static bool Differ(const char* a, const char* b, size_t n) {
    const uint8x16_t x = vld1q_u8(reinterpret_cast<const uint8_t*>(a));
    const uint8x16_t y = vld1q_u8(reinterpret_cast<const uint8_t*>(b));
    // Four bits per byte, in byte order: all set where the bytes differ.
    const uint64_t diff =
        vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(vmvnq_u8(vceqq_u8(x, y))), 4)), 0);
    const uint64_t want = n >= 16 ? ~uint64_t{0} : (uint64_t{1} << (4 * n)) - 1;
    return (diff & want) != 0;
  }
#else
  static bool Differ(const char* a, const char* b, size_t n) { return std::memcmp(a, b, n) != 0; }
#endif
  bool Digits() {
    const char* start = p_;
    while (static_cast<unsigned>(*p_ - '0') <= 9) ++p_;
    return p_ != start;
  }
  bool Scalar() {
    std::string_view ignored;
    switch (Peek()) {
      case '"': return String(&ignored);
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Number(&ignored);
    }
  }

  // Bits ' ', '\n', '\t' and '\r' (all under 64).
  static constexpr uint64_t kBlanks = (uint64_t{1} << ' ') | (uint64_t{1} << '\n') | (uint64_t{1} << '\t') |
                                      (uint64_t{1} << '\r');
  const char* p_;
  const char* end_;
};

namespace {

// A decimal token of at most 15 digits and no exponent, read as
// mantissa / 10^k: both are exact doubles, so the one IEEE division gives the
// correctly rounded value (Clinger's fast path), the same double simdjson and
// from_chars give. False for any other token.
constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

// mantissa / 10^decimals, signed: exact for a mantissa of at most 15 digits.
double ExactDecimal(uint64_t mantissa, unsigned decimals, bool negative) {
  const double v = static_cast<double>(mantissa) / kPow10[decimals];
  return negative ? -v : v;
}

bool FastDecimal(std::string_view t, double* out) {
  const char* p = t.data();
  const char* const end = p + t.size();
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  // The digits, and where the one '.' is, if there is one.
  const char* const first = p;
  const char* dot = nullptr;
  uint64_t mantissa = 0;
  for (; p < end; ++p) {
    const unsigned d = static_cast<unsigned>(*p - '0');
    if (d <= 9) {
      mantissa = mantissa * 10 + d;
    } else if (*p == '.' && dot == nullptr) {
      dot = p;
    } else {
      return false;  // an exponent
    }
  }
  const long digits = (end - first) - (dot != nullptr ? 1 : 0);
  if (digits == 0 || digits > 15) return false;  // none, or too many to be exact
  *out = ExactDecimal(mantissa, dot != nullptr ? static_cast<unsigned>(end - dot - 1) : 0, negative);
  return true;
}

#if defined(__SSE2__)
// The fixed form's check of the n bytes at rec (and up to 31 past them)
// against the per-byte ranges: each byte v in lo..lo + span (v - lo, as
// an unsigned byte, at most span) and, where text is 0xff, no '"' or '\\'.
bool FixedBytesSse2(const char* rec, const uint8_t* lo, const uint8_t* span, const uint8_t* text, size_t n) {
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  __m128i good = _mm_set1_epi8(-1);
  for (size_t i = 0; i < n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + i));
    const __m128i l = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo + i));
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(span + i));
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i));
    const __m128i in_range = _mm_cmpeq_epi8(_mm_max_epu8(_mm_sub_epi8(v, l), s), s);
    const __m128i excluded = _mm_and_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), t);
    good = _mm_and_si128(good, _mm_andnot_si128(excluded, in_range));
  }
  return _mm_movemask_epi8(good) == 0xFFFF;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// The same, 32 bytes at a time, for the machines that have AVX2 (picked at
// run time: the build targets every x86-64).
__attribute__((target("avx2"))) bool FixedBytesAvx2(const char* rec, const uint8_t* lo, const uint8_t* span,
                                                    const uint8_t* text, size_t n) {
  const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\');
  __m256i good = _mm256_set1_epi8(-1);
  for (size_t i = 0; i < n; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + i));
    const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo + i));
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(span + i));
    const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(text + i));
    const __m256i in_range = _mm256_cmpeq_epi8(_mm256_max_epu8(_mm256_sub_epi8(v, l), s), s);
    const __m256i excluded =
        _mm256_and_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)), t);
    good = _mm256_and_si256(good, _mm256_andnot_si256(excluded, in_range));
  }
  return static_cast<unsigned>(_mm256_movemask_epi8(good)) == 0xFFFFFFFFu;
}

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}
const bool kCpuHasAvx2 = CpuHasAvx2();
#endif

}  // namespace

RecordParser::RecordParser(const ReadingConfig& config, RecordFormat format, bool hot)
    : config_(config),
      format_(format),
      has_time_(hot && !config.time.empty()),
      hot_(hot),
      key_from_topic_(TopicKeyLevel(config.key) >= 0),
      parser_(kMaxRecordBytes) {
  if (hot_) {
    if (!key_from_topic_) AddPath(config_.key, kKey);
    AddPath(config_.value, kValue);
    if (has_time_) AddPath(config_.time, kTime);
  }
  column_.fill(-1);
  // Size simdjson's buffers once, for the largest record we accept.
  if (parser_.allocate(kMaxRecordBytes)) std::abort();  // start-up only: no memory
  csv_scratch_.reserve(kMaxRecordBytes);
  // Not zeroed: only the pages records reach become resident.
  fast_copy_.reset(new char[kMaxRecordBytes + 1 + kRecordPadding]);
}

uint32_t RecordParser::AddField(std::string_view name) {
  for (size_t i = 0; i < extra_names_.size(); ++i) {
    if (extra_names_[i] == name) return static_cast<uint32_t>(i);
  }
  if (extra_names_.size() >= kMaxExtraFields) std::abort();  // the configuration is checked first
  const uint32_t index = static_cast<uint32_t>(extra_names_.size());
  extra_names_.emplace_back(name);
  const int level = TopicKeyLevel(name);
  extra_topic_level_.push_back(level);
  values_.emplace_back();
  ++field_count_;
  if (level < 0) AddPath(name, kFieldCount + index);
  return index;
}

void RecordParser::AddPath(std::string_view dotted, uint32_t f) {
  PathNode* node = &root_;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string_view part =
        dotted.substr(start, dot == std::string_view::npos ? dot : dot - start);
    PathNode* next = nullptr;
    for (auto& c : node->children) {
      if (c.name == part) next = &c;
    }
    if (next == nullptr) {
      const bool plain = part.find_first_of("\"\\") == std::string_view::npos;
      if (part.size() < 64) node->lengths |= uint64_t{1} << part.size();
      node->children.push_back(PathNode{std::string(part), plain, 0, {}, 0, 0});
      next = &node->children.back();
      char head[8] = {};
      std::memcpy(head, part.data(), std::min<size_t>(8, part.size()));
      std::memcpy(&next->head, head, 8);
    }
    node = next;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  node->leaves |= uint64_t{1} << f;
  // A shape points into the trie, which just changed.
  shape_->valid = false;
  next_shape_->valid = false;
}

Status RecordParser::SetCsvHeader(std::string_view header) {
  column_.fill(-1);
  // Spreadsheet exports start the file with a UTF-8 byte order mark.
  if (header.substr(0, 3) == "\xEF\xBB\xBF") header.remove_prefix(3);
  std::string_view names[kMaxFields];
  if (hot_) {
    names[kKey] = config_.key;
    names[kValue] = config_.value;
    names[kTime] = config_.time;
  }
  for (size_t i = 0; i < extra_names_.size(); ++i) {
    if (extra_topic_level_[i] < 0) names[kFieldCount + i] = extra_names_[i];
  }
  int index = 0;
  size_t p = 0;
  std::vector<std::string> columns;
  while (p <= header.size()) {
    std::string col;
    if (p < header.size() && header[p] == '"') {
      ++p;
      while (p < header.size()) {
        if (header[p] == '"') {
          if (p + 1 < header.size() && header[p + 1] == '"') {
            col += '"';
            p += 2;
            continue;
          }
          ++p;
          break;
        }
        col += header[p++];
      }
      while (p < header.size() && header[p] != ',') ++p;
    } else {
      const size_t comma = header.find(',', p);
      col = std::string(TrimBlanks(header.substr(p, comma == std::string_view::npos ? comma : comma - p)));
      p = comma == std::string_view::npos ? header.size() : comma;
    }
    for (uint32_t f = 0; f < field_count_; ++f) {
      if (column_[f] < 0 && !names[f].empty() && col == names[f]) column_[f] = index;
    }
    columns.push_back(col);
    ++index;
    ++p;  // past the comma
  }
  std::string missing;
  for (uint32_t f = 0; f < field_count_; ++f) {
    if (column_[f] < 0 && !names[f].empty()) {
      missing += std::string(missing.empty() ? "\"" : ", \"") + std::string(names[f]) + "\"";
    }
  }
  if (missing.empty()) return Status::Ok();
  std::string have;
  for (const auto& c : columns) have += (have.empty() ? "\"" : ", \"") + c + "\"";
  return Status::Error("the CSV header has no column " + missing + " (its columns: " + have + ")");
}

void RecordParser::TakeLeaf(od::value v, uint32_t f, Found* found) {
  if (found->kind[f] != Found::kAbsent) return;  // the first occurrence wins
  od::json_type type;
  if (v.type().get(type)) {
    found->kind[f] = Found::kBad;
    return;
  }
  switch (type) {
    case od::json_type::string: {
      // Fast path: a string without escapes is used where it lies.
      std::string_view raw = TrimBlanks(v.raw_json_token());
      if (!has_escape_ && raw.size() >= 2 && raw.back() == '"') {
        found->kind[f] = Found::kString;
        found->text[f] = raw.substr(1, raw.size() - 2);
        return;
      }
      std::string_view s;
      if (v.get_string().get(s)) {
        found->kind[f] = Found::kBad;
      } else {
        found->kind[f] = Found::kString;
        found->text[f] = s;
      }
      return;
    }
    case od::json_type::number: {
      found->kind[f] = Found::kNumber;
      found->text[f] = TrimBlanks(v.raw_json_token());
      if (f == kValue || f >= kFieldCount) {
        double d;
        const auto err = v.get_double().get(d);
        if (err == simdjson::NUMBER_ERROR) {
          found->number_ok[f] = false;  // too large for a double
        } else if (err) {
          found->kind[f] = Found::kBad;
        } else {
          found->number[f] = d;
        }
      }
      return;
    }
    case od::json_type::null: {
      bool is_null = false;
      found->kind[f] = !v.is_null().get(is_null) && is_null ? Found::kNull : Found::kBad;
      return;
    }
    default:
      found->kind[f] = Found::kOther;
      return;
  }
}

// A field that names an object some other field goes into: not a scalar.
void RecordParser::MarkObject(const PathNode& node, Found* found) {
  for (uint64_t m = node.leaves; m != 0; m &= m - 1) {
    const uint32_t f = static_cast<uint32_t>(__builtin_ctzll(m));
    if (found->kind[f] == Found::kAbsent) found->kind[f] = Found::kOther;
  }
}

bool RecordParser::WalkObject(od::object obj, const PathNode& node, Found* found) {
  for (auto field_result : obj) {
    od::field field;
    if (std::move(field_result).get(field)) return false;
    // Field names are compared as written, in the input; only when the record
    // holds a backslash somewhere is a name that matched nothing unescaped.
    const char* raw_name = field.key().raw();
    const PathNode* match = nullptr;
    for (const auto& c : node.children) {
      if (c.plain && raw_name[0] == c.name[0] &&
          std::memcmp(raw_name, c.name.data(), c.name.size()) == 0 && raw_name[c.name.size()] == '"') {
        match = &c;
        break;
      }
    }
    if (match == nullptr && has_escape_) {
      std::string_view name;
      if (field.unescaped_key().get(name)) return false;
      for (const auto& c : node.children) {
        if (c.name == name) {
          match = &c;
          break;
        }
      }
    }
    if (match == nullptr) continue;  // unvisited values are skipped by simdjson
    od::value v = field.value();
    if (!match->children.empty()) {
      od::json_type type;
      if (v.type().get(type)) return false;
      if (type == od::json_type::object) {
        MarkObject(*match, found);
        od::object child;
        if (v.get_object().get(child)) return false;
        if (!WalkObject(child, *match, found)) return false;
        continue;
      }
    }
    for (uint64_t m = match->leaves; m != 0; m &= m - 1) {
      TakeLeaf(v, static_cast<uint32_t>(__builtin_ctzll(m)), found);
    }
  }
  return true;
}

// True when the c.name.size() bytes at `name` (followed by padding) are c's
// name: short names in one masked word compare.
bool RecordParser::SameName(const PathNode& c, const char* name) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const size_t n = c.name.size();
  if (n <= 8) {
    uint64_t w;
    std::memcpy(&w, name, 8);
    const uint64_t mask = n == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
    return (w & mask) == c.head;
  }
#endif
  return std::memcmp(name, c.name.data(), c.name.size()) == 0;
}

bool RecordParser::FastLeaf(FastScanner& sc, const PathNode& match, Found* found) {
  const char first = sc.Peek();
  Found::Kind kind;
  std::string_view text;
  if (first == '"') {
    if (!sc.String(&text)) return false;
    kind = Found::kString;
  } else if (first == '-' || static_cast<unsigned>(first - '0') <= 9) {
    if (!sc.Number(&text)) return false;
    kind = Found::kNumber;
  } else if (first == 'n') {
    if (!sc.Literal("null")) return false;
    kind = Found::kNull;
  } else {
    if (!sc.SkipValue()) return false;
    kind = Found::kOther;
  }
  // Exact, so the double simdjson would give; any other number (an
  // exponent, more than 15 digits) is left to simdjson's rules.
  return StoreLeaf(match, kind, text, found, [text](double* out) { return FastDecimal(text, out); });
}

template <class Decimal>
bool RecordParser::StoreLeaf(const PathNode& match, Found::Kind kind, std::string_view text, Found* found,
                             Decimal decimal) {
  for (uint64_t m = match.leaves; m != 0; m &= m - 1) {
    const uint32_t f = static_cast<uint32_t>(__builtin_ctzll(m));
    if (found->kind[f] != Found::kAbsent) continue;
    found->kind[f] = kind;
    found->text[f] = text;
    if ((f == kValue || f >= kFieldCount) && kind == Found::kNumber && !decimal(&found->number[f])) return false;
  }
  return true;
}

bool RecordParser::FastJson(const char* end, Found* found, Shape* shape) {
  FastScanner sc(fast_copy_.get(), end);
  // Recording the layout: the bytes since the last value (from `lit_from`)
  // and what the value at `at` is for. Too large a layout is not recorded.
  const char* lit_from = fast_copy_.get();
  if (shape != nullptr) {
    shape->valid = false;
    shape->n_ops = 0;
    shape->lit_size = 0;
  }
  auto record = [&](Shape::Op::Kind kind, const char* at, const PathNode* node) {
    if (shape == nullptr) return;
    const size_t n = static_cast<size_t>(at - lit_from);
    if (shape->n_ops == Shape::kMaxOps || shape->lit_size + n > Shape::kMaxLiteral) {
      shape = nullptr;
      return;
    }
    shape->ops[shape->n_ops++] = {kind,
                                  static_cast<uint16_t>(n),
                                  static_cast<uint16_t>(shape->lit_size),
                                  static_cast<uint16_t>(at - fast_copy_.get()),
                                  0,
                                  Found::kAbsent,
                                  false,
                                  0,
                                  0,
                                  node};
    std::memcpy(shape->lit + shape->lit_size, lit_from, n);
    shape->lit_size += static_cast<uint32_t>(n);
    lit_from = at;
  };
  // The end of the value just recorded.
  auto ended = [&](const char* at) {
    if (shape == nullptr) return;
    const size_t max_len = 0xFFFF;
    const size_t n = static_cast<size_t>(at - lit_from);
    if (n > max_len || static_cast<size_t>(at - fast_copy_.get()) > max_len) {
      shape = nullptr;
      return;
    }
    shape->ops[shape->n_ops - 1].val_len = static_cast<uint16_t>(n);
    lit_from = at;
  };
  sc.Blanks();
  if (sc.Peek() != '{') return false;
  sc.Advance();
  // The walk over the trie: at most as deep as the longest configured path
  // (an explicit stack of the objects being walked, none left when done).
  const PathNode* nodes[FastScanner::kMaxDepth];
  int depth = 0;
  nodes[depth++] = &root_;
  sc.Blanks();
  if (sc.Peek() == '}') {
    sc.Advance();
    depth = 0;
  }
  while (depth > 0) {
    std::string_view name;
    if (!sc.Name(&name)) return false;
    const PathNode* match = nullptr;
    const PathNode& node = *nodes[depth - 1];
    // Most names have a length no child has.
    if (name.size() >= 64 || (node.lengths >> name.size() & 1) != 0) {
      for (const PathNode& c : node.children) {
        if (c.plain && c.name.size() == name.size() && SameName(c, name.data())) {
          match = &c;
          break;
        }
      }
    }
    const char first = sc.Peek();
    if (match == nullptr) {
      record(Shape::Op::kSkip, sc.pos(), nullptr);
      std::string_view ignored;
      if (!(first == '"' ? sc.String(&ignored) : sc.SkipValue())) return false;
      ended(sc.pos());
    } else if (!match->children.empty() && first == '{') {
      // Into the object, as WalkObject does.
      record(Shape::Op::kInto, sc.pos(), match);
      MarkObject(*match, found);
      sc.Advance();
      sc.Blanks();
      if (sc.Peek() != '}') {
        if (depth == FastScanner::kMaxDepth) return false;
        nodes[depth++] = match;
        continue;
      }
      sc.Advance();
    } else {
      record(Shape::Op::kLeaf, sc.pos(), match);
      if (!FastLeaf(sc, *match, found)) return false;
      ended(sc.pos());
    }
    // After a member: the next one, or the end of this object (and of those
    // it closes).
    while (depth > 0) {
      sc.Blanks();
      const char c = sc.Peek();
      if (c == ',') {
        sc.Advance();
        sc.Blanks();
        break;
      }
      if (c != '}') return false;
      sc.Advance();
      --depth;
    }
  }
  sc.Blanks();
  if (!sc.AtEnd()) return false;
  record(Shape::Op::kEnd, end, nullptr);
  if (shape != nullptr) {
    shape->valid = true;
    FixShape(fast_copy_.get(), static_cast<size_t>(end - fast_copy_.get()), shape);
  }
  return true;
}

void RecordParser::FixShape(const char* record, size_t len, Shape* shape) {
  shape->fixed_len = 0;
#if defined(__SSE2__)
  if (len > Shape::kMaxFixed || len == 0) return;
  // What each byte may be: 0 the same, 1 a string's byte, 2 a digit, 3 a
  // digit but '0'.
  uint8_t cls[Shape::kMaxFixed + 32] = {};
  auto digit = [](char c) { return static_cast<unsigned>(c - '0') <= 9; };
  shape->n_fills = 0;
  for (uint32_t i = 0; i < shape->n_ops; ++i) {
    Shape::Op& op = shape->ops[i];
    if (op.kind == Shape::Op::kLeaf || op.kind == Shape::Op::kInto) shape->fills[shape->n_fills++] = static_cast<uint8_t>(i);
    if (op.val_len == 0) continue;
    const char* v = record + op.val_off;
    op.val_kind = v[0] == '"' ? Found::kString
                  : v[0] == '-' || digit(v[0]) ? Found::kNumber
                  : v[0] == 'n' ? Found::kNull
                                : Found::kOther;
    if (op.val_kind == Found::kNumber) {
      // A plain decimal: [-]digits[.digits], at most 15 digits.
      op.negative = v[0] == '-';
      size_t k = op.negative ? 1 : 0;
      const size_t int_start = k;
      while (k < op.val_len && digit(v[k])) ++k;
      const size_t ints = k - int_start;
      size_t fracs = 0;
      if (k < op.val_len && v[k] == '.') {
        ++k;
        const size_t frac_start = k;
        while (k < op.val_len && digit(v[k])) ++k;
        fracs = k - frac_start;
      }
      const bool plain = k == op.val_len && ints + fracs <= 15;
      op.int_digits = plain ? static_cast<uint8_t>(ints) : 255;
      op.frac_digits = plain ? static_cast<uint8_t>(fracs) : 255;
    }
    if (v[0] == '"') {
      for (size_t k = 1; k + 1 < op.val_len; ++k) cls[op.val_off + k] = 1;
    } else if (v[0] == '-' || digit(v[0])) {
      const size_t int_start = v[0] == '-' ? 1 : 0;
      size_t k = int_start;
      while (k < op.val_len && digit(v[k])) ++k;
      const size_t int_digits = k - int_start;
      for (size_t j = 0; j < op.val_len; ++j) {
        if (digit(v[j])) cls[op.val_off + j] = 2;
      }
      if (int_digits >= 2) cls[op.val_off + int_start] = 3;
    }
    // true, false, null, objects and arrays: the same bytes.
  }
  for (size_t i = 0; i < len + 32; ++i) {
    const uint8_t byte = i < len ? static_cast<uint8_t>(record[i]) : 0;
    switch (cls[i]) {
      case 0: shape->lo[i] = byte, shape->span[i] = 0, shape->text[i] = 0; break;
      case 1: shape->lo[i] = 0x20, shape->span[i] = 0x5e, shape->text[i] = 0xff; break;
      case 2: shape->lo[i] = '0', shape->span[i] = 9, shape->text[i] = 0; break;
      default: shape->lo[i] = '1', shape->span[i] = 8, shape->text[i] = 0; break;
    }
  }
  shape->fixed_len = static_cast<uint32_t>(len);
#else
  (void)record;
  (void)len;
#endif
}

int RecordParser::FixedJson(size_t len, Found* found) {
#if defined(__SSE2__)
  const Shape& shape = *shape_;
  const char* const rec = fast_copy_.get();
  // Bytes past the record are zeros, and must be.
#if defined(__x86_64__) && defined(__GNUC__)
  const bool same_form = kCpuHasAvx2 && wide_simd_ ? FixedBytesAvx2(rec, shape.lo, shape.span, shape.text, len)
                                     : FixedBytesSse2(rec, shape.lo, shape.span, shape.text, len);
#else
  (void)wide_simd_;
  const bool same_form = FixedBytesSse2(rec, shape.lo, shape.span, shape.text, len);
#endif
  if (!same_form) return 0;
  // Every value where it was in the shape's record: the reading's are read
  // there, in the order FastJson() meets them.
  for (uint32_t i = 0; i < shape.n_fills; ++i) {
    const Shape::Op& op = shape.ops[shape.fills[i]];
    if (op.kind == Shape::Op::kLeaf) {
      if (!LeafAt(rec, op, found)) return -1;
    } else {
      MarkObject(*op.node, found);
    }
  }
  return 1;
#else
  (void)len;
  (void)found;
  return 0;
#endif
}

bool RecordParser::LeafAt(const char* record, const Shape::Op& op, Found* found) {
  const char* const v = record + op.val_off;
  const Found::Kind kind = static_cast<Found::Kind>(op.val_kind);
  const std::string_view text = kind == Found::kString   ? std::string_view(v + 1, op.val_len - 2u)
                                : kind == Found::kNumber ? std::string_view(v, op.val_len)
                                                         : std::string_view();
  // Where FastDecimal() finds the digits and the '.', the shape knows them:
  // the same mantissa, the same division.
  return StoreLeaf(*op.node, kind, text, found, [v, &op](double* out) {
    if (op.int_digits == 255) return false;
    const char* p = v + (op.negative ? 1 : 0);
    uint64_t mantissa = 0;
    for (unsigned k = 0; k < op.int_digits; ++k) mantissa = mantissa * 10 + static_cast<unsigned>(p[k] - '0');
    p += op.int_digits + 1;
    for (unsigned k = 0; k < op.frac_digits; ++k) mantissa = mantissa * 10 + static_cast<unsigned>(p[k] - '0');
    *out = ExactDecimal(mantissa, op.frac_digits, op.negative);
    return true;
  });
}

bool RecordParser::ShapeJson(const char* end, Found* found) {
  const Shape& shape = *shape_;
  const size_t len = static_cast<size_t>(end - fast_copy_.get());
  if (len == shape.fixed_len) {
    const int fixed = FixedJson(len, found);
    if (fixed != 0) return fixed > 0;
  }
  FastScanner sc(fast_copy_.get(), end);
  std::string_view ignored;
  for (uint32_t i = 0; i < shape.n_ops; ++i) {
    const Shape::Op& op = shape.ops[i];
    if (!sc.Take(shape.lit + op.lit_off, op.lit_len)) return false;
    switch (op.kind) {
      case Shape::Op::kSkip:
        if (!(sc.Peek() == '"' ? sc.String(&ignored) : sc.SkipValue())) return false;
        break;
      case Shape::Op::kLeaf:
        // An object where a path goes on is walked into: not this layout.
        if (sc.Peek() == '{' && !op.node->children.empty()) return false;
        if (!FastLeaf(sc, *op.node, found)) return false;
        break;
      case Shape::Op::kInto:
        MarkObject(*op.node, found);
        break;
      case Shape::Op::kEnd:
        return sc.AtEnd();
    }
  }
  return false;
}

namespace {
// A record the shape does not answer leaves it in place (one odd record in a
// stream changes nothing); the second miss in a row records the new layout.
// After kShapeMissesToRest misses in a row (a stream of mixed layouts), the
// shape is neither tried nor recorded for the next kShapeRest records.
constexpr uint32_t kShapeMissesToRecord = 2;
constexpr uint32_t kShapeMissesToRest = 6;
constexpr uint32_t kShapeRest = 64;
}  // namespace

bool RecordParser::ParseJson(const char* data, size_t len, Found* found) {
  if (fast_path_ && len < kMaxRecordBytes) {
    // A copy ending in a NUL: the scanner's loops need no bounds checks, and
    // the strings it finds stay valid in it until the next record.
    // And 32 more NULs: the shape compares blocks that may reach past it.
    std::memcpy(fast_copy_.get(), data, len);
    std::memset(fast_copy_.get() + len, 0, 33);
    const char* const end = fast_copy_.get() + len;
    bool record = !shape_->valid;
    if (shape_->valid && shape_rest_ == 0) {
      if (ShapeJson(end, found)) {
        key_clean_ = true;
        ++shape_hits_;
        ++fast_path_hits_;
        shape_misses_ = 0;
        return true;
      }
      ResetFound();
      record = ++shape_misses_ >= kShapeMissesToRecord;
      if (shape_misses_ >= kShapeMissesToRest) {
        shape_misses_ = 0;
        shape_rest_ = kShapeRest;
        record = false;
      }
    } else if (shape_rest_ > 0) {
      record = --shape_rest_ == 0;  // the next record tries the shape again
    }
    Shape* const rec = record ? next_shape_.get() : nullptr;
    if (FastJson(end, found, rec)) {
      key_clean_ = true;
      ++fast_path_hits_;
      if (rec != nullptr && rec->valid) std::swap(shape_, next_shape_);
      return true;
    }
    ResetFound();
  }
  has_escape_ = std::memchr(data, '\\', len) != nullptr;
  od::document doc;
  if (parser_.iterate(data, len, len + kRecordPadding).get(doc)) return false;
  od::object obj;
  if (doc.get_object().get(obj)) return false;
  if (!WalkObject(obj, root_, found)) return false;
  for (uint32_t f = 0; f < field_count_; ++f) {
    if (found->kind[f] == Found::kBad) return false;
  }
  // Nothing may follow the object: at the end, current_location() is out of bounds.
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

namespace {

// A CSV cell as a number, when all of it is one.
void CsvNumber(std::string_view t, uint8_t* kind, double* number, bool* ok) {
  double d;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (end != t.data() + t.size() || t.empty()) return;  // stays a string
  if (ec == std::errc::result_out_of_range) {
    *kind = 3;  // Found::kNumber
    *ok = false;
  } else if (ec == std::errc()) {
    *kind = 3;
    *number = d;
  }
}

}  // namespace

bool RecordParser::ParseCsv(const char* data, size_t len, Found* found) {
  static_assert(Found::kNumber == 3, "CsvNumber writes Found::kNumber as 3");
  if (!simdjson::validate_utf8(data, len)) return false;
  const std::string_view line(data, len);
  int index = 0;
  size_t p = 0;
  int wanted = -1;
  for (uint32_t f = 0; f < field_count_; ++f) wanted = std::max(wanted, column_[f]);
  csv_scratch_.clear();  // reserved for the longest record: never reallocates
  while (p <= line.size() && index <= wanted) {
    std::string_view field;
    bool quoted = false;
    bool used = false;
    for (uint32_t f = 0; f < field_count_ && !used; ++f) used = column_[f] == index;
    if (p < line.size() && line[p] == '"') {
      quoted = true;
      const size_t from = csv_scratch_.size();
      ++p;
      bool closed = false;
      while (p < line.size()) {
        if (line[p] == '"') {
          if (p + 1 < line.size() && line[p + 1] == '"') {
            if (used) csv_scratch_ += '"';
            p += 2;
            continue;
          }
          ++p;
          closed = true;
          break;
        }
        if (used) csv_scratch_ += line[p];
        ++p;
      }
      if (!closed) return false;
      if (p < line.size() && line[p] != ',') return false;  // text after the closing quote
      if (used) field = std::string_view(csv_scratch_).substr(from);
    } else {
      const size_t comma = line.find(',', p);
      field = line.substr(p, comma == std::string_view::npos ? comma : comma - p);
      if (field.find('"') != std::string_view::npos) return false;
      p = comma == std::string_view::npos ? line.size() : comma;
    }
    if (used) {
      // A column may feed several fields (key == value): each takes it.
      for (uint32_t f = 0; f < field_count_; ++f) {
        if (column_[f] != index) continue;
        const std::string_view v = (f == kKey || quoted) ? field : TrimBlanks(field);
        found->text[f] = v;
        found->kind[f] = v.empty() && f != kKey ? Found::kNull : Found::kString;
      }
    }
    ++index;
    ++p;
  }
  // The value column arrives as text: a number is read from it. So are the
  // added fields whose whole text is a number (a `where` compares them as
  // numbers).
  if (found->kind[kValue] == Found::kString) {
    uint8_t kind = Found::kOther;  // not a number
    CsvNumber(found->text[kValue], &kind, &found->number[kValue], &found->number_ok[kValue]);
    found->kind[kValue] = static_cast<Found::Kind>(kind);
  }
  for (uint32_t f = kFieldCount; f < field_count_; ++f) {
    if (found->kind[f] != Found::kString) continue;
    uint8_t kind = Found::kString;
    CsvNumber(found->text[f], &kind, &found->number[f], &found->number_ok[f]);
    found->kind[f] = static_cast<Found::Kind>(kind);
  }
  return true;
}

void RecordParser::ResetFound() {
  // The reading's three fields with no loop (no memset call for them).
  static_assert(kFieldCount == 3, "the reading has three fields");
  found_.kind[kKey] = found_.kind[kValue] = found_.kind[kTime] = Found::kAbsent;
  found_.text[kKey] = found_.text[kValue] = found_.text[kTime] = {};
  found_.number_ok[kKey] = found_.number_ok[kValue] = found_.number_ok[kTime] = true;
  for (uint32_t f = kFieldCount; f < field_count_; ++f) {
    found_.kind[f] = Found::kAbsent;
    found_.text[f] = {};
    found_.number_ok[f] = true;
  }
}

void RecordParser::TakeFields() {
  for (size_t i = 0; i < values_.size(); ++i) {
    const uint32_t f = kFieldCount + static_cast<uint32_t>(i);
    FieldValue& v = values_[i];
    if (extra_topic_level_[i] >= 0) {
      // Level N of the topic: absent when it has fewer levels (file records
      // have no topic).
      v.kind = FieldValue::Kind::kAbsent;
      v.text = {};
      if (!topic_.empty() && TopicLevel(topic_, extra_topic_level_[i], &v.text)) v.kind = FieldValue::Kind::kString;
      continue;
    }
    switch (found_.kind[f]) {
      case Found::kAbsent: v.kind = FieldValue::Kind::kAbsent; break;
      case Found::kNull: v.kind = FieldValue::Kind::kNull; break;
      case Found::kString: v.kind = FieldValue::Kind::kString; break;
      case Found::kNumber: v.kind = FieldValue::Kind::kNumber; break;
      default: v.kind = FieldValue::Kind::kOther; break;
    }
    v.text = v.kind == FieldValue::Kind::kString || v.kind == FieldValue::Kind::kNumber ? found_.text[f]
                                                                                        : std::string_view();
    if (v.kind == FieldValue::Kind::kNumber) {
      v.number = found_.number_ok[f] ? found_.number[f]
                 : (!v.text.empty() && v.text[0] == '-') ? -HUGE_VAL : HUGE_VAL;
    }
  }
}

bool RecordParser::Parse(const char* data, size_t len, TimeMicros arrival_us, Reading* out,
                         RejectReason* why) {
  parsed_ = false;
  if (len > kMaxRecordBytes) {
    *why = RejectReason::kTooLong;
    return false;
  }
  ResetFound();
  key_clean_ = false;
  const bool parsed = format_ == RecordFormat::kCsv ? ParseCsv(data, len, &found_)
                                                    : ParseJson(data, len, &found_);
  if (!parsed) {
    *why = RejectReason::kParseError;
    return false;
  }
  parsed_ = true;
  if (!values_.empty()) TakeFields();
  return hot_ && Finish(found_, arrival_us, out, why);
}

bool RecordParser::ParseWithKey(std::string_view key, const char* data, size_t len, TimeMicros arrival_us,
                                Reading* out, RejectReason* why) {
  parsed_ = false;
  if (len > kMaxRecordBytes) {
    *why = RejectReason::kTooLong;
    return false;
  }
  ResetFound();
  if (!ParseJson(data, len, &found_)) {
    *why = RejectReason::kParseError;
    return false;
  }
  parsed_ = true;
  if (!values_.empty()) TakeFields();
  found_.kind[kKey] = Found::kString;
  found_.text[kKey] = key;
  key_clean_ = false;  // from elsewhere
  return hot_ && Finish(found_, arrival_us, out, why);
}

bool RecordParser::ParseNumber(std::string_view key, std::string_view text, TimeMicros arrival_us,
                               Reading* out, RejectReason* why) {
  ResetFound();
  key_clean_ = false;
  parsed_ = true;
  found_.kind[kKey] = Found::kString;
  found_.text[kKey] = key;
  text = TrimBlanks(text);
  double d;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (text.empty()) {
    found_.kind[kValue] = Found::kNull;
  } else if (end != text.data() + text.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    found_.kind[kValue] = Found::kOther;
  } else {
    found_.kind[kValue] = Found::kNumber;
    found_.number[kValue] = d;
    found_.number_ok[kValue] = ec == std::errc();
  }
  if (has_time_) {
    // A bare number carries no time: it is the arrival time.
    found_.kind[kTime] = Found::kNumber;
    found_.text[kTime] = {};
  }
  // Only topic levels can be fields of a bare number.
  if (!values_.empty()) TakeFields();
  if (!hot_ || !Finish(found_, arrival_us, out, why)) return false;
  out->time_us = arrival_us;
  return true;
}

bool RecordParser::Finish(const Found& found, TimeMicros arrival_us, Reading* out, RejectReason* why) {
  // Key.
  switch (found.kind[kKey]) {
    case Found::kAbsent:
    case Found::kNull:
      *why = RejectReason::kKeyMissing;
      return false;
    case Found::kString:
    case Found::kNumber:
      break;
    default:
      *why = RejectReason::kKeyNotText;
      return false;
  }
  const std::string_view key = found.text[kKey];
  if (key.empty()) {
    *why = RejectReason::kKeyEmpty;
    return false;
  }
  if (key.size() > kMaxKeyBytes) {
    *why = RejectReason::kKeyTooLong;
    return false;
  }
  if (!key_clean_) {
    for (unsigned char c : key) {
      if (c < 0x20 || c == 0x7f) {
        *why = RejectReason::kKeyControlChar;
        return false;
      }
    }
  }
  // Value.
  switch (found.kind[kValue]) {
    case Found::kAbsent:
    case Found::kNull:
      *why = RejectReason::kValueMissing;
      return false;
    case Found::kNumber:
      break;
    default:
      *why = RejectReason::kValueNotNumber;
      return false;
  }
  const double number = found.number[kValue];
  if (!found.number_ok[kValue] || !std::isfinite(number)) {
    *why = RejectReason::kValueNotFinite;
    return false;
  }
  if (number < config_.min || number > config_.max) {
    *why = RejectReason::kValueOutOfRange;
    return false;
  }
  // Time.
  TimeMicros t = arrival_us;
  if (has_time_ && !found.text[kTime].empty()) {
    if (!ParseTimeText(found.text[kTime], &t, &time_cache_)) {
      *why = RejectReason::kTimeInvalid;
      return false;
    }
  } else if (has_time_ && found.kind[kTime] != Found::kNumber) {
    if (found.kind[kTime] == Found::kAbsent || found.kind[kTime] == Found::kNull) {
      *why = RejectReason::kTimeMissing;
    } else {
      *why = RejectReason::kTimeInvalid;
    }
    return false;
  }
  out->key = key;
  out->value = number;
  out->time_us = t;
  return true;
}

}  // namespace sensorgate
