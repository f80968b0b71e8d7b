// What clients and peers send a broker node, and what it sends back. Plain
// structs: the simulator passes them as values; net/wire maps them onto
// Cap'n Proto frames for real sockets.
//
// Client ids and node ids share one id space (NodeId): a client is whoever
// sends a ClientRequest; a peer is a member of the Raft configuration.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/broker/commands.h"
#include "core/broker/state.h"
#include "core/raft/messages.h"

namespace sluice::node {

using broker::MessageIn;
using broker::StoredMessage;
using broker::Tags;

// ---------------------------------------------------------------------------
// Client requests

// A persistent command (events store or queues), committed through Raft.
// For a QueueReceive, `wait` is how long to wait for a message if none is
// ready (0: answer at once).
struct Write {
  broker::Command command;
  Duration wait{};
};
// Events: at most once, to every matching subscriber on every node.
struct PublishEvent {
  MessageIn message;
};
struct SubscribeEvents {
  std::uint64_t sub_id = 0;  // chosen by the client, unique per client
  std::string pattern;       // wildcards allowed
  std::string group;         // members of a group share the stream; empty: every event
};
enum class StartFrom : std::uint8_t { new_only, first, last, sequence, time, time_delta };
struct StoreStart {
  StartFrom from = StartFrom::new_only;
  std::uint64_t seq = 0;     // sequence: the first to deliver (resume: last seen + 1)
  Timestamp time;            // time: the first message at or after
  Duration delta{};          // time_delta: messages of the last delta
};
struct SubscribeStore {
  std::uint64_t sub_id = 0;
  std::string channel;       // one channel, no wildcards
  std::string group;         // members on this node share the stream
  StoreStart start;
};
enum class RpcKind : std::uint8_t { command, query };
const char* rpc_kind_name(RpcKind kind);
struct SubscribeRpc {
  std::uint64_t sub_id = 0;
  RpcKind kind = RpcKind::command;
  std::string channel;       // one channel, no wildcards
  std::string group;
};
struct Unsubscribe {
  std::uint64_t sub_id = 0;
};
struct RpcCall {
  RpcKind kind = RpcKind::command;
  MessageIn message;
  Duration timeout{};
  std::string cache_key;     // queries: answer from the cache when fresh
  Duration cache_ttl{};
};
// A responder's answer to an RpcIncoming.
struct RpcRespond {
  std::uint64_t rpc_id = 0;
  bool executed = false;     // commands: did it run
  std::string error;
  std::string metadata;
  std::string body;          // queries
  Tags tags;
};
struct Peek {
  std::string channel;
  std::uint32_t max_messages = 10;
};
struct GetStats {
  broker::Kind kind = broker::Kind::queue;
  std::string channel;
};
struct ListChannels {
  std::string pattern;       // empty: all
};
// Membership and leadership (core/node/broker_admin.cc). Only the leader
// serves it; any other node answers unavailable with a leader hint.
enum class AdminOp : std::uint8_t { transfer_leader, add_voter, remove_voter };
const char* admin_op_name(AdminOp op);
struct ClusterAdmin {
  AdminOp op = AdminOp::transfer_leader;
  NodeId node;               // the node to lead, to add or to remove
  std::string address;       // add_voter: the new node's peer address, host:port
};

using RequestBody = std::variant<Write, PublishEvent, SubscribeEvents, SubscribeStore, SubscribeRpc, Unsubscribe,
                                 RpcCall, RpcRespond, Peek, GetStats, ListChannels, ClusterAdmin>;
struct ClientRequest {
  std::uint64_t request_id = 0;  // echoed in the reply; unique per client
  RequestBody body;
};

// ---------------------------------------------------------------------------
// Replies and pushes to clients

struct RpcAnswer {
  bool executed = false;
  std::string error;
  std::string metadata;
  std::string body;
  Tags tags;
  bool from_cache = false;
};
struct ChannelInfo {
  std::string kind;  // "events", "events_store", "queues", "commands", "queries"
  std::string name;
  std::uint64_t messages = 0;  // stored (store), waiting (queue)
  std::uint64_t in_flight = 0;
  std::uint64_t total = 0;     // published or sent since creation; events: seen by this node
  std::uint64_t subscribers = 0;  // on this node
};
// The answer to a ClusterAdmin once it is done: who leads, and the voters.
struct ClusterView {
  NodeId leader;
  std::vector<NodeId> voters;  // ascending
};
using ReplyBody = std::variant<std::monostate, broker::Reply, RpcAnswer, std::vector<StoredMessage>, broker::QueueStats,
                               broker::StoreStats, std::vector<ChannelInfo>, ClusterView>;
struct ClientReply {
  std::uint64_t request_id = 0;
  Status status;
  NodeId leader_hint = kNoNode;  // unavailable: who leads, if known
  ReplyBody body;
};
struct EventDelivery {
  std::uint64_t sub_id = 0;
  StoredMessage message;  // seq 0: events have no sequence
};
struct StoreDelivery {
  std::uint64_t sub_id = 0;
  StoredMessage message;
};
struct RpcIncoming {
  std::uint64_t sub_id = 0;
  std::uint64_t rpc_id = 0;  // answer with RpcRespond{rpc_id}
  RpcKind kind = RpcKind::command;
  StoredMessage request;
};

// ---------------------------------------------------------------------------
// Between nodes

// A follower hands a client's write to the leader.
struct Forward {
  std::uint64_t forward_id = 0;
  broker::Command command;
};
struct ForwardReply {
  std::uint64_t forward_id = 0;
  Status status;
  broker::Reply reply;
  NodeId leader_hint = kNoNode;
};
// A follower asks the leader for a read index (Raft thesis 6.4) before it
// serves a client's read: the leader answers once a quorum has confirmed
// that it still leads, and the follower serves the read from its applied
// state once that reaches the index.
struct ReadIndexAsk {
  std::uint64_t ask_id = 0;
};
struct ReadIndexAnswer {
  std::uint64_t ask_id = 0;
  Status status;                 // unavailable: not the leader, or not ready to serve reads yet
  LogIndex index;                // ok: serve once applied up to here
  NodeId leader_hint = kNoNode;
};
// An event for a peer's subscribers. `groups` names, for every group the
// publishing node knew of, the one node that delivers to it.
struct EventFanout {
  StoredMessage event;
  std::vector<std::pair<std::string, NodeId>> groups;  // group key -> delivering node
};
// An events store group as one node sees it: how many of its members are
// connected there, and the node's cursor (the next sequence it would hand
// the group). Cursors only move forward, and every node's cursor is at or
// behind what the group was actually given.
struct StoreGroupCursor {
  std::string channel;
  std::string group;
  std::uint32_t members = 0;  // 0: the last member left lately; the cursor is kept for a successor
  std::uint64_t next_seq = 1;
  bool operator==(const StoreGroupCursor&) const = default;
};
// A node's subscriptions that others route to: event groups, RPC
// responders and events store groups. Sent when its membership changes and
// every registry interval (which refreshes the store cursors); dropped when
// not refreshed.
struct Registry {
  std::uint64_t generation = 0;
  std::vector<std::string> event_groups;  // group keys
  std::vector<std::string> responders;    // rpc keys
  std::vector<StoreGroupCursor> store_groups;  // ordered by (channel, group)
};
// The node serving an events store group hands one message to a member
// connected to another node.
struct StoreGroupPush {
  std::string channel;
  std::string group;
  StoredMessage message;
};
struct RpcForward {
  std::uint64_t rpc_id = 0;  // the origin's id
  RpcKind kind = RpcKind::command;
  StoredMessage request;
};
struct RpcReturn {
  std::uint64_t rpc_id = 0;  // the origin's id
  Status status;             // not_found: the responder went away
  RpcAnswer answer;
};

using Message = std::variant<raft::Message, ClientRequest, ClientReply, EventDelivery, StoreDelivery, RpcIncoming,
                             Forward, ForwardReply, EventFanout, Registry, RpcForward, RpcReturn, StoreGroupPush,
                             ReadIndexAsk, ReadIndexAnswer>;
std::string describe(const Message& message);

}  // namespace sluice::node
