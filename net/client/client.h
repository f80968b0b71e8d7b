// A synchronous C++ client for a Sluice cluster's framed client port
// (net/wire/README.md): it connects to any of a list of nodes, sends one
// request at a time and waits for its reply with a deadline, follows a
// leader hint or moves to the next node when a node is unavailable or the
// connection breaks, and retries without duplicating: every store publish
// and queue send carries an idempotency key (this client's producer id plus
// a sequence) that stays the same across retries.
//
// Subscriptions deliver through callbacks, called only from poll() on the
// caller's thread (never while a request waits). After a reconnect every
// subscription is made again; a store subscription resumes at the last
// sequence it delivered + 1, and a redelivered sequence is dropped, so the
// callback sees each sequence once and in order.
//
// Not thread-safe: one thread uses a Client at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/node/broker_messages.h"

namespace sluice::client {

struct Options {
  std::vector<std::string> servers;  // "host:port", tried in order; at least one
  std::string cluster;               // empty: accept any cluster name
  std::chrono::milliseconds connect_timeout{3000};
  // How long one request may take, retries included (a queue receive adds
  // its wait to this).
  std::chrono::milliseconds request_timeout{15000};
  std::string producer_id;           // empty: a random one per Client
  std::string client_id;             // stamped on messages that do not name one
};

// Parses "host:port,host:port"; an error names the bad entry.
Result<std::vector<std::string>> parse_servers(const std::string& list);

class Connection;

class Client {
 public:
  using MessageHandler = std::function<void(const broker::StoredMessage&)>;
  // Returns the answer to a command or query; called from poll().
  using RpcHandler = std::function<node::RpcRespond(node::RpcKind, const broker::StoredMessage&)>;

  explicit Client(Options options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Connects to the first node that answers the Hello. Requests connect on
  // demand too; this only reports early that no node answers.
  Status connect();

  // The node this client is connected to (kNoNode when not connected) and
  // its address.
  NodeId node() const { return node_; }
  const std::string& address() const;
  const std::string& producer_id() const { return options_.producer_id; }

  // One request with retries (see the header comment), until the request
  // deadline. A reply with a non-ok status other than `unavailable` is
  // returned as that status. RpcCall is not retried once sent (a command
  // might run twice); `extra` lengthens the deadline (a receive's wait).
  Result<node::ClientReply> request(const node::RequestBody& body, std::chrono::milliseconds extra = {});

  Status publish_event(broker::MessageIn message);
  Result<broker::Published> publish_store(broker::MessageIn message);
  Result<broker::SendResult> send_queue(std::vector<broker::QueueItem> items);
  Result<broker::ReceiveResult> receive(broker::QueueReceive receive, Duration wait);
  Result<broker::AckResult> ack(std::vector<std::uint64_t> receipts);
  Status reject(std::uint64_t receipt);
  Result<std::uint64_t> purge(const std::string& channel);
  Result<std::vector<broker::StoredMessage>> peek(const std::string& channel, std::uint32_t max_messages);
  Result<broker::QueueStats> queue_stats(const std::string& channel);
  Result<broker::StoreStats> store_stats(const std::string& channel);
  Result<std::vector<node::ChannelInfo>> list_channels(const std::string& pattern);
  Result<node::RpcAnswer> call(node::RpcCall call);
  // Membership and leadership, answered by the leader once done (the hint
  // of any other node is followed). Not asked again after a timeout: the
  // change may have happened, and asking again would be refused.
  Result<node::ClusterView> cluster_admin(node::ClusterAdmin admin);

  // Subscriptions; each returns the subscription's id once a node accepted it.
  Result<std::uint64_t> subscribe_events(const std::string& pattern, const std::string& group, MessageHandler handler);
  Result<std::uint64_t> subscribe_store(const std::string& channel, const std::string& group, node::StoreStart start,
                                        MessageHandler handler);
  Result<std::uint64_t> subscribe_rpc(node::RpcKind kind, const std::string& channel, const std::string& group,
                                      RpcHandler handler);
  Status unsubscribe(std::uint64_t sub_id);

  // Delivers pushes to the callbacks for up to `budget`, reconnecting (and
  // subscribing again) if the connection breaks. Returns ok when the budget
  // is spent or stop() was called from a callback; an error when no node
  // can be reached before the request deadline.
  Status poll(std::chrono::milliseconds budget);
  void stop() { stopped_ = true; }

 private:
  struct Subscription {
    node::RequestBody request;       // SubscribeEvents, SubscribeStore or SubscribeRpc
    MessageHandler on_message;
    RpcHandler on_rpc;
    std::uint64_t last_seq = 0;      // store: the last sequence delivered (or, from `new`, the last before it)
    bool resume_by_seq = false;      // store: a reconnect asks for last_seq + 1
  };
  using Clock = std::chrono::steady_clock;

  // Connects to servers_[cursor_] and onwards until one answers the Hello.
  Status connect_any(Clock::time_point deadline);
  Status connect_to(std::size_t index, Clock::time_point deadline);
  // Makes every subscription again on a fresh connection.
  Status resubscribe(Clock::time_point deadline);
  // Sends once and waits for the matching reply; pushes meanwhile are
  // queued. An error means the connection is gone.
  Result<node::ClientReply> exchange(const node::RequestBody& body, Clock::time_point deadline);
  void disconnect();
  void move_on(NodeId leader_hint);
  void dispatch(node::Message push);
  node::RequestBody resume_request(const Subscription& sub) const;
  Result<broker::Reply> write(broker::Command command, std::chrono::milliseconds extra = {}, Duration wait = {});

  Options options_;
  std::unique_ptr<Connection> connection_;
  NodeId node_ = kNoNode;
  std::size_t cursor_ = 0;                       // index into options_.servers of the next node to try
  std::map<NodeId, std::size_t> known_nodes_;    // learned from Hellos: node id -> server index
  std::uint64_t next_request_id_ = 1;
  std::uint64_t next_sub_id_ = 1;
  std::uint64_t next_producer_seq_ = 1;
  std::map<std::uint64_t, Subscription> subs_;
  std::deque<node::Message> pushes_;             // arrived while a request waited; bounded by pushes_max
  bool stopped_ = false;
};

}  // namespace sluice::client
