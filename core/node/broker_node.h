// A broker node: Raft plus the broker state machine plus client sessions
// (DESIGN sections 2 and 4), as one sans-IO step machine.
//
//  - Writes (events store publishes, queue operations) are proposed by the
//    leader with its clock as the stamp. A follower forwards a client's
//    write to the leader and relays the answer; the client never needs to
//    find the leader itself, but unavailable replies carry a leader hint.
//  - A receive with a wait is parked on the node the client is connected
//    to, and retried through the log whenever the node's applied state shows
//    a ready message, until the wait runs out.
//  - Subscriptions are served by the node the client is connected to:
//    events store messages from its applied state; events and RPC requests
//    routed between nodes with a registry of who subscribes where.
//  - State writes join the Raft output's batch with the applied index; a
//    restart loads the state and skips entries it already applied.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "core/broker/state.h"
#include "core/node/broker_messages.h"
#include "core/raft/raft.h"

namespace sluice::node {

struct BrokerOptions {
  raft::Options raft;
  broker::Limits limits;
  std::uint64_t compact_every = 10'000;     // applied entries between log compactions; 0 never
  Duration forward_timeout = Duration::seconds(2);   // a forwarded write's answer, then "outcome unknown"
  Duration receive_retry = Duration::millis(50);     // after a failed receive attempt
  Duration registry_interval = Duration::seconds(1);
  Duration registry_expiry = Duration::seconds(3);   // a peer's registry not refreshed: forgotten
  Duration age_tick_interval = Duration::seconds(1); // retention by age is applied at least this often
  // A node that takes over serving an events store group waits this long
  // first, for the previous server's final cursor (it advertises it as soon
  // as it sees it no longer serves).
  Duration store_group_handoff = Duration::millis(200);
  // A moved store group cursor is advertised at most this often (a registry
  // goes out at least every registry_interval anyway). A server that
  // crashes takes with it what it handed out since: its successor hands
  // that out again.
  Duration store_cursor_interval = Duration::millis(100);
  // The node serving a store group commits the group's position through
  // Raft at most this often (while it moved): a group whose members all
  // left, or whose nodes all restarted, goes on from there.
  Duration store_group_commit_interval = Duration::seconds(1);
  Duration admin_timeout = Duration::seconds(10);    // a ClusterAdmin not done by then answers timeout
  // Reads (peek, stats, channel lists) are linearizable: served once this
  // node has applied the leader's read index. A read with no read index by
  // read_timeout answers unavailable; a node asks again every read_retry.
  Duration read_timeout = Duration::seconds(2);
  Duration read_retry = Duration::millis(200);
  std::size_t pending_reads_max = 100'000;           // per node
  std::size_t subscriber_batch_max = 256;            // store messages pushed per subscription per output
  std::size_t subscriptions_max = 100'000;           // per node, all kinds
  std::size_t parked_receives_max = 100'000;
  std::size_t query_cache_entries_max = 10'000;
};

class BrokerNode {
 public:
  using Message = node::Message;

  static Result<std::unique_ptr<BrokerNode>> open(const BrokerOptions& options, const raft::VoterSet& voters,
                                                  KvStore& store, Rng rng);

  void step(NodeId from, Message message, Timestamp now);
  void tick(Timestamp now);
  void on_persisted(PersistId id, const Status& status) { raft_->on_persisted(id, status); }
  bool has_output() const {
    return raft_->has_output() || !out_.empty() || store_backlog_ ||
           (raft_->wants_snapshot() && state_.applied() <= raft_->applied());
  }
  Output<Message> take_output();
  // The client's connection closed: its subscriptions and waits end.
  void disconnect(NodeId client);

  raft::Node& raft() { return *raft_; }
  const raft::Node& raft() const { return *raft_; }
  const broker::BrokerState& state() const { return state_; }
  bool poisoned() const { return raft_->poisoned(); }
  // Hash chain over applied entries: chain(i) = H(chain(i-1), term, data).
  std::uint64_t applied_chain() const { return state_.applied_chain(); }
  LogIndex applied() const { return state_.applied(); }

 private:
  struct LocalOrigin {
    NodeId client;
    std::uint64_t request_id;
  };
  struct PeerOrigin {
    NodeId peer;
    std::uint64_t forward_id;
  };
  struct ParkOrigin {
    std::uint64_t park_id;
  };
  struct InternalOrigin {};
  using Origin = std::variant<LocalOrigin, PeerOrigin, ParkOrigin, InternalOrigin>;
  struct Waiting {
    Term term;
    Origin origin;
  };
  struct Forwarded {
    Origin origin;
    Timestamp deadline;
  };
  struct Parked {
    NodeId client;
    std::uint64_t request_id;
    broker::QueueReceive receive;
    Timestamp deadline;
    bool attempting = false;
    Timestamp retry_at;
    std::uint32_t attempts = 0;
  };
  struct PendingRead {
    NodeId client;
    std::uint64_t request_id = 0;
    RequestBody body;
    Timestamp deadline;
    std::optional<Timestamp> asked_at;  // unset: ask (again) at the next tick
    std::optional<LogIndex> index;      // the read index, once known
  };
  struct PeerRead {  // the leader's ReadIndex for a follower
    NodeId peer;
    std::uint64_t ask_id = 0;
    Timestamp asked_at;
  };
  struct StoreSub {
    std::string channel;
    std::string group;
    std::uint64_t next_seq = 1;  // no group: this subscriber's cursor
    // Start by time: nothing stamped before this is delivered. The start
    // sequence is only where to look from: this node's applied state may
    // lag, and T may lie ahead, so messages before T can still come.
    // Stamps never go back along a channel, so once one passes, all do.
    std::optional<Timestamp> not_before;
  };
  // An events store group with members here, or lately. One node serves a
  // group at a time (store_group_server()); the others keep their cursor
  // up with what it hands out, so a successor goes on from there.
  struct StoreGroup {
    std::uint64_t next_seq = 1;
    std::uint64_t turn = 0;         // round robin over the group's members
    std::optional<Timestamp> empty_since;  // no member here since; forgotten after registry_expiry
    bool serving = false;                  // this node hands the group's stream out
    Timestamp serve_from;                  // serving: not before this (the handoff wait)
    Timestamp commit_at;                   // serving: the next position commit not before this
  };
  using StoreGroupKey = std::pair<std::string, std::string>;  // (channel, group)
  struct EventSub {
    std::string pattern;
    std::string group;
  };
  struct RpcSub {
    RpcKind kind;
    std::string channel;
    std::string group;
  };
  using SubKey = std::pair<NodeId, std::uint64_t>;  // (client, sub id)
  struct RpcPending {  // at the node the caller is connected to
    NodeId client;
    std::uint64_t request_id;
    Timestamp deadline;
    std::string cache_key;  // "" unless a cacheable query
    Duration cache_ttl;
  };
  struct RpcServing {  // at the node the responder is connected to
    NodeId origin;
    std::uint64_t origin_rpc_id;
    NodeId responder;
    Timestamp deadline;  // forgotten after this if the responder never answers
  };
  struct PeerRegistry {
    Registry registry;
    Timestamp seen;
  };

  BrokerNode(const BrokerOptions& options, std::unique_ptr<raft::Node> raft, broker::BrokerState state)
      : options_(options), raft_(std::move(raft)), state_(std::move(state)) {}

  // Writes.
  void on_client(NodeId client, ClientRequest request);
  void on_write(NodeId client, std::uint64_t request_id, Write write);
  void submit(Origin origin, broker::Command command);
  void finish(const Origin& origin, const Result<broker::Reply>& result, Output<Message>& out, bool after_persist);
  void reply(NodeId client, std::uint64_t request_id, Status status, ReplyBody body, Output<Message>& out,
             bool after_persist);
  void on_forward(NodeId peer, Forward forward);
  void on_forward_reply(const ForwardReply& reply);
  void attempt_receive(std::uint64_t park_id);
  void on_receive_result(std::uint64_t park_id, const Result<broker::Reply>& result, Output<Message>& out,
                         bool after_persist);
  void wake_parked();
  void propose_internal();

  // Apply.
  void restore(const raft::Snapshot& snapshot, Output<Message>& out);
  void compact();
  void apply(const LogEntry& entry, Output<Message>& out);

  // Reads (broker_reads.cc).
  void on_read(NodeId client, std::uint64_t request_id, RequestBody body);
  Status check_read(const RequestBody& body) const;
  void ask_read_index(std::uint64_t read_id, PendingRead& read);
  void on_read_index_ask(NodeId peer, const ReadIndexAsk& ask);
  void on_read_index_answer(const ReadIndexAnswer& answer);
  void on_read_states(const std::vector<raft::ReadState>& states);
  void serve_reads();
  void tick_reads();
  void serve_read(NodeId client, std::uint64_t request_id, const RequestBody& body);

  // Membership and leadership (broker_admin.cc): one ClusterAdmin at a time,
  // answered once done (checked on every tick) or at its deadline.
  struct PendingAdmin {
    NodeId client;
    std::uint64_t request_id = 0;
    ClusterAdmin admin;
    raft::VoterSet voters;  // membership changes: the configuration asked for
    Timestamp deadline;
  };
  void on_admin(NodeId client, std::uint64_t request_id, const ClusterAdmin& admin);
  Status start_admin(const ClusterAdmin& admin, raft::VoterSet* voters);
  void check_admin();
  ClusterView cluster_view() const;

  // Subscriptions (broker_pubsub.cc).
  void subscribe_store(NodeId client, std::uint64_t request_id, const SubscribeStore& s);
  void push_store(Output<Message>& out);
  void push_store_groups(Output<Message>& out);
  NodeId store_group_server(const StoreGroupKey& key) const;
  std::vector<SubKey> store_group_members(const StoreGroupKey& key) const;  // on this node
  std::vector<std::pair<NodeId, StoreGroupCursor>> peer_store_cursors(const StoreGroupKey& key) const;
  void on_store_group_push(const StoreGroupPush& push);
  void commit_store_groups();
  // The furthest of what peers advertise and what the log committed.
  std::optional<std::uint64_t> known_position(const StoreGroupKey& key) const;
  void merge_store_cursors(const Registry& registry);
  std::optional<std::uint64_t> advertised_cursor(const StoreGroupKey& key) const;
  void publish_event(NodeId client, std::uint64_t request_id, const PublishEvent& p);
  void deliver_event(const StoredMessage& event, const std::map<std::string, NodeId>& groups);
  void subscribe_events(NodeId client, std::uint64_t request_id, const SubscribeEvents& s);
  void subscribe_rpc(NodeId client, std::uint64_t request_id, const SubscribeRpc& s);
  Status admit_subscription(const SubKey& key) const;
  void unsubscribe(NodeId client, std::uint64_t request_id, const Unsubscribe& u);
  void rpc_call(NodeId client, std::uint64_t request_id, const RpcCall& call);
  void on_rpc_forward(NodeId origin, const RpcForward& f);
  void serve_rpc(NodeId origin, std::uint64_t origin_rpc_id, RpcKind kind, const StoredMessage& request);
  void on_rpc_respond(NodeId responder, std::uint64_t request_id, const RpcRespond& r);
  void on_rpc_return(const RpcReturn& r);
  void expire_rpcs();
  void send_registry(bool force);
  Registry local_registry() const;
  std::set<NodeId> peers() const;
  std::size_t subscription_count() const { return store_subs_.size() + event_subs_.size() + rpc_subs_.size(); }

  void send(NodeId to, Message message) { out_.send_now.push_back({options_.raft.group, raft_->id(), to, std::move(message)}); }

  BrokerOptions options_;
  std::unique_ptr<raft::Node> raft_;
  broker::BrokerState state_;
  Timestamp now_;
  Output<Message> out_;
  bool state_dirty_ = false;  // applied something since the last flush

  std::map<LogIndex, Waiting> waiting_;            // our proposals, by index
  std::map<std::uint64_t, Forwarded> forwards_;    // writes we handed to the leader
  std::uint64_t next_forward_ = 1;
  std::map<std::uint64_t, Parked> parked_;         // receives waiting for a message
  std::map<std::uint64_t, PendingRead> reads_;     // reads waiting for their read index
  std::map<std::uint64_t, PeerRead> peer_reads_;   // leader: Raft read ids asked for followers
  std::uint64_t next_read_ = 1;                    // Raft read ids, ours and followers'
  std::uint64_t next_park_ = 1;
  std::optional<PendingAdmin> admin_;              // the ClusterAdmin under way on this node
  Timestamp internal_next_;                        // no internal proposal before this
  Timestamp last_age_tick_;

  std::map<SubKey, StoreSub> store_subs_;
  std::map<StoreGroupKey, StoreGroup> store_groups_;
  bool store_backlog_ = false;                     // a subscription has more to push
  std::map<SubKey, EventSub> event_subs_;
  std::map<SubKey, RpcSub> rpc_subs_;
  std::map<std::string, std::uint64_t> event_group_turns_;  // group key -> round robin
  std::map<std::string, std::uint64_t> rpc_turns_;
  std::map<NodeId, PeerRegistry> registries_;
  std::uint64_t registry_generation_ = 0;
  Registry last_registry_;
  Timestamp registry_sent_;
  std::map<std::uint64_t, RpcPending> rpc_pending_;
  std::uint64_t next_rpc_ = 1;
  std::map<std::uint64_t, RpcServing> rpc_serving_;
  std::uint64_t next_serving_ = 1;
  std::map<std::string, std::pair<Timestamp, RpcAnswer>> query_cache_;  // key -> (expires, answer)
  std::uint64_t next_event_ = 1;
  std::map<std::string, std::uint64_t> event_counts_;  // events seen per channel, this node
  // Event ids delivered lately, oldest first: a fanout that reaches us twice
  // (a peer link resending after a reconnect) is delivered once.
  std::set<std::string> recent_events_;
  std::deque<std::string> recent_order_;
  static constexpr std::size_t kRecentEventsMax = 100'000;
};

}  // namespace sluice::node
