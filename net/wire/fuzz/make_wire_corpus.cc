// Writes the seed corpus of fuzz_wire_decode: one file per kind of frame,
// each a valid encoding, plus one stream of several frames.
//
//   make_wire_corpus tests/fuzz/corpus/fuzz_wire_decode
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "net/wire/wire.h"

namespace {

using namespace sluice;

Envelope<node::Message> envelope(node::Message message) {
  return Envelope<node::Message>{kDefaultGroup, NodeId(1), NodeId(2), std::move(message)};
}

broker::MessageIn message_in() {
  return broker::MessageIn{"m-1", "orders.eu", "meta", std::string("body\0bytes", 10), {{"k", "v"}, {"x", ""}}, "c-1"};
}

broker::StoredMessage stored() {
  return broker::StoredMessage{"m-1", "orders.eu", "meta", "body", {{"k", "v"}}, "c-1", Timestamp{1'700'000'000}, 42};
}

std::vector<std::pair<std::string, wire::Frame>> frames() {
  raft::AppendRequest append{Term(3), LogIndex(10), Term(2), {}, LogIndex(9)};
  append.entries.push_back(LogEntry{Term(3), LogIndex(11), raft::make_entry_data(raft::EntryKind::normal, "cmd")});
  append.entries.push_back(LogEntry{Term(3), LogIndex(12), raft::make_entry_data(raft::EntryKind::noop, "")});
  raft::JointConfig config;
  config.incoming = {NodeId(1), NodeId(2), NodeId(3)};
  append.entries.push_back(
      LogEntry{Term(3), LogIndex(13), raft::make_entry_data(raft::EntryKind::config, raft::encode_config(config))});
  raft::InstallSnapshot snapshot{Term(4), LogIndex(100), Term(3), 0, "snapshot-bytes", true, config};

  broker::QueueItem item{message_in(), broker::IdempotencyKey{"p", 7, false}, Duration::seconds(1), Duration{}, 3,
                         "orders.dlq"};
  broker::Delivery delivery{stored(), 99, 1, Timestamp{5}, Timestamp{30}, "", ""};

  return {
      {"hello_peer", wire::Hello{wire::kProtocolVersion, wire::Role::peer, NodeId(2), "prod", 0x5eed}},
      {"hello_client", wire::Hello{wire::kProtocolVersion, wire::Role::client, kNoNode, "prod"}},
      {"error", wire::ErrorFrame{"frame of 1 GiB is over the limit"}},
      {"raft_vote", envelope(raft::Message(raft::VoteRequest{Term(5), LogIndex(7), Term(4), true, false}))},
      {"raft_append", envelope(raft::Message(append))},
      {"raft_snapshot", envelope(raft::Message(snapshot))},
      {"queue_send", envelope(node::ClientRequest{1, node::Write{broker::QueueSend{{item, item}}, Duration{}}})},
      {"store_publish",
       envelope(node::ClientRequest{2, node::Write{broker::StorePublish{message_in(), {}}, Duration{}}})},
      {"subscribe_store",
       envelope(node::ClientRequest{
           3, node::SubscribeStore{4, "orders.eu", "g", {node::StartFrom::sequence, 10, Timestamp{}, Duration{}}}})},
      {"rpc_call", envelope(node::ClientRequest{
                       5, node::RpcCall{node::RpcKind::query, message_in(), Duration::seconds(2), "key",
                                        Duration::seconds(60)}})},
      {"receive_reply",
       envelope(node::ClientReply{6, Status(), kNoNode, broker::Reply(broker::ReceiveResult{{delivery}})})},
      {"error_reply", envelope(node::ClientReply{7, Status(Code::unavailable, "no leader"), NodeId(3), {}})},
      {"channels_reply",
       envelope(node::ClientReply{
           8, Status(), kNoNode, std::vector<node::ChannelInfo>{{"queues", "orders.eu", 3, 1, 10, 2}}})},
      {"event_fanout", envelope(node::EventFanout{stored(), {{"g", NodeId(2)}}})},
      {"forward", envelope(node::Forward{9, broker::QueueAck{{1, 2, 3}}})},
      {"registry", envelope(node::Registry{3, {"events/g"}, {"commands/orders"}})},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  std::string stream;
  for (const auto& [name, frame] : frames()) {
    const std::string bytes = wire::encode(frame);
    std::ofstream(std::string(argv[1]) + "/" + name, std::ios::binary) << bytes;
    if (stream.size() < 1024) stream += bytes;
  }
  std::ofstream(std::string(argv[1]) + "/stream", std::ios::binary) << stream;
  return 0;
}
