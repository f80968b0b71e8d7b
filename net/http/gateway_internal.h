// The gateway's sessions (gateway.h): shared state, an HTTP/1.1 session
// per connection, and the WebSocket session it becomes on an upgrade.
// Internal to net/http.
//
// Lifetimes: sessions are shared_ptrs kept alive by their pending
// handlers, and hold the Core (not the HttpGateway), so a handler that
// runs after the gateway is gone finds Core::stopped set and does nothing.
// Once stopped, nothing calls the hub.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "net/http/gateway.h"
#include "net/http/websocket_api.h"

namespace sluice::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;

class Session {
 public:
  virtual ~Session() = default;
  // The gateway is stopping: leave the hub and close the socket now.
  virtual void shutdown() = 0;
};

class WsSession;

struct Core {
  Core(asio::io_context& io_, net::ClientHub& hub_, GatewayOptions options_,
       std::function<std::string()> metrics_text_, std::function<Health()> health_)
      : io(io_), hub(hub_), options(std::move(options_)), metrics_text(std::move(metrics_text_)),
        health(std::move(health_)), acceptor(io_), accept_retry(io_) {}

  asio::io_context& io;
  net::ClientHub& hub;
  const GatewayOptions options;
  const std::function<std::string()> metrics_text;
  const std::function<Health()> health;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;  // after an accept error (out of file descriptors)
  bool stopped = false;
  GatewayStats stats;
  // Open sessions, for stop() and connections_max.
  std::map<Session*, std::weak_ptr<Session>> sessions;
  // Which responder socket received each RPC still unanswered, so that
  // POST /v1/rpc/respond can answer it under that socket's hub client (the
  // node accepts an answer only from the client it asked).
  std::map<std::uint64_t, std::weak_ptr<WsSession>> rpc_routes;
};

std::chrono::nanoseconds chrono(Duration d);

// One HTTP/1.1 connection: requests in sequence (keep-alive), each a REST
// call through the hub or a system endpoint, until it upgrades to a
// WebSocket, closes, or idles out.
class HttpSession : public Session, public net::ClientSink, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<Core> core, tcp::socket socket);
  ~HttpSession() override;
  void start();
  void shutdown() override;
  void deliver(const node::Message& message) override;

 private:
  using Request = bhttp::request<bhttp::string_body>;
  void read();
  void on_header(ErrorCode ec);
  void on_read(ErrorCode ec);
  void handle(Request& req);
  void system_endpoint(const std::string& path, const Request& req);
  void call(node::ClientRequest request);
  void call_responder(node::RpcRespond respond);
  void watch_peer();
  void on_reply(std::uint64_t call, const node::ClientReply& reply);
  void on_deadline(std::uint64_t call, ErrorCode ec);
  void end_call();
  void respond(unsigned status, std::string body, const char* content_type, const std::string& allow = "",
               bool retry = false);
  void respond_error(const HttpError& error, bool close = false);
  void on_written(bool close, ErrorCode ec);
  void linger();
  void drain();
  void close();

  std::shared_ptr<Core> core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  std::unique_ptr<bhttp::response<bhttp::string_body>> response_;  // alive while written
  // The REST call out to the node, if any. Invariant: awaiting_ implies a
  // live hub client (client_ != kNoNode) or a responder socket's.
  NodeId client_ = kNoNode;
  bool awaiting_ = false;
  std::uint64_t call_ = 0;  // counts calls; a late handler for an earlier one sees another number
  asio::steady_timer deadline_;
  bool closed_ = false;
};

// One WebSocket: a subscription (events, store, RPC responders) or a queue
// consumer loop, over one hub client.
class WsSession : public Session, public net::ClientSink, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(std::shared_ptr<Core> core, beast::tcp_stream stream, WsSpec spec);
  ~WsSession() override;
  void start(bhttp::request<bhttp::string_body> upgrade);
  void shutdown() override;
  void deliver(const node::Message& message) override;
  // Submits a responder's answer that came over REST under this socket's
  // client; `done` gets the node's reply (posted), or unavailable if the
  // socket closes first.
  void respond_for(node::RpcRespond respond, std::function<void(const node::ClientReply&)> done);

 private:
  struct Pending {
    enum class Kind : std::uint8_t { subscribe, receive, frame, foreign } kind;
    std::string ref;                       // frame: echoed in its reply
    std::vector<std::uint64_t> answers;    // frame: receipts it settles
    std::uint64_t rpc_id = 0;              // a respond: its RPC
    std::function<void(const node::ClientReply&)> done;  // foreign
  };
  void on_accept(ErrorCode ec);
  void read();
  void on_read(ErrorCode ec, std::size_t bytes);
  void submit(node::RequestBody body, Pending pending);
  void on_reply(const node::ClientReply& reply);
  void on_receive(const node::ClientReply& reply);
  void request_more();
  void send(std::string frame);
  void write_next();
  void on_write(ErrorCode ec);
  void close_with(websocket::close_code code, std::string reason);
  void terminate();
  void leave_hub();
  void pending_fail();
  void forget_rpc(std::uint64_t rpc_id);

  std::shared_ptr<Core> core_;
  websocket::stream<beast::tcp_stream> ws_;
  const WsSpec spec_;
  beast::flat_buffer in_;
  NodeId client_ = kNoNode;
  std::uint64_t next_request_ = 1;
  std::map<std::uint64_t, Pending> pending_;  // by request id
  // Outgoing frames; the front one is being written while writing_.
  std::deque<std::string> out_;
  std::size_t out_bytes_ = 0;
  bool writing_ = false;
  // closing_: no more frames are queued or read; a close frame follows the
  // one being written. gone_: the socket is closed and the hub client gone.
  bool closing_ = false;
  bool gone_ = false;
  std::optional<websocket::close_reason> close_reason_;
  // Queue streams: receipts delivered and not yet settled by the client.
  // Invariant: in_flight_.size() <= spec_.prefetch.
  std::set<std::uint64_t> in_flight_;
  bool receiving_ = false;  // a receive is out to the node
  bool retrying_ = false;   // the last receive failed; the next waits for retry_
  asio::steady_timer retry_;
  asio::steady_timer cut_;  // a close that does not finish in time
  std::deque<std::uint64_t> rpc_ids_;  // RPCs routed to this socket, oldest first
};

// An HTTP response for a request the gateway refused before a session
// existed (over connections_max): written without waiting, then closed.
void refuse(tcp::socket& socket);

}  // namespace sluice::http::detail
