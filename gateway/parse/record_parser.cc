#include "gateway/parse/record_parser.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

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

RecordParser::RecordParser(const ReadingConfig& config, RecordFormat format)
    : config_(config),
      format_(format),
      has_time_(!config.time.empty()),
      key_from_topic_(TopicKeyLevel(config.key) >= 0),
      parser_(kMaxRecordBytes) {
  if (!key_from_topic_) AddPath(config_.key, kKey);
  AddPath(config_.value, kValue);
  if (has_time_) AddPath(config_.time, kTime);
  // Size simdjson's buffers once, for the largest record we accept.
  if (parser_.allocate(kMaxRecordBytes)) std::abort();  // start-up only: no memory
  for (auto& s : csv_scratch_) s.reserve(kMaxRecordBytes);
}

void RecordParser::AddPath(std::string_view dotted, Field f) {
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
      node->children.push_back(PathNode{std::string(part), plain, 0, {}});
      next = &node->children.back();
    }
    node = next;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  node->leaves |= static_cast<uint8_t>(1u << f);
}

Status RecordParser::SetCsvHeader(std::string_view header) {
  column_ = {-1, -1, -1};
  // Spreadsheet exports start the file with a UTF-8 byte order mark.
  if (header.substr(0, 3) == "\xEF\xBB\xBF") header.remove_prefix(3);
  const std::string_view names[kFieldCount] = {config_.key, config_.value, config_.time};
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
    for (int f = 0; f < kFieldCount; ++f) {
      if (column_[f] < 0 && !names[f].empty() && col == names[f]) column_[f] = index;
    }
    columns.push_back(col);
    ++index;
    ++p;  // past the comma
  }
  std::string missing;
  for (int f = 0; f < kFieldCount; ++f) {
    if (column_[f] < 0 && !(f == kTime && !has_time_)) {
      missing += std::string(missing.empty() ? "\"" : ", \"") + std::string(names[f]) + "\"";
    }
  }
  if (missing.empty()) return Status::Ok();
  std::string have;
  for (const auto& c : columns) have += (have.empty() ? "\"" : ", \"") + c + "\"";
  return Status::Error("the CSV header has no column " + missing + " (its columns: " + have + ")");
}

void RecordParser::TakeLeaf(od::value v, Field f, Found* found) {
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
      if (f == kValue) {
        double d;
        const auto err = v.get_double().get(d);
        if (err == simdjson::NUMBER_ERROR) {
          found->number_ok = false;  // too large for a double
        } else if (err) {
          found->kind[f] = Found::kBad;
        } else {
          found->number = d;
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
        od::object child;
        if (v.get_object().get(child)) return false;
        if (!WalkObject(child, *match, found)) return false;
        continue;
      }
    }
    for (int f = 0; f < kFieldCount; ++f) {
      if (match->leaves & (1u << f)) TakeLeaf(v, static_cast<Field>(f), found);
    }
  }
  return true;
}

bool RecordParser::ParseJson(const char* data, size_t len, Found* found) {
  has_escape_ = std::memchr(data, '\\', len) != nullptr;
  od::document doc;
  if (parser_.iterate(data, len, len + kRecordPadding).get(doc)) return false;
  od::object obj;
  if (doc.get_object().get(obj)) return false;
  if (!WalkObject(obj, root_, found)) return false;
  for (int f = 0; f < kFieldCount; ++f) {
    if (found->kind[f] == Found::kBad) return false;
  }
  // Nothing may follow the object: at the end, current_location() is out of bounds.
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

bool RecordParser::ParseCsv(const char* data, size_t len, Found* found) {
  if (!simdjson::validate_utf8(data, len)) return false;
  const std::string_view line(data, len);
  int index = 0;
  size_t p = 0;
  int wanted = -1;
  for (int c : column_) wanted = std::max(wanted, c);
  while (p <= line.size() && index <= wanted) {
    std::string_view field;
    bool quoted = false;
    int slot = -1;
    for (int f = 0; f < kFieldCount; ++f) {
      if (column_[f] == index) slot = f;
    }
    if (p < line.size() && line[p] == '"') {
      quoted = true;
      std::string* scratch = slot >= 0 ? &csv_scratch_[slot] : nullptr;
      if (scratch) scratch->clear();
      ++p;
      bool closed = false;
      while (p < line.size()) {
        if (line[p] == '"') {
          if (p + 1 < line.size() && line[p + 1] == '"') {
            if (scratch) *scratch += '"';
            p += 2;
            continue;
          }
          ++p;
          closed = true;
          break;
        }
        if (scratch) *scratch += line[p];
        ++p;
      }
      if (!closed) return false;
      if (p < line.size() && line[p] != ',') return false;  // text after the closing quote
      if (scratch) field = *scratch;
    } else {
      const size_t comma = line.find(',', p);
      field = line.substr(p, comma == std::string_view::npos ? comma : comma - p);
      if (field.find('"') != std::string_view::npos) return false;
      p = comma == std::string_view::npos ? line.size() : comma;
    }
    if (slot >= 0) {
      // Every configured column may appear in several fields (key == value);
      // assign to each field that uses this column.
      for (int f = 0; f < kFieldCount; ++f) {
        if (column_[f] != index) continue;
        const std::string_view v = (f == kKey || quoted) ? field : TrimBlanks(field);
        found->text[f] = v;
        found->kind[f] = v.empty() && f != kKey ? Found::kNull : Found::kString;
      }
    }
    ++index;
    ++p;
  }
  // The value column arrives as text: a number is read from it below.
  if (found->kind[kValue] == Found::kString) {
    const std::string_view t = found->text[kValue];
    double d;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (end != t.data() + t.size() || t.empty()) {
      found->kind[kValue] = Found::kOther;  // not a number
    } else if (ec == std::errc::result_out_of_range) {
      found->kind[kValue] = Found::kNumber;
      found->number_ok = false;
    } else if (ec != std::errc()) {
      found->kind[kValue] = Found::kOther;
    } else {
      found->kind[kValue] = Found::kNumber;
      found->number = d;
    }
  }
  return true;
}

bool RecordParser::Parse(const char* data, size_t len, TimeMicros arrival_us, Reading* out,
                         RejectReason* why) {
  if (len > kMaxRecordBytes) {
    *why = RejectReason::kTooLong;
    return false;
  }
  Found found{};
  const bool parsed = format_ == RecordFormat::kCsv ? ParseCsv(data, len, &found)
                                                    : ParseJson(data, len, &found);
  if (!parsed) {
    *why = RejectReason::kParseError;
    return false;
  }
  return Finish(found, arrival_us, out, why);
}

bool RecordParser::ParseWithKey(std::string_view key, const char* data, size_t len, TimeMicros arrival_us,
                                Reading* out, RejectReason* why) {
  if (len > kMaxRecordBytes) {
    *why = RejectReason::kTooLong;
    return false;
  }
  Found found{};
  if (!ParseJson(data, len, &found)) {
    *why = RejectReason::kParseError;
    return false;
  }
  found.kind[kKey] = Found::kString;
  found.text[kKey] = key;
  return Finish(found, arrival_us, out, why);
}

bool RecordParser::ParseNumber(std::string_view key, std::string_view text, TimeMicros arrival_us,
                               Reading* out, RejectReason* why) {
  Found found{};
  found.kind[kKey] = Found::kString;
  found.text[kKey] = key;
  text = TrimBlanks(text);
  double d;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (text.empty()) {
    found.kind[kValue] = Found::kNull;
  } else if (end != text.data() + text.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    found.kind[kValue] = Found::kOther;
  } else {
    found.kind[kValue] = Found::kNumber;
    found.number = d;
    found.number_ok = ec == std::errc();
  }
  if (has_time_) {
    // A bare number carries no time: it is the arrival time.
    found.kind[kTime] = Found::kNumber;
    found.text[kTime] = {};
  }
  if (!Finish(found, arrival_us, out, why)) return false;
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
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) {
      *why = RejectReason::kKeyControlChar;
      return false;
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
  if (!found.number_ok || !std::isfinite(found.number)) {
    *why = RejectReason::kValueNotFinite;
    return false;
  }
  if (found.number < config_.min || found.number > config_.max) {
    *why = RejectReason::kValueOutOfRange;
    return false;
  }
  // Time.
  TimeMicros t = arrival_us;
  if (has_time_ && !found.text[kTime].empty()) {
    if (!ParseTimeText(found.text[kTime], &t)) {
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
  out->value = found.number;
  out->time_us = t;
  return true;
}

}  // namespace sensorgate
