// CRC-32C (Castagnoli), the checksum on every persisted record. Software
// table implementation: portable and deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);
inline std::uint32_t crc32c(std::string_view s, std::uint32_t crc = 0) {
  return crc32c(s.data(), s.size(), crc);
}

}  // namespace sluice
