// Several sluiced nodes (net::Server) in one process, on loopback with
// ephemeral ports, each with its own RocksDB directory, all on one
// io_context run by a background thread. Tests talk to them over real
// sockets (TestClient) and read their state through on_loop(), which runs
// a function on the loop thread and waits for its result.
#pragma once

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "net/server/server.h"
#include "tests/storage/temp_dir.h"

namespace sluice::testing {

class LocalCluster {
 public:
  explicit LocalCluster(int nodes, const std::string& dir) : dir_(dir) {
    for (int i = 1; i <= nodes; ++i) ids_.push_back(NodeId(static_cast<std::uint64_t>(i)));
    thread_ = std::thread([this] { loop_.run(); });
    on_loop([this] {
      for (NodeId id : ids_) open(id, 0);
      std::map<NodeId, net::PeerAddress> addresses;
      for (NodeId id : ids_) addresses[id] = net::PeerAddress{"127.0.0.1", servers_.at(id)->peer_port()};
      for (NodeId id : ids_) {
        servers_.at(id)->set_peer_addresses(addresses);
        servers_.at(id)->start();
      }
      return 0;
    });
  }
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;
  ~LocalCluster() {
    on_loop([this] {
      servers_.clear();
      return 0;
    });
    work_.reset();
    thread_.join();
  }

  // Runs f on the loop thread and returns its result.
  template <class F>
  auto on_loop(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    boost::asio::post(loop_, [&task] { task(); });
    return result.get();
  }

  // The leader every running node agrees on, polled every 20 ms for up to
  // `bound`; kNoNode if there is none by then.
  NodeId wait_leader(std::chrono::seconds bound = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      const NodeId leader = on_loop([this] {
        NodeId agreed = kNoNode;
        for (auto& [id, server] : servers_) {
          const net::NodeStatus s = server->host().status();
          if (s.leader == kNoNode || (agreed != kNoNode && s.leader != agreed)) return kNoNode;
          agreed = s.leader;
        }
        return servers_.contains(agreed) && servers_.at(agreed)->host().is_leader() ? agreed : kNoNode;
      });
      if (leader != kNoNode) return leader;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return kNoNode;
  }

  // Runs f(server) on the loop thread and returns its result.
  template <class F>
  auto with(NodeId id, F f) {
    return on_loop([this, id, f = std::move(f)]() mutable { return f(*servers_.at(id)); });
  }
  std::uint16_t http_port(NodeId id) {
    return on_loop([this, id] { return servers_.at(id)->http_port(); });
  }
  std::uint16_t client_port(NodeId id) {
    return on_loop([this, id] { return servers_.at(id)->client_port(); });
  }
  net::NodeStatus status(NodeId id) {
    return on_loop([this, id] { return servers_.at(id)->host().status(); });
  }
  const std::vector<NodeId>& ids() const { return ids_; }

  // Stops a node at once (its store closes); restart() opens it again on
  // the same data and peer port.
  void stop(NodeId id) {
    on_loop([this, id] {
      peer_ports_[id] = servers_.at(id)->peer_port();
      servers_.erase(id);
      return 0;
    });
  }
  void restart(NodeId id) {
    on_loop([this, id] {
      open(id, peer_ports_.at(id));
      std::map<NodeId, net::PeerAddress> addresses;
      for (NodeId other : ids_) addresses[other] = net::PeerAddress{"127.0.0.1", peer_ports_.at(other)};
      servers_.at(id)->set_peer_addresses(addresses);
      servers_.at(id)->start();
      return 0;
    });
  }
  // Graceful shutdown, as on SIGTERM; returns once it is over, with the
  // server still there to be inspected (erase it with stop()).
  void shutdown(NodeId id) {
    std::promise<void> finished;
    on_loop([&] {
      servers_.at(id)->shutdown([&finished] { finished.set_value(); });
      return 0;
    });
    finished.get_future().wait();
  }
  bool is_leader(NodeId id) {
    return on_loop([this, id] { return servers_.at(id)->host().is_leader(); });
  }

 private:
  void open(NodeId id, std::uint16_t peer_port) {
    net::ServerConfig config;
    config.id = id;
    for (NodeId other : ids_) config.peers[other] = net::PeerAddress{"127.0.0.1", 1};
    config.data_dir = dir_ + "/node-" + to_string(id);
    config.bind = "127.0.0.1";
    config.client_port = 0;
    config.http_port = 0;
    config.peer_port = peer_port;
    config.cluster = "test";
    auto opened = net::Server::open(loop_, config, log_);
    auto* error = std::get_if<net::Server::OpenError>(&opened);
    SLUICE_ASSERT(error == nullptr, "a test node failed to open");
    auto server = std::move(std::get<std::unique_ptr<net::Server>>(opened));
    peer_ports_[id] = server->peer_port();
    servers_[id] = std::move(server);
  }

  std::string dir_;
  std::vector<NodeId> ids_;
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(loop_);
  net::Logger log_{net::LogFormat::text, net::LogLevel::warn};
  std::map<NodeId, std::unique_ptr<net::Server>> servers_;  // loop thread only
  std::map<NodeId, std::uint16_t> peer_ports_;               // loop thread only
  std::thread thread_;
};

}  // namespace sluice::testing
