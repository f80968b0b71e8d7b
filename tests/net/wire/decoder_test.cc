// The decoder on bad input: garbage, truncated, oversized and wrong-version
// frames, unknown union members and enumerants, malformed Raft appends and
// amplifying lists each end the stream with a clear error, at once, without
// buffering what follows; damaged frames never crash it.
#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/orphan.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "net/wire/sluice.capnp.h"
#include "net/wire/wire.h"
#include "tests/net/wire/equal.h"
#include "tests/net/wire/generators.h"

namespace sluice::wire {
namespace {

namespace s = schema;

std::string le32(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

// A frame around whatever a test built with the generated schema classes,
// including values wire::encode() would never write.
std::string frame_of(capnp::MessageBuilder& builder) {
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  const auto bytes = words.asBytes();
  return le32(static_cast<std::uint32_t>(bytes.size())) + std::string(bytes.begin(), bytes.end());
}

// The error the decoder gives for `bytes`, or "" if it gives none.
std::string error_for(std::string_view bytes, Limits limits = {}) {
  Decoder decoder(limits);
  decoder.feed(bytes);
  for (int i = 0; i < 100; ++i) {
    Result<std::optional<Frame>> next = decoder.next();
    if (!next.ok()) {
      EXPECT_EQ(next.status().code(), Code::invalid_argument);
      return next.status().message();
    }
    if (!next.value()) return "";
  }
  ADD_FAILURE() << "more frames than expected";
  return "";
}

Envelope<node::Message> heartbeat() {
  return Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), raft::Message(raft::Heartbeat{Term(5), LogIndex(9), 1})};
}

// Sets the union discriminant of `builder` to `which`, known or not.
template <class T>
void set_which(typename T::Builder builder, std::uint16_t which) {
  const std::uint32_t offset = capnp::Schema::from<T>().getProto().getStruct().getDiscriminantOffset();
  kj::ArrayPtr<capnp::byte> data = capnp::AnyStruct::Builder(std::move(builder)).getDataSection();
  ASSERT_GE(data.size(), 2 * offset + 2);
  data[2 * offset] = static_cast<capnp::byte>(which & 0xff);
  data[2 * offset + 1] = static_cast<capnp::byte>(which >> 8);
}

TEST(WireDecoder, EmptyInputNeedsMoreBytes) {
  Decoder decoder;
  auto next = decoder.next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next.value().has_value());
  decoder.feed(std::string("\x10\x00", 2));
  EXPECT_FALSE(decoder.next().value().has_value());
  EXPECT_EQ(decoder.buffered(), 2u);
}

TEST(WireDecoder, AnHttpRequestIsRefusedAsAnOversizedFrame) {
  const std::string error = error_for("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(error.find("over the limit"), std::string::npos) << error;
  EXPECT_NE(error.find("Sluice frames"), std::string::npos) << error;
}

// The length prefix alone decides: refused as soon as its 4 bytes arrive,
// and nothing fed afterwards is buffered.
TEST(WireDecoder, OversizedPrefixIsRefusedBeforeTheBody) {
  Decoder decoder(Limits{.frame_bytes_max = 1024});
  decoder.feed(le32(1032).substr(0, 3));
  EXPECT_FALSE(decoder.next().value().has_value());
  decoder.feed(le32(1032).substr(3));
  auto next = decoder.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Code::invalid_argument);
  EXPECT_EQ(next.status().message(),
            "frame of 1032 bytes is over the limit of 1024 bytes (is the other side speaking Sluice frames?)");
  EXPECT_EQ(decoder.buffered(), 0u);
  decoder.feed(std::string(4096, 'x'));
  EXPECT_EQ(decoder.buffered(), 0u);
  // The stream stays broken with the same error.
  auto again = decoder.next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status(), next.status());
}

TEST(WireDecoder, AFrameOverTheLimitIsRefusedAndOneAtTheLimitIsNot) {
  node::EventDelivery delivery;
  delivery.message.body = std::string(2000, 'b');
  const std::string bytes = encode(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), delivery});
  const std::size_t body = bytes.size() - 4;
  EXPECT_EQ(error_for(bytes, Limits{.frame_bytes_max = body}), "");
  EXPECT_NE(error_for(bytes, Limits{.frame_bytes_max = body - 8}).find("over the limit"), std::string::npos);
}

TEST(WireDecoder, LengthsThatCannotHoldCapnProtoAreRefusedAtOnce) {
  EXPECT_EQ(error_for(le32(0)), "empty frame: a frame holds one Cap'n Proto message");
  EXPECT_EQ(error_for(le32(13)),
            "frame of 13 bytes is not a whole number of 8-byte words, so not a Cap'n Proto message");
}

TEST(WireDecoder, GarbageOfTheRightLengthIsNotCapnProto) {
  // A segment table claiming 2^32-1 segments in 16 bytes.
  std::string body = "\xff\xff\xff\xff" + std::string(12, '\x7f');
  const std::string error = error_for(le32(16) + body);
  EXPECT_EQ(error.rfind("not a valid Cap'n Proto frame: ", 0), 0u) << error;
}

// A prefix that promises more than arrives is only "need more bytes"; a
// message cut short inside a frame whose prefix was shortened to match is
// an error.
TEST(WireDecoder, TruncatedFrames) {
  const std::string bytes = encode(heartbeat());
  Decoder decoder;
  decoder.feed(std::string_view(bytes).substr(0, bytes.size() - 1));
  EXPECT_FALSE(decoder.next().value().has_value());
  EXPECT_EQ(decoder.buffered(), bytes.size() - 1);

  const std::string cut = le32(16) + bytes.substr(4, 16);
  const std::string error = error_for(cut);
  EXPECT_EQ(error.rfind("not a valid Cap'n Proto frame: ", 0), 0u) << error;
}

TEST(WireDecoder, BytesAfterTheMessageInsideAFrame) {
  const std::string bytes = encode(heartbeat());
  const std::string padded = le32(static_cast<std::uint32_t>(bytes.size() - 4 + 8)) + bytes.substr(4) + std::string(8, '\0');
  EXPECT_EQ(error_for(padded), "frame has 8 bytes after its Cap'n Proto message");
}

TEST(WireDecoder, FramesBeforeABadOneStillComeOut) {
  const std::string good = encode(heartbeat());
  Decoder decoder(Limits{.frame_bytes_max = 4096});
  decoder.feed(good + good + le32(1u << 20) + "more bytes that are dropped");
  EXPECT_EQ(decoder.buffered(), 2 * good.size());
  EXPECT_TRUE(decoder.next().value().has_value());
  EXPECT_TRUE(decoder.next().value().has_value());
  EXPECT_FALSE(decoder.next().ok());
  EXPECT_EQ(decoder.buffered(), 0u);
}

// The reader meets the first problem first, though the later bad prefix was
// seen as soon as it was fed (found by SurvivesFlippedBitsAndCuts).
TEST(WireDecoder, ABadFrameAheadOfABadPrefixGivesItsOwnError) {
  Decoder decoder(Limits{.frame_bytes_max = 4096});
  decoder.feed(encode(heartbeat()) + encode(Hello{2, Role::client, kNoNode, ""}) + le32(1u << 20));
  EXPECT_TRUE(decoder.next().value().has_value());
  auto next = decoder.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().message(), "protocol version 2 is not supported; this node speaks version 1");
  EXPECT_EQ(decoder.next().status(), next.status());
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(WireDecoder, WrongProtocolVersion) {
  for (std::uint32_t version : {0u, 2u, 0xffffffffu}) {
    const std::string error = error_for(encode(Hello{version, Role::client, kNoNode, "c"}));
    EXPECT_EQ(error, "protocol version " + std::to_string(version) +
                         " is not supported; this node speaks version 1");
  }
  EXPECT_EQ(error_for(encode(Hello{kProtocolVersion, Role::client, kNoNode, "c"})), "");
}

TEST(WireDecoder, APeerHelloNamesItsNode) {
  EXPECT_EQ(error_for(encode(Hello{kProtocolVersion, Role::peer, kNoNode, "c"})),
            "a peer's Hello must carry its node id");
  EXPECT_EQ(error_for(encode(Hello{kProtocolVersion, Role::peer, NodeId(3), "c"})), "");
}

TEST(WireDecoder, UnknownUnionMembers) {
  {
    capnp::MallocMessageBuilder builder;
    auto frame = builder.initRoot<s::Frame>();
    frame.initHello().setVersion(kProtocolVersion);
    set_which<s::Frame>(frame, 3);
    EXPECT_EQ(error_for(frame_of(builder)), "unknown Frame 3 (a newer protocol? this node speaks version 1)");
  }
  {
    capnp::MallocMessageBuilder builder;
    auto message = builder.initRoot<s::Frame>().initEnvelope().initMessage();
    message.initRaft().initHeartbeat();
    set_which<s::Message>(message, 15);
    EXPECT_EQ(error_for(frame_of(builder)), "unknown Message 15 (a newer protocol? this node speaks version 1)");
  }
  {
    capnp::MallocMessageBuilder builder;
    auto command = builder.initRoot<s::Frame>().initEnvelope().initMessage().initForward().initCommand();
    command.initTick();
    set_which<s::Command>(command, 400);
    EXPECT_EQ(error_for(frame_of(builder)), "unknown Command 400 (a newer protocol? this node speaks version 1)");
  }
}

TEST(WireDecoder, UnknownEnumerants) {
  {
    capnp::MallocMessageBuilder builder;
    auto hello = builder.initRoot<s::Frame>().initHello();
    hello.setVersion(kProtocolVersion);
    hello.setRole(static_cast<s::Role>(2));
    EXPECT_EQ(error_for(frame_of(builder)), "unknown Role 2 (a newer protocol? this node speaks version 1)");
  }
  {
    capnp::MallocMessageBuilder builder;
    auto reply = builder.initRoot<s::Frame>().initEnvelope().initMessage().initClientReply();
    reply.initStatus().setCode(static_cast<s::Code>(10));
    EXPECT_EQ(error_for(frame_of(builder)), "unknown status Code 10 (a newer protocol? this node speaks version 1)");
  }
  {
    capnp::MallocMessageBuilder builder;
    auto body = builder.initRoot<s::Frame>().initEnvelope().initMessage().initClientRequest().initBody();
    body.initSubscribeStore().initStart().setFrom(static_cast<s::StartFrom>(6));
    EXPECT_EQ(error_for(frame_of(builder)), "unknown StartFrom 6 (a newer protocol? this node speaks version 1)");
  }
}

// What the follower would assert on arrives as an error instead.
TEST(WireDecoder, MalformedRaftAppends) {
  auto append_error = [](std::uint64_t prev, std::vector<LogEntry> entries) {
    raft::AppendRequest append{Term(2), LogIndex(prev), Term(1), std::move(entries), LogIndex(0)};
    return error_for(encode(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), raft::Message(append)}));
  };
  const std::string normal = raft::make_entry_data(raft::EntryKind::normal, "x");
  EXPECT_EQ(append_error(10, {{Term(2), LogIndex(11), normal}, {Term(2), LogIndex(12), normal}}), "");
  EXPECT_EQ(append_error(10, {{Term(2), LogIndex(11), normal}, {Term(2), LogIndex(13), normal}}),
            "append entry 1 has index 13, not 12 (entries follow prevIndex without gaps)");
  EXPECT_EQ(append_error(10, {{Term(2), LogIndex(10), normal}}),
            "append entry 0 has index 10, not 11 (entries follow prevIndex without gaps)");
  EXPECT_EQ(append_error(10, {{Term(2), LogIndex(11), ""}}), "log entry 11 has no kind byte");
  EXPECT_EQ(append_error(10, {{Term(2), LogIndex(11), "\x09"}}), "log entry 11 has unknown kind 9");
  EXPECT_EQ(append_error(10, {{Term(2), LogIndex(11), raft::make_entry_data(raft::EntryKind::config, "\x01")}}),
            "log entry 11 is a configuration that does not decode");
  EXPECT_EQ(append_error(~0ull, {{Term(2), LogIndex(0), normal}}), "append entries would pass the largest log index");
}

TEST(WireDecoder, DuplicateKeysAreRefusedNotMerged) {
  {
    capnp::MallocMessageBuilder builder;
    auto message = builder.initRoot<s::Frame>().initEnvelope().initMessage().initEventDelivery().initMessage();
    auto tags = message.initTags(2);
    tags[0].setKey("k");
    tags[1].setKey("k");
    EXPECT_EQ(error_for(frame_of(builder)), "a tag key appears twice in one message");
  }
  {
    capnp::MallocMessageBuilder builder;
    auto snapshot = builder.initRoot<s::Frame>().initEnvelope().initMessage().initRaft().initInstallSnapshot();
    auto voters = snapshot.initConfig().initIncoming(2);
    voters.set(0, 4);
    voters.set(1, 4);
    EXPECT_EQ(error_for(frame_of(builder)), "node 4 appears twice in a configuration");
  }
}

// A list of zero-sized structs costs its sender one word, whatever its
// length, and Cap'n Proto's traversal limit allows millions of elements:
// each would become a StoredMessage of a few hundred bytes. The memory
// budget refuses it.
TEST(WireDecoder, ZeroSizedListElementsCannotAmplify) {
  capnp::MallocMessageBuilder builder;
  auto body = builder.initRoot<s::Frame>().initEnvelope().initMessage().initClientReply().initBody();
  capnp::Orphan<capnp::AnyPointer> empty = builder.getOrphanage().newOrphan<capnp::List<s::Done>>(1u << 20);
  body.adoptMessages(empty.releaseAs<capnp::List<s::StoredMessage>>());
  const std::string bytes = frame_of(builder);
  ASSERT_LT(bytes.size(), 200u);
  const std::string error = error_for(bytes);
  EXPECT_EQ(error.rfind("the frame would decode to more memory than its size allows", 0), 0u) << error;
}

// Honest frames made of the smallest elements the budget charges most for
// stay within it.
TEST(WireDecoder, HonestListsOfSmallElementsFitTheBudget) {
  node::Registry registry;
  registry.event_groups.assign(100'000, "");
  node::EventDelivery delivery;
  raft::InstallSnapshot snapshot;
  for (std::uint64_t i = 0; i < 100'000; ++i) {
    delivery.message.tags.emplace(std::to_string(i), "");
    snapshot.config.incoming.insert(NodeId(i + 1));
  }
  node::ClientReply reply;
  reply.body = std::vector<broker::StoredMessage>(100'000);
  for (const node::Message& m : std::vector<node::Message>{registry, delivery, raft::Message(snapshot), reply}) {
    EXPECT_EQ(error_for(encode(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), m})), "")
        << node::describe(m);
  }
}

TEST(WireDecoder, TraversalAndNestingLimits) {
  node::EventDelivery delivery;
  delivery.message.body = std::string(4096, 'x');
  const std::string bytes = encode(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), delivery});
  std::string error = error_for(bytes, Limits{.traversal_words_max = 256});
  EXPECT_NE(error.find("traversal limit"), std::string::npos) << error;
  error = error_for(bytes, Limits{.nesting_max = 2});
  EXPECT_NE(error.find("nested"), std::string::npos) << error;
  EXPECT_EQ(error_for(bytes), "");
}

// Damage anywhere in a valid stream: an error, or frames that are
// themselves well formed (they encode and decode to the same value).
RC_GTEST_PROP(WireDecoder, SurvivesFlippedBitsAndCuts, ()) {
  std::string bytes = encode(*testing::gen_frame()) + encode(*testing::gen_frame());
  const int flips = *rc::gen::inRange(1, 6);
  for (int i = 0; i < flips; ++i) {
    const std::size_t at = *rc::gen::inRange<std::size_t>(0, bytes.size());
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << *rc::gen::inRange(0, 8)));
  }
  if (*rc::gen::arbitrary<bool>()) bytes.resize(*rc::gen::inRange<std::size_t>(0, bytes.size()));
  Decoder decoder(Limits{.frame_bytes_max = 1 << 20});
  decoder.feed(bytes);
  for (int i = 0; i < 3; ++i) {
    Result<std::optional<Frame>> next = decoder.next();
    if (!next.ok()) {
      RC_ASSERT(next.status().code() == Code::invalid_argument);
      RC_ASSERT(!next.status().message().empty());
      RC_ASSERT(decoder.buffered() == 0u);
      return;
    }
    if (!next.value()) return;
    Decoder again;
    again.feed(encode(*next.value()));
    Result<std::optional<Frame>> back = again.next();
    RC_ASSERT(back.ok() && back.value().has_value());
    RC_ASSERT(*back.value() == *next.value());
  }
}

RC_GTEST_PROP(WireDecoder, SurvivesGarbage, (std::string garbage)) {
  Decoder decoder(Limits{.frame_bytes_max = 1 << 16});
  decoder.feed(garbage);
  // Garbage behind a plausible length prefix reaches Cap'n Proto itself.
  Decoder framed(Limits{.frame_bytes_max = 1 << 16});
  garbage.resize(garbage.size() / 8 * 8);
  framed.feed(le32(static_cast<std::uint32_t>(garbage.size())) + garbage);
  for (Decoder* d : {&decoder, &framed}) {
    for (int i = 0; i < 10; ++i) {
      Result<std::optional<Frame>> next = d->next();
      if (!next.ok() || !next.value()) break;
    }
  }
}

}  // namespace
}  // namespace sluice::wire
