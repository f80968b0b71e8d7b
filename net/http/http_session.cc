// One HTTP/1.1 connection (gateway_internal.h): read a request, answer it
// (from the node through the hub, or a system endpoint), repeat while the
// client keeps the connection alive.
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "net/http/gateway_internal.h"
#include "net/http/rest_json.h"

namespace sluice::http::detail {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kPrometheus = "text/plain; version=0.0.4; charset=utf-8";

std::string path_of(std::string_view target) { return std::string(target.substr(0, target.find('?'))); }

}  // namespace

HttpSession::HttpSession(std::shared_ptr<Core> core, tcp::socket socket)
    : core_(std::move(core)), stream_(std::move(socket)), deadline_(core_->io) {}

HttpSession::~HttpSession() {
  core_->sessions.erase(this);
  if (client_ != kNoNode && !core_->stopped) core_->hub.disconnect(client_);
}

void HttpSession::start() {
  core_->sessions[this] = weak_from_this();
  read();
}

void HttpSession::shutdown() {
  end_call();
  close();
}

void HttpSession::close() {
  if (closed_) return;
  closed_ = true;
  awaiting_ = false;
  deadline_.cancel();
  ErrorCode ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

void HttpSession::read() {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(core_->options.header_bytes_max, UINT32_MAX)));
  parser_->body_limit(core_->options.rest.body_bytes_max);
  // The whole request (headers, then body) within the idle timeout: a
  // client that trickles bytes cannot hold the connection for ever.
  stream_.expires_after(chrono(core_->options.idle_timeout));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](ErrorCode ec, std::size_t) { self->on_header(ec); });
}

void HttpSession::on_header(ErrorCode ec) {
  if (closed_ || core_->stopped) return;
  if (ec) {
    on_read(ec);
    return;
  }
  auto read_body = [self = shared_from_this()]() {
    bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                      [self](ErrorCode e, std::size_t) { self->on_read(e); });
  };
  // curl sends "Expect: 100-continue" with bodies over 1 KiB and waits a
  // second for this before sending the body anyway.
  const auto expect = parser_->get()[bhttp::field::expect];
  if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this(), read_body](ErrorCode e, std::size_t) {
                        if (e || self->closed_) {
                          self->close();
                          return;
                        }
                        read_body();
                      });
    return;
  }
  read_body();
}

void HttpSession::on_read(ErrorCode ec) {
  if (closed_ || core_->stopped) return;
  if (ec == bhttp::error::body_limit) {
    respond_error(HttpError{413, "payload_too_large",
                            "the body is over the limit of " + std::to_string(core_->options.rest.body_bytes_max) +
                                " bytes",
                            ""},
                  true);
    return;
  }
  if (ec == bhttp::error::header_limit) {
    respond_error(HttpError{431, "header_too_large",
                            "the request line and headers are over " +
                                std::to_string(core_->options.header_bytes_max) + " bytes",
                            ""},
                  true);
    return;
  }
  if (ec) {
    // Something that is not HTTP gets a 400 before the close; a client that
    // went away or idled out (end_of_stream, partial_message, timeout,
    // reset) just gets closed.
    const bool malformed = ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
    if (malformed) {
      respond_error(bad_request("malformed HTTP request: " + ec.message()), true);
      return;
    }
    close();
    return;
  }
  Request req = parser_->release();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  handle(req);
}

void HttpSession::handle(Request& req) {
  const std::string_view method(req.method_string().data(), req.method_string().size());
  const std::string_view target(req.target().data(), req.target().size());
  const std::string path = path_of(target);
  if (path == "/metrics" || path == "/healthz" || path == "/readyz") {
    system_endpoint(path, req);
    return;
  }
  if (websocket::is_upgrade(req)) {
    auto spec = parse_ws_target(core_->options.rest, target);
    if (!spec.ok()) {
      respond_error(spec.error());
      return;
    }
    // The WebSocket takes the socket over; this session ends here.
    closed_ = true;
    stream_.expires_never();
    std::make_shared<WsSession>(core_, std::move(stream_), std::move(spec).value())->start(std::move(req));
    return;
  }
  auto parsed = parse_request(core_->options.rest, method, target, req.body());
  if (!parsed.ok()) {
    respond_error(parsed.error());
    return;
  }
  if (auto* r = std::get_if<node::RpcRespond>(&parsed.value().body)) {
    call_responder(std::move(*r));
    return;
  }
  call(std::move(parsed).value());
}

void HttpSession::system_endpoint(const std::string& path, const Request& req) {
  if (req.method() != bhttp::verb::get) {
    respond_error(HttpError{405, "method_not_allowed", "use GET", "GET"});
    return;
  }
  if (path == "/metrics") {
    respond(200, core_->metrics_text(), kPrometheus);
    return;
  }
  const Health h = core_->health();
  const bool good = path == "/healthz" ? h.alive : h.ready;
  const char* word = path == "/healthz" ? (good ? "alive" : "down") : (good ? "ready" : "not_ready");
  respond(good ? 200 : 503, dump(OJson{{"status", word}, {"detail", h.detail}}), kJson);
}

void HttpSession::call(node::ClientRequest request) {
  request.request_id = 1;  // a fresh hub client per request
  const std::uint64_t call = ++call_;
  awaiting_ = true;
  stream_.expires_never();  // the node's deadline below bounds the wait instead
  deadline_.expires_after(chrono(reply_wait(request) + core_->options.reply_grace));
  deadline_.async_wait([self = shared_from_this(), call](ErrorCode ec) { self->on_deadline(call, ec); });
  watch_peer();
  client_ = core_->hub.connect(this);
  core_->hub.submit(client_, std::move(request));  // may deliver() before it returns
}

void HttpSession::call_responder(node::RpcRespond respond) {
  const auto route = core_->rpc_routes.find(respond.rpc_id);
  std::shared_ptr<WsSession> owner = route == core_->rpc_routes.end() ? nullptr : route->second.lock();
  if (owner == nullptr) {
    respond_error(HttpError{404, "not_found",
                            "no responder socket on this node is waiting to answer rpc " +
                                std::to_string(respond.rpc_id) + " (answered, timed out, or taken on another node)",
                            ""});
    return;
  }
  const std::uint64_t call = ++call_;
  awaiting_ = true;
  stream_.expires_never();
  deadline_.expires_after(chrono(core_->options.reply_grace));
  deadline_.async_wait([self = shared_from_this(), call](ErrorCode ec) { self->on_deadline(call, ec); });
  owner->respond_for(std::move(respond), [self = shared_from_this(), call](const node::ClientReply& reply) {
    self->on_reply(call, reply);
  });
}

// While the node works on a long request (a receive that waits), notice a
// client that hangs up, so the wait ends and no message is handed to a
// connection that is gone.
void HttpSession::watch_peer() {
  if (buffer_.size() > 0) return;  // a pipelined request is already here: it is not a hang-up
  stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), call = call_](ErrorCode ec) {
    if (ec || !self->awaiting_ || self->call_ != call || self->closed_) return;
    ErrorCode e;
    const std::size_t available = self->stream_.socket().available(e);
    if (e || available == 0) {  // readable with nothing to read: the peer closed
      self->end_call();
      self->close();
    }
  });
}

void HttpSession::deliver(const node::Message& message) {
  const auto* reply = std::get_if<node::ClientReply>(&message);
  if (reply == nullptr || reply->request_id != 1 || !awaiting_) return;
  // Not from inside deliver(): the reply ends the call, which calls the hub.
  asio::post(core_->io, [self = shared_from_this(), call = call_, r = *reply]() { self->on_reply(call, r); });
}

void HttpSession::on_reply(std::uint64_t call, const node::ClientReply& reply) {
  if (call != call_ || !awaiting_ || closed_ || core_->stopped) return;
  end_call();
  ErrorCode ec;
  stream_.socket().cancel(ec);  // the peer watch
  const JsonResponse r = reply_to_json(reply);
  respond(r.status, r.body, kJson, "", r.retry);
}

void HttpSession::on_deadline(std::uint64_t call, ErrorCode ec) {
  if (ec || call != call_ || !awaiting_ || closed_ || core_->stopped) return;
  end_call();
  ErrorCode e;
  stream_.socket().cancel(e);
  core_->stats.timeouts++;
  respond_error(HttpError{504, "timeout", "no answer from the node in time; the request may or may not have taken effect",
                          ""});
}

void HttpSession::end_call() {
  awaiting_ = false;
  deadline_.cancel();
  if (client_ != kNoNode) {
    const NodeId c = client_;
    client_ = kNoNode;
    if (!core_->stopped) core_->hub.disconnect(c);
  }
}

void HttpSession::respond_error(const HttpError& error, bool close) {
  if (close) keep_alive_ = false;
  const JsonResponse r = error_to_json(error);
  respond(r.status, r.body, kJson, error.allow, r.retry);
}

void HttpSession::respond(unsigned status, std::string body, const char* content_type, const std::string& allow,
                          bool retry) {
  if (closed_) return;
  auto& s = core_->stats;
  s.requests++;
  if (status >= 400 && status < 500) s.responses_4xx++;
  if (status >= 500) s.responses_5xx++;
  response_ = std::make_unique<bhttp::response<bhttp::string_body>>();
  response_->version(version_);
  response_->result(status);
  response_->set(bhttp::field::server, "sluice");
  response_->set(bhttp::field::content_type, content_type);
  if (!allow.empty()) response_->set(bhttp::field::allow, allow);
  if (retry) response_->set(bhttp::field::retry_after, "1");
  if (!body.empty() && body.back() != '\n') body += '\n';  // curl prints the prompt on its own line
  response_->body() = std::move(body);
  response_->keep_alive(keep_alive_);
  response_->prepare_payload();
  stream_.expires_after(chrono(core_->options.idle_timeout));
  bhttp::async_write(stream_, *response_,
                     [self = shared_from_this(), close = !keep_alive_](ErrorCode ec, std::size_t) {
                       self->on_written(close, ec);
                     });
}

void HttpSession::on_written(bool close_after, ErrorCode ec) {
  response_.reset();
  if (ec || core_->stopped) {
    close();
    return;
  }
  if (close_after) {
    linger();
    return;
  }
  read();
}

// Closing right after a response would reset the connection if request
// bytes are still unread (a body we refused with 413), and a reset can
// destroy the response before the client reads it. So: stop sending, read
// and drop what still comes, and close on the client's close or a timeout.
void HttpSession::linger() {
  ErrorCode ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    close();
    return;
  }
  stream_.expires_after(chrono(core_->options.close_timeout));
  drain();
}

void HttpSession::drain() {
  if (closed_) return;
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(16 << 10), [self = shared_from_this()](ErrorCode ec, std::size_t) {
    if (ec || self->core_->stopped) {
      self->close();
      return;
    }
    self->drain();
  });
}

}  // namespace sluice::http::detail
