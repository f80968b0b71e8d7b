// The WebSocket streams (docs/rest.md, "WebSocket streams") as pure
// functions: which stream a target opens, what a client's text frame asks
// for, and the frames the server pushes. The gateway carries them.
//
//   /v1/ws/events/{pattern}?group=G
//   /v1/ws/store/{channel}?from=new|first|last|seq:N|time:T|delta:D&group=G
//   /v1/ws/queues/{channel}?prefetch=N&visibility_ms=V&client_id=C
//   /v1/ws/rpc/commands/{channel}?group=G   (and /v1/ws/rpc/queries/...)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/rest.h"

namespace sluice::http {

enum class StreamKind : std::uint8_t { events, store, queue, rpc };

struct WsSpec {
  StreamKind kind = StreamKind::events;
  std::string channel;         // events: the pattern
  std::string group;           // events, store, rpc
  node::StoreStart start;      // store
  node::RpcKind rpc_kind = node::RpcKind::command;
  // Queues: deliveries the client holds unanswered at most; the gateway
  // asks for more only below it. Invariant: 1 <= prefetch <= receive_batch_max.
  std::uint32_t prefetch = 1;
  Duration visibility{};       // queues: 0 takes the node's default
  std::string client_id;       // queues
};

// The stream a WebSocket upgrade asks for, or why not (404, 400).
HttpResult<WsSpec> parse_ws_target(const RestOptions& options, std::string_view target);

// The request that opens the stream (a subscription), under `sub_id`;
// nullopt for queues, which are a loop of receives instead.
std::optional<node::RequestBody> subscribe_request(const WsSpec& spec, std::uint64_t sub_id);
// A queue stream's next receive: up to `max` messages, waiting up to `wait`.
node::Write queue_receive(const WsSpec& spec, std::uint32_t max, Duration wait);

// A client's text frame. Queues: {"ack": R | [R...]}, {"reject": R},
// {"extend": R, "visibility_ms": V}, {"resend": R, "to": "channel"}.
// RPC responders: {"respond": "rpc_id", "executed": true, "error", "metadata",
// "body" | "body_base64", "tags"}. Any frame may carry "ref" (a string or a
// non-negative integer), echoed in the reply frame.
struct WsFrame {
  std::string ref;          // the ref as JSON text ("7", "\"a\""); empty if none
  std::optional<HttpError> error;  // the frame is refused; nothing goes to the node
  node::RequestBody request;
  std::vector<std::uint64_t> answers;  // queues: the receipts this frame settles if it succeeds
};
WsFrame parse_ws_frame(const RestOptions& options, const WsSpec& spec, std::string_view text);

// Server frames.
std::string ws_subscribed_frame(const WsSpec& spec);                       // {"type":"subscribed",...}
std::string ws_reply_frame(const std::string& ref, const node::ClientReply& reply);  // {"type":"reply",...}
std::string ws_error_frame(const std::string& ref, const HttpError& error);          // a refused frame
std::string ws_stream_error_frame(const Status& status);                   // {"type":"error",...}
std::string ws_queue_frame(const broker::Delivery& delivery);              // {"type":"queue","message":...}

}  // namespace sluice::http
