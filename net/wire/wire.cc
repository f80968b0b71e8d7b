// Framing: the length prefix, the limits, and the boundary where Cap'n
// Proto's exceptions become Status values. The mapping of each message is in
// encode.cc and decode.cc.
#include "net/wire/wire.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>

#include "net/wire/convert.h"

namespace sluice::wire {
namespace {

constexpr std::size_t kHeaderBytes = 4;
constexpr std::size_t kWordBytes = sizeof(capnp::word);
static_assert(kWordBytes == 8);

// Keep at least this much consumed space before moving the rest of the
// buffer down: many small frames in one feed cost one move, not one each.
constexpr std::size_t kCompactBytesMin = 64u << 10;

std::uint32_t get_u32_le(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint32_t>(u[0]) | static_cast<std::uint32_t>(u[1]) << 8 |
         static_cast<std::uint32_t>(u[2]) << 16 | static_cast<std::uint32_t>(u[3]) << 24;
}

void put_u32_le(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

Status invalid(std::string message) { return Status(Code::invalid_argument, std::move(message)); }

// What the length prefix alone can tell: refused before the body is read.
std::optional<Status> check_length(std::uint32_t length, const Limits& limits) {
  if (length > limits.frame_bytes_max) {
    return invalid("frame of " + std::to_string(length) + " bytes is over the limit of " +
                   std::to_string(limits.frame_bytes_max) + " bytes (is the other side speaking Sluice frames?)");
  }
  if (length == 0) return invalid("empty frame: a frame holds one Cap'n Proto message");
  if (length % kWordBytes != 0) {
    return invalid("frame of " + std::to_string(length) +
                   " bytes is not a whole number of 8-byte words, so not a Cap'n Proto message");
  }
  return std::nullopt;
}

// One frame's body, which check_length() accepted.
Result<Frame> decode_body(std::string_view body, const Limits& limits) {
  // Cap'n Proto reads words in place and needs them 8-byte aligned; the
  // stream buffer is not, so the body is copied into words first.
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(body.size() / kWordBytes);
  std::memcpy(words.begin(), body.data(), body.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits.traversal_words_max;
  options.nestingLimit = limits.nesting_max;
  try {
    capnp::FlatArrayMessageReader reader(words.asPtr(), options);
    if (reader.getEnd() != words.end()) {
      const auto extra = static_cast<std::size_t>(words.end() - reader.getEnd()) * kWordBytes;
      return invalid("frame has " + std::to_string(extra) + " bytes after its Cap'n Proto message");
    }
    detail::Budget budget(detail::kMaterializedBytesPerFrameByte * body.size());
    return detail::decode_frame(reader.getRoot<schema::Frame>(), budget);
  } catch (const detail::DecodeError& e) {
    return invalid(e.message);
  } catch (const kj::Exception& e) {
    return invalid(std::string("not a valid Cap'n Proto frame: ") + e.getDescription().cStr());
  }
}

}  // namespace

std::string encode(const Frame& frame) {
  capnp::MallocMessageBuilder builder;
  try {
    detail::encode_frame(frame, builder.initRoot<schema::Frame>());
  } catch (const kj::Exception& e) {
    // Only a value past Cap'n Proto's own bounds (a 512 MiB string) gets
    // here, and the core's limits keep every message far below that.
    assert_fail("encode", __FILE__, __LINE__, e.getDescription().cStr());
  }
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  const std::size_t length = words.size() * kWordBytes;
  SLUICE_ASSERT(length <= UINT32_MAX, "a frame over 4 GiB: the sender must split it");
  std::string out(kHeaderBytes + length, '\0');
  put_u32_le(out.data(), static_cast<std::uint32_t>(length));
  std::memcpy(out.data() + kHeaderBytes, words.begin(), length);
  return out;
}

Decoder::Decoder(Limits limits) : limits_(limits) {
  SLUICE_ASSERT(limits_.frame_bytes_max >= kWordBytes, "a frame limit below one word refuses every frame");
  SLUICE_ASSERT(limits_.nesting_max > 0 && limits_.traversal_words_max > 0, "read limits are positive");
}

void Decoder::feed(std::string_view bytes) {
  if (broken_) return;  // nothing after the bad frame is ever read
  buffer_.append(bytes);
  scan_headers();
}

void Decoder::scan_headers() {
  while (!broken_ && scanned_ + kHeaderBytes <= buffer_.size()) {
    const std::uint32_t length = get_u32_le(buffer_.data() + scanned_);
    if (std::optional<Status> error = check_length(length, limits_)) {
      break_at(scanned_, std::move(*error));
      return;
    }
    scanned_ += kHeaderBytes + length;
  }
}

void Decoder::break_at(std::size_t offset, Status error) {
  SLUICE_ASSERT(offset >= consumed_ && offset <= buffer_.size(), "a stream breaks ahead of the reader");
  // A frame can fail to decode ahead of a bad length prefix already seen:
  // the earlier break is the one the reader reaches.
  SLUICE_ASSERT(!broken_ || offset < broken_at_, "a later break never replaces an earlier one");
  broken_ = std::move(error);
  broken_at_ = offset;
  // The frames before the break still come out of next(); nothing after it.
  buffer_.resize(offset);
  buffer_.shrink_to_fit();
}

void Decoder::compact() {
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
  } else if (consumed_ < kCompactBytesMin || consumed_ < buffer_.size() / 2) {
    return;
  } else {
    buffer_.erase(0, consumed_);
  }
  scanned_ -= consumed_;
  if (broken_) broken_at_ -= consumed_;
  consumed_ = 0;
}

Result<std::optional<Frame>> Decoder::next() {
  if (broken_ && consumed_ == broken_at_) return *broken_;
  const std::size_t available = buffer_.size() - consumed_;
  if (available < kHeaderBytes) return std::optional<Frame>();
  const std::uint32_t length = get_u32_le(buffer_.data() + consumed_);
  // scan_headers() refused every bad prefix before it could reach here.
  SLUICE_ASSERT(!check_length(length, limits_), "every length prefix is checked as it arrives");
  if (available - kHeaderBytes < length) return std::optional<Frame>();
  Result<Frame> frame = decode_body(std::string_view(buffer_.data() + consumed_ + kHeaderBytes, length), limits_);
  if (!frame.ok()) {
    break_at(consumed_, frame.status());
    return *broken_;
  }
  consumed_ += kHeaderBytes + length;
  compact();
  return std::optional<Frame>(std::move(frame).value());
}

std::size_t Decoder::buffered() const { return buffer_.size() - consumed_; }

}  // namespace sluice::wire
