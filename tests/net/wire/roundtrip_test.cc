// The codec carries every message exactly: decode(encode(x)) == x for random
// values of every message type, encoding is deterministic, and the framing
// does not care how the byte stream is cut (one byte at a time, every split
// point, many frames in one read).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "net/wire/wire.h"
#include "tests/net/wire/equal.h"
#include "tests/net/wire/generators.h"

namespace sluice::wire {
namespace {

using testing::gen_envelope;
using testing::gen_frame;

// Every frame the decoder returns for `bytes`, fed in pieces cut at `cuts`
// (ascending); nullopt on an error or on bytes left over.
std::optional<std::vector<Frame>> decode_all(const std::string& bytes, const std::vector<std::size_t>& cuts = {}) {
  Decoder decoder;
  std::vector<Frame> frames;
  auto drain = [&] {
    for (;;) {
      Result<std::optional<Frame>> next = decoder.next();
      if (!next.ok()) return false;
      if (!next.value()) return true;
      frames.push_back(std::move(*next.value()));
    }
  };
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    decoder.feed(std::string_view(bytes).substr(at, cut - at));
    at = cut;
    if (!drain()) return std::nullopt;
  }
  decoder.feed(std::string_view(bytes).substr(at));
  if (!drain() || decoder.buffered() != 0) return std::nullopt;
  return frames;
}

std::string tag(const Frame& frame) {
  static constexpr const char* kNames[] = {"hello", "error", "envelope"};
  return kNames[frame.index()];
}

RC_GTEST_PROP(WireRoundTrip, EveryMessageComesBackEqual, ()) {
  const Envelope<node::Message> envelope = *gen_envelope();
  RC_CLASSIFY(true, std::to_string(envelope.message.index()));
  const std::string bytes = encode(Frame(envelope));
  const auto back = decode_all(bytes);
  RC_ASSERT(back && back->size() == 1u);
  RC_ASSERT(std::holds_alternative<Envelope<node::Message>>(back->front()));
  RC_ASSERT(std::get<Envelope<node::Message>>(back->front()) == envelope);
}

RC_GTEST_PROP(WireRoundTrip, EveryFrameComesBackEqualAndEncodesTheSame, ()) {
  const Frame frame = *gen_frame();
  RC_TAG(tag(frame));
  const std::string bytes = encode(frame);
  RC_ASSERT(encode(frame) == bytes);
  const auto back = decode_all(bytes);
  RC_ASSERT(back && back->size() == 1u);
  RC_ASSERT(back->front() == frame);
  RC_ASSERT(encode(back->front()) == bytes);
}

RC_GTEST_PROP(WireRoundTrip, TheLengthPrefixIsLittleEndianAndCountsTheRest, ()) {
  const std::string bytes = encode(*gen_frame());
  RC_ASSERT(bytes.size() >= 12u);
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::uint32_t length = u[0] | u[1] << 8 | u[2] << 16 | static_cast<std::uint32_t>(u[3]) << 24;
  RC_ASSERT(length == bytes.size() - 4);
  RC_ASSERT(length % 8 == 0u);
}

RC_GTEST_PROP(WireRoundTrip, SeveralFramesInOneFeedComeOutInOrder, ()) {
  const auto frames = *rc::gen::resize(10, rc::gen::nonEmpty(rc::gen::container<std::vector<Frame>>(gen_frame())));
  std::string bytes;
  for (const Frame& f : frames) bytes += encode(f);
  RC_ASSERT(decode_all(bytes) == std::optional(frames));
}

RC_GTEST_PROP(WireRoundTrip, AnySplitOfTheStreamGivesTheSameFrames, ()) {
  const auto frames = *rc::gen::resize(5, rc::gen::nonEmpty(rc::gen::container<std::vector<Frame>>(gen_frame())));
  std::string bytes;
  for (const Frame& f : frames) bytes += encode(f);
  auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, bytes.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  RC_ASSERT(decode_all(bytes, cuts) == std::optional(frames));
}

// Two frames, cut at every byte boundary: the decoder never returns a frame
// early, never loses one, and holds exactly the bytes not yet returned.
TEST(WireStream, EveryCutPointOfTwoFrames) {
  const Frame first = Hello{kProtocolVersion, Role::peer, NodeId(7), "prod"};
  raft::AppendRequest append{Term(3), LogIndex(10), Term(2), {}, LogIndex(9)};
  append.entries.push_back(LogEntry{Term(3), LogIndex(11), raft::make_entry_data(raft::EntryKind::normal, "x")});
  const Frame second = Envelope<node::Message>{GroupId(1), NodeId(7), NodeId(8), raft::Message(append)};
  const std::string a = encode(first);
  const std::string bytes = a + encode(second);
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    Decoder decoder;
    decoder.feed(std::string_view(bytes).substr(0, cut));
    std::vector<Frame> got;
    for (auto next = decoder.next(); next.ok() && next.value(); next = decoder.next()) got.push_back(*next.value());
    ASSERT_EQ(got.size(), cut < a.size() ? 0u : cut < bytes.size() ? 1u : 2u) << "cut at " << cut;
    ASSERT_EQ(decoder.buffered(), cut - (got.empty() ? 0 : got.size() == 1 ? a.size() : bytes.size()));
    decoder.feed(std::string_view(bytes).substr(cut));
    for (auto next = decoder.next(); next.ok() && next.value(); next = decoder.next()) got.push_back(*next.value());
    ASSERT_EQ(got.size(), 2u) << "cut at " << cut;
    EXPECT_TRUE(got[0] == first);
    EXPECT_TRUE(got[1] == second);
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(WireStream, OneByteAtATime) {
  std::vector<Frame> frames;
  for (int i = 0; i < 50; ++i) {
    frames.push_back(Envelope<node::Message>{
        GroupId(1), NodeId(1), NodeId(2),
        node::ClientRequest{static_cast<std::uint64_t>(i),
                            node::Write{broker::QueueAck{{1, 2, static_cast<std::uint64_t>(i)}}, Duration{}}}});
  }
  std::string bytes;
  for (const Frame& f : frames) bytes += encode(f);
  Decoder decoder;
  std::vector<Frame> got;
  for (char c : bytes) {
    decoder.feed(std::string_view(&c, 1));
    auto next = decoder.next();
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    if (next.value()) got.push_back(*next.value());
    ASSERT_TRUE(decoder.next().ok());
  }
  EXPECT_TRUE(got == frames);
}

// The defaults of a struct survive, also where the schema states a default
// other than zero (QueueReceive's max_messages, StoreStats' first_seq...).
TEST(WireRoundTrip, DefaultValues) {
  const std::vector<node::Message> messages = {
      node::ClientRequest{0, node::Write{broker::QueueReceive{}, Duration{}}},
      node::ClientRequest{0, node::Peek{}},
      node::ClientRequest{0, node::GetStats{}},
      node::ClientReply{0, Status(), kNoNode, broker::StoreStats{}},
      node::ClientReply{},
  };
  for (const node::Message& m : messages) {
    const Frame frame = Envelope<node::Message>{kDefaultGroup, NodeId(), NodeId(), m};
    const auto back = decode_all(encode(frame));
    ASSERT_TRUE(back && back->size() == 1u) << node::describe(m);
    EXPECT_TRUE(back->front() == frame) << node::describe(m);
  }
}

}  // namespace
}  // namespace sluice::wire
