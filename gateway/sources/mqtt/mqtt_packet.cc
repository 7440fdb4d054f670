#include "gateway/sources/mqtt/mqtt_packet.h"

namespace sensorgate {
namespace mqtt {
namespace {

void AppendRemainingLength(uint32_t n, std::string* out) {
  do {
    uint8_t b = n % 128;
    n /= 128;
    if (n > 0) b |= 0x80;
    out->push_back(static_cast<char>(b));
  } while (n > 0);
}

void AppendU16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

// A UTF-8 string of MQTT: 2 bytes of length, then the bytes (at most 65535:
// the configuration allows far less for every string sent).
void AppendString(std::string_view s, std::string* out) {
  if (s.size() > 65535) s = s.substr(0, 65535);
  AppendU16(static_cast<uint16_t>(s.size()), out);
  out->append(s);
}

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

void AppendConnect(const ConnectOptions& o, std::string* out) {
  const bool user = !o.username.empty();
  const bool pass = user && !o.password.empty();
  const uint32_t len = 10 + 2 + static_cast<uint32_t>(o.client_id.size()) +
                       (user ? 2 + static_cast<uint32_t>(o.username.size()) : 0) +
                       (pass ? 2 + static_cast<uint32_t>(o.password.size()) : 0);
  out->push_back(static_cast<char>(kConnect << 4));
  AppendRemainingLength(len, out);
  AppendString("MQTT", out);
  out->push_back(4);  // protocol level: 3.1.1
  out->push_back(static_cast<char>((user ? 0x80 : 0) | (pass ? 0x40 : 0) | (o.clean_session ? 0x02 : 0)));
  AppendU16(o.keep_alive_s, out);
  AppendString(o.client_id, out);
  if (user) AppendString(o.username, out);
  if (pass) AppendString(o.password, out);
}

void AppendSubscribe(uint16_t packet_id, const std::vector<std::string>& filters, int qos, std::string* out) {
  uint32_t len = 2;
  for (const auto& f : filters) len += 2 + static_cast<uint32_t>(f.size()) + 1;
  out->push_back(static_cast<char>(kSubscribe << 4 | 0x02));  // the reserved bits 0010
  AppendRemainingLength(len, out);
  AppendU16(packet_id, out);
  for (const auto& f : filters) {
    AppendString(f, out);
    out->push_back(static_cast<char>(qos));
  }
}

void AppendUnsubscribe(uint16_t packet_id, const std::vector<std::string>& filters, std::string* out) {
  uint32_t len = 2;
  for (const auto& f : filters) len += 2 + static_cast<uint32_t>(f.size());
  out->push_back(static_cast<char>(kUnsubscribe << 4 | 0x02));
  AppendRemainingLength(len, out);
  AppendU16(packet_id, out);
  for (const auto& f : filters) AppendString(f, out);
}

void AppendAck(PacketType type, uint16_t packet_id, std::string* out) {
  out->push_back(static_cast<char>(type << 4 | (type == kPubRel ? 0x02 : 0)));
  out->push_back(2);
  AppendU16(packet_id, out);
}

void AppendPingReq(std::string* out) {
  out->push_back(static_cast<char>(kPingReq << 4));
  out->push_back(0);
}

void AppendDisconnect(std::string* out) {
  out->push_back(static_cast<char>(kDisconnect << 4));
  out->push_back(0);
}

Split MqttSplit(const uint8_t* data, size_t len, size_t* header_len, uint32_t* body_len) {
  *header_len = 0;
  uint32_t value = 0;
  for (size_t i = 1; i <= 4; ++i) {
    if (i >= len) return Split::kNeedMore;
    value |= static_cast<uint32_t>(data[i] & 0x7f) << (7 * (i - 1));
    if ((data[i] & 0x80) == 0) {
      *header_len = i + 1;
      *body_len = value;
      return len - *header_len >= value ? Split::kPacket : Split::kNeedMore;
    }
  }
  return Split::kBad;
}

size_t PublishHeadLength(uint8_t first, const uint8_t* body, size_t have) {
  if (have < 2) return 0;
  const size_t head = 2 + ReadU16(body) + (((first >> 1) & 3) != 0 ? 2 : 0);
  return have >= head ? head : 0;
}

bool ParsePublish(uint8_t first, const uint8_t* body, uint32_t body_len, size_t have, Publish* out) {
  out->qos = (first >> 1) & 3;
  out->dup = (first & 0x08) != 0;
  out->retain = (first & 0x01) != 0;
  if (out->qos == 3 || body_len < 2 || have < 2 || have > body_len) return false;
  const size_t tlen = ReadU16(body);
  const size_t head = 2 + tlen + (out->qos > 0 ? 2 : 0);
  if (head > body_len || head > have) return false;
  out->topic = std::string_view(reinterpret_cast<const char*>(body) + 2, tlen);
  out->packet_id = out->qos > 0 ? ReadU16(body + 2 + tlen) : 0;
  if (out->qos > 0 && out->packet_id == 0) return false;
  out->payload = std::string_view(reinterpret_cast<const char*>(body) + head, have - head);
  return true;
}

std::string ConnAckText(int code) {
  switch (code) {
    case 1: return "the broker refused the protocol version";
    case 2: return "the broker refused the client id";
    case 3: return "the broker is unavailable";
    case 4: return "the broker refused the user name or password";
    case 5: return "the broker refused: not authorized (user name, password or client certificate)";
    default: return "the broker refused the connection (CONNACK " + std::to_string(code) + ")";
  }
}

}  // namespace mqtt
}  // namespace sensorgate
