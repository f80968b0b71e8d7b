// The REST/JSON API (docs/rest.md) as pure functions: an HTTP request in,
// a node::ClientRequest out; a node::ClientReply in, an HTTP status and JSON
// body out. No IO here; net/http/gateway.h carries these over sockets.
//
// Everything a client can get wrong is answered here, before the node sees
// the request: unknown routes (404), wrong methods (405), bodies over the
// size limit (413), malformed JSON, unknown fields, wrong types, invalid
// channel names and values over the broker's limits (400, naming the field
// or the limit). The node validates again; a request that passes here and
// fails there gets the node's error through reply_to_json().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/broker/limits.h"
#include "core/common/status.h"
#include "core/node/broker_messages.h"

namespace sluice::http {

struct RestOptions {
  // The node's limits: requests over them are refused here with a clear 400.
  broker::Limits limits;
  // A request body over this gets 413 (a full send batch of large
  // messages is split by the client).
  std::size_t body_bytes_max = 8 << 20;
  // Commands and queries without timeout_ms.
  Duration rpc_timeout_default = Duration::seconds(10);
  // Peek without max.
  std::uint32_t peek_default = 10;
};

// An answer the gateway gives itself, without the node.
struct HttpError {
  unsigned status = 400;
  std::string code;     // "invalid_argument", "not_found", "method_not_allowed", "payload_too_large", ...
  std::string message;  // for a person: names the field, value or limit
  std::string allow;    // 405 only: the methods the path takes ("GET, POST")
  friend bool operator==(const HttpError&, const HttpError&) = default;
};
HttpError bad_request(std::string message);

// A value or an HttpError (Result<T> holds a Status, which has no room for
// an HTTP status of its own).
template <class T>
class [[nodiscard]] HttpResult {
 public:
  HttpResult(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  HttpResult(HttpError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  const HttpError& error() const {
    SLUICE_ASSERT(!ok(), "error() of an HttpResult that holds a value");
    return std::get<HttpError>(v_);
  }
  T& value() & {
    SLUICE_ASSERT(ok(), "value() of an HttpResult that holds an error");
    return std::get<T>(v_);
  }
  const T& value() const& {
    SLUICE_ASSERT(ok(), "value() of an HttpResult that holds an error");
    return std::get<T>(v_);
  }
  T&& value() && {
    SLUICE_ASSERT(ok(), "value() of an HttpResult that holds an error");
    return std::get<T>(std::move(v_));
  }

 private:
  std::variant<T, HttpError> v_;
};

// Maps one REST request onto the node request it stands for. `target` is
// the request target as sent ("/v1/queues/jobs/receive?x=y"); path segments
// and query values are percent-decoded, so a channel name holding '/' is
// written "%2F" in a path. The result's request_id is 0: the gateway sets
// it. The system endpoints (/metrics, /healthz, /readyz) are the gateway's
// and answer 404 here; WebSocket paths answer 426 without an upgrade.
HttpResult<node::ClientRequest> parse_request(const RestOptions& options, std::string_view method,
                                              std::string_view target, std::string_view body);

// How long the node may take to answer `request` by design: a receive's
// wait, a call's timeout; zero for everything else. The gateway waits this
// plus a grace period before it answers 504 itself.
Duration reply_wait(const node::ClientRequest& request);

// An HTTP response body (JSON text) with its status.
struct JsonResponse {
  unsigned status = 200;
  std::string body;
  bool retry = false;  // 503: worth retrying (the gateway adds Retry-After)
};

// The status for a node error: invalid_argument 400, not_found 404, timeout
// 504, unavailable and poisoned 503, no_space 507, the rest 500.
unsigned http_status(Code code);
// The reply's status and body: a JSON object per reply type (docs/rest.md),
// or {"error": {"code", "message", "leader_hint"?}}. Never fails: bytes that
// are not UTF-8 go out as body_base64 (bodies) or with U+FFFD (other text).
JsonResponse reply_to_json(const node::ClientReply& reply);
JsonResponse error_to_json(const HttpError& error);

// Pushes to subscribers, as JSON objects (one WebSocket text frame each):
//   {"type":"event","message":{...}}
//   {"type":"store","message":{... "seq":N}}
//   {"type":"rpc","rpc_id":"...","kind":"command"|"query","message":{...}}
std::string event_to_json(const node::EventDelivery& delivery);
std::string store_to_json(const node::StoreDelivery& delivery);
std::string rpc_incoming_to_json(const node::RpcIncoming& incoming);

}  // namespace sluice::http
