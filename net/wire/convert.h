// Inside the codec: the mapping between the core's structs (wire.h) and the
// Cap'n Proto schema (sluice.capnp). Not for use outside net/wire; wire.h is
// the interface.
#pragma once

#include <cstddef>
#include <string>

#include "net/wire/sluice.capnp.h"
#include "net/wire/wire.h"

namespace sluice::wire::detail {

// Why a frame was refused. Thrown only inside decode_frame() and caught in
// Decoder::next() along with kj::Exception: it never leaves the codec.
struct DecodeError {
  std::string message;
};

// What decoding one frame may allocate. Cap'n Proto's traversal limit bounds
// the words read, but a list of zero-sized structs costs a hostile sender
// nothing per element while each element becomes a C++ object of a few
// hundred bytes. Every list element and every string is charged here before
// it is allocated; a frame over budget is refused.
class Budget {
 public:
  explicit Budget(std::size_t bytes) : left_bytes_(bytes) {}
  // Charges count * each bytes; throws DecodeError past the budget.
  void charge(std::size_t count, std::size_t each);

 private:
  std::size_t left_bytes_;
};

// An honest frame materializes at most about 6 bytes of C++ values per byte
// of frame (a List(Tag) element: 16 bytes on the wire, a map node of ~96
// bytes in memory); the budget allows 8.
inline constexpr std::size_t kMaterializedBytesPerFrameByte = 8;

void encode_frame(const Frame& frame, schema::Frame::Builder out);

// Throws DecodeError for values the core cannot take (an unknown union
// member or enumerant, a malformed Raft append, a wrong protocol version),
// and lets kj::Exception through for bytes that are not a valid message.
Frame decode_frame(schema::Frame::Reader in, Budget& budget);

}  // namespace sluice::wire::detail
