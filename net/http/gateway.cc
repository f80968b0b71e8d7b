// The listener: accepts connections, enforces connections_max, and stops
// every session on stop(). Sessions: http_session.cc, ws_session.cc.
#include "net/http/gateway.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include "net/http/gateway_internal.h"
#include "net/listen.h"

namespace sluice::http {
namespace detail {

std::chrono::nanoseconds chrono(Duration d) { return std::chrono::nanoseconds(d.ns); }

void refuse(tcp::socket& socket) {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\n"
      "Content-Type: application/json\r\n"
      "Retry-After: 1\r\n"
      "Connection: close\r\n"
      "Content-Length: 83\r\n"
      "\r\n"
      R"({"error":{"code":"unavailable","message":"too many connections to this HTTP port"}})";
  static_assert(kBusy.size() - kBusy.find("\r\n\r\n") - 4 == 83, "Content-Length matches the body");
  ErrorCode ec;
  // Non-blocking: a few hundred bytes fit any socket buffer, and if they
  // do not, the client gets a closed connection, which also says "busy".
  socket.non_blocking(true, ec);
  if (!ec) asio::write(socket, asio::buffer(kBusy.data(), kBusy.size()), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

namespace {

void accept(const std::shared_ptr<Core>& core) {
  core->acceptor.async_accept(core->io, [core](ErrorCode ec, tcp::socket socket) {
    if (core->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors, say: try again shortly instead of spinning.
      core->accept_retry.expires_after(std::chrono::milliseconds(100));
      core->accept_retry.async_wait([core](ErrorCode e) {
        if (!e && !core->stopped) accept(core);
      });
      return;
    }
    if (core->sessions.size() >= core->options.connections_max) {
      core->stats.connections_refused++;
      refuse(socket);
    } else {
      core->stats.connections_accepted++;
      std::make_shared<HttpSession>(core, std::move(socket))->start();
    }
    accept(core);
  });
}

}  // namespace
}  // namespace detail

HttpGateway::HttpGateway(boost::asio::io_context& io, net::ClientHub& hub, GatewayOptions options,
                         std::function<std::string()> metrics_text, std::function<Health()> health)
    : core_(std::make_shared<detail::Core>(io, hub, std::move(options), std::move(metrics_text), std::move(health))) {
  SLUICE_ASSERT(core_->metrics_text != nullptr, "the gateway needs a metrics source");
  SLUICE_ASSERT(core_->health != nullptr, "the gateway needs a health source");
  SLUICE_ASSERT(core_->options.connections_max > 0 && core_->options.ws_queue_frames_max > 0 &&
                    core_->options.ws_pending_max > 0,
                "gateway bounds must be positive");
  SLUICE_ASSERT(core_->options.idle_timeout.ns > 0 && core_->options.close_timeout.ns > 0,
                "gateway timeouts must be positive");
}

HttpGateway::~HttpGateway() { stop(); }

Status HttpGateway::start(const std::string& address, std::uint16_t port) {
  SLUICE_ASSERT(!core_->acceptor.is_open() && !core_->stopped, "start() once, before stop()");
  if (Status s = net::listen_on(core_->acceptor, address, port, "HTTP"); !s.ok()) return s;
  detail::accept(core_);
  return {};
}

void HttpGateway::stop() {
  if (core_->stopped) return;
  detail::ErrorCode ec;
  core_->acceptor.close(ec);
  core_->accept_retry.cancel();
  // shutdown() removes nothing from `sessions` itself (destructors do, later),
  // but copy anyway: a session's shutdown may release another's last reference.
  std::vector<std::shared_ptr<detail::Session>> open;
  for (auto& [ptr, weak] : core_->sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->shutdown();
  core_->stopped = true;
}

std::uint16_t HttpGateway::port() const {
  detail::ErrorCode ec;
  if (!core_->acceptor.is_open()) return 0;
  const auto endpoint = core_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

GatewayStats HttpGateway::stats() const {
  GatewayStats s = core_->stats;
  s.connections_open = core_->sessions.size();
  return s;
}

}  // namespace sluice::http
