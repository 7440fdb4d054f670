// CRC-32C (Castagnoli), the checksum of the checkpoint (and of the Kafka
// spool's frames, DESIGN.md section 7): detects a torn write or a flipped bit
// on an SD card. Table-driven, no hardware instructions needed. Pure; any thread.
#ifndef SENSORGATE_GATEWAY_BASE_CRC32C_H_
#define SENSORGATE_GATEWAY_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sensorgate {

// Extends `crc` (0 to start) with `data`. Crc32c(0, "123456789") == 0xE3069283.
uint32_t Crc32c(uint32_t crc, std::string_view data);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_CRC32C_H_
