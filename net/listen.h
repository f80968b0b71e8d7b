// Opening a TCP listener, the one way every port of sluiced does it (client,
// peer and HTTP): an IP address, SO_REUSEADDR so a restarted node can bind
// at once, and a clear error naming the port on failure.
#pragma once

#include <cstdint>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "core/common/status.h"

namespace sluice::net {

// Opens, binds and listens `acceptor` on address:port (port 0: any free
// port; read it from acceptor.local_endpoint()). `what` names the port in
// errors ("clients", "peers", "HTTP"). On failure the acceptor is closed.
inline Status listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address, std::uint16_t port,
                        const std::string& what) {
  using boost::asio::ip::tcp;
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(address, ec);
  if (ec) return Status(Code::invalid_argument, what + " listen address '" + address + "': " + ec.message());
  const tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Status(Code::unavailable,
                  "cannot listen for " + what + " on " + address + ":" + std::to_string(port) + ": " + ec.message());
  }
  return {};
}

}  // namespace sluice::net
