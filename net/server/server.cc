#include "net/server/server.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <system_error>
#include <utility>

namespace sluice::net {
namespace {

constexpr Duration kPollInterval = Duration::millis(20);

raft::VoterSet voters_of(const ServerConfig& config) {
  raft::VoterSet voters;
  for (const auto& [id, address] : config.peers) voters.insert(id);
  if (voters.empty()) voters.insert(config.id);
  return voters;
}

}  // namespace

Server::Server(boost::asio::io_context& loop, const ServerConfig& config, Logger& log)
    : loop_(loop), config_(config), log_(log), peer_addresses_(config.peers), poll_timer_(loop) {}

Server::~Server() {
  stop_now();
  *alive_ = false;
}

std::variant<std::unique_ptr<Server>, Server::OpenError> Server::open(boost::asio::io_context& loop,
                                                                      const ServerConfig& config, Logger& log) {
  std::unique_ptr<Server> server(new Server(loop, config, log));
  auto fail = [](Stage stage, Status status) { return OpenError{stage, std::move(status)}; };

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return fail(Stage::store, Status(Code::io_error, "cannot create data directory " + config.data_dir + ": " +
                                                         ec.message()));
  }
  auto store = storage::RocksStore::open(config.data_dir);
  if (!store.ok()) return fail(Stage::store, store.status());
  server->store_ = std::move(store).value();
  // Seeds election timeouts, id bases and a new store's storage id: any
  // entropy will do outside core/.
  std::random_device entropy;
  auto draw = [&entropy] { return (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy(); };
  std::uint64_t fresh_storage_id = draw();
  while (fresh_storage_id == 0) fresh_storage_id = draw();
  auto identity = claim_identity(*server->store_, config.id, config.cluster, fresh_storage_id);
  if (!identity.ok()) return fail(Stage::store, identity.status());
  server->identity_ = *identity;
  auto peer_storage = PeerStorageIds::load(*server->store_);
  if (!peer_storage.ok()) return fail(Stage::store, peer_storage.status());
  server->peer_storage_ = std::move(peer_storage).value();

  NodeHostOptions options;
  options.broker.raft.self = config.id;
  options.broker.raft.election_ticks = config.election_ticks;
  options.broker.raft.heartbeat_ticks = config.heartbeat_ticks;
  options.broker.compact_every = config.snapshot_every;
  options.broker.limits = config.limits;
  // A joining node bootstraps nothing: the leader that adds it brings the
  // configuration (Raft never campaigns without one).
  if (!config.join) options.voters = voters_of(config);
  options.tick_interval = config.tick;
  const std::uint64_t seed = draw();
  auto host = NodeHost::open(loop, *server->store_, options, log, Rng(seed));
  if (!host.ok()) return fail(Stage::store, host.status());
  server->host_ = std::move(host).value();

  PeerTransportOptions peer_options;
  peer_options.self = config.id;
  peer_options.cluster = config.cluster;
  peer_options.connection.queue_frames_max = peer_options.queue_frames_max;
  peer_options.connection.queue_bytes_max = peer_options.queue_bytes_max;
  peer_options.storage_id = server->identity_.storage_id;
  peer_options.check_peer = [s = server.get()](NodeId peer, std::uint64_t storage_id) {
    return s->peer_storage_.check(*s->store_, peer, storage_id);
  };
  NodeHost* h = server->host_.get();
  server->transport_ = std::make_unique<PeerTransport>(
      loop, peer_options, log, [h](NodeId from, Envelope<node::Message> e) { h->step_peer(from, std::move(e.message)); });
  server->host_->set_transport(server->transport_.get());

  ClientServerOptions client_options;
  client_options.self = config.id;
  client_options.cluster = config.cluster;
  server->clients_ = std::make_unique<ClientServer>(loop, *server->host_, client_options, log);

  auto peer_port = server->transport_->listen(config.bind, config.peer_port);
  if (!peer_port.ok()) return fail(Stage::listen, peer_port.status());
  server->peer_port_ = *peer_port;
  auto client_port = server->clients_->listen(config.bind, config.client_port);
  if (!client_port.ok()) return fail(Stage::listen, client_port.status());
  server->client_port_ = *client_port;

  Server* s = server.get();
  server->node_metrics_ = std::make_unique<NodeMetrics>(server->registry_, *server);
  server->host_->on_storage_round([s](const StorageRound& round) { s->node_metrics_->on_storage_round(round); });
  // A removed node may come back under its id with a new disk, as a new
  // member (sluice cluster add): its old storage id no longer binds it.
  server->host_->on_voter_removed([s](NodeId id) {
    if (Status st = s->peer_storage_.forget(*s->store_, id); !st.ok()) {
      s->log_.error("peer.forget_failed").u("peer", id.value()).s("error", st.to_string());
    } else {
      s->log_.info("peer.removed").u("peer", id.value());
    }
  });
  http::GatewayOptions gateway_options;
  gateway_options.rest.limits = options.broker.limits;
  // A JSON request carries a body as text or base64 (4/3 of it), and a send
  // batch several: room for two of the largest messages at least.
  gateway_options.rest.body_bytes_max =
      std::max(gateway_options.rest.body_bytes_max,
               2 * (options.broker.limits.body_bytes_max * 4 / 3 + options.broker.limits.metadata_bytes_max) +
                   (64 << 10));
  server->gateway_ = std::make_unique<http::HttpGateway>(
      loop, *server->host_, gateway_options, [s] { return s->registry_.render(); }, [s] { return s->health(); });
  if (Status st = server->gateway_->start(config.bind, config.http_port); !st.ok()) {
    return fail(Stage::listen, Status(st.code(), "cannot serve HTTP on " + config.bind + ":" +
                                                     std::to_string(config.http_port) + ": " + st.message()));
  }
  return server;
}

void Server::set_peer_addresses(const std::map<NodeId, PeerAddress>& peers) {
  SLUICE_ASSERT(!started_, "peer addresses are set before start()");
  for (const auto& [id, address] : peers) {
    SLUICE_ASSERT(voters_of(config_).contains(id), "peer addresses are for configured voters");
  }
  peer_addresses_ = peers;
}

void Server::start() {
  SLUICE_ASSERT(!started_, "start() once");
  started_ = true;
  transport_->set_peers(peer_addresses_);
  transport_->start();
  host_->start();
  log_.info("server.listening")
      .u("node", config_.id.value())
      .s("cluster", config_.cluster)
      .s("bind", config_.bind)
      .u("client_port", client_port_)
      .u("peer_port", peer_port_)
      .u("http_port", gateway_->port())
      .s("data", config_.data_dir)
      .u("voters", voters_of(config_).size());
}

struct Server::Poll {
  std::function<bool()> condition;
  std::function<void(bool met)> then;
  std::chrono::steady_clock::time_point deadline;
};

void Server::poll_until(std::function<bool()> condition, Duration bound, std::function<void(bool met)> then) {
  auto poll = std::make_shared<Poll>(
      Poll{std::move(condition), std::move(then), std::chrono::steady_clock::now() + std::chrono::nanoseconds(bound.ns)});
  poll_step(poll);
}

void Server::poll_step(const std::shared_ptr<Poll>& poll) {
  if (poll->condition()) return poll->then(true);
  if (std::chrono::steady_clock::now() >= poll->deadline) return poll->then(false);
  poll_timer_.expires_after(std::chrono::nanoseconds(kPollInterval.ns));
  poll_timer_.async_wait([this, alive = alive_, poll](const boost::system::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    poll_step(poll);
  });
}

void Server::shutdown(std::function<void()> done) {
  if (stopped_) return done();
  draining_ = true;
  log_.info("shutdown.begin").u("node", config_.id.value()).b("leader", host_->is_leader());
  auto after_transfer = [this, done](bool moved) {
    if (!moved) log_.warn("shutdown.transfer_timeout").s("note", "leaving as leader; the others elect a new one");
    // Stop taking work, finish what is under way.
    clients_->stop_accepting();
    clients_->pause_reading();
    poll_until(
        [this] {
          return host_->status().persists_in_flight == 0 && clients_->requests_pending() == 0 &&
                 clients_->queued_bytes() == 0;
        },
        config_.shutdown_timeout,
        [this, done](bool drained) {
          if (!drained) {
            log_.warn("shutdown.drain_timeout")
                .u("requests_pending", clients_->requests_pending())
                .u("persists_in_flight", host_->status().persists_in_flight);
          }
          finish_shutdown(done);
        });
  };
  if (host_->transfer_leadership_away()) {
    // Raft abandons a transfer after an election timeout; waiting longer
    // would only delay the exit.
    const Duration transfer_bound = std::min(config_.shutdown_timeout, config_.tick * (2 * config_.election_ticks));
    poll_until([this] { return !host_->is_leader(); }, transfer_bound, after_transfer);
  } else {
    after_transfer(true);
  }
}

void Server::finish_shutdown(std::function<void()> done) {
  stop_now();
  // Not needed for durability (the WAL has everything); a restart that
  // finds the memtables already in SST files replays less.
  if (Status s = store_->flush(); !s.ok()) log_.warn("shutdown.flush_failed").s("error", s.to_string());
  log_.info("shutdown.done").u("node", config_.id.value());
  done();
}

void Server::stop_now() {
  if (stopped_) return;
  stopped_ = true;
  poll_timer_.cancel();
  if (gateway_ != nullptr) gateway_->stop();
  if (clients_ != nullptr) {
    clients_->stop_accepting();
    clients_->close_all("server shutting down");
  }
  // Storage stops after its queue is written: nothing acknowledged depends
  // on a write that never happened.
  if (host_ != nullptr) host_->stop();
  if (transport_ != nullptr) transport_->stop();
}

}  // namespace sluice::net

namespace sluice::net {

http::Health Server::health() const {
  http::Health h;
  const NodeStatus s = host_->status();
  h.alive = !s.poisoned && !stopped_;
  h.ready = h.alive && !draining_ && s.ready();
  if (s.poisoned) {
    h.detail = "poisoned: a write or fsync failed; the node stops serving";
  } else if (draining_) {
    h.detail = "shutting down";
  } else if (s.leader == kNoNode) {
    h.detail = "no leader known";
  } else {
    h.detail = std::string(s.applied >= s.commit ? "ready" : "catching up") + ": leader " + to_string(s.leader) +
               ", term " + to_string(s.term) + ", applied " + to_string(s.applied) + " of " + to_string(s.commit) +
               " committed";
  }
  return h;
}

}  // namespace sluice::net
