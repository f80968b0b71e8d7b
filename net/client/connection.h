// One framed connection to a node's client port over Boost.Asio, used
// synchronously: every operation runs the private io_context until it
// completes or its deadline passes (then the socket is closed: a frame cut
// in half cannot be resumed).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "core/common/status.h"
#include "net/wire/wire.h"

namespace sluice::client {

class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Resolves and connects to "host:port".
  Status open(const std::string& address, Clock::time_point deadline);
  Status send(const wire::Frame& frame, Clock::time_point deadline);
  // The next frame. Code::timeout when none came by the deadline (the
  // connection stays usable); Code::unavailable when the node closed it or
  // sent bytes that are not frames.
  Result<wire::Frame> receive(Clock::time_point deadline);
  bool is_open() const { return socket_.is_open(); }

 private:
  // Runs the loop until `done` or the deadline; false on the deadline.
  bool run_until(const bool& done, Clock::time_point deadline);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_{io_};
  wire::Decoder decoder_;
  std::string address_;
  boost::system::error_code ignored_;  // close() and cancel() errors change nothing we do
};

}  // namespace sluice::client
