// A blocking framed client over plain POSIX sockets, for tests: it speaks
// the client port's protocol (or misbehaves on purpose with send_raw), and
// every read is bounded so that a broken server fails a test instead of
// hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/broker/commands.h"
#include "net/wire/wire.h"

namespace sluice::testing {

class TestClient {
 public:
  // Connects to 127.0.0.1:port; throws if it cannot.
  explicit TestClient(std::uint16_t port, std::chrono::milliseconds read_bound = std::chrono::seconds(20))
      : read_bound_(read_bound) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;
  ~TestClient() { ::close(fd_); }

  // False if the server already closed its side (EPIPE, ECONNRESET).
  bool send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool send(const wire::Frame& frame) { return send_raw(wire::encode(frame)); }

  // The next frame; nullopt once the server closed the connection (or the
  // bytes stopped making frames). Throws if nothing comes within the bound.
  std::optional<wire::Frame> read_frame() {
    const auto deadline = std::chrono::steady_clock::now() + read_bound_;
    for (;;) {
      auto next = decoder_.next();
      if (!next.ok()) return std::nullopt;
      if (next->has_value()) return std::move(**next);
      if (eof_) return std::nullopt;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw std::runtime_error("no frame from the server within the read bound");
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[64 * 1024];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      decoder_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }

  // Sends the client Hello and reads the server's. False if refused.
  bool hello(const std::string& cluster = "") {
    send(wire::Frame(wire::Hello{wire::kProtocolVersion, wire::Role::client, kNoNode, cluster}));
    auto frame = read_frame();
    return frame.has_value() && std::holds_alternative<wire::Hello>(*frame);
  }

  // Sends a request and returns its reply, skipping pushes. Throws if the
  // connection closes first.
  node::ClientReply request(node::RequestBody body) {
    const std::uint64_t id = next_request_++;
    send(wire::Frame(Envelope<node::Message>{kDefaultGroup, kNoNode, kNoNode,
                                             node::Message(node::ClientRequest{id, std::move(body)})}));
    for (;;) {
      auto frame = read_frame();
      if (!frame.has_value()) throw std::runtime_error("connection closed while waiting for a reply");
      auto* envelope = std::get_if<Envelope<node::Message>>(&*frame);
      if (envelope == nullptr) continue;
      auto* reply = std::get_if<node::ClientReply>(&envelope->message);
      if (reply != nullptr && reply->request_id == id) return std::move(*reply);
    }
  }

  // Reads until the server closes; returns the ErrorFrame it sent first, if
  // any.
  std::optional<std::string> error_then_close() {
    std::optional<std::string> error;
    for (;;) {
      auto frame = read_frame();
      if (!frame.has_value()) return error;
      if (auto* e = std::get_if<wire::ErrorFrame>(&*frame)) error = e->message;
    }
  }

  // Every byte until the server closes, for protocols other than frames.
  std::string read_all() {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + read_bound_;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw std::runtime_error("the server did not close within the read bound");
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[64 * 1024];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Half-closes our side (we send nothing more).
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_ = -1;
  std::chrono::milliseconds read_bound_;
  wire::Decoder decoder_;
  bool eof_ = false;
  std::uint64_t next_request_ = 1;
};

struct HttpAnswer {
  int status = 0;  // 0: no answer
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1:port with Connection: close; reads the
// answer until the server closes (bounded by the client's read bound).
inline HttpAnswer http_request(std::uint16_t port, const std::string& method, const std::string& target,
                               const std::string& body = "") {
  HttpAnswer answer;
  TestClient socket(port);
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  if (!socket.send_raw(request)) return answer;
  const std::string raw = socket.read_all();
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return answer;
  answer.status = std::stoi(raw.substr(9, 3));
  const auto end = raw.find("\r\n\r\n");
  if (end != std::string::npos) answer.body = raw.substr(end + 4);
  return answer;
}

// Requests the tests use.
inline node::RequestBody queue_send(const std::string& channel, const std::string& body,
                                    const std::string& producer = "", std::uint64_t seq = 0) {
  broker::QueueItem item;
  item.message.channel = channel;
  item.message.body = body;
  item.key.producer_id = producer;
  item.key.producer_seq = seq;
  broker::QueueSend send;
  send.items.push_back(std::move(item));
  return node::Write{broker::Command(std::move(send)), Duration{}};
}

inline node::RequestBody queue_receive(const std::string& channel, std::uint32_t max_messages) {
  broker::QueueReceive receive;
  receive.channel = channel;
  receive.max_messages = max_messages;
  receive.client_id = "test";
  return node::Write{broker::Command(std::move(receive)), Duration{}};
}

}  // namespace sluice::testing
