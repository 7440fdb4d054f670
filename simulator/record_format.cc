#include "simulator/record_format.h"

#include <cstring>

namespace sensorgate {
namespace {

constexpr size_t kOversizedMin = 64 * 1024 + 1000;
constexpr size_t kGoodLineMax = 512;

char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// The id suffix of the sample: three digits and two capital letters.
void Suffix(uint64_t bits, char* out) {
  const unsigned digits = static_cast<unsigned>(bits % 1000);
  bits /= 1000;
  out[0] = static_cast<char>('0' + digits / 100);
  out[1] = static_cast<char>('0' + digits / 10 % 10);
  out[2] = static_cast<char>('0' + digits % 10);
  out[3] = static_cast<char>('A' + bits % 26);
  out[4] = static_cast<char>('A' + bits / 26 % 26);
}

const char* const kGarbage[] = {
    "modbus: read timeout on unit ",  "<html><body>502 Bad Gateway</body></html> ",
    "ERROR sensor bus reset, retry ", "\xef\xbb\xbf\xc3\xa7\xc3\xa3o ~~ ",
    "temperatura=73.3;sensor=sensor", "}{ \"sensor\": ",
};

}  // namespace

size_t FormatTenths(int32_t tenths, char* buf) {
  char* p = buf;
  int64_t v = tenths;
  if (v < 0) {
    *p++ = '-';
    v = -v;
  }
  char tmp[12];
  int n = 0;
  int64_t whole = v / 10;
  do {
    tmp[n++] = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  while (n > 0) *p++ = tmp[--n];
  *p++ = '.';
  *p++ = static_cast<char>('0' + v % 10);
  return static_cast<size_t>(p - buf);
}

RecordFormatter::RecordFormatter(const std::vector<std::string>* keys, PayloadFormat payload)
    : keys_(keys), payload_(payload), buf_(kGoodLineMax * 2) {}

void RecordFormatter::Reserve(size_t bytes) {
  if (buf_.size() < bytes) buf_.resize(bytes);
}

char* RecordFormatter::WriteTime(TimeMicros t, char* p) {
  const int64_t second = t / kMicrosPerSecond;
  if (second != cached_second_) {
    char full[32];
    FormatRfc3339(second * kMicrosPerSecond, full);
    std::memcpy(cached_prefix_, full, sizeof cached_prefix_);
    cached_second_ = second;
  }
  std::memcpy(p, cached_prefix_, sizeof cached_prefix_);
  p += sizeof cached_prefix_;
  unsigned micros = static_cast<unsigned>(t % kMicrosPerSecond);
  for (int i = 5; i >= 0; --i) {
    p[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  p[6] = 'Z';
  return p + 7;
}

std::string_view RecordFormatter::Format(const Record& record) {
  if (record.bad != BadKind::kNone) return FormatBad(record);
  if (payload_ == PayloadFormat::kNumber) return FormatNumber(record);
  static const Shape kGood;
  return FormatJson(record, kGood);
}

std::string_view RecordFormatter::FormatNumber(const Record& record) {
  return std::string_view(buf_.data(), FormatTenths(record.tenths, buf_.data()));
}

std::string_view RecordFormatter::FormatJson(const Record& record, const Shape& shape) {
  Reserve(kGoodLineMax + shape.id_padding);
  char suffix[5];
  Suffix(record.noise, suffix);
  const std::string_view sfx(suffix, sizeof suffix);
  char* const start = buf_.data();
  char* p = start;
  p = Put(p, "{\"id_sensor\":\"Sensor-1503-");
  if (shape.id_padding != 0) {
    std::memset(p, 'X', shape.id_padding);
    p += shape.id_padding;
  }
  p = Put(p, sfx);
  p = Put(p, "\",\"id_equipamento\":\"Equipament-0323XH-");
  p = Put(p, sfx);
  p = Put(p, "\",");
  if (!shape.sensor_prefix.empty()) {
    p = Put(p, shape.sensor_prefix);
    if (shape.sensor_value) {
      const std::string& key = (*keys_)[record.equipment];
      if (shape.sensor_inject.empty()) {
        p = Put(p, key);
      } else {
        p = Put(p, std::string_view(key).substr(0, 3));
        p = Put(p, shape.sensor_inject);
        p = Put(p, std::string_view(key).substr(3));
      }
    }
    p = Put(p, "\", ");
  }
  p = Put(p, "\"data_evento\":\"");
  p = WriteTime(record.time, p);
  p = Put(p, "\", \"padrao\":{\"formato\":\"iot:leitura:sensor:temp\", \"leitura\":{");
  if (shape.has_value) {
    p = Put(p, "\"temperatura\":");
    if (shape.value_text.empty()) {
      p += FormatTenths(record.tenths, p);
    } else {
      p = Put(p, shape.value_text);
    }
  }
  p = Put(p, "}}}");
  return std::string_view(start, static_cast<size_t>(p - start));
}

std::string_view RecordFormatter::FormatBad(const Record& record) {
  uint64_t bits = record.noise;
  const auto take = [&bits](uint64_t n) {
    const uint64_t v = bits % n;
    bits /= n;
    return v;
  };
  char value[16];
  const size_t value_size = FormatTenths(record.tenths, value);
  const std::string_view value_text(value, value_size);

  if (record.bad == BadKind::kGarbage) {
    Reserve(256);
    char* p = buf_.data();
    p = Put(p, kGarbage[take(sizeof kGarbage / sizeof kGarbage[0])]);
    p += FormatTenths(static_cast<int32_t>(take(100000)), p);
    return std::string_view(buf_.data(), static_cast<size_t>(p - buf_.data()));
  }

  if (payload_ == PayloadFormat::kNumber) {
    Reserve(kOversizedMin + 4096);
    char* p = buf_.data();
    switch (record.bad) {
      case BadKind::kTruncated:
        p = Put(p, "-");
        break;
      case BadKind::kValueString:
        p = Put(p, "\"");
        p = Put(p, value_text);
        p = Put(p, "\"");
        break;
      case BadKind::kValueTrue:
        p = Put(p, "true");
        break;
      case BadKind::kValueNull:
        p = Put(p, "null");
        break;
      case BadKind::kOversized: {
        const size_t n = kOversizedMin + take(4000);
        p = Put(p, "1");
        std::memset(p, '0', n);
        p += n;
        break;
      }
      default:  // kMissingTemperature and anything else: an empty payload
        break;
    }
    return std::string_view(buf_.data(), static_cast<size_t>(p - buf_.data()));
  }

  Shape shape;
  std::string quoted;
  switch (record.bad) {
    case BadKind::kTruncated: {
      static const Shape kGood;
      const std::string_view line = FormatJson(record, kGood);
      return line.substr(0, 1 + take(line.size() - 1));  // 1 .. size-1 bytes
    }
    case BadKind::kValueString:
      quoted = "\"" + std::string(value_text) + "\"";
      shape.value_text = quoted;
      break;
    case BadKind::kValueTrue:
      shape.value_text = "true";
      break;
    case BadKind::kValueNull:
      shape.value_text = "null";
      break;
    case BadKind::kMissingSensor:
      shape.sensor_prefix = std::string_view();
      break;
    case BadKind::kMissingTemperature:
      shape.has_value = false;
      break;
    case BadKind::kControlEscape:
      shape.sensor_inject = "\\u0001";
      break;
    case BadKind::kControlRaw:
      shape.sensor_inject = std::string_view("\x01", 1);
      break;
    case BadKind::kOversized:
      shape.id_padding = kOversizedMin + take(4000);
      break;
    case BadKind::kEmptySensor:
      shape.sensor_value = false;
      break;
    default:
      break;
  }
  return FormatJson(record, shape);
}

}  // namespace sensorgate
