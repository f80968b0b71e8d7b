// One sluiced node assembled: the RocksDB store, the node loop (NodeHost),
// the peer transport, the client port and the HTTP gateway (REST,
// WebSocket, /metrics, /healthz, /readyz), on one io_context. sluiced.cc is
// a thin main() around it; the tests run several in one process.
//
// Startup is two steps so that a cluster on ephemeral ports can be wired
// up: open() opens the store and the node and binds the ports; start()
// (after set_peer_addresses(), if the ports were not known before) dials
// the peers and starts ticking.
//
// Graceful shutdown (SIGTERM), in order: /readyz turns 503 so load
// balancers route away; a leader hands leadership to its most caught-up
// peer and waits until it has moved; the client port stops accepting and
// reading; in-flight writes finish and queued replies leave; connections
// (framed and HTTP) close; queued writes are synced, the memtables
// flushed. Each wait is bounded.
#pragma once

#include <functional>
#include <memory>
#include <variant>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/http/gateway.h"
#include "net/metrics/metrics.h"
#include "net/server/identity.h"
#include "net/server/client_server.h"
#include "net/server/config.h"
#include "net/server/node_host.h"
#include "net/server/node_metrics.h"
#include "net/server/peer_transport.h"
#include "storage/rocks_store.h"

namespace sluice::net {

class Server {
 public:
  enum class Stage { store, listen };
  struct OpenError {
    Stage stage;
    Status status;
  };

  // Opens the store in config.data_dir (creating it), recovers the node,
  // and binds the client, peer and HTTP ports. `log` must outlive the server.
  static std::variant<std::unique_ptr<Server>, OpenError> open(boost::asio::io_context& loop,
                                                               const ServerConfig& config, Logger& log);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  std::uint16_t client_port() const { return client_port_; }
  std::uint16_t peer_port() const { return peer_port_; }
  std::uint16_t http_port() const { return gateway_->port(); }
  // Replaces the peer addresses (ids must be the configured voters). Before
  // start() only.
  void set_peer_addresses(const std::map<NodeId, PeerAddress>& peers);
  void start();

  // Graceful shutdown; `done` runs on the loop when it is over.
  void shutdown(std::function<void()> done);
  // Stops everything at once (poisoned, or a second signal).
  void stop_now();

  NodeHost& host() { return *host_; }
  ClientServer& clients() { return *clients_; }
  PeerTransport& peers() { return *transport_; }
  http::HttpGateway& gateway() { return *gateway_; }
  metrics::Registry& metrics() { return registry_; }
  // What /healthz and /readyz answer.
  http::Health health() const;
  storage::RocksStore& store() { return *store_; }
  const ServerConfig& config() const { return config_; }
  const StoreIdentity& identity() const { return identity_; }
  const std::map<NodeId, PeerAddress>& peer_addresses() const { return peer_addresses_; }

 private:
  Server(boost::asio::io_context& loop, const ServerConfig& config, Logger& log);
  struct Poll;
  // Checks `condition` now and every 20 ms until it holds or `bound` passes,
  // then calls `then(held)` on the loop.
  void poll_until(std::function<bool()> condition, Duration bound, std::function<void(bool met)> then);
  void poll_step(const std::shared_ptr<Poll>& poll);
  void finish_shutdown(std::function<void()> done);

  boost::asio::io_context& loop_;
  ServerConfig config_;
  Logger& log_;
  std::map<NodeId, PeerAddress> peer_addresses_;
  std::unique_ptr<storage::RocksStore> store_;
  StoreIdentity identity_;       // whose data store_ holds
  PeerStorageIds peer_storage_;  // the storage ids peers had
  std::unique_ptr<NodeHost> host_;
  std::unique_ptr<PeerTransport> transport_;
  std::unique_ptr<ClientServer> clients_;
  metrics::Registry registry_;
  std::unique_ptr<NodeMetrics> node_metrics_;
  std::unique_ptr<http::HttpGateway> gateway_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  boost::asio::steady_timer poll_timer_;
  bool started_ = false;
  bool draining_ = false;  // shutdown began: not ready any more
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sluice::net
