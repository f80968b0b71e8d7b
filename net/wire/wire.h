// The frame codec between nodes, and between a node and its clients: the
// core's plain message structs as Cap'n Proto frames (schema: sluice.capnp;
// format, limits and handshake: README.md).
//
// Decoding is for untrusted input: whatever bytes arrive, Decoder::next()
// returns a frame, "need more bytes", or an error; it never crashes,
// asserts, throws, or allocates beyond what the Limits allow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/common/status.h"
#include "core/common/types.h"
#include "core/node/broker_messages.h"
#include "core/node/output.h"

namespace sluice::wire {

inline constexpr std::uint32_t kProtocolVersion = 1;

struct Limits {
  std::size_t frame_bytes_max = 64u << 20;        // peers carry snapshot chunks and append batches
  std::uint64_t traversal_words_max = 16u << 20;  // Cap'n Proto read limit for untrusted input
  int nesting_max = 32;
};

enum class Role : std::uint8_t { peer, client };

// The first frame on every connection, in both directions.
struct Hello {
  std::uint32_t version = kProtocolVersion;
  Role role = Role::client;
  NodeId node;          // peers: the sender's id, never kNoNode; clients: kNoNode
  std::string cluster;  // the other side refuses a connection from another cluster
  // Peers: the id drawn when the sender's data directory was created; 0
  // from clients (and from builds before it existed). A peer that answers
  // with another id than before lost its data and is refused.
  std::uint64_t storage_id = 0;
};

// Sent just before closing a connection because of bad input.
struct ErrorFrame {
  std::string message;
};

using Frame = std::variant<Hello, ErrorFrame, Envelope<node::Message>>;

// One frame on the wire: a 4-byte little-endian length of what follows, then a
// Cap'n Proto message in the standard (unpacked) serialization.
//
// Encoding is deterministic: equal frames give equal bytes. The sender keeps
// frames under the receiver's Limits::frame_bytes_max (a larger one is
// refused there); a frame over 4 GiB is a bug and stops the process.
std::string encode(const Frame& frame);

// Incremental decoding of a byte stream into frames, for untrusted input.
class Decoder {
 public:
  explicit Decoder(Limits limits = {});

  // Appends bytes read from the connection. Once the stream is known to be
  // broken (an oversized length prefix is refused as soon as its 4 bytes
  // arrive), the rest is dropped rather than buffered.
  void feed(std::string_view bytes);

  // The next whole frame; std::nullopt when more bytes are needed. An error
  // (Code::invalid_argument, with a clear message: oversized frame, not Cap'n
  // Proto, unknown union member, value out of range...) means the stream is
  // broken: the caller sends an ErrorFrame and closes the connection. Every
  // later call returns the same error.
  //
  // Frames are checked for what the core would otherwise assert on (a Raft
  // append's entries must be contiguous and well formed), and a Hello for
  // the protocol version; which frame may come when (Hello first) is the
  // connection's business.
  Result<std::optional<Frame>> next();

  // Bytes fed and not yet returned as frames.
  std::size_t buffered() const;

 private:
  // Checks the length prefix of every frame header that has arrived.
  void scan_headers();
  // Ends the stream at `offset`: bytes from there on are dropped, and next()
  // returns `error` once it has returned the frames before.
  void break_at(std::size_t offset, Status error);
  // Drops consumed bytes from the front of the buffer, now and then.
  void compact();

  Limits limits_;
  std::string buffer_;             // bytes fed; [consumed_, size) not yet returned
  std::size_t consumed_ = 0;       // consumed_ <= buffer_.size()
  std::size_t scanned_ = 0;        // the next header to check; may lie past the end while a body arrives
  std::optional<Status> broken_;   // set once; next() returns it when it reaches broken_at_
  std::size_t broken_at_ = 0;      // broken_: where the bad frame starts, == buffer_.size()
};

}  // namespace sluice::wire
