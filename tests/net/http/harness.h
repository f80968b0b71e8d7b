// Test harness for the gateway: a fake ClientHub that records what the
// gateway asks and answers as each test says, and HTTP and WebSocket
// clients that run on the test thread's io_context next to the gateway.
//
// Nothing here sleeps: a test drives the io_context until the condition it
// waits for holds, with a generous bound so a bug fails instead of hanging.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http/gateway.h"
#include "net/server/client_hub.h"

namespace sluice::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

// Runs `io` until `done()` or 20 s of wall time (a failure, not a timing).
inline bool drive(asio::io_context& io, const std::function<bool()>& done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  return done();
}

class FakeHub : public net::ClientHub {
 public:
  struct Submitted {
    NodeId client;
    node::ClientRequest request;
  };

  NodeId connect(net::ClientSink* sink) override {
    check_call("connect");
    const NodeId id(next_++);
    sinks_[id] = sink;
    connected.push_back(id);
    return id;
  }
  void submit(NodeId client, node::ClientRequest request) override {
    check_call("submit");
    EXPECT_TRUE(sinks_.contains(client)) << "submit for a client that is not connected";
    submitted.push_back({client, std::move(request)});
    if (on_submit) on_submit(client, submitted.back().request);
  }
  void disconnect(NodeId client) override {
    check_call("disconnect");
    EXPECT_EQ(sinks_.erase(client), 1u) << "disconnect of a client that is not connected";
    disconnected.push_back(client);
  }

  // Delivers to a connected client, as the node's loop would.
  void send(NodeId client, const node::Message& message) {
    auto it = sinks_.find(client);
    ASSERT_NE(it, sinks_.end()) << "deliver to a client that is not connected";
    delivering_ = true;
    it->second->deliver(message);
    delivering_ = false;
  }
  void reply(NodeId client, std::uint64_t request_id, Status status = {}, node::ReplyBody body = {},
             NodeId hint = kNoNode) {
    send(client, node::ClientReply{request_id, std::move(status), hint, std::move(body)});
  }
  bool is_connected(NodeId client) const { return sinks_.contains(client); }
  std::size_t open() const { return sinks_.size(); }
  // After this, any call from the gateway is a failure.
  void forbid_calls() { forbidden_ = true; }

  // Called on every submit, after it is recorded; may reply at once.
  std::function<void(NodeId, const node::ClientRequest&)> on_submit;
  std::vector<Submitted> submitted;
  std::vector<NodeId> connected;
  std::vector<NodeId> disconnected;

 private:
  void check_call(const char* what) {
    EXPECT_FALSE(delivering_) << what << " called from inside ClientSink::deliver";
    EXPECT_FALSE(forbidden_) << what << " called after the gateway stopped";
  }
  std::uint64_t next_ = 1000;
  std::map<NodeId, net::ClientSink*> sinks_;
  bool delivering_ = false;
  bool forbidden_ = false;
};

struct Response {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  bool keep_alive = false;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One HTTP/1.1 connection to the gateway.
class HttpClient {
 public:
  HttpClient(asio::io_context& io, std::uint16_t port) : io_(io), stream_(io) {
    stream_.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // Sends raw bytes (the kernel buffers them; the gateway reads them when
  // the test drives the loop).
  void write_raw(const std::string& bytes) { asio::write(stream_.socket(), asio::buffer(bytes)); }
  void send(const std::string& method, const std::string& target, const std::string& body = "",
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    if (req.method() == bhttp::verb::unknown) req.method_string(method);
    req.set(bhttp::field::host, "localhost");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
    bhttp::write(stream_.socket(), req);
  }
  // Starts reading one response; done() tells when it is in.
  void start_read() {
    res_.emplace();
    done_ = false;
    error_ = {};
    bhttp::async_read(stream_, buffer_, *res_, [this](beast::error_code ec, std::size_t) {
      error_ = ec;
      done_ = true;
    });
  }
  bool done() const { return done_; }
  beast::error_code error() const { return error_; }
  Response result() const {
    Response r;
    r.status = res_->result_int();
    r.body = res_->body();
    for (const auto& f : *res_) r.headers[std::string(f.name_string())] = std::string(f.value());
    r.keep_alive = res_->keep_alive();
    return r;
  }
  // Reads one response, driving the loop until it arrives.
  Response read() {
    start_read();
    EXPECT_TRUE(drive(io_, [this] { return done_; })) << "no response";
    EXPECT_FALSE(error_) << error_.message();
    return error_ ? Response{} : result();
  }
  Response call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    send(method, target, body, headers);
    return read();
  }
  // Drives the loop until the gateway closes the connection; true if it did.
  bool closed_by_server() {
    bool closed = false;
    auto buf = std::make_shared<std::array<char, 4096>>();
    std::function<void(beast::error_code, std::size_t)> on_read;
    on_read = [&, buf](beast::error_code ec, std::size_t) {
      if (ec) {
        closed = true;
        return;
      }
      stream_.socket().async_read_some(asio::buffer(*buf), on_read);
    };
    stream_.socket().async_read_some(asio::buffer(*buf), on_read);
    const bool ok = drive(io_, [&] { return closed; });
    if (!ok) stream_.socket().cancel();
    drive(io_, [&] { return closed; });
    return ok;
  }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  asio::io_context& io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  bool done_ = false;
  beast::error_code error_;
};

// One WebSocket to the gateway.
class WsClient {
 public:
  WsClient(asio::io_context& io, std::uint16_t port) : io_(io), ws_(io) {
    beast::get_lowest_layer(ws_).socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // The upgrade; false (and the HTTP status in `refused`) if refused.
  bool handshake(const std::string& target, unsigned* refused = nullptr) {
    bool done = false;
    beast::error_code err;
    ws_.async_handshake(response_, "localhost", target, [&](beast::error_code ec) {
      err = ec;
      done = true;
    });
    EXPECT_TRUE(drive(io_, [&] { return done; }));
    if (refused != nullptr) *refused = response_.result_int();
    return !err;
  }
  void write(const std::string& text) {
    ws_.text(true);
    ws_.write(asio::buffer(text));
  }
  void write_binary(const std::string& bytes) {
    ws_.binary(true);
    ws_.write(asio::buffer(bytes));
  }
  // The next text frame; nullopt if the socket closed instead (see reason()).
  std::optional<std::string> read() {
    bool done = false;
    beast::error_code err;
    ws_.async_read(buffer_, [&](beast::error_code ec, std::size_t) {
      err = ec;
      done = true;
    });
    EXPECT_TRUE(drive(io_, [&] { return done; })) << "no frame and no close";
    if (err) {
      error_ = err;
      return std::nullopt;
    }
    std::string s = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return s;
  }
  beast::error_code error() const { return error_; }
  websocket::close_reason reason() const { return ws_.reason(); }
  std::string reason_text() const { return std::string(ws_.reason().reason.data(), ws_.reason().reason.size()); }
  void close() {
    bool done = false;
    ws_.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
    drive(io_, [&] { return done; });
  }

 private:
  asio::io_context& io_;
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

// A gateway on 127.0.0.1, a free port, over a FakeHub.
class GatewayTest : public ::testing::Test {
 protected:
  void start(GatewayOptions options = {}) {
    gateway_ = std::make_unique<HttpGateway>(
        io_, hub_, std::move(options), [this] { return metrics_; }, [this] { return health_; });
    const Status s = gateway_->start("127.0.0.1", 0);
    ASSERT_TRUE(s.ok()) << s.to_string();
    ASSERT_NE(gateway_->port(), 0);
  }
  void TearDown() override {
    if (gateway_) gateway_->stop();
    hub_.forbid_calls();
    io_.poll();
  }
  bool drive(const std::function<bool()>& done) { return testing::drive(io_, done); }
  HttpClient http() { return HttpClient(io_, gateway_->port()); }
  std::unique_ptr<WsClient> ws() { return std::make_unique<WsClient>(io_, gateway_->port()); }

  asio::io_context io_;
  FakeHub hub_;
  std::unique_ptr<HttpGateway> gateway_;
  std::string metrics_ = "# TYPE up gauge\nup 1\n";
  Health health_{true, false, "no leader yet"};
};

}  // namespace sluice::http::testing
