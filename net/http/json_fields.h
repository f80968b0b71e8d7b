// Strict reading of JSON request bodies and query strings, shared by the
// REST routes (rest_parse.cc) and the WebSocket frames (websocket_api.cc).
//
// Internal to net/http: a malformed input throws Reject, which the public
// entry points (parse_request, parse_ws_target, parse_ws_frame) catch and
// return as an HttpError. Nothing throws past them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker/commands.h"
#include "net/http/encodings.h"
#include "net/http/rest.h"

namespace sluice::http::detail {

using Json = nlohmann::json;

struct Reject {
  HttpError error;
};
[[noreturn]] void fail(std::string message);
[[noreturn]] void fail(HttpError error);

// A short, printable rendering of client text for an error message.
std::string quote(std::string_view text);

// Nesting deeper than this is refused before the parser sees it: no
// request needs more than 4 levels.
inline constexpr std::size_t kJsonDepthMax = 16;

// The body as a JSON object: empty (or all whitespace) reads as {}.
// Refuses malformed JSON, duplicate keys, nesting over kJsonDepthMax and
// anything but an object at the top.
Json parse_object(std::string_view text, std::string_view what = "the body");

// One JSON object's fields, read once each. Construction refuses a field
// that is not in `allowed`, naming it; null reads as absent.
class Fields {
 public:
  Fields(Json object, std::vector<std::string_view> allowed, std::string prefix = "");

  bool has(std::string_view name) const;
  std::optional<std::string> str(std::string_view name) const;
  std::string str_required(std::string_view name) const;
  std::optional<std::uint64_t> u64(std::string_view name) const;
  std::uint64_t u64_required(std::string_view name) const;
  std::optional<std::uint32_t> u32(std::string_view name) const;
  std::optional<bool> boolean(std::string_view name) const;
  // A duration in whole milliseconds, at most `max`.
  std::optional<Duration> millis(std::string_view name, Duration max) const;
  // An array of non-negative integers.
  std::optional<std::vector<std::uint64_t>> u64_array(std::string_view name) const;
  // An object of string values.
  std::optional<broker::Tags> tags(std::string_view name) const;
  // The raw value (absent or null: nullptr).
  const Json* raw(std::string_view name) const;

  // The message fields every publish shares: id, metadata, body or
  // body_base64, tags, client_id (see kMessageFields).
  broker::MessageIn message(std::string channel) const;
  // producer_id + producer_seq, or dedup_by_id (see kKeyFields).
  broker::IdempotencyKey key() const;

  // "field 'x'" or "field 'messages[2].x'" for messages.
  std::string name(std::string_view field) const;

 private:
  Json object_;  // owned: callers pass parse_object()'s temporary
  std::string prefix_;
};

inline const std::vector<std::string_view> kMessageFields = {"id", "metadata", "body", "body_base64", "tags",
                                                             "client_id"};
inline const std::vector<std::string_view> kKeyFields = {"producer_id", "producer_seq", "dedup_by_id"};
std::vector<std::string_view> join(std::vector<std::string_view> a, const std::vector<std::string_view>& b);

// Decimal digits only, within uint64.
std::optional<std::uint64_t> parse_u64(std::string_view text);

// Query parameters, each allowed at most once.
class Query {
 public:
  Query(const std::vector<std::pair<std::string, std::string>>& params, std::vector<std::string_view> allowed);
  std::optional<std::string> get(std::string_view name) const;
  std::optional<std::uint64_t> u64(std::string_view name) const;

 private:
  const std::vector<std::pair<std::string, std::string>>& params_;
};

// Refuses a channel name (no wildcards) or a subscription pattern that the
// broker would refuse, with its message.
void check_channel(const std::string& name, std::string_view what = "");
void check_pattern(const std::string& pattern);
// The broker's own validation of a command or message, as a 400.
void check(const Status& status, std::string_view prefix = "");

// A responder's answer (POST /v1/rpc/respond, or a frame on its WebSocket):
// rpc_id (the string from the request, or its number), executed, error,
// metadata, body or body_base64, tags.
// `id_field` names the id: "rpc_id" in REST, "respond" in a frame.
node::RpcRespond rpc_respond(const RestOptions& options, const Fields& f, std::string_view id_field);

}  // namespace sluice::http::detail
