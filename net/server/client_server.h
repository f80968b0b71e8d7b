// The framed client port: what the C++ client library and the `sluice` CLI
// connect to. Each TCP connection is one ClientHub client.
//
// Protocol: the client sends Hello{role=client} (its cluster name, if not
// empty, must match ours) and the server answers with its own Hello (role
// peer, its node id and cluster). Then the client sends ClientRequests,
// each in an Envelope; the server sends ClientReply, EventDelivery, StoreDelivery and RpcIncoming in
// Envelopes addressed to the client's id (the first reply tells the client
// its id). Anything else gets an ErrorFrame and a closed connection:
// a frame before Hello, a second Hello, a peer's Hello, a message that is
// not a ClientRequest, a malformed or oversized frame, a frame that does not
// finish in time. A client that reads too slowly (its queue of replies and
// pushes over the bound) is closed too: dropping a reply silently would
// leave it waiting for ever.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/server/client_hub.h"
#include "net/server/frame_connection.h"
#include "net/server/log.h"

namespace sluice::net {

struct ClientServerOptions {
  NodeId self;
  std::string cluster = "sluice";
  GroupId group = kDefaultGroup;
  std::size_t connections_max = 10'000;
  FrameConnectionOptions connection;
};

class ClientServer {
 public:
  // `hub` must outlive this object.
  ClientServer(boost::asio::io_context& loop, ClientHub& hub, ClientServerOptions options, Logger& log);
  ClientServer(const ClientServer&) = delete;
  ClientServer& operator=(const ClientServer&) = delete;
  ~ClientServer();

  // Binds the client port; port 0 picks a free one. Returns the bound port.
  Result<std::uint16_t> listen(const std::string& address, std::uint16_t port);
  void stop_accepting();
  // Stops reading requests (a draining server answers what it has).
  void pause_reading();
  // Closes every connection (each disconnects from the hub).
  void close_all(const std::string& reason);

  std::size_t connections() const { return sessions_.size(); }
  // Requests submitted and not yet answered, over all connections.
  std::size_t requests_pending() const;
  // Bytes queued to clients and not yet written.
  std::size_t queued_bytes() const;
  std::uint64_t connections_accepted() const { return accepted_; }

 private:
  struct Session;

  void accept_next();
  void on_accept(boost::asio::ip::tcp::socket socket);
  void on_frame(Session& session, wire::Frame frame);
  void end(std::uint64_t key, const std::string& reason);

  boost::asio::io_context& loop_;
  ClientHub& hub_;
  ClientServerOptions options_;
  Logger& log_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::uint64_t next_key_ = 1;
  std::uint64_t accepted_ = 0;
  bool paused_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // checked by pending handlers
};

}  // namespace sluice::net
