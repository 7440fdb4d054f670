// MQTT 3.1.1 packets (OASIS standard, 29 October 2014), the part a
// subscribing client needs: what it sends (CONNECT, SUBSCRIBE, UNSUBSCRIBE,
// PUBACK, PUBREC, PUBCOMP, PINGREQ, DISCONNECT) and the splitting of what it
// receives into packets.
//
// Encoding appends to a std::string (the connection's output buffer).
// Decoding works in place: MqttSplit() finds one whole packet at the front of
// a buffer without copying it, and ParsePublish() points into it. Every
// length is checked against the bytes present, so nothing a broker sends can
// read outside the buffer. Pure functions; any thread.
#ifndef SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_PACKET_H_
#define SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sensorgate {
namespace mqtt {

// Packet types (the high nibble of the first byte).
enum PacketType : uint8_t {
  kConnect = 1, kConnAck = 2, kPublish = 3, kPubAck = 4, kPubRec = 5, kPubRel = 6, kPubComp = 7,
  kSubscribe = 8, kSubAck = 9, kUnsubscribe = 10, kUnsubAck = 11, kPingReq = 12, kPingResp = 13,
  kDisconnect = 14,
};

// The largest remaining length the protocol can encode (4 bytes of 7 bits).
constexpr uint32_t kMaxRemainingLength = 268435455;

struct ConnectOptions {
  std::string_view client_id;
  std::string_view username;   // "" : none
  std::string_view password;   // "" : none (sent only with a user name, as 3.1.1 requires)
  bool clean_session = false;
  uint16_t keep_alive_s = 30;
};

void AppendConnect(const ConnectOptions& o, std::string* out);
// SUBSCRIBE with one QoS for every filter.
void AppendSubscribe(uint16_t packet_id, const std::vector<std::string>& filters, int qos, std::string* out);
void AppendUnsubscribe(uint16_t packet_id, const std::vector<std::string>& filters, std::string* out);
// PUBACK, PUBREC, PUBCOMP: the type and the packet id.
void AppendAck(PacketType type, uint16_t packet_id, std::string* out);
void AppendPingReq(std::string* out);
void AppendDisconnect(std::string* out);

// The fixed header at the front of `data`.
enum class Split {
  kPacket,    // a whole packet: *header_len + *body_len bytes
  kNeedMore,  // not yet whole (the header may be whole: *body_len is then set)
  kBad,       // a remaining length of more than 4 bytes
};
// Finds the packet at the front of data[0, len). On kPacket and on kNeedMore
// with a whole fixed header, *header_len is the fixed header's size (2 to 5)
// and *body_len the remaining length; otherwise *header_len is 0.
Split MqttSplit(const uint8_t* data, size_t len, size_t* header_len, uint32_t* body_len);

struct Publish {
  std::string_view topic;
  std::string_view payload;
  int qos = 0;
  bool dup = false;
  bool retain = false;
  uint16_t packet_id = 0;  // 0 at QoS 0
};
// Reads a PUBLISH from its first byte and its body (the `body_len` bytes
// after the fixed header; only the first `have` of them may be present: a
// payload too long to keep is then cut, the topic and the packet id must be
// whole). Returns false for a malformed one (a topic longer than the body, QoS
// 3, packet id 0 at QoS 1 or 2).
bool ParsePublish(uint8_t first, const uint8_t* body, uint32_t body_len, size_t have, Publish* out);

// The size of the PUBLISH's variable header (topic and packet id) when the
// first `have` bytes of its body are present; 0 while they are too few.
size_t PublishHeadLength(uint8_t first, const uint8_t* body, size_t have);

// The words for a CONNACK return code of 3.1.1 (1 to 5).
std::string ConnAckText(int code);

}  // namespace mqtt
}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_SOURCES_MQTT_MQTT_PACKET_H_
