#include "gateway/base/metrics.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>


namespace sensorgate {
namespace {

[[maybe_unused]] bool IsMetricName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if the bytes there are not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// Label value: \ " and line feed escaped, invalid UTF-8 replaced by U+FFFD.
void AppendLabelValue(std::string* out, std::string_view v) {
  for (size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      const size_t n = Utf8SequenceLength(v, i);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");
        ++i;
      } else {
        out->append(v.data() + i, n);
        i += n;
      }
      continue;
    }
    ++i;
  }
}

// HELP text: \ and line feed escaped.
void AppendHelpText(std::string* out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

void AppendSampleValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    // Whole numbers (counts) as integers: "1000000", not "1e+06".
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out->append(buf, end);
  } else {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, end);
  }
}

}  // namespace

void AppendMetricHeader(std::string* out, std::string_view name, MetricType type,
                        std::string_view help) {
  assert(IsMetricName(name, true));
  assert(type != MetricType::kCounter ||
         (name.size() > 6 && name.substr(name.size() - 6) == "_total"));
  out->append("# HELP ");
  out->append(name);
  out->push_back(' ');
  AppendHelpText(out, help);
  out->append("\n# TYPE ");
  out->append(name);
  out->append(type == MetricType::kCounter ? " counter\n" : " gauge\n");
}

void AppendMetricSample(std::string* out, std::string_view name,
                        std::initializer_list<MetricLabel> labels, double value) {
  out->append(name);
  if (labels.size() > 0) {
    out->push_back('{');
    bool first = true;
    for (const MetricLabel& l : labels) {
      assert(IsMetricName(l.name, false));
      if (!first) out->push_back(',');
      first = false;
      out->append(l.name);
      out->append("=\"");
      AppendLabelValue(out, l.value);
      out->push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
  AppendSampleValue(out, value);
  out->push_back('\n');
}

void AppendMetric(std::string* out, std::string_view name, MetricType type, std::string_view help,
                  double value) {
  AppendMetricHeader(out, name, type, help);
  AppendMetricSample(out, name, {}, value);
}

void AppendMetric(std::string* out, std::string_view name, MetricType type, std::string_view help,
                  std::initializer_list<MetricLabel> labels, double value) {
  AppendMetricHeader(out, name, type, help);
  AppendMetricSample(out, name, labels, value);
}

}  // namespace sensorgate
