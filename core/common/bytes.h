// Big-endian fixed-width encoding, so encoded keys sort like the numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

inline void put_u64_be(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
inline void put_u32_be(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
// Precondition: in.size() >= offset + 8 (callers check sizes first).
inline std::uint64_t get_u64_be(std::string_view in, std::size_t offset = 0) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[offset + i]);
  return v;
}
inline std::uint32_t get_u32_be(std::string_view in, std::size_t offset = 0) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[offset + i]);
  return v;
}

}  // namespace sluice
