// One WebSocket (gateway_internal.h): a subscription whose deliveries go
// out as text frames, or a queue consumer loop that keeps one receive out
// to the node while the client holds fewer than `prefetch` deliveries.
#include <boost/asio/post.hpp>

#include "net/http/gateway_internal.h"

namespace sluice::http::detail {
namespace {

// Close reasons travel in the close frame, which holds at most 123 bytes.
std::string reason_text(std::string reason) {
  if (reason.size() > 123) reason.resize(123);
  return reason;
}

}  // namespace

WsSession::WsSession(std::shared_ptr<Core> core, beast::tcp_stream stream, WsSpec spec)
    : core_(std::move(core)), ws_(std::move(stream)), spec_(std::move(spec)), retry_(core_->io), cut_(core_->io) {
  core_->stats.websockets_open++;
}

WsSession::~WsSession() {
  core_->stats.websockets_open--;
  core_->sessions.erase(this);
  // terminate() ran unless the io_context was torn down with handlers
  // pending; the hub must still hear that the client is gone.
  if (client_ != kNoNode && !core_->stopped) core_->hub.disconnect(client_);
  for (const std::uint64_t id : rpc_ids_) {
    const auto it = core_->rpc_routes.find(id);
    if (it != core_->rpc_routes.end() && it->second.expired()) core_->rpc_routes.erase(it);
  }
}

void WsSession::start(bhttp::request<bhttp::string_body> upgrade) {
  core_->sessions[this] = weak_from_this();
  const auto& o = core_->options;
  websocket::stream_base::timeout timeout{chrono(o.idle_timeout), chrono(o.idle_timeout), true};
  ws_.set_option(timeout);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(bhttp::field::server, "sluice"); }));
  ws_.read_message_max(o.rest.body_bytes_max);
  ws_.async_accept(upgrade, [self = shared_from_this()](ErrorCode ec) { self->on_accept(ec); });
}

void WsSession::on_accept(ErrorCode ec) {
  if (ec || core_->stopped) {
    terminate();
    return;
  }
  client_ = core_->hub.connect(this);
  if (auto subscribe = subscribe_request(spec_, 1)) {
    submit(std::move(*subscribe), Pending{Pending::Kind::subscribe, "", {}, 0, nullptr});
  } else {
    send(ws_subscribed_frame(spec_));
    request_more();
  }
  read();
}

void WsSession::submit(node::RequestBody body, Pending pending) {
  SLUICE_ASSERT(client_ != kNoNode && !gone_, "submit on a live socket");
  const std::uint64_t id = next_request_++;
  pending_.emplace(id, std::move(pending));
  core_->hub.submit(client_, node::ClientRequest{id, std::move(body)});  // may deliver() before it returns
}

// ---------------------------------------------------------------------------
// From the node

void WsSession::deliver(const node::Message& message) {
  if (gone_) return;
  if (const auto* reply = std::get_if<node::ClientReply>(&message)) {
    on_reply(*reply);
  } else if (const auto* e = std::get_if<node::EventDelivery>(&message)) {
    send(event_to_json(*e));
  } else if (const auto* s = std::get_if<node::StoreDelivery>(&message)) {
    send(store_to_json(*s));
  } else if (const auto* rpc = std::get_if<node::RpcIncoming>(&message)) {
    // Remember who may answer it over REST; oldest routes go first.
    core_->rpc_routes[rpc->rpc_id] = weak_from_this();
    rpc_ids_.push_back(rpc->rpc_id);
    if (rpc_ids_.size() > core_->options.rpc_routes_max) {
      forget_rpc(rpc_ids_.front());
      rpc_ids_.pop_front();
    }
    send(rpc_incoming_to_json(*rpc));
  }
}

void WsSession::on_reply(const node::ClientReply& reply) {
  auto it = pending_.find(reply.request_id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  switch (p.kind) {
    case Pending::Kind::subscribe:
      if (reply.status.ok()) {
        send(ws_subscribed_frame(spec_));
      } else {
        send(ws_stream_error_frame(reply.status));
        close_with(websocket::close_code::policy_error, reason_text("subscribe refused: " + reply.status.message()));
      }
      return;
    case Pending::Kind::receive: on_receive(reply); return;
    case Pending::Kind::frame: {
      send(ws_reply_frame(p.ref, reply));
      // Settled: done (acked, rejected, resent; stale ones too: a stale
      // receipt is no longer this client's to answer).
      const bool settled = reply.status.ok() || reply.status.code() == Code::not_found;
      if (settled) {
        for (const std::uint64_t r : p.answers) in_flight_.erase(r);
        if (p.rpc_id != 0) forget_rpc(p.rpc_id);
      }
      if (spec_.kind == StreamKind::queue) {
        asio::post(core_->io, [self = shared_from_this()] { self->request_more(); });
      }
      return;
    }
    case Pending::Kind::foreign:
      if (reply.status.ok() || reply.status.code() == Code::not_found) forget_rpc(p.rpc_id);
      asio::post(core_->io, [done = std::move(p.done), reply] { done(reply); });
      return;
  }
}

void WsSession::on_receive(const node::ClientReply& reply) {
  receiving_ = false;
  if (reply.status.ok()) {
    if (const auto* r = std::get_if<broker::Reply>(&reply.body)) {
      if (const auto* got = std::get_if<broker::ReceiveResult>(r)) {
        for (const broker::Delivery& d : got->deliveries) {
          in_flight_.insert(d.receipt);
          send(ws_queue_frame(d));
        }
      }
    }
    asio::post(core_->io, [self = shared_from_this()] { self->request_more(); });
    return;
  }
  send(ws_stream_error_frame(reply.status));
  const Code code = reply.status.code();
  if (code == Code::unavailable || code == Code::timeout || code == Code::poisoned) {
    // No leader for now, or this node cannot serve: try again shortly.
    retrying_ = true;
    retry_.expires_after(chrono(core_->options.stream_retry));
    retry_.async_wait([self = shared_from_this()](ErrorCode ec) {
      if (ec) return;
      self->retrying_ = false;
      self->request_more();
    });
    return;
  }
  close_with(websocket::close_code::policy_error, reason_text("receive refused: " + reply.status.message()));
}

void WsSession::request_more() {
  if (spec_.kind != StreamKind::queue || gone_ || closing_ || core_->stopped) return;
  if (receiving_ || retrying_ || in_flight_.size() >= spec_.prefetch) return;
  const auto want = static_cast<std::uint32_t>(spec_.prefetch - in_flight_.size());
  const Duration wait = std::min(core_->options.queue_stream_wait, core_->options.rest.limits.wait_max);
  receiving_ = true;
  submit(queue_receive(spec_, want, wait), Pending{Pending::Kind::receive, "", {}, 0, nullptr});
}

void WsSession::respond_for(node::RpcRespond respond, std::function<void(const node::ClientReply&)> done) {
  if (gone_ || closing_ || core_->stopped) {
    node::ClientReply r{0, Status(Code::unavailable, "the responder's socket is closing"), kNoNode, {}};
    asio::post(core_->io, [done = std::move(done), r] { done(r); });
    return;
  }
  const std::uint64_t rpc_id = respond.rpc_id;
  submit(std::move(respond), Pending{Pending::Kind::foreign, "", {}, rpc_id, std::move(done)});
}

void WsSession::forget_rpc(std::uint64_t rpc_id) {
  const auto it = core_->rpc_routes.find(rpc_id);
  if (it != core_->rpc_routes.end() && it->second.lock().get() == this) core_->rpc_routes.erase(it);
}

// ---------------------------------------------------------------------------
// From the client

void WsSession::read() {
  if (gone_ || closing_) return;
  ws_.async_read(in_, [self = shared_from_this()](ErrorCode ec, std::size_t n) { self->on_read(ec, n); });
}

void WsSession::on_read(ErrorCode ec, std::size_t) {
  if (gone_ || core_->stopped) return;
  if (ec) {
    // The client closed (or the socket failed, or idled out).
    terminate();
    return;
  }
  const std::string text = beast::buffers_to_string(in_.data());
  in_.consume(in_.size());
  if (closing_) return;
  if (!ws_.got_text()) {
    send(ws_error_frame("", bad_request("frames are JSON text, not binary")));
  } else if (pending_.size() >= core_->options.ws_pending_max) {
    send(ws_error_frame("", HttpError{503, "unavailable",
                                      "more than " + std::to_string(core_->options.ws_pending_max) +
                                          " requests of this socket await the node; wait for replies",
                                      ""}));
  } else {
    WsFrame frame = parse_ws_frame(core_->options.rest, spec_, text);
    if (frame.error) {
      send(ws_error_frame(frame.ref, *frame.error));
    } else {
      Pending p{Pending::Kind::frame, frame.ref, frame.answers, 0, nullptr};
      if (const auto* r = std::get_if<node::RpcRespond>(&frame.request)) p.rpc_id = r->rpc_id;
      submit(std::move(frame.request), std::move(p));
    }
  }
  read();
}

// ---------------------------------------------------------------------------
// Writing, with a bound on what waits

void WsSession::send(std::string frame) {
  if (gone_ || closing_) return;
  const auto& o = core_->options;
  if (out_.size() >= o.ws_queue_frames_max || out_bytes_ + frame.size() > o.ws_queue_bytes_max) {
    core_->stats.slow_consumers_closed++;
    close_with(websocket::close_code::policy_error,
               "slow consumer: over " + std::to_string(o.ws_queue_frames_max) + " frames or " +
                   std::to_string(o.ws_queue_bytes_max) + " bytes waiting to be sent");
    return;
  }
  out_bytes_ += frame.size();
  out_.push_back(std::move(frame));
  if (!writing_) write_next();
}

void WsSession::write_next() {
  if (gone_) return;
  if (out_.empty()) {
    writing_ = false;
    if (closing_ && close_reason_) {
      ws_.async_close(*close_reason_, [self = shared_from_this()](ErrorCode) { self->terminate(); });
    }
    return;
  }
  writing_ = true;
  ws_.text(true);
  ws_.async_write(asio::buffer(out_.front()), [self = shared_from_this()](ErrorCode ec, std::size_t) {
    self->on_write(ec);
  });
}

void WsSession::on_write(ErrorCode ec) {
  if (gone_) return;
  out_bytes_ -= out_.front().size();
  out_.pop_front();
  if (ec) {
    terminate();
    return;
  }
  write_next();
}

void WsSession::close_with(websocket::close_code code, std::string reason) {
  if (closing_ || gone_) return;
  closing_ = true;
  close_reason_ = websocket::close_reason(code, reason_text(std::move(reason)));
  // Frames not yet started are dropped (the client was not keeping up, or
  // the stream failed); the one being written finishes, then the close.
  while (out_.size() > (writing_ ? 1u : 0u)) {
    out_bytes_ -= out_.back().size();
    out_.pop_back();
  }
  retry_.cancel();
  // A peer that reads nothing cannot take the close frame either.
  cut_.expires_after(chrono(core_->options.close_timeout));
  cut_.async_wait([self = shared_from_this()](ErrorCode ec) {
    if (!ec) self->terminate();
  });
  // Leave the hub now (not from inside deliver()): nothing more is wanted.
  asio::post(core_->io, [self = shared_from_this()] { self->leave_hub(); });
  if (!writing_) write_next();
}

void WsSession::terminate() {
  if (gone_) return;
  gone_ = true;
  closing_ = true;
  retry_.cancel();
  cut_.cancel();
  leave_hub();
  for (const std::uint64_t id : rpc_ids_) forget_rpc(id);
  rpc_ids_.clear();
  ErrorCode ec;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(ws_).close();
}

// The consumer is going away: what it holds unanswered goes back to the
// queue now (a reject each), not when its visibility lapses, as a broker
// requeues a closed channel's unacked messages. The rejects are written
// whatever becomes of their replies, which nobody waits for.
void WsSession::leave_hub() {
  if (client_ == kNoNode || core_->stopped) {
    client_ = kNoNode;
    pending_fail();
    return;
  }
  for (const std::uint64_t receipt : in_flight_) {
    core_->hub.submit(client_, node::ClientRequest{next_request_++, node::Write{broker::QueueReject{receipt}, {}}});
  }
  in_flight_.clear();
  core_->hub.disconnect(client_);
  client_ = kNoNode;
  pending_fail();
}

// REST answers waiting on this socket's client learn that it is gone.
void WsSession::pending_fail() {
  for (auto& [id, p] : pending_) {
    if (p.kind != Pending::Kind::foreign) continue;
    node::ClientReply r{0, Status(Code::unavailable, "the responder's socket closed before the node answered"), kNoNode,
                        {}};
    asio::post(core_->io, [done = std::move(p.done), r] { done(r); });
  }
  pending_.clear();
}

void WsSession::shutdown() { terminate(); }

}  // namespace sluice::http::detail
