// The schema as a client in another language sees it: frames written in
// Cap'n Proto's text format (what `capnp encode net/wire/sluice.capnp Frame`
// reads) decode to the expected structs field by field, and frames the codec
// encodes read back as the expected text. Round trips cannot catch two
// fields swapped the same way in both directions; these can.
#include <capnp/message.h>
#include <capnp/serialize-text.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "net/wire/sluice.capnp.h"
#include "net/wire/wire.h"
#include "tests/net/wire/equal.h"

namespace sluice::wire {
namespace {

namespace s = schema;

// The bytes of a frame given in text format.
std::string frame_from_text(const char* text) {
  capnp::MallocMessageBuilder builder;
  capnp::TextCodec().decode(text, capnp::toDynamic(builder.initRoot<s::Frame>()));
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  const auto bytes = words.asBytes();
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(bytes.size() >> (8 * i));
  return out + std::string(bytes.begin(), bytes.end());
}

// A frame given in text format, through the decoder.
Frame decode_text(const char* text) {
  Decoder decoder;
  decoder.feed(frame_from_text(text));
  Result<std::optional<Frame>> next = decoder.next();
  EXPECT_TRUE(next.ok()) << next.status().to_string();
  if (!next.ok() || !next.value()) return ErrorFrame{"no frame"};
  return *next.value();
}

// The text format of what encode() wrote.
std::string text_of(const Frame& frame) {
  const std::string bytes = encode(frame);
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>((bytes.size() - 4) / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data() + 4, bytes.size() - 4);
  capnp::FlatArrayMessageReader reader(words);
  return capnp::TextCodec().encode(reader.getRoot<s::Frame>()).cStr();
}

const node::Message& message_of(const Frame& frame) { return std::get<Envelope<node::Message>>(frame).message; }

TEST(WireSchema, HelloFromText) {
  const Frame frame = decode_text(R"((hello = (version = 1, role = peer, node = 3, cluster = "prod")))");
  EXPECT_TRUE(frame == Frame(Hello{1, Role::peer, NodeId(3), "prod"}));
}

TEST(WireSchema, QueueSendFromText) {
  const Frame frame = decode_text(R"((envelope = (group = 1, from = 1000, to = 2, message = (clientRequest = (
      requestId = 9,
      body = (write = (
        waitNs = 5,
        command = (queueSend = (items = [(
          message = (id = "m1", channel = "orders", metadata = "meta", body = "payload",
                     tags = [(key = "a", value = "1"), (key = "b", value = "2")], clientId = "c1"),
          key = (producerId = "p", producerSeq = 42, byMessageId = false),
          delayNs = 1000, expirationNs = 2000, maxReceiveCount = 3, deadLetter = "orders.dlq")])))))))))");
  broker::QueueItem item;
  item.message = broker::MessageIn{"m1", "orders", "meta", "payload", {{"a", "1"}, {"b", "2"}}, "c1"};
  item.key = broker::IdempotencyKey{"p", 42, false};
  item.delay = Duration{1000};
  item.expiration = Duration{2000};
  item.max_receive_count = 3;
  item.dead_letter = "orders.dlq";
  const node::Message expected = node::ClientRequest{9, node::Write{broker::QueueSend{{item}}, Duration{5}}};
  EXPECT_TRUE(frame == Frame(Envelope<node::Message>{GroupId(1), NodeId(1000), NodeId(2), expected}));
}

// A client that leaves out what it does not care about gets the C++
// defaults, including those that are not zero.
TEST(WireSchema, OmittedFieldsTakeTheDefaults) {
  const Frame receive = decode_text(R"((envelope = (from = 7, to = 1, message = (clientRequest = (
      requestId = 1, body = (write = (command = (queueReceive = (channel = "q")))))))))");
  const auto& envelope = std::get<Envelope<node::Message>>(receive);
  EXPECT_EQ(envelope.group, kDefaultGroup);
  const auto& write = std::get<node::Write>(std::get<node::ClientRequest>(envelope.message).body);
  EXPECT_TRUE(write.command == broker::Command(broker::QueueReceive{"q", 1, Duration{}, ""}));

  const Frame peek = decode_text(R"((envelope = (message = (clientRequest = (body = (peek = (channel = "q")))))))");
  EXPECT_EQ(std::get<node::Peek>(std::get<node::ClientRequest>(message_of(peek)).body).max_messages, 10u);
  const Frame stats = decode_text(R"((envelope = (message = (clientRequest = (body = (getStats = (channel = "q")))))))");
  EXPECT_EQ(std::get<node::GetStats>(std::get<node::ClientRequest>(message_of(stats)).body).kind, broker::Kind::queue);
}

TEST(WireSchema, StoreSubscriptionFromText) {
  const Frame frame = decode_text(R"((envelope = (from = 7, to = 1, message = (clientRequest = (
      requestId = 2, body = (subscribeStore = (subId = 5, channel = "events.a", group = "g",
                                               start = (from = sequence, seq = 100))))))))");
  const node::Message expected =
      node::ClientRequest{2, node::SubscribeStore{5, "events.a", "g", node::StoreStart{node::StartFrom::sequence, 100, Timestamp{}, Duration{}}}};
  EXPECT_TRUE(message_of(frame) == expected);
}

TEST(WireSchema, ReceiveReplyToText) {
  broker::Delivery delivery;
  delivery.message = broker::StoredMessage{"id1", "q", "", "hi", {}, "c", Timestamp{50}, 3};
  delivery.receipt = 77;
  delivery.receive_count = 1;
  delivery.delivered_at = Timestamp{60};
  delivery.visible_again_at = Timestamp{90};
  const node::Message reply =
      node::ClientReply{4, Status(), kNoNode, broker::Reply(broker::ReceiveResult{{delivery}})};
  EXPECT_EQ(text_of(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(1000), reply}),
            "(envelope = (group = 1, from = 1, to = 1000, message = (clientReply = ("
            "requestId = 4, status = (code = ok, message = \"\"), leaderHint = 0, "
            "body = (reply = (receiveResult = (deliveries = [("
            "message = (id = \"id1\", channel = \"q\", metadata = \"\", body = \"hi\", tags = [], clientId = \"c\", "
            "timestampNs = 50, seq = 3), "
            "receipt = 77, receiveCount = 1, deliveredAtNs = 60, visibleAgainAtNs = 90, "
            "deadLetterReason = \"\", deadLetterFrom = \"\")])))))))");
}

TEST(WireSchema, ErrorReplyToText) {
  const node::Message reply = node::ClientReply{8, Status(Code::unavailable, "no leader"), NodeId(2), {}};
  EXPECT_EQ(text_of(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(1000), reply}),
            "(envelope = (group = 1, from = 1, to = 1000, message = (clientReply = ("
            "requestId = 8, status = (code = unavailable, message = \"no leader\"), leaderHint = 2, "
            "body = (none = void)))))");
  EXPECT_EQ(text_of(ErrorFrame{"frame too large"}), "(error = (message = \"frame too large\"))");
}

TEST(WireSchema, RaftAppendFromText) {
  const Frame frame = decode_text(R"((envelope = (group = 1, from = 1, to = 2, message = (raft = (appendRequest = (
      term = 4, prevIndex = 10, prevTerm = 3, commit = 9,
      entries = [(term = 4, index = 11, data = "\x00cmd"), (term = 4, index = 12, data = "\x01")]))))))");
  const raft::AppendRequest expected{Term(4), LogIndex(10), Term(3),
                                     {LogEntry{Term(4), LogIndex(11), std::string("\0cmd", 4)},
                                      LogEntry{Term(4), LogIndex(12), "\x01"}},
                                     LogIndex(9)};
  EXPECT_TRUE(message_of(frame) == node::Message(raft::Message(expected)));
}

TEST(WireSchema, VoteAndSnapshotToText) {
  EXPECT_EQ(text_of(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2),
                                            raft::Message(raft::VoteRequest{Term(5), LogIndex(7), Term(4), true, false})}),
            "(envelope = (group = 1, from = 1, to = 2, message = (raft = (voteRequest = ("
            "term = 5, lastIndex = 7, lastTerm = 4, preVote = true, transfer = false)))))");
  raft::InstallSnapshot snapshot{Term(6), LogIndex(100), Term(5), 0, "abc", true, {}};
  snapshot.config.incoming = {NodeId(1), NodeId(2), NodeId(3)};
  EXPECT_EQ(text_of(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), raft::Message(snapshot)}),
            "(envelope = (group = 1, from = 1, to = 2, message = (raft = (installSnapshot = ("
            "term = 6, index = 100, snapshotTerm = 5, offset = 0, data = \"abc\", done = true, "
            "config = (incoming = [1, 2, 3], outgoing = []))))))");
  // A voter added by a membership change carries its peer address.
  snapshot.config.incoming.insert(NodeId(4));
  snapshot.config.addresses[NodeId(4)] = "10.0.0.4:50001";
  EXPECT_EQ(text_of(Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), raft::Message(snapshot)}),
            "(envelope = (group = 1, from = 1, to = 2, message = (raft = (installSnapshot = ("
            "term = 6, index = 100, snapshotTerm = 5, offset = 0, data = \"abc\", done = true, "
            "config = (incoming = [1, 2, 3, 4], outgoing = [], "
            "addresses = [(node = 4, address = \"10.0.0.4:50001\")]))))))");
}

}  // namespace
}  // namespace sluice::wire
