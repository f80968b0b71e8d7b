#include "net/client/connection.h"

#include <array>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace sluice::client {

namespace asio = boost::asio;
using asio::ip::tcp;

bool Connection::run_until(const bool& done, Clock::time_point deadline) {
  io_.restart();
  while (!done) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    io_.run_one_for(deadline - now);
  }
  if (done) return true;
  // Cancel and let the handler run, so it never fires into a later call.
  boost::system::error_code ignored;
  socket_.cancel(ignored);
  io_.restart();
  while (!done) io_.run_one();
  return false;
}

Status Connection::open(const std::string& address, Clock::time_point deadline) {
  address_ = address;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return {Code::invalid_argument, "server address '" + address + "' is not host:port"};
  }
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  tcp::resolver resolver(io_);
  boost::system::error_code ec;
  const auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return {Code::unavailable, "cannot resolve " + address + ": " + ec.message()};

  bool done = false;
  boost::system::error_code connect_ec;
  asio::async_connect(socket_, endpoints, [&](const boost::system::error_code& e, const tcp::endpoint&) {
    connect_ec = e;
    done = true;
  });
  if (!run_until(done, deadline)) {
    socket_.close(ignored_);
    return {Code::unavailable, "connecting to " + address + " timed out"};
  }
  if (connect_ec) {
    socket_.close(ignored_);
    return {Code::unavailable, "cannot connect to " + address + ": " + connect_ec.message()};
  }
  socket_.set_option(tcp::no_delay(true), ignored_);
  return {};
}

Status Connection::send(const wire::Frame& frame, Clock::time_point deadline) {
  if (!socket_.is_open()) return {Code::unavailable, "not connected to " + address_};
  const std::string bytes = wire::encode(frame);
  bool done = false;
  boost::system::error_code write_ec;
  asio::async_write(socket_, asio::buffer(bytes), [&](const boost::system::error_code& e, std::size_t) {
    write_ec = e;
    done = true;
  });
  if (!run_until(done, deadline)) {
    socket_.close(ignored_);
    return {Code::unavailable, "sending to " + address_ + " timed out"};
  }
  if (write_ec) {
    socket_.close(ignored_);
    return {Code::unavailable, "connection to " + address_ + " lost: " + write_ec.message()};
  }
  return {};
}

Result<wire::Frame> Connection::receive(Clock::time_point deadline) {
  std::array<char, 64 * 1024> buffer;
  for (;;) {
    auto next = decoder_.next();
    if (!next.ok()) {
      socket_.close(ignored_);
      return Status(Code::unavailable, "bad frames from " + address_ + ": " + next.status().message());
    }
    if (next->has_value()) return std::move(**next);
    if (!socket_.is_open()) return Status(Code::unavailable, "connection to " + address_ + " is closed");
    bool done = false;
    boost::system::error_code read_ec;
    std::size_t read = 0;
    socket_.async_read_some(asio::buffer(buffer), [&](const boost::system::error_code& e, std::size_t n) {
      read_ec = e;
      read = n;
      done = true;
    });
    if (!run_until(done, deadline)) return Status(Code::timeout, "no answer from " + address_ + " in time");
    if (read_ec) {
      socket_.close(ignored_);
      return Status(Code::unavailable, "connection to " + address_ + " lost: " + read_ec.message());
    }
    decoder_.feed(std::string_view(buffer.data(), read));
  }
}

}  // namespace sluice::client
