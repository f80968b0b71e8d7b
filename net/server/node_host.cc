#include "net/server/node_host.h"

#include <charconv>
#include <chrono>
#include <utility>

#include <boost/asio/post.hpp>

namespace sluice::net {

Result<std::unique_ptr<NodeHost>> NodeHost::open(boost::asio::io_context& loop, KvStore& store,
                                                 const NodeHostOptions& options, Logger& log, Rng rng) {
  SLUICE_ASSERT(options.broker.raft.self != kNoNode, "a node needs an id");
  SLUICE_ASSERT(options.broker.raft.self.value() < kFirstClientId, "node ids live below the client ids");
  SLUICE_ASSERT(options.tick_interval > Duration{}, "the tick interval must be positive");
  auto node = node::BrokerNode::open(options.broker, options.voters, store, rng);
  if (!node.ok()) return node.status();
  return std::unique_ptr<NodeHost>(new NodeHost(loop, store, options, log, std::move(node).value()));
}

NodeHost::NodeHost(boost::asio::io_context& loop, KvStore& store, const NodeHostOptions& options, Logger& log,
                   std::unique_ptr<node::BrokerNode> node)
    : loop_(loop),
      options_(options),
      log_(log),
      node_(std::move(node)),
      storage_(loop, store,
               [this](const StorageRound& round) {
                 if (on_round_) on_round_(round);
               }),
      tick_timer_(loop) {
  last_role_ = node_->raft().role();
  last_leader_ = node_->raft().leader();
  last_term_ = node_->raft().term();
}

NodeHost::~NodeHost() {
  stop();
  *alive_ = false;
}

Timestamp NodeHost::now() {
  // The one place a real clock reaches the node (DESIGN section 2).
  return Timestamp{std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()};
}

void NodeHost::start() {
  log_.info("node.start")
      .u("node", node_->raft().id().value())
      .u("term", node_->raft().term().value())
      .u("commit", node_->raft().commit().value())
      .u("applied", node_->applied().value())
      .u("last_index", node_->raft().last_index().value())
      .u("voters", node_->raft().config().all_voters().size());
  next_tick_ = std::chrono::steady_clock::now();
  sync_peer_addresses();
  schedule_tick();
  // Whatever recovery left to do (a lone voter elects itself on its first
  // ticks; a restarted leader has nothing pending) goes out now.
  drive_node();
}

void NodeHost::schedule_tick() {
  if (stopped_) return;
  const auto interval = std::chrono::nanoseconds(options_.tick_interval.ns);
  next_tick_ += interval;
  const auto now_steady = std::chrono::steady_clock::now();
  // A loop that fell behind (a long GC-free pause is still a pause: a slow
  // disk callback, a stopped process) ticks once and moves on, rather than
  // firing a burst of ticks that would expire every election timer at once.
  if (next_tick_ < now_steady) next_tick_ = now_steady + interval;
  tick_timer_.expires_at(next_tick_);
  tick_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    input([this] { node_->tick(now()); });
    schedule_tick();
  });
}

void NodeHost::input(std::function<void()> action) {
  if (stopped_) return;
  if (driving_) {
    // A sink answered from inside drive(): run it right after, on the loop.
    boost::asio::post(loop_, [this, alive = alive_, action = std::move(action)]() mutable {
      if (*alive) input(std::move(action));
    });
    return;
  }
  action();
  drive_node();
}

void NodeHost::drive_node() {
  if (stopped_) return;
  driving_ = true;
  drive(*node_, *this);
  driving_ = false;
  watch_role();
}

void NodeHost::sync_peer_addresses() {
  const auto& addresses = node_->raft().config().addresses;
  if (transport_ == nullptr || addresses == peer_addresses_) return;
  for (const auto& [id, text] : addresses) {
    auto known = peer_addresses_.find(id);
    if (known != peer_addresses_.end() && known->second == text) continue;
    // host:port or [v6]:port; the leader checked the form before proposing.
    const auto colon = text.rfind(':');
    std::uint32_t port = 0;
    const char* end = text.data() + text.size();
    if (colon == std::string::npos ||
        std::from_chars(text.data() + colon + 1, end, port).ptr != end || port == 0 || port > 65535) {
      log_.error("peer.bad_address").u("peer", id.value()).s("address", text);
      continue;
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    transport_->add_peer(id, PeerAddress{host, static_cast<std::uint16_t>(port)});
  }
  peer_addresses_ = addresses;
}

void NodeHost::watch_role() {
  sync_peer_addresses();
  // Committed: an appended removal may still be truncated away.
  const raft::VoterSet voters = node_->raft().committed_config().all_voters();
  if (voters != last_voters_) {
    for (NodeId id : last_voters_) {
      if (!voters.contains(id) && id != node_->raft().id() && on_voter_removed_) on_voter_removed_(id);
    }
    last_voters_ = voters;
  }
  const raft::Node& r = node_->raft();
  if (r.role() != last_role_ || r.leader() != last_leader_ || r.term() != last_term_) {
    // Candidates come and go on every lost election; the lines worth
    // reading are who leads and when that changes.
    if (r.role() == raft::Role::leader || r.leader() != last_leader_) {
      log_.info("raft.leader")
          .u("node", r.id().value())
          .s("role", raft::role_name(r.role()))
          .u("term", r.term().value())
          .u("leader", r.leader().value())
          .u("commit", r.commit().value());
    }
    last_role_ = r.role();
    last_leader_ = r.leader();
    last_term_ = r.term();
  }
  if (node_->poisoned() && !poison_reported_) {
    poison_reported_ = true;
    log_.error("node.poisoned").u("node", r.id().value()).s("why", "a write or fsync failed; the node stops serving");
    if (on_poisoned_) {
      boost::asio::post(loop_, [this, alive = alive_] {
        if (*alive && on_poisoned_) on_poisoned_("a write or fsync failed");
      });
    }
  }
}

void NodeHost::step_peer(NodeId from, node::Message message) {
  input([this, from, message = std::move(message)]() mutable { node_->step(from, std::move(message), now()); });
}

NodeId NodeHost::connect(ClientSink* sink) {
  SLUICE_ASSERT(sink != nullptr, "a client needs a sink");
  const NodeId id(next_client_++);
  clients_.emplace(id, sink);
  return id;
}

void NodeHost::submit(NodeId client, node::ClientRequest request) {
  if (!clients_.contains(client)) return;  // it disconnected
  ++requests_submitted_;
  if (std::holds_alternative<node::Write>(request.body)) ++writes_submitted_;
  input([this, client, request = std::move(request)]() mutable {
    node_->step(client, node::Message(std::move(request)), now());
  });
}

void NodeHost::disconnect(NodeId client) {
  if (clients_.erase(client) == 0) return;
  input([this, client] { node_->disconnect(client); });
}

void NodeHost::send(Envelope<node::Message> envelope) {
  if (envelope.to.value() >= kFirstClientId) {
    auto it = clients_.find(envelope.to);
    // A client that went away misses what was still addressed to it.
    if (it != clients_.end()) it->second->deliver(envelope.message);
    return;
  }
  if (transport_ != nullptr) transport_->send(envelope);
}

void NodeHost::persist(WriteBatch batch, std::function<void(Status)> done) {
  storage_.submit(std::move(batch), [this, done = std::move(done)](Status status) {
    // The completion runs drive() itself (driver.h); mark it, so that sinks
    // answering from inside are deferred as for any other input.
    if (stopped_) return;
    driving_ = true;
    done(std::move(status));
    driving_ = false;
    watch_role();
  });
}

bool NodeHost::transfer_leadership_away() {
  const raft::Node& r = node_->raft();
  if (r.role() != raft::Role::leader) return false;
  NodeId best = kNoNode;
  LogIndex best_match;
  for (NodeId voter : r.config().all_voters()) {
    if (voter == r.id()) continue;
    // A peer we cannot reach would only let the transfer time out.
    if (transport_ != nullptr && !transport_->connected(voter)) continue;
    const LogIndex match = r.progress(voter).match();
    if (best == kNoNode || match > best_match) {
      best = voter;
      best_match = match;
    }
  }
  if (best == kNoNode) return false;
  const Status s = node_->raft().transfer_leadership(best);
  log_.info("raft.transfer_leadership").u("to", best.value()).u("match", best_match.value())
      .s("status", s.ok() ? "started" : s.to_string());
  if (!s.ok()) return false;
  drive_node();
  return true;
}

void NodeHost::stop() {
  if (stopped_) return;
  stopped_ = true;
  tick_timer_.cancel();
  storage_.stop();
}

NodeStatus NodeHost::status() const {
  const raft::Node& r = node_->raft();
  NodeStatus s;
  s.id = r.id();
  s.role = r.role();
  s.term = r.term();
  s.leader = r.leader();
  s.commit = r.commit();
  s.applied = node_->applied();
  s.last_index = r.last_index();
  s.snapshot_index = r.snapshot_index();
  s.snapshots_installed = r.snapshots_installed();
  s.poisoned = node_->poisoned();
  s.clients = clients_.size();
  s.writes_submitted = writes_submitted_;
  s.requests_submitted = requests_submitted_;
  s.persists_in_flight = storage_.in_flight();
  return s;
}

}  // namespace sluice::net
