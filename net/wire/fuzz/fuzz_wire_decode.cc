// libFuzzer target: arbitrary bytes into wire::Decoder, the codec's
// untrusted-input boundary (tools/fuzz.sh runs it; net/wire/README.md).
//
// Besides "never crash, leak, overflow or allocate without bound" (ASan,
// UBSan and libFuzzer's memory limits), it checks two properties:
//  - how the bytes are cut does not matter: fed whole or one byte at a
//    time, the decoder returns the same frames and the same error;
//  - whatever decodes is well formed: it encodes, and that encoding
//    decodes to the same value (compared by its deterministic encoding).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/wire/wire.h"

namespace {

using sluice::wire::Decoder;
using sluice::wire::Frame;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_wire_decode: %s: %s\n", what, detail.c_str());
  std::abort();
}

// What a decoder made of a stream: each frame re-encoded, then how it ended.
struct Outcome {
  std::vector<std::string> frames;
  std::string end;  // "more:<buffered>" or "error:<message>"
};

// Drains every frame the decoder has; at most one per 4 bytes fed.
void drain(Decoder& decoder, Outcome& out) {
  for (;;) {
    sluice::Result<std::optional<Frame>> next = decoder.next();
    if (!next.ok()) {
      if (next.status().message().empty()) fail("an error without a message", "");
      out.end = "error:" + next.status().message();
      return;
    }
    if (!next.value()) {
      out.end = "more:" + std::to_string(decoder.buffered());
      return;
    }
    out.frames.push_back(sluice::wire::encode(*next.value()));
  }
}

void check_round_trip(const std::string& encoded) {
  Decoder decoder;
  decoder.feed(encoded);
  sluice::Result<std::optional<Frame>> back = decoder.next();
  if (!back.ok()) fail("a decoded frame, encoded again, does not decode", back.status().message());
  if (!back.value()) fail("a decoded frame, encoded again, is incomplete", std::to_string(encoded.size()));
  if (sluice::wire::encode(*back.value()) != encoded) fail("a frame changed through encode and decode", "");
  if (decoder.buffered() != 0) fail("bytes left after one encoded frame", std::to_string(decoder.buffered()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  Decoder whole;
  whole.feed(bytes);
  Outcome at_once;
  drain(whole, at_once);

  Decoder piecewise;
  Outcome by_byte;
  for (std::size_t i = 0; i < size && by_byte.end.rfind("error:", 0) != 0; ++i) {
    piecewise.feed(bytes.substr(i, 1));
    drain(piecewise, by_byte);
  }
  if (size == 0) drain(piecewise, by_byte);

  if (at_once.frames != by_byte.frames) fail("the frames depend on how the stream is cut", "");
  if (at_once.end != by_byte.end) fail("the outcome depends on how the stream is cut", at_once.end + " vs " + by_byte.end);
  for (const std::string& encoded : at_once.frames) check_round_trip(encoded);
  return 0;
}
