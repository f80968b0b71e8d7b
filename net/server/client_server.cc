#include "net/server/client_server.h"

#include <utility>

#include "core/common/overloaded.h"
#include "net/listen.h"

namespace sluice::net {

using boost::asio::ip::tcp;

struct ClientServer::Session final : ClientSink {
  ClientServer* server = nullptr;
  std::uint64_t key = 0;
  std::shared_ptr<FrameConnection> conn;
  NodeId client;                 // kNoNode until its Hello
  std::size_t requests_pending = 0;  // submitted, no ClientReply yet

  void deliver(const node::Message& message) override {
    if (std::holds_alternative<node::ClientReply>(message) && requests_pending > 0) --requests_pending;
    const Envelope<node::Message> envelope{server->options_.group, server->options_.self, client, message};
    if (conn->send(wire::encode(wire::Frame(envelope))) == FrameConnection::Queued::overflow) {
      // Called from inside the node's drive(): close_with_error only queues
      // and never calls back synchronously, so the hub is not re-entered.
      conn->close_with_error("client too slow: more than " +
                             std::to_string(server->options_.connection.queue_bytes_max) +
                             " bytes of replies and pushes are waiting to be read");
    }
  }
};

ClientServer::ClientServer(boost::asio::io_context& loop, ClientHub& hub, ClientServerOptions options, Logger& log)
    : loop_(loop), hub_(hub), options_(std::move(options)), log_(log) {}

ClientServer::~ClientServer() {
  stop_accepting();
  for (auto& [key, session] : sessions_) {
    session->conn->detach();
    if (session->client != kNoNode) hub_.disconnect(session->client);
  }
  sessions_.clear();
  *alive_ = false;
}

Result<std::uint16_t> ClientServer::listen(const std::string& address, std::uint16_t port) {
  auto acceptor = std::make_unique<tcp::acceptor>(loop_);
  if (Status s = listen_on(*acceptor, address, port, "clients"); !s.ok()) return s;
  const std::uint16_t bound = acceptor->local_endpoint().port();
  acceptor_ = std::move(acceptor);
  accept_next();
  return bound;
}

void ClientServer::accept_next() {
  if (acceptor_ == nullptr) return;
  acceptor_->async_accept([this, alive = alive_](const boost::system::error_code& ec, tcp::socket socket) {
    if (!*alive || acceptor_ == nullptr || ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      on_accept(std::move(socket));
    } else {
      // EMFILE and friends: say so, and keep accepting (the next may work).
      log_.warn("client.accept_failed").s("error", ec.message());
    }
    accept_next();
  });
}

void ClientServer::on_accept(tcp::socket socket) {
  ++accepted_;
  auto session = std::make_unique<Session>();
  session->server = this;
  session->key = next_key_++;
  session->conn = std::make_shared<FrameConnection>(std::move(socket), options_.connection);
  Session& s = *session;
  const std::uint64_t key = s.key;
  sessions_.emplace(key, std::move(session));
  FrameConnection::Handlers handlers;
  handlers.on_frame = [this, key](wire::Frame frame) {
    auto it = sessions_.find(key);
    if (it != sessions_.end()) on_frame(*it->second, std::move(frame));
  };
  handlers.on_closed = [this, key](const std::string& reason) { end(key, reason); };
  s.conn->start(std::move(handlers));
  if (paused_) s.conn->pause_reading();
  if (sessions_.size() > options_.connections_max) {
    s.conn->close_with_error("too many client connections (" + std::to_string(options_.connections_max) + ")");
  }
}

void ClientServer::on_frame(Session& session, wire::Frame frame) {
  FrameConnection& conn = *session.conn;
  auto refuse = [&](const std::string& why) {
    log_.info("client.refused").s("remote", conn.remote()).u("client", session.client.value()).s("error", why);
    conn.close_with_error(why);
  };
  std::visit(
      Overloaded{
          [&](wire::Hello& hello) {
            if (session.client != kNoNode) return refuse("a second Hello");
            if (hello.version != wire::kProtocolVersion) {
              return refuse("protocol version " + std::to_string(hello.version) + " is not the server's " +
                            std::to_string(wire::kProtocolVersion));
            }
            if (hello.role != wire::Role::client) {
              return refuse("this is the client port; peers connect to the peer port");
            }
            if (!hello.cluster.empty() && hello.cluster != options_.cluster) {
              return refuse("cluster '" + hello.cluster + "' does not match this node's cluster '" +
                            options_.cluster + "'");
            }
            session.client = hub_.connect(&session);
            // Hello goes both ways: the client learns which node and
            // cluster it reached (its own id arrives in the envelopes).
            conn.send(wire::encode(wire::Frame(
                wire::Hello{wire::kProtocolVersion, wire::Role::peer, options_.self, options_.cluster})));
            log_.debug("client.connected").u("client", session.client.value()).s("remote", conn.remote());
          },
          [&](wire::ErrorFrame& error) {
            log_.info("client.error_frame").u("client", session.client.value()).s("error", error.message);
            conn.close_with_error("closing after the client's error");
          },
          [&](Envelope<node::Message>& envelope) {
            if (session.client == kNoNode) return refuse("expected a Hello first");
            if (envelope.group != options_.group) {
              return refuse("unknown group " + to_string(envelope.group));
            }
            auto* request = std::get_if<node::ClientRequest>(&envelope.message);
            if (request == nullptr) {
              return refuse("clients send ClientRequest messages, not " + node::describe(envelope.message));
            }
            ++session.requests_pending;
            hub_.submit(session.client, std::move(*request));
          },
      },
      frame);
}

void ClientServer::end(std::uint64_t key, const std::string& reason) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  std::unique_ptr<Session> session = std::move(it->second);
  sessions_.erase(it);
  log_.debug("client.closed").u("client", session->client.value()).s("remote", session->conn->remote())
      .s("reason", reason);
  if (session->client != kNoNode) hub_.disconnect(session->client);
}

void ClientServer::stop_accepting() {
  if (acceptor_ == nullptr) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
}

void ClientServer::pause_reading() {
  paused_ = true;
  for (auto& [key, session] : sessions_) session->conn->pause_reading();
}

void ClientServer::close_all(const std::string& reason) {
  // end() erases from sessions_: walk a copy of the keys.
  std::vector<std::uint64_t> keys;
  for (const auto& [key, session] : sessions_) keys.push_back(key);
  for (std::uint64_t key : keys) {
    auto it = sessions_.find(key);
    if (it != sessions_.end()) it->second->conn->close(reason);
  }
}

std::size_t ClientServer::requests_pending() const {
  std::size_t n = 0;
  for (const auto& [key, session] : sessions_) n += session->requests_pending;
  return n;
}

std::size_t ClientServer::queued_bytes() const {
  std::size_t n = 0;
  for (const auto& [key, session] : sessions_) n += session->conn->queued_bytes();
  return n;
}

}  // namespace sluice::net
