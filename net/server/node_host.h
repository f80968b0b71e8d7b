// The node loop: one BrokerNode on one io_context thread, carried out by the
// same drive() the simulator uses (core/node/driver.h), against the real
// environment: peer messages through the PeerTransport, client messages to
// their ClientSinks, write batches through the StorageThread.
//
// Inputs, each followed by drive(): a tick on a steady timer at the node's
// tick interval, a peer's message, a client's request, a persist completion.
// Wall-clock time enters here and nowhere in core/: each input is stamped
// with the system clock (nanoseconds since the Unix epoch) as a Timestamp.
//
// Every method runs on the loop's thread. NodeHost is the ClientHub of
// every front end on that loop (the client port, the HTTP gateway).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/node/broker_node.h"
#include "core/node/driver.h"
#include "net/server/client_hub.h"
#include "net/server/log.h"
#include "net/server/peer_transport.h"
#include "net/server/storage_thread.h"

namespace sluice::net {

// Client ids start here: node ids are configured below it, so a client can
// never be taken for a peer (config.cc refuses node ids at or above it).
inline constexpr std::uint64_t kFirstClientId = std::uint64_t{1} << 32;

struct NodeHostOptions {
  node::BrokerOptions broker;  // broker.raft.self is the node's id
  raft::VoterSet voters;       // for a new group; a restart reads its own
  Duration tick_interval = Duration::millis(20);
};

// What /metrics and /readyz read.
struct NodeStatus {
  NodeId id;
  raft::Role role = raft::Role::follower;
  Term term;
  NodeId leader;
  LogIndex commit;
  LogIndex applied;
  LogIndex last_index;
  LogIndex snapshot_index;                // the log is compacted up to here
  std::uint64_t snapshots_installed = 0;  // sent by a leader (InstallSnapshot), since the process started
  bool poisoned = false;
  std::size_t clients = 0;
  std::uint64_t writes_submitted = 0;   // client writes handed to the node (proposals, or forwards)
  std::uint64_t requests_submitted = 0; // every client request
  std::size_t persists_in_flight = 0;
  // Ready: a leader is known and this node has applied what it knows is
  // committed (it caught up).
  bool ready() const { return !poisoned && leader != kNoNode && applied >= commit; }
};

class NodeHost final : public Environment<node::Message>, public ClientHub {
 public:
  // Opens the node on `store` (recovering what it holds). `store` and `log`
  // must outlive the host; `peers` is connected with connect_peers().
  static Result<std::unique_ptr<NodeHost>> open(boost::asio::io_context& loop, KvStore& store,
                                                const NodeHostOptions& options, Logger& log, Rng rng);
  NodeHost(const NodeHost&) = delete;
  NodeHost& operator=(const NodeHost&) = delete;
  ~NodeHost() override;

  // Where peer messages go. Must outlive the host, or be reset to nullptr.
  void set_transport(PeerTransport* transport) { transport_ = transport; }
  // Called (posted, on the loop) once if the node poisons itself.
  void on_poisoned(std::function<void(const std::string& why)> callback) { on_poisoned_ = std::move(callback); }
  // Called on the loop after each storage round (latency histograms).
  void on_storage_round(std::function<void(const StorageRound&)> callback) { on_round_ = std::move(callback); }
  // A voter left the configuration (a membership change that removed it
  // was applied here).
  void on_voter_removed(std::function<void(NodeId)> callback) { on_voter_removed_ = std::move(callback); }

  // Starts ticking.
  void start();
  // A peer's message (the transport's Deliver).
  void step_peer(NodeId from, node::Message message);

  // ClientHub.
  NodeId connect(ClientSink* sink) override;
  void submit(NodeId client, node::ClientRequest request) override;
  void disconnect(NodeId client) override;

  // Environment (called by drive()).
  void send(Envelope<node::Message> envelope) override;
  void persist(WriteBatch batch, std::function<void(Status)> done) override;

  // Shutdown. If this node leads a group with other voters, starts moving
  // leadership to the most caught-up one it is connected to; false if there
  // is none. Raft gives up on a transfer after an election timeout.
  bool transfer_leadership_away();
  // Stops ticking and storage: nothing is stepped or completed afterwards.
  void stop();

  NodeStatus status() const;
  const node::BrokerNode& node() const { return *node_; }
  bool is_leader() const { return node_->raft().role() == raft::Role::leader; }

 private:
  NodeHost(boost::asio::io_context& loop, KvStore& store, const NodeHostOptions& options, Logger& log,
           std::unique_ptr<node::BrokerNode> node);

  static Timestamp now();
  // Runs an input against the node, then drives it, unless we are already
  // inside drive() (a sink that answers at once): then it runs right after.
  void input(std::function<void()> action);
  void drive_node();
  void schedule_tick();
  void watch_role();
  // Hands the transport the peer addresses of the replicated configuration
  // (voters added by a membership change) that it does not have yet.
  void sync_peer_addresses();

  boost::asio::io_context& loop_;
  NodeHostOptions options_;
  Logger& log_;
  std::unique_ptr<node::BrokerNode> node_;
  StorageThread storage_;
  PeerTransport* transport_ = nullptr;
  std::function<void(const std::string&)> on_poisoned_;
  std::function<void(const StorageRound&)> on_round_;
  std::function<void(NodeId)> on_voter_removed_;
  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point next_tick_;
  std::map<NodeId, ClientSink*> clients_;
  std::uint64_t next_client_ = kFirstClientId;
  bool driving_ = false;
  bool stopped_ = false;
  bool poison_reported_ = false;
  std::uint64_t writes_submitted_ = 0;
  std::uint64_t requests_submitted_ = 0;
  std::map<NodeId, std::string> peer_addresses_;  // the configuration's, as last handed to the transport
  raft::VoterSet last_voters_;                    // every voter of the configuration, as last seen
  // For the role-change log line.
  raft::Role last_role_ = raft::Role::follower;
  NodeId last_leader_;
  Term last_term_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // checked by pending handlers
};

}  // namespace sluice::net
