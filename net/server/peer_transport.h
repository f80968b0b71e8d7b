// Peer connections over TCP with wire frames: the send half of the real
// Environment (core/node/driver.h) for messages between nodes, and the
// source of every peer message the node steps.
//
// Each node dials every other configured peer and sends on that outbound
// connection only; what it receives comes in on the connections the others
// dialed. One connection per direction means no tie-breaking between two
// sockets for the same pair, and a reconnect on one side never races one on
// the other.
//
// The handshake: the dialer sends Hello{role=peer, node, cluster}; the
// acceptor checks the version, the cluster name and that the node is a
// configured peer, and answers with its own Hello, or with an ErrorFrame and
// a close. The dialer checks that it reached the node it meant to (an
// address that points at the wrong node is a configuration error worth a
// loud log line).
//
// Outbound queues are bounded by frames and bytes; on overflow the newest
// frame is dropped and counted: Raft retransmits what matters. A link that
// fails reconnects with exponential backoff and full jitter, resolving the
// peer's name again each time (a StatefulSet pod comes back with a new IP).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/common/random.h"
#include "core/node/broker_messages.h"
#include "core/node/output.h"
#include "net/server/frame_connection.h"
#include "net/server/log.h"

namespace sluice::net {

struct PeerAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

struct PeerTransportOptions {
  NodeId self;
  std::string cluster = "sluice";
  GroupId group = kDefaultGroup;
  Duration backoff_min = Duration::millis(50);
  Duration backoff_max = Duration::seconds(2);
  Duration connect_timeout = Duration::seconds(3);
  // Unacknowledged data this long aborts the connection (TCP_USER_TIMEOUT):
  // a peer whose host vanished is noticed in seconds, not after the
  // kernel's quarter hour of retransmissions.
  Duration user_timeout = Duration::seconds(10);
  // Frames kept per peer while its link is down (and while connected, in
  // the socket's own queue).
  std::size_t queue_frames_max = 4096;
  std::size_t queue_bytes_max = 64u << 20;
  FrameConnectionOptions connection;
  // This node's storage id, sent in every Hello (identity.h).
  std::uint64_t storage_id = 0;
  // Judges a peer's storage id on every handshake, both ways: a status
  // that is not ok refuses the peer with its message. Unset: all pass.
  std::function<Status(NodeId peer, std::uint64_t storage_id)> check_peer;
};

struct PeerStats {
  std::uint64_t frames_sent = 0;      // handed to a connection
  std::uint64_t frames_dropped = 0;   // queue overflow, or no such peer
  std::uint64_t frames_received = 0;
  std::uint64_t connects = 0;         // handshakes completed, outbound
  std::size_t peers_connected = 0;    // outbound links up now
};

class PeerTransport {
 public:
  // A peer's message, with `from` set to the peer that said Hello.
  using Deliver = std::function<void(NodeId from, Envelope<node::Message> envelope)>;

  PeerTransport(boost::asio::io_context& loop, PeerTransportOptions options, Logger& log, Deliver deliver);
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;
  ~PeerTransport();

  // Binds the peer port; port 0 picks a free one. Returns the bound port.
  Result<std::uint16_t> listen(const std::string& address, std::uint16_t port);
  // The peers to dial and to accept (self is skipped). Call before start().
  void set_peers(const std::map<NodeId, PeerAddress>& peers);
  // Starts dialing every peer.
  void start();
  // A peer learned after start(), from the replicated configuration (a voter
  // added by a membership change): dialed at once, and accepted from now
  // on. For a peer already known, the address replaces the old one from the
  // next dial on.
  void add_peer(NodeId id, const PeerAddress& address);

  // Queues a message for its peer (envelope.to). Never blocks.
  void send(const Envelope<node::Message>& envelope);

  // Stops accepting new connections; established ones keep working.
  void stop_accepting();
  // Closes everything. Nothing is delivered afterwards.
  void stop();

  PeerStats stats() const;
  bool connected(NodeId peer) const;

 private:
  struct Link;
  struct Inbound;

  void accept_next();
  void on_accept(boost::asio::ip::tcp::socket socket);
  void on_inbound_frame(const std::shared_ptr<Inbound>& in, wire::Frame frame);

  void dial(Link& link);
  void on_connected(Link& link, boost::asio::ip::tcp::socket socket);
  void on_link_closed(Link& link, const std::string& reason);
  void schedule_redial(Link& link);
  void flush_pending(Link& link);
  Status check_peer(NodeId peer, std::uint64_t storage_id) const {
    return options_.check_peer ? options_.check_peer(peer, storage_id) : Status{};
  }

  boost::asio::io_context& loop_;
  PeerTransportOptions options_;
  Logger& log_;
  Deliver deliver_;
  Rng rng_;  // backoff jitter only
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::map<NodeId, std::unique_ptr<Link>> links_;
  std::set<std::shared_ptr<Inbound>> inbound_;
  bool started_ = false;
  bool stopped_ = false;
  // Shared with every pending Asio handler, which checks it before touching
  // this object: handlers may run after the transport is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  PeerStats stats_;
};

}  // namespace sluice::net
