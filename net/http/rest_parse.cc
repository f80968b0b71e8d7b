// REST routes onto node requests (docs/rest.md is the reference; keep the
// two in step). A table of routes; each builder reads its body or query
// strictly and returns the request, or throws detail::Reject, which
// parse_request turns into the HttpError it returns.
#include <algorithm>

#include "core/broker/names.h"
#include "net/http/json_fields.h"
#include "net/http/rest.h"

namespace sluice::http {
namespace {

using namespace detail;  // NOLINT: this file is the detail's one user besides websocket_api.cc
using node::RequestBody;

struct Ctx {
  const RestOptions& options;
  std::string channel;  // the path's {channel}, validated; empty if the route has none
  const std::vector<std::pair<std::string, std::string>>& query;
  std::string_view body;
};

enum class Input : std::uint8_t { none, json };

struct Route {
  std::string_view method;
  std::vector<std::string_view> path;  // "{}" is the channel
  Input input;
  std::vector<std::string_view> query;  // allowed query parameters (Input::none routes only)
  RequestBody (*build)(const Ctx&);
};

const broker::Limits& lim(const Ctx& c) { return c.options.limits; }

// ---------------------------------------------------------------------------
// Events and the events store

RequestBody publish_event(const Ctx& c) {
  const Fields f(parse_object(c.body), kMessageFields);
  node::PublishEvent p{f.message(c.channel)};
  check(broker::validate_message(p.message, lim(c)));
  return p;
}

RequestBody store_publish(const Ctx& c) {
  const Fields f(parse_object(c.body), join(kMessageFields, kKeyFields));
  broker::Command cmd = broker::StorePublish{f.message(c.channel), f.key()};
  check(broker::validate(cmd, lim(c)));
  return node::Write{std::move(cmd), {}};
}

RequestBody store_retention(const Ctx& c) {
  const Fields f(parse_object(c.body), {"age_ms", "bytes_max", "count_max"});
  // Far beyond any real retention, and safe to turn into nanoseconds.
  constexpr Duration kAgeMax = Duration::seconds(100LL * 365 * 24 * 3600);
  broker::Retention r{f.millis("age_ms", kAgeMax).value_or(Duration{}), f.u64("bytes_max").value_or(0),
                      f.u64("count_max").value_or(0)};
  broker::Command cmd = broker::StoreRetention{c.channel, r};
  check(broker::validate(cmd, lim(c)));
  return node::Write{std::move(cmd), {}};
}

RequestBody store_stats(const Ctx& c) { return node::GetStats{broker::Kind::store, c.channel}; }

// ---------------------------------------------------------------------------
// Queues

const std::vector<std::string_view> kItemFields = {"delay_ms", "expiration_ms", "max_receive_count", "dead_letter"};

broker::QueueItem queue_item(const Ctx& c, const Fields& f) {
  broker::QueueItem item;
  item.message = f.message(c.channel);
  item.key = f.key();
  item.delay = f.millis("delay_ms", lim(c).delay_max).value_or(Duration{});
  item.expiration = f.millis("expiration_ms", lim(c).expiration_max).value_or(Duration{});
  item.max_receive_count = f.u32("max_receive_count").value_or(0);
  item.dead_letter = f.str("dead_letter").value_or("");
  return item;
}

RequestBody queue_send(const Ctx& c) {
  Json body = parse_object(c.body);
  broker::QueueSend send;
  if (body.contains("messages")) {
    const Fields top(std::move(body), {"messages"});
    const Json* list = top.raw("messages");
    if (list == nullptr || !list->is_array()) fail(top.name("messages") + " must be an array of messages");
    if (list->empty()) fail(top.name("messages") + " is empty; a send needs at least one message");
    if (list->size() > lim(c).send_batch_max) {
      fail("batch of " + std::to_string(list->size()) + " messages; the limit is " +
           std::to_string(lim(c).send_batch_max));
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string prefix = "messages[" + std::to_string(i) + "].";
      if (!(*list)[i].is_object()) fail("field " + quote(prefix.substr(0, prefix.size() - 1)) + " must be an object");
      const Fields f((*list)[i], join(join(kMessageFields, kKeyFields), kItemFields), prefix);
      send.items.push_back(queue_item(c, f));
      // One item at a time, so the error names the item.
      check(broker::validate(broker::QueueSend{{send.items.back()}}, lim(c)), prefix.substr(0, prefix.size() - 1) + ": ");
    }
  } else {
    const Fields f(std::move(body), join(join(kMessageFields, kKeyFields), kItemFields));
    send.items.push_back(queue_item(c, f));
  }
  broker::Command cmd = std::move(send);
  check(broker::validate(cmd, lim(c)));
  return node::Write{std::move(cmd), {}};
}

RequestBody queue_receive(const Ctx& c) {
  const Fields f(parse_object(c.body), {"max", "wait_ms", "visibility_ms", "client_id"});
  broker::QueueReceive r;
  r.channel = c.channel;
  r.max_messages = f.u32("max").value_or(1);
  if (r.max_messages == 0) fail(f.name("max") + " must be at least 1");
  if (r.max_messages > lim(c).receive_batch_max) {
    fail(f.name("max") + " is " + std::to_string(r.max_messages) + "; the limit is " +
         std::to_string(lim(c).receive_batch_max));
  }
  r.visibility = f.millis("visibility_ms", lim(c).visibility_max).value_or(Duration{});
  r.client_id = f.str("client_id").value_or("");
  const Duration wait = f.millis("wait_ms", lim(c).wait_max).value_or(Duration{});
  broker::Command cmd = std::move(r);
  check(broker::validate(cmd, lim(c)));
  return node::Write{std::move(cmd), wait};
}

RequestBody queue_ack(const Ctx& c) {
  const Fields f(parse_object(c.body), {"receipts", "receipt"});
  broker::QueueAck ack;
  if (f.has("receipts") == f.has("receipt")) fail("give " + f.name("receipts") + " or " + f.name("receipt"));
  if (auto one = f.u64("receipt")) {
    ack.receipts.push_back(*one);
  } else {
    ack.receipts = *f.u64_array("receipts");
    if (ack.receipts.empty()) fail(f.name("receipts") + " is empty");
  }
  if (ack.receipts.size() > lim(c).ack_batch_max) {
    fail(std::to_string(ack.receipts.size()) + " receipts; the limit is " + std::to_string(lim(c).ack_batch_max));
  }
  return node::Write{std::move(ack), {}};
}

RequestBody queue_reject(const Ctx& c) {
  const Fields f(parse_object(c.body), {"receipt"});
  return node::Write{broker::QueueReject{f.u64_required("receipt")}, {}};
}

RequestBody queue_extend(const Ctx& c) {
  const Fields f(parse_object(c.body), {"receipt", "visibility_ms"});
  const std::uint64_t receipt = f.u64_required("receipt");
  const auto vis = f.millis("visibility_ms", lim(c).visibility_max);
  if (!vis) fail(f.name("visibility_ms") + " is required");
  if (vis->ns <= 0) fail(f.name("visibility_ms") + " must be positive");
  return node::Write{broker::QueueExtend{receipt, *vis}, {}};
}

RequestBody queue_resend(const Ctx& c) {
  const Fields f(parse_object(c.body), {"receipt", "to"});
  const std::uint64_t receipt = f.u64_required("receipt");
  const std::string to = f.str_required("to");
  check_channel(to, "field 'to': ");
  return node::Write{broker::QueueResend{receipt, to}, {}};
}

RequestBody queue_purge(const Ctx& c) {
  const Fields f(parse_object(c.body), {});
  return node::Write{broker::QueuePurge{c.channel}, {}};
}

RequestBody queue_peek(const Ctx& c) {
  const Query q(c.query, {"max"});
  const std::uint64_t max = q.u64("max").value_or(c.options.peek_default);
  if (max == 0) fail("query parameter 'max' must be at least 1");
  if (max > lim(c).receive_batch_max) {
    fail("query parameter 'max' is " + std::to_string(max) + "; the limit is " + std::to_string(lim(c).receive_batch_max));
  }
  return node::Peek{c.channel, static_cast<std::uint32_t>(max)};
}

RequestBody queue_stats(const Ctx& c) { return node::GetStats{broker::Kind::queue, c.channel}; }

// ---------------------------------------------------------------------------
// Commands and queries

RequestBody rpc_call(const Ctx& c, node::RpcKind kind) {
  std::vector<std::string_view> allowed = join(kMessageFields, {"timeout_ms"});
  if (kind == node::RpcKind::query) allowed = join(allowed, {"cache_key", "cache_ttl_ms"});
  const Fields f(parse_object(c.body), allowed);
  node::RpcCall call;
  call.kind = kind;
  call.message = f.message(c.channel);
  call.timeout = f.millis("timeout_ms", lim(c).wait_max).value_or(std::min(c.options.rpc_timeout_default, lim(c).wait_max));
  if (call.timeout.ns <= 0) fail(f.name("timeout_ms") + " must be positive");
  call.cache_key = f.str("cache_key").value_or("");
  call.cache_ttl = f.millis("cache_ttl_ms", lim(c).query_cache_ttl_max).value_or(Duration{});
  if (!call.cache_key.empty() && call.cache_ttl.ns == 0) fail(f.name("cache_ttl_ms") + " is required with cache_key");
  if (call.cache_key.empty() && call.cache_ttl.ns != 0) fail(f.name("cache_key") + " is required with cache_ttl_ms");
  check(broker::validate_message(call.message, lim(c)));
  return call;
}
RequestBody command_call(const Ctx& c) { return rpc_call(c, node::RpcKind::command); }
RequestBody query_call(const Ctx& c) { return rpc_call(c, node::RpcKind::query); }

}  // namespace

namespace detail {

// Shared with the WebSocket frames: a responder's answer.
node::RpcRespond rpc_respond(const RestOptions& options, const Fields& f, std::string_view id_field) {
  node::RpcRespond r;
  const Json* id = f.raw(id_field);
  if (id == nullptr) fail(f.name(id_field) + " is required");
  if (id->is_number_unsigned()) {
    r.rpc_id = id->get<std::uint64_t>();
  } else if (id->is_string()) {
    const auto n = parse_u64(id->get_ref<const std::string&>());
    if (!n) fail(f.name(id_field) + " must be the rpc_id string from the request");
    r.rpc_id = *n;
  } else {
    fail(f.name(id_field) + " must be the rpc_id string from the request");
  }
  // A command's answer: executed, or an error; a query's: a body.
  const broker::MessageIn m = f.message("rpc");
  r.executed = f.boolean("executed").value_or(false);
  r.error = f.str("error").value_or("");
  r.metadata = m.metadata;
  r.body = m.body;
  r.tags = m.tags;
  // The node relays an answer as given: hold it to a message's limits here.
  check(broker::validate_message(m, options.limits));
  return r;
}

}  // namespace detail

namespace {

RequestBody rpc_respond_route(const Ctx& c) {
  const Fields f(parse_object(c.body), {"rpc_id", "executed", "error", "metadata", "body", "body_base64", "tags"});
  return detail::rpc_respond(c.options, f, "rpc_id");
}

RequestBody list_channels(const Ctx& c) {
  const Query q(c.query, {"pattern"});
  node::ListChannels l{q.get("pattern").value_or("")};
  if (!l.pattern.empty()) check_pattern(l.pattern);
  return l;
}

const std::vector<Route>& routes() {
  static const std::vector<Route> table = {
      {"POST", {"v1", "events", "{}"}, Input::json, {}, publish_event},
      {"POST", {"v1", "store", "{}"}, Input::json, {}, store_publish},
      {"GET", {"v1", "store", "{}", "stats"}, Input::none, {}, store_stats},
      {"PUT", {"v1", "store", "{}", "retention"}, Input::json, {}, store_retention},
      {"POST", {"v1", "queues", "{}", "send"}, Input::json, {}, queue_send},
      {"POST", {"v1", "queues", "{}", "receive"}, Input::json, {}, queue_receive},
      {"POST", {"v1", "queues", "{}", "ack"}, Input::json, {}, queue_ack},
      {"POST", {"v1", "queues", "{}", "reject"}, Input::json, {}, queue_reject},
      {"POST", {"v1", "queues", "{}", "extend"}, Input::json, {}, queue_extend},
      {"POST", {"v1", "queues", "{}", "resend"}, Input::json, {}, queue_resend},
      {"POST", {"v1", "queues", "{}", "purge"}, Input::json, {}, queue_purge},
      {"DELETE", {"v1", "queues", "{}"}, Input::none, {}, queue_purge},
      {"GET", {"v1", "queues", "{}", "peek"}, Input::none, {"max"}, queue_peek},
      {"GET", {"v1", "queues", "{}", "stats"}, Input::none, {}, queue_stats},
      {"POST", {"v1", "commands", "{}"}, Input::json, {}, command_call},
      {"POST", {"v1", "queries", "{}"}, Input::json, {}, query_call},
      {"POST", {"v1", "rpc", "respond"}, Input::json, {}, rpc_respond_route},
      {"GET", {"v1", "channels"}, Input::none, {"pattern"}, list_channels},
  };
  return table;
}

bool path_matches(const Route& r, const std::vector<std::string>& segments, std::string* channel) {
  if (r.path.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (r.path[i] == "{}") {
      *channel = segments[i];
    } else if (r.path[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

node::ClientRequest route(const RestOptions& options, std::string_view method, std::string_view target,
                          std::string_view body) {
  if (body.size() > options.body_bytes_max) {
    fail(HttpError{413, "payload_too_large",
                   "the body is " + std::to_string(body.size()) + " bytes; the limit is " +
                       std::to_string(options.body_bytes_max),
                   ""});
  }
  const auto t = split_target(target);
  if (!t) fail("the request target is not a path with well-formed %-escapes");
  std::string allow;
  for (const Route& r : routes()) {
    std::string channel;
    if (!path_matches(r, t->segments, &channel)) continue;
    if (r.method != method) {
      if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + std::string(r.method);
      continue;
    }
    if (std::find(r.path.begin(), r.path.end(), "{}") != r.path.end()) check_channel(channel);
    if (r.input == Input::none && !body.empty()) fail(std::string(method) + " " + "takes no body");
    if (r.input == Input::json && !t->query.empty()) fail("this route takes its parameters in the JSON body, not the query");
    if (r.input == Input::none) Query(t->query, r.query);  // refuses unknown parameters
    return node::ClientRequest{0, r.build(Ctx{options, std::move(channel), t->query, body})};
  }
  if (!allow.empty()) {
    fail(HttpError{405, "method_not_allowed", std::string(method) + " is not allowed here; use " + allow, allow});
  }
  if (t->segments.size() >= 2 && t->segments[0] == "v1" && t->segments[1] == "ws") {
    fail(HttpError{426, "upgrade_required", "this path takes a WebSocket upgrade", ""});
  }
  fail(HttpError{404, "not_found",
                 "no route for " + std::string(method) + " " + quote(target.substr(0, target.find('?'))) +
                     "; see docs/rest.md (a channel name holding '/' is written %2F in a path)",
                 ""});
}

}  // namespace

HttpError bad_request(std::string message) { return HttpError{400, "invalid_argument", std::move(message), ""}; }

HttpResult<node::ClientRequest> parse_request(const RestOptions& options, std::string_view method,
                                              std::string_view target, std::string_view body) {
  try {
    return route(options, method, target, body);
  } catch (const Reject& r) {
    return r.error;
  }
}

Duration reply_wait(const node::ClientRequest& request) {
  if (const auto* w = std::get_if<node::Write>(&request.body)) return w->wait;
  if (const auto* c = std::get_if<node::RpcCall>(&request.body)) return c->timeout;
  return {};
}

}  // namespace sluice::http
