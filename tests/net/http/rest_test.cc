// REST requests onto node requests (net/http/rest.h, docs/rest.md): every
// route, and every class of error with the message a client sees.
#include <gtest/gtest.h>

#include "net/http/encodings.h"
#include "net/http/rest.h"

namespace sluice::http {
namespace {

using broker::Kind;

RestOptions opts() { return RestOptions{}; }

node::RequestBody ok(std::string_view method, std::string_view target, std::string_view body = "",
                     const RestOptions& o = opts()) {
  auto r = parse_request(o, method, target, body);
  EXPECT_TRUE(r.ok()) << method << " " << target << " " << body << " -> "
                      << (r.ok() ? "" : std::to_string(r.error().status) + " " + r.error().message);
  if (!r.ok()) return node::ListChannels{"failed"};
  EXPECT_EQ(r.value().request_id, 0u);
  return r.value().body;
}

HttpError err(std::string_view method, std::string_view target, std::string_view body = "",
              const RestOptions& o = opts()) {
  auto r = parse_request(o, method, target, body);
  EXPECT_FALSE(r.ok()) << method << " " << target << " " << body;
  return r.ok() ? HttpError{} : r.error();
}

// The 400 message for a request.
std::string bad(std::string_view method, std::string_view target, std::string_view body = "") {
  const HttpError e = err(method, target, body);
  EXPECT_EQ(e.status, 400u) << e.message;
  EXPECT_EQ(e.code, "invalid_argument");
  return e.message;
}

template <class T>
T as(const node::RequestBody& b) {
  EXPECT_TRUE(std::holds_alternative<T>(b));
  return std::holds_alternative<T>(b) ? std::get<T>(b) : T{};
}
template <class T>
T command(const node::RequestBody& b) {
  return std::get<T>(as<node::Write>(b).command);
}

// ---------------------------------------------------------------------------
// Events and the events store

TEST(RestEvents, PublishCarriesEveryMessageField) {
  const auto p = as<node::PublishEvent>(ok("POST", "/v1/events/orders.eu",
                                           R"({"id":"m1","metadata":"meta","body":"hello","tags":{"k":"v"},)"
                                           R"("client_id":"c1"})"));
  EXPECT_EQ(p.message, (broker::MessageIn{"m1", "orders.eu", "meta", "hello", {{"k", "v"}}, "c1"}));
}

TEST(RestEvents, EmptyBodyPublishesAnEmptyMessageAndBase64CarriesBytes) {
  EXPECT_EQ(as<node::PublishEvent>(ok("POST", "/v1/events/a", "")).message.body, "");
  EXPECT_EQ(as<node::PublishEvent>(ok("POST", "/v1/events/a", " \n")).message.body, "");
  const std::string bytes("\x00\xff\x10", 3);
  EXPECT_EQ(as<node::PublishEvent>(ok("POST", "/v1/events/a", R"({"body_base64":")" + base64_encode(bytes) + "\"}"))
                .message.body,
            bytes);
}

TEST(RestEvents, EventsTakeNoIdempotencyKey) {
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"producer_id":"p","producer_seq":1})"), "unknown field 'producer_id'");
}

TEST(RestStore, PublishWithEitherIdempotencyKey) {
  auto p = command<broker::StorePublish>(ok("POST", "/v1/store/s", R"({"body":"x","producer_id":"p","producer_seq":7})"));
  EXPECT_EQ(p.key, (broker::IdempotencyKey{"p", 7, false}));
  EXPECT_EQ(p.message.channel, "s");
  p = command<broker::StorePublish>(ok("POST", "/v1/store/s", R"({"id":"m9","dedup_by_id":true})"));
  EXPECT_EQ(p.key, (broker::IdempotencyKey{"", 0, true}));
  EXPECT_EQ(p.message.id, "m9");
  EXPECT_EQ(as<node::Write>(ok("POST", "/v1/store/s", "{}")).wait, Duration{});
}

TEST(RestStore, RefusesHalfAKey) {
  EXPECT_EQ(bad("POST", "/v1/store/s", R"({"producer_id":"p"})"), "field 'producer_seq' is required with producer_id");
  EXPECT_EQ(bad("POST", "/v1/store/s", R"({"producer_seq":3})"), "a producer sequence needs a producer id");
  EXPECT_EQ(bad("POST", "/v1/store/s", R"({"dedup_by_id":true})"), "deduplication by message id needs a message id");
  EXPECT_EQ(bad("POST", "/v1/store/s", R"({"id":"m","dedup_by_id":true,"producer_id":"p","producer_seq":1})"),
            "an idempotency key is a producer id and sequence, or the message id, not both");
}

TEST(RestStore, StatsAndRetention) {
  EXPECT_EQ(as<node::GetStats>(ok("GET", "/v1/store/s/stats")).kind, Kind::store);
  EXPECT_EQ(as<node::GetStats>(ok("GET", "/v1/store/s/stats")).channel, "s");
  const auto r = command<broker::StoreRetention>(
      ok("PUT", "/v1/store/s/retention", R"({"age_ms":60000,"bytes_max":1000,"count_max":10})"));
  EXPECT_EQ(r.channel, "s");
  EXPECT_EQ(r.retention, (broker::Retention{Duration::seconds(60), 1000, 10}));
  EXPECT_EQ(command<broker::StoreRetention>(ok("PUT", "/v1/store/s/retention", "{}")).retention, broker::Retention{});
}

// ---------------------------------------------------------------------------
// Queues

TEST(RestQueues, SendOneWithEveryOption) {
  const auto s = command<broker::QueueSend>(ok(
      "POST", "/v1/queues/jobs/send",
      R"({"body":"b","delay_ms":1500,"expiration_ms":60000,"max_receive_count":3,"dead_letter":"jobs.dlq",)"
      R"("producer_id":"p","producer_seq":1})"));
  ASSERT_EQ(s.items.size(), 1u);
  const broker::QueueItem& i = s.items[0];
  EXPECT_EQ(i.message.channel, "jobs");
  EXPECT_EQ(i.message.body, "b");
  EXPECT_EQ(i.delay, Duration::millis(1500));
  EXPECT_EQ(i.expiration, Duration::seconds(60));
  EXPECT_EQ(i.max_receive_count, 3u);
  EXPECT_EQ(i.dead_letter, "jobs.dlq");
  EXPECT_EQ(i.key, (broker::IdempotencyKey{"p", 1, false}));
}

TEST(RestQueues, SendABatch) {
  const auto s = command<broker::QueueSend>(
      ok("POST", "/v1/queues/jobs/send", R"({"messages":[{"body":"a"},{"body":"b","delay_ms":5}]})"));
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].message.body, "a");
  EXPECT_EQ(s.items[1].message.channel, "jobs");
  EXPECT_EQ(s.items[1].delay, Duration::millis(5));
}

TEST(RestQueues, BatchErrorsNameTheItem) {
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"messages":[]})"),
            "field 'messages' is empty; a send needs at least one message");
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"messages":{}})"), "field 'messages' must be an array of messages");
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"messages":[{"body":"a"},7]})"), "field 'messages[1]' must be an object");
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"messages":[{"body":"a"},{"bogus":1}]})"),
            "unknown field 'messages[1].bogus'");
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"messages":[{"body":"a"},{"delay_ms":"5"}]})"),
            "field 'messages[1].delay_ms' must be a non-negative integer");
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"messages":[{"dead_letter":"q"}]})"),
            "messages[0]: a queue cannot be its own dead-letter queue");
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"messages":[{"body":"a"}],"body":"x"})"), "unknown field 'body'");
}

TEST(RestQueues, BatchOverTheLimit) {
  RestOptions o;
  o.limits.send_batch_max = 2;
  const HttpError e = err("POST", "/v1/queues/q/send", R"({"messages":[{},{},{}]})", o);
  EXPECT_EQ(e.status, 400u);
  EXPECT_EQ(e.message, "batch of 3 messages; the limit is 2");
}

TEST(RestQueues, ReceiveDefaultsAndOptions) {
  node::Write w = as<node::Write>(ok("POST", "/v1/queues/q/receive"));
  EXPECT_EQ(w.wait, Duration{});
  EXPECT_EQ(std::get<broker::QueueReceive>(w.command), (broker::QueueReceive{"q", 1, Duration{}, ""}));
  w = as<node::Write>(ok("POST", "/v1/queues/q/receive", R"({"max":10,"wait_ms":2000,"visibility_ms":45000,"client_id":"w1"})"));
  EXPECT_EQ(w.wait, Duration::seconds(2));
  EXPECT_EQ(std::get<broker::QueueReceive>(w.command), (broker::QueueReceive{"q", 10, Duration::seconds(45), "w1"}));
}

TEST(RestQueues, ReceiveLimits) {
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"max":0})"), "field 'max' must be at least 1");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"max":1001})"), "field 'max' is 1001; the limit is 1000");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"wait_ms":60001})"), "field 'wait_ms' is 60001; the limit is 60000 ms");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"visibility_ms":43200001})"),
            "field 'visibility_ms' is 43200001; the limit is 43200000 ms");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"wait_ms":-1})"), "field 'wait_ms' must be a non-negative integer");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"wait_ms":1.5})"), "field 'wait_ms' must be a non-negative integer");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"max":99999999999999999999999})"),
            "field 'max' must be a non-negative integer");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"max":4294967296})"), "field 'max' is too large");
}

TEST(RestQueues, AckOneOrMany) {
  EXPECT_EQ(command<broker::QueueAck>(ok("POST", "/v1/queues/q/ack", R"({"receipts":[1,2,3]})")).receipts,
            (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(command<broker::QueueAck>(ok("POST", "/v1/queues/q/ack", R"({"receipt":18446744073709551615})")).receipts,
            (std::vector<std::uint64_t>{18446744073709551615ull}));
  EXPECT_EQ(bad("POST", "/v1/queues/q/ack", "{}"), "give field 'receipts' or field 'receipt'");
  EXPECT_EQ(bad("POST", "/v1/queues/q/ack", R"({"receipt":1,"receipts":[2]})"), "give field 'receipts' or field 'receipt'");
  EXPECT_EQ(bad("POST", "/v1/queues/q/ack", R"({"receipts":[]})"), "field 'receipts' is empty");
  EXPECT_EQ(bad("POST", "/v1/queues/q/ack", R"({"receipts":[1,"2"]})"),
            "field 'receipts' must be an array of non-negative integers");
}

TEST(RestQueues, RejectExtendResend) {
  EXPECT_EQ(command<broker::QueueReject>(ok("POST", "/v1/queues/q/reject", R"({"receipt":4})")).receipt, 4u);
  EXPECT_EQ(command<broker::QueueExtend>(ok("POST", "/v1/queues/q/extend", R"({"receipt":4,"visibility_ms":1000})")),
            (broker::QueueExtend{4, Duration::seconds(1)}));
  EXPECT_EQ(command<broker::QueueResend>(ok("POST", "/v1/queues/q/resend", R"({"receipt":4,"to":"other"})")),
            (broker::QueueResend{4, "other"}));
  EXPECT_EQ(bad("POST", "/v1/queues/q/reject", "{}"), "field 'receipt' is required");
  EXPECT_EQ(bad("POST", "/v1/queues/q/extend", R"({"receipt":4})"), "field 'visibility_ms' is required");
  EXPECT_EQ(bad("POST", "/v1/queues/q/extend", R"({"receipt":4,"visibility_ms":0})"),
            "field 'visibility_ms' must be positive");
  EXPECT_EQ(bad("POST", "/v1/queues/q/resend", R"({"receipt":4})"), "field 'to' is required");
  EXPECT_EQ(bad("POST", "/v1/queues/q/resend", R"({"receipt":4,"to":"a b"})"),
            "field 'to': channel name 'a b' has an invalid character; levels use A-Z a-z 0-9 _ - /");
}

TEST(RestQueues, PeekStatsPurge) {
  EXPECT_EQ(as<node::Peek>(ok("GET", "/v1/queues/q/peek")).max_messages, 10u);
  EXPECT_EQ(as<node::Peek>(ok("GET", "/v1/queues/q/peek?max=3")).max_messages, 3u);
  EXPECT_EQ(as<node::Peek>(ok("GET", "/v1/queues/q/peek")).channel, "q");
  EXPECT_EQ(bad("GET", "/v1/queues/q/peek?max=0"), "query parameter 'max' must be at least 1");
  EXPECT_EQ(bad("GET", "/v1/queues/q/peek?max=1001"), "query parameter 'max' is 1001; the limit is 1000");
  EXPECT_EQ(bad("GET", "/v1/queues/q/peek?max=x"), "query parameter 'max' must be a non-negative integer");
  EXPECT_EQ(bad("GET", "/v1/queues/q/peek?max=1&max=2"), "query parameter 'max' is given twice");
  EXPECT_EQ(as<node::GetStats>(ok("GET", "/v1/queues/q/stats")).kind, Kind::queue);
  EXPECT_EQ(command<broker::QueuePurge>(ok("DELETE", "/v1/queues/q")).channel, "q");
  EXPECT_EQ(command<broker::QueuePurge>(ok("POST", "/v1/queues/q/purge")).channel, "q");
  EXPECT_EQ(bad("POST", "/v1/queues/q/purge", R"({"all":true})"), "unknown field 'all'");
}

// ---------------------------------------------------------------------------
// Commands and queries

TEST(RestRpc, CommandWithDefaultAndExplicitTimeout) {
  auto c = as<node::RpcCall>(ok("POST", "/v1/commands/svc.do", R"({"body":"go"})"));
  EXPECT_EQ(c.kind, node::RpcKind::command);
  EXPECT_EQ(c.timeout, Duration::seconds(10));
  EXPECT_EQ(c.message.channel, "svc.do");
  c = as<node::RpcCall>(ok("POST", "/v1/commands/svc.do", R"({"timeout_ms":250})"));
  EXPECT_EQ(c.timeout, Duration::millis(250));
  EXPECT_EQ(bad("POST", "/v1/commands/svc.do", R"({"timeout_ms":0})"), "field 'timeout_ms' must be positive");
  EXPECT_EQ(bad("POST", "/v1/commands/svc.do", R"({"cache_key":"k"})"), "unknown field 'cache_key'");
}

TEST(RestRpc, QueryWithCache) {
  const auto q = as<node::RpcCall>(ok("POST", "/v1/queries/svc.get", R"({"cache_key":"k","cache_ttl_ms":5000})"));
  EXPECT_EQ(q.kind, node::RpcKind::query);
  EXPECT_EQ(q.cache_key, "k");
  EXPECT_EQ(q.cache_ttl, Duration::seconds(5));
  EXPECT_EQ(bad("POST", "/v1/queries/s", R"({"cache_key":"k"})"), "field 'cache_ttl_ms' is required with cache_key");
  EXPECT_EQ(bad("POST", "/v1/queries/s", R"({"cache_ttl_ms":5})"), "field 'cache_key' is required with cache_ttl_ms");
  EXPECT_EQ(bad("POST", "/v1/queries/s", R"({"cache_key":"k","cache_ttl_ms":3600001})"),
            "field 'cache_ttl_ms' is 3600001; the limit is 3600000 ms");
}

TEST(RestRpc, RespondTakesTheIdAsStringOrNumber) {
  auto r = as<node::RpcRespond>(
      ok("POST", "/v1/rpc/respond",
         R"({"rpc_id":"18446744073709551615","executed":true,"metadata":"m","body":"b","tags":{"t":"v"}})"));
  EXPECT_EQ(r.rpc_id, 18446744073709551615ull);
  EXPECT_TRUE(r.executed);
  EXPECT_EQ(r.metadata, "m");
  EXPECT_EQ(r.body, "b");
  EXPECT_EQ(r.tags, (broker::Tags{{"t", "v"}}));
  r = as<node::RpcRespond>(ok("POST", "/v1/rpc/respond", R"({"rpc_id":12,"error":"nope"})"));
  EXPECT_EQ(r.rpc_id, 12u);
  EXPECT_FALSE(r.executed);
  EXPECT_EQ(r.error, "nope");
  EXPECT_EQ(bad("POST", "/v1/rpc/respond", "{}"), "field 'rpc_id' is required");
  EXPECT_EQ(bad("POST", "/v1/rpc/respond", R"({"rpc_id":"x1"})"), "field 'rpc_id' must be the rpc_id string from the request");
  EXPECT_EQ(bad("POST", "/v1/rpc/respond", R"({"rpc_id":true})"), "field 'rpc_id' must be the rpc_id string from the request");
}

TEST(RestChannels, ListWithAndWithoutPattern) {
  EXPECT_EQ(as<node::ListChannels>(ok("GET", "/v1/channels")).pattern, "");
  EXPECT_EQ(as<node::ListChannels>(ok("GET", "/v1/channels?pattern=orders.%3E")).pattern, "orders.>");
  EXPECT_EQ(as<node::ListChannels>(ok("GET", "/v1/channels?pattern=orders.*")).pattern, "orders.*");
  EXPECT_EQ(bad("GET", "/v1/channels?pattern=a.>.b"), "'>' must be the last level of pattern 'a.>.b'");
  EXPECT_EQ(bad("GET", "/v1/channels?kind=queues"), "unknown query parameter 'kind'");
}

// ---------------------------------------------------------------------------
// Errors common to every route

TEST(RestErrors, UnknownRoutesAre404) {
  for (const char* target : {"/", "/v1", "/v2/events/a", "/v1/events", "/v1/events/a/b", "/v1/queues/q/frobnicate",
                             "/v1/queues/q/send/", "/metrics"}) {
    const HttpError e = err("POST", target, "");
    EXPECT_EQ(e.status, 404u) << target;
    EXPECT_EQ(e.code, "not_found");
  }
  EXPECT_EQ(err("GET", "/v1/nothing?x=1").message,
            "no route for GET '/v1/nothing'; see docs/rest.md (a channel name holding '/' is written %2F in a path)");
}

TEST(RestErrors, WrongMethodsAre405WithAllow) {
  HttpError e = err("GET", "/v1/events/a");
  EXPECT_EQ(e.status, 405u);
  EXPECT_EQ(e.code, "method_not_allowed");
  EXPECT_EQ(e.allow, "POST");
  e = err("PATCH", "/v1/queues/q");
  EXPECT_EQ(e.allow, "DELETE");
  e = err("GET", "/v1/queues/q/send");
  EXPECT_EQ(e.allow, "POST");
  e = err("DELETE", "/v1/store/s/retention");
  EXPECT_EQ(e.allow, "PUT");
  EXPECT_EQ(e.message, "DELETE is not allowed here; use PUT");
}

TEST(RestErrors, WebSocketPathsWithoutAnUpgradeAre426) {
  const HttpError e = err("GET", "/v1/ws/events/a");
  EXPECT_EQ(e.status, 426u);
  EXPECT_EQ(e.code, "upgrade_required");
}

TEST(RestErrors, BodiesOverTheLimitAre413) {
  RestOptions o;
  o.body_bytes_max = 10;
  const HttpError e = err("POST", "/v1/events/a", R"({"body":"0123456789"})", o);
  EXPECT_EQ(e.status, 413u);
  EXPECT_EQ(e.code, "payload_too_large");
  EXPECT_EQ(e.message, "the body is 21 bytes; the limit is 10");
  EXPECT_TRUE(parse_request(o, "POST", "/v1/events/a", "{}").ok());
}

TEST(RestErrors, MalformedJson) {
  EXPECT_EQ(bad("POST", "/v1/events/a", "{"),
            "the body is not valid JSON: parse error at line 1, column 2: syntax error while parsing object key - "
            "unexpected end of input; expected string literal");
  EXPECT_EQ(bad("POST", "/v1/events/a", "[1]"), "the body must be a JSON object");
  EXPECT_EQ(bad("POST", "/v1/events/a", "\"text\""), "the body must be a JSON object");
  EXPECT_EQ(bad("POST", "/v1/events/a", "{} {}").substr(0, 27), "the body is not valid JSON:");
  EXPECT_EQ(bad("POST", "/v1/events/a", "{\"body\":\"\xff\"}").substr(0, 27), "the body is not valid JSON:");
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"body":"a","body":"b"})"), "the body has field 'body' twice");
  // A number no double holds is an error of its own kind in the parser (fuzz_rest_json found it escaping).
  EXPECT_EQ(bad("POST", "/v1/queues/q/send", R"({"delay_ms":1e500})"),
            "the body is not valid JSON: number overflow parsing '1e500'");
  EXPECT_EQ(bad("POST", "/v1/events/a", std::string(17, '[') + std::string(17, ']')),
            "the body nests deeper than 16 levels");
  // Brackets inside strings do not count as nesting.
  EXPECT_EQ(as<node::PublishEvent>(ok("POST", "/v1/events/a", R"({"body":"[[[[[[[[[[[[[[[[[[[[\"{{{{"})")).message.body,
            "[[[[[[[[[[[[[[[[[[[[\"{{{{");
}

TEST(RestErrors, UnknownFieldsAreNamed) {
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"bdoy":"x"})"), "unknown field 'bdoy'");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive", R"({"wait":5})"), "unknown field 'wait'");
  EXPECT_EQ(bad("POST", "/v1/events/a", "{\"a\\u0000b\":1}"), "unknown field 'a\\x00b'");
}

TEST(RestErrors, WrongTypes) {
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"body":5})"), "field 'body' must be a string");
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"tags":[]})"), "field 'tags' must be an object of strings");
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"tags":{"k":1}})"), "tag 'k' must be a string");
  EXPECT_EQ(bad("POST", "/v1/store/s", R"({"dedup_by_id":"yes"})"), "field 'dedup_by_id' must be true or false");
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"body":"x","body_base64":"eA=="})"),
            "give field 'body' or field 'body_base64', not both");
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"body_base64":"not base64!"})"),
            "field 'body_base64' is not base64 (RFC 4648, standard alphabet)");
  // null reads as absent.
  EXPECT_EQ(as<node::PublishEvent>(ok("POST", "/v1/events/a", R"({"body":null,"id":null})")).message.id, "");
}

TEST(RestErrors, InvalidChannelNames) {
  EXPECT_EQ(bad("POST", "/v1/events/a..b"), "channel name 'a..b' has an empty level");
  EXPECT_EQ(bad("POST", "/v1/events/orders.*"),
            "channel name 'orders.*' has an invalid character (wildcards are for subscriptions only)");
  EXPECT_EQ(bad("POST", "/v1/queues/a%20b/send"), "channel name 'a b' has an invalid character; levels use A-Z a-z 0-9 _ - /");
  EXPECT_EQ(bad("GET", "/v1/queues/" + std::string(257, 'x') + "/stats"), "channel name is 257 bytes; the limit is 256");
  EXPECT_EQ(bad("POST", "/v1/events/a%zz"), "the request target is not a path with well-formed %-escapes");
  // Encoded slashes are part of the name.
  EXPECT_EQ(as<node::PublishEvent>(ok("POST", "/v1/events/tenant%2Forders")).message.channel, "tenant/orders");
}

TEST(RestErrors, OverLimitMessages) {
  RestOptions o;
  o.limits.body_bytes_max = 4;
  o.limits.tags_count_max = 1;
  HttpError e = err("POST", "/v1/events/a", R"({"body":"12345"})", o);
  EXPECT_EQ(e.message, "body is 5 bytes; the limit is 4");
  e = err("POST", "/v1/store/a", R"({"tags":{"a":"1","b":"2"}})", o);
  EXPECT_EQ(e.message, "2 tags; the limit is 1");
  e = err("POST", "/v1/queues/a/send", R"({"delay_ms":604800001})", o);
  EXPECT_EQ(e.message, "field 'delay_ms' is 604800001; the limit is 604800000 ms");
  e = err("POST", "/v1/queues/a/send", R"({"max_receive_count":1001})", o);
  EXPECT_EQ(e.message, "max receive count 1001 is over the limit of 1000");
  EXPECT_EQ(bad("POST", "/v1/events/a", R"({"id":")" + std::string(257, 'i') + "\"}"), "message id is over the size limit");
}

TEST(RestErrors, BodiesAndQueriesWhereTheyDoNotBelong) {
  EXPECT_EQ(bad("GET", "/v1/queues/q/stats", "{}"), "GET takes no body");
  EXPECT_EQ(bad("POST", "/v1/queues/q/receive?max=3"), "this route takes its parameters in the JSON body, not the query");
  EXPECT_EQ(bad("GET", "/v1/queues/q/stats?x=1"), "unknown query parameter 'x'");
}

TEST(RestWait, TheGatewayWaitsForReceivesAndCalls) {
  auto req = [](std::string_view m, std::string_view t, std::string_view b) {
    return parse_request(opts(), m, t, b).value();
  };
  EXPECT_EQ(reply_wait(req("POST", "/v1/queues/q/receive", R"({"wait_ms":3000})")), Duration::seconds(3));
  EXPECT_EQ(reply_wait(req("POST", "/v1/commands/c", R"({"timeout_ms":700})")), Duration::millis(700));
  EXPECT_EQ(reply_wait(req("POST", "/v1/store/s", "{}")), Duration{});
  EXPECT_EQ(reply_wait(req("GET", "/v1/channels", "")), Duration{});
}

}  // namespace
}  // namespace sluice::http
