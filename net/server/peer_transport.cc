#include "net/server/peer_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <utility>

#include <boost/asio/connect.hpp>

#include "core/common/overloaded.h"
#include "net/listen.h"

namespace sluice::net {

using boost::asio::ip::tcp;

namespace {

void set_user_timeout(tcp::socket& socket, Duration timeout) {
  const unsigned int ms = static_cast<unsigned int>(timeout.to_ms());
  // Best effort: without it a vanished host is noticed by keepalive only.
  (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
}

std::uint64_t seed_from_clock() {
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

struct PeerTransport::Link {
  Link(boost::asio::io_context& loop, NodeId id, PeerAddress addr)
      : peer(id), address(std::move(addr)), resolver(loop), timer(loop) {}

  NodeId peer;
  PeerAddress address;
  tcp::resolver resolver;
  boost::asio::steady_timer timer;  // backoff, then the connect timeout
  std::unique_ptr<tcp::socket> connecting;
  std::shared_ptr<FrameConnection> conn;  // after the TCP connect, until it closes
  bool handshaken = false;                // the acceptor answered with its Hello
  std::uint64_t attempt = 0;              // callbacks of an older attempt are stale
  std::uint32_t failures = 0;             // consecutive; drives the backoff
  // Frames waiting while there is no connection. Invariant: empty while
  // conn is set (they moved into the connection's own queue).
  std::deque<std::string> pending;
  std::size_t pending_bytes = 0;
};

struct PeerTransport::Inbound {
  std::shared_ptr<FrameConnection> conn;
  NodeId peer;        // set by its Hello
  bool hello = false;
};

PeerTransport::PeerTransport(boost::asio::io_context& loop, PeerTransportOptions options, Logger& log,
                             Deliver deliver)
    : loop_(loop), options_(std::move(options)), log_(log), deliver_(std::move(deliver)), rng_(seed_from_clock()) {
  SLUICE_ASSERT(options_.backoff_min > Duration{} && options_.backoff_min <= options_.backoff_max,
                "peer backoff needs 0 < min <= max");
}

PeerTransport::~PeerTransport() {
  stop();
  *alive_ = false;
}

Result<std::uint16_t> PeerTransport::listen(const std::string& address, std::uint16_t port) {
  auto acceptor = std::make_unique<tcp::acceptor>(loop_);
  if (Status s = listen_on(*acceptor, address, port, "peers"); !s.ok()) return s;
  const std::uint16_t bound = acceptor->local_endpoint().port();
  acceptor_ = std::move(acceptor);
  accept_next();
  return bound;
}

void PeerTransport::set_peers(const std::map<NodeId, PeerAddress>& peers) {
  SLUICE_ASSERT(links_.empty(), "peers are set once, before start()");
  for (const auto& [id, address] : peers) {
    if (id == options_.self) continue;
    links_.emplace(id, std::make_unique<Link>(loop_, id, address));
  }
}

void PeerTransport::start() {
  started_ = true;
  for (auto& [id, link] : links_) dial(*link);
}

void PeerTransport::add_peer(NodeId id, const PeerAddress& address) {
  if (id == options_.self || stopped_) return;
  if (auto it = links_.find(id); it != links_.end()) {
    if (it->second->address.text() == address.text()) return;
    log_.info("peer.address_changed").u("peer", id.value()).s("old", it->second->address.text())
        .s("address", address.text());
    it->second->address = address;  // a link that is up keeps its socket; the next dial uses it
    return;
  }
  log_.info("peer.added").u("peer", id.value()).s("address", address.text());
  Link& link = *links_.emplace(id, std::make_unique<Link>(loop_, id, address)).first->second;
  if (started_) dial(link);
}

// ---------------------------------------------------------------------------
// Outbound

void PeerTransport::send(const Envelope<node::Message>& envelope) {
  auto it = links_.find(envelope.to);
  if (stopped_ || it == links_.end()) {
    ++stats_.frames_dropped;
    return;
  }
  Link& link = *it->second;
  std::string frame = wire::encode(wire::Frame(envelope));
  if (link.conn != nullptr && link.handshaken) {
    if (link.conn->send(std::move(frame)) == FrameConnection::Queued::ok) {
      ++stats_.frames_sent;
    } else {
      ++stats_.frames_dropped;
    }
    return;
  }
  if (link.pending.size() >= options_.queue_frames_max ||
      link.pending_bytes + frame.size() > options_.queue_bytes_max) {
    ++stats_.frames_dropped;
    return;
  }
  link.pending_bytes += frame.size();
  link.pending.push_back(std::move(frame));
}

void PeerTransport::dial(Link& link) {
  if (stopped_) return;
  const std::uint64_t attempt = ++link.attempt;
  link.resolver.async_resolve(
      link.address.host, std::to_string(link.address.port),
      [this, alive = alive_, &link, attempt](const boost::system::error_code& ec,
                                             const tcp::resolver::results_type& results) {
        if (!*alive || stopped_ || attempt != link.attempt) return;
        if (ec) {
          on_link_closed(link, "resolve " + link.address.host + ": " + ec.message());
          return;
        }
        link.connecting = std::make_unique<tcp::socket>(loop_);
        boost::asio::async_connect(
            *link.connecting, results,
            [this, alive, &link, attempt](const boost::system::error_code& connect_ec, const tcp::endpoint&) {
              if (!*alive || stopped_ || attempt != link.attempt) return;
              link.timer.cancel();
              auto socket = std::move(link.connecting);
              if (connect_ec) {
                on_link_closed(link, "connect: " + connect_ec.message());
                return;
              }
              on_connected(link, std::move(*socket));
            });
        link.timer.expires_after(std::chrono::nanoseconds(options_.connect_timeout.ns));
        link.timer.async_wait([this, alive, &link, attempt](const boost::system::error_code& timer_ec) {
          if (timer_ec || !*alive || stopped_ || attempt != link.attempt || link.connecting == nullptr) return;
          boost::system::error_code ignored;
          link.connecting->close(ignored);  // the connect handler sees operation_aborted
        });
      });
}

void PeerTransport::on_connected(Link& link, tcp::socket socket) {
  set_user_timeout(socket, options_.user_timeout);
  link.conn = std::make_shared<FrameConnection>(std::move(socket), options_.connection);
  const std::uint64_t attempt = link.attempt;
  FrameConnection::Handlers handlers;
  handlers.on_frame = [this, &link, attempt](wire::Frame frame) {
    if (stopped_ || attempt != link.attempt) return;
    std::visit(Overloaded{
                   [&](wire::Hello& hello) {
                     if (link.handshaken || hello.role != wire::Role::peer || hello.node != link.peer ||
                         hello.cluster != options_.cluster || hello.version != wire::kProtocolVersion) {
                       log_.error("peer.wrong_node")
                           .u("peer", link.peer.value())
                           .s("address", link.address.text())
                           .u("answered_node", hello.node.value())
                           .s("answered_cluster", hello.cluster)
                           .u("answered_version", hello.version);
                       link.conn->close("the address answered as another node or cluster");
                       return;
                     }
                     if (Status s = check_peer(link.peer, hello.storage_id); !s.ok()) {
                       log_.error("peer.data_lost").u("peer", link.peer.value()).s("address", link.address.text())
                           .s("error", s.message());
                       link.conn->close(s.message());
                       return;
                     }
                     link.handshaken = true;
                     link.failures = 0;
                     ++stats_.connects;
                     log_.info("peer.connected").u("peer", link.peer.value()).s("address", link.address.text());
                     // Only now: a peer that is not who it should be (another
                     // node, or one that lost its data) gets nothing of ours.
                     flush_pending(link);
                   },
                   [&](wire::ErrorFrame& error) {
                     log_.error("peer.refused")
                         .u("peer", link.peer.value())
                         .s("address", link.address.text())
                         .s("error", error.message);
                     link.conn->close("refused: " + error.message);
                   },
                   [&](Envelope<node::Message>&) {
                     link.conn->close_with_error("a peer sends messages on its own connection, not in answer to ours");
                   },
               },
               frame);
  };
  handlers.on_closed = [this, &link, attempt](const std::string& reason) {
    if (stopped_ || attempt != link.attempt) return;
    on_link_closed(link, reason);
  };
  link.conn->start(std::move(handlers));
  link.conn->send(wire::encode(wire::Frame(wire::Hello{wire::kProtocolVersion, wire::Role::peer, options_.self,
                                                        options_.cluster, options_.storage_id})));
}

void PeerTransport::flush_pending(Link& link) {
  while (!link.pending.empty()) {
    if (link.conn->send(std::move(link.pending.front())) == FrameConnection::Queued::ok) {
      ++stats_.frames_sent;
    } else {
      ++stats_.frames_dropped;
    }
    link.pending.pop_front();
  }
  link.pending_bytes = 0;
}

void PeerTransport::on_link_closed(Link& link, const std::string& reason) {
  const bool was_up = link.handshaken;
  if (link.conn != nullptr) link.conn->detach();
  link.conn.reset();
  link.handshaken = false;
  ++link.failures;
  // One line when a link goes down or first fails, not one per retry.
  if (was_up) {
    log_.warn("peer.disconnected").u("peer", link.peer.value()).s("address", link.address.text()).s("reason", reason);
  } else if (link.failures == 1) {
    log_.info("peer.unreachable").u("peer", link.peer.value()).s("address", link.address.text()).s("reason", reason);
  } else {
    log_.debug("peer.retry").u("peer", link.peer.value()).u("failures", link.failures).s("reason", reason);
  }
  schedule_redial(link);
}

void PeerTransport::schedule_redial(Link& link) {
  if (stopped_) return;
  // Exponential backoff with jitter: base doubles per consecutive failure up
  // to the cap, and the wait is drawn from [base/2, base], so nodes that
  // lost each other at the same moment do not redial in lockstep.
  const std::uint32_t doublings = std::min<std::uint32_t>(link.failures - 1, 30);
  Duration base = options_.backoff_min;
  for (std::uint32_t i = 0; i < doublings && base < options_.backoff_max; ++i) base = base * 2;
  base = std::min(base, options_.backoff_max);
  const Duration wait = Duration::nanos(uniform_between(rng_, base.ns / 2, base.ns));
  const std::uint64_t attempt = ++link.attempt;
  link.timer.expires_after(std::chrono::nanoseconds(wait.ns));
  link.timer.async_wait([this, alive = alive_, &link, attempt](const boost::system::error_code& ec) {
    if (ec || !*alive || stopped_ || attempt != link.attempt) return;
    dial(link);
  });
}

// ---------------------------------------------------------------------------
// Inbound

void PeerTransport::accept_next() {
  if (acceptor_ == nullptr || stopped_) return;
  acceptor_->async_accept([this, alive = alive_](const boost::system::error_code& ec, tcp::socket socket) {
    if (!*alive || stopped_ || acceptor_ == nullptr) return;
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      on_accept(std::move(socket));
    } else {
      log_.warn("peer.accept_failed").s("error", ec.message());
    }
    accept_next();
  });
}

void PeerTransport::on_accept(tcp::socket socket) {
  set_user_timeout(socket, options_.user_timeout);
  auto in = std::make_shared<Inbound>();
  in->conn = std::make_shared<FrameConnection>(std::move(socket), options_.connection);
  inbound_.insert(in);
  std::weak_ptr<Inbound> weak = in;
  FrameConnection::Handlers handlers;
  handlers.on_frame = [this, weak](wire::Frame frame) {
    if (auto locked = weak.lock()) on_inbound_frame(locked, std::move(frame));
  };
  handlers.on_closed = [this, weak](const std::string& reason) {
    auto locked = weak.lock();
    if (locked == nullptr) return;
    log_.debug("peer.inbound_closed").u("peer", locked->peer.value()).s("remote", locked->conn->remote())
        .s("reason", reason);
    inbound_.erase(locked);
  };
  in->conn->start(std::move(handlers));
}

void PeerTransport::on_inbound_frame(const std::shared_ptr<Inbound>& in, wire::Frame frame) {
  FrameConnection& conn = *in->conn;
  auto refuse = [&](const std::string& why) {
    log_.warn("peer.refused_inbound").s("remote", conn.remote()).s("error", why);
    conn.close_with_error(why);
  };
  if (auto* hello = std::get_if<wire::Hello>(&frame)) {
    if (in->hello) return refuse("a second Hello");
    if (hello->version != wire::kProtocolVersion) {
      return refuse("protocol version " + std::to_string(hello->version) + " is not this node's " +
                    std::to_string(wire::kProtocolVersion));
    }
    if (hello->role != wire::Role::peer) return refuse("this is the peer port; clients connect to the client port");
    if (hello->cluster != options_.cluster) {
      return refuse("cluster '" + hello->cluster + "' does not match this node's cluster '" + options_.cluster + "'");
    }
    if (!links_.contains(hello->node)) {
      return refuse("node " + to_string(hello->node) + " is not a configured peer of node " +
                    to_string(options_.self));
    }
    if (Status s = check_peer(hello->node, hello->storage_id); !s.ok()) {
      log_.error("peer.data_lost").u("peer", hello->node.value()).s("remote", conn.remote()).s("error", s.message());
      conn.close_with_error(s.message());
      return;
    }
    in->hello = true;
    in->peer = hello->node;
    conn.send(wire::encode(wire::Frame(wire::Hello{wire::kProtocolVersion, wire::Role::peer, options_.self,
                                                    options_.cluster, options_.storage_id})));
    log_.debug("peer.accepted").u("peer", in->peer.value()).s("remote", conn.remote());
    return;
  }
  if (auto* error = std::get_if<wire::ErrorFrame>(&frame)) {
    log_.warn("peer.error_frame").u("peer", in->peer.value()).s("error", error->message);
    conn.close("the peer sent an error");
    return;
  }
  auto& envelope = std::get<Envelope<node::Message>>(frame);
  if (!in->hello) return refuse("expected a Hello first");
  if (envelope.from != in->peer) {
    return refuse("a frame from node " + to_string(envelope.from) + " on the connection of node " +
                  to_string(in->peer));
  }
  if (envelope.to != options_.self || envelope.group != options_.group) {
    log_.debug("peer.misaddressed").u("peer", in->peer.value()).u("to", envelope.to.value())
        .u("group", envelope.group.value());
    return;
  }
  ++stats_.frames_received;
  deliver_(in->peer, std::move(envelope));
}

// ---------------------------------------------------------------------------
// Shutdown and stats

void PeerTransport::stop_accepting() {
  if (acceptor_ == nullptr) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
}

void PeerTransport::stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_accepting();
  for (auto& [id, link] : links_) {
    ++link->attempt;
    link->timer.cancel();
    link->resolver.cancel();
    if (link->connecting != nullptr) {
      boost::system::error_code ec;
      link->connecting->close(ec);
    }
    if (link->conn != nullptr) link->conn->detach();
    link->conn.reset();
  }
  for (const auto& in : inbound_) in->conn->detach();
  inbound_.clear();
}

PeerStats PeerTransport::stats() const {
  PeerStats s = stats_;
  s.peers_connected = 0;
  for (const auto& [id, link] : links_) s.peers_connected += link->handshaken ? 1 : 0;
  return s;
}

bool PeerTransport::connected(NodeId peer) const {
  auto it = links_.find(peer);
  return it != links_.end() && it->second->handshaken;
}

}  // namespace sluice::net
