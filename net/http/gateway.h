// The HTTP port: REST/JSON for the five patterns, WebSocket streams for
// subscriptions and queue consumers, /metrics, /healthz and /readyz, served
// by Boost.Beast on the node's own io_context (docs/rest.md).
//
// Single-threaded: every handler runs on the io_context that runs the node,
// and reaches it through net::ClientHub. A REST request opens a hub client,
// submits one request, waits for its reply (at most reply_wait() plus a
// grace period, then 504), answers and disconnects. A WebSocket holds one
// hub client for its lifetime. The gateway never calls the hub from inside
// ClientSink::deliver(); what a delivery triggers is posted to the loop.
//
// Bounded everywhere: connections, header and body bytes, each socket's
// outgoing frames (a consumer that falls behind is closed with a reason),
// frames awaiting the node per socket, and idle time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "core/common/time.h"
#include "net/http/rest.h"
#include "net/server/client_hub.h"

namespace boost::asio {
class io_context;
}

namespace sluice::http {

struct Health {
  bool alive = true;   // /healthz: 200 if alive, else 503
  bool ready = false;  // /readyz: 200 if ready (a leader is known and this node caught up), else 503
  std::string detail;  // shown in both answers' bodies
};

struct GatewayOptions {
  RestOptions rest;                          // routes, body limit (413), broker limits
  std::size_t connections_max = 1024;        // HTTP and WebSocket together; beyond: 503 and close
  std::size_t header_bytes_max = 16 << 10;   // request line and headers; beyond: 431 and close
  // A whole request must arrive within this, a response be taken within
  // it, and a socket with no traffic closes after it (WebSocket pings keep
  // a quiet stream open).
  Duration idle_timeout = Duration::seconds(60);
  Duration reply_grace = Duration::seconds(5);  // the node's time to answer beyond reply_wait()
  // Each WebSocket's frames not yet written: past either bound the socket
  // is closed (1008, "slow consumer ...") rather than buffered without end.
  std::size_t ws_queue_frames_max = 1024;
  std::size_t ws_queue_bytes_max = 16 << 20;
  std::size_t ws_pending_max = 256;          // a socket's frames awaiting the node; beyond: refused
  Duration queue_stream_wait = Duration::seconds(30);  // each receive a queue stream parks (capped at limits.wait_max)
  Duration stream_retry = Duration::seconds(1);        // a queue stream's next receive after "no leader"
  Duration close_timeout = Duration::seconds(5);       // a close handshake that does not finish: cut the socket
  std::size_t rpc_routes_max = 10'000;       // per responder socket: RPCs it may answer over REST
};

// Counters for sluiced's /metrics. All since start() unless "open".
struct GatewayStats {
  std::uint64_t connections_open = 0;     // HTTP and WebSocket
  std::uint64_t websockets_open = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  // over connections_max
  std::uint64_t requests = 0;             // HTTP responses sent (REST and system endpoints)
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t timeouts = 0;             // 504s given because the node did not answer in time
  std::uint64_t slow_consumers_closed = 0;
};

namespace detail {
struct Core;
}

class HttpGateway {
 public:
  // `io` runs the node's loop and `hub` lives on it; both must outlive the
  // gateway. `metrics_text` (the /metrics body) and `health` are called on
  // that loop for each request to those endpoints; neither may be empty.
  HttpGateway(boost::asio::io_context& io, net::ClientHub& hub, GatewayOptions options,
              std::function<std::string()> metrics_text, std::function<Health()> health);
  ~HttpGateway();  // stop()
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  // Binds and listens ("0.0.0.0", "127.0.0.1", "::"); port 0 picks a free
  // one (see port()). Accepting runs on the io_context from here on.
  Status start(const std::string& address, std::uint16_t port);
  // Stops accepting, disconnects every open client from the hub and closes
  // every socket. The hub is not called after this returns. Idempotent.
  void stop();
  // The bound port (0 before start()).
  std::uint16_t port() const;
  GatewayStats stats() const;

 private:
  std::shared_ptr<detail::Core> core_;
};

}  // namespace sluice::http
