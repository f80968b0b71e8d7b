// The WebSocket streams' targets and frames (net/http/websocket_api.h).
#include <gtest/gtest.h>

#include "net/http/websocket_api.h"

namespace sluice::http {
namespace {

WsSpec spec(std::string_view target) {
  auto r = parse_ws_target(RestOptions{}, target);
  EXPECT_TRUE(r.ok()) << target << " -> " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : WsSpec{};
}

HttpError spec_error(std::string_view target) {
  auto r = parse_ws_target(RestOptions{}, target);
  EXPECT_FALSE(r.ok()) << target;
  return r.ok() ? HttpError{} : r.error();
}

TEST(WsTarget, EventsTakeAPatternAndAGroup) {
  const WsSpec s = spec("/v1/ws/events/orders.%3E?group=billing");
  EXPECT_EQ(s.kind, StreamKind::events);
  EXPECT_EQ(s.channel, "orders.>");
  EXPECT_EQ(s.group, "billing");
  EXPECT_EQ(spec("/v1/ws/events/orders.*.paid").channel, "orders.*.paid");
  const auto sub = std::get<node::SubscribeEvents>(*subscribe_request(s, 1));
  EXPECT_EQ(sub.sub_id, 1u);
  EXPECT_EQ(sub.pattern, "orders.>");
  EXPECT_EQ(sub.group, "billing");
  EXPECT_EQ(spec_error("/v1/ws/events/a.>.b").message, "'>' must be the last level of pattern 'a.>.b'");
}

TEST(WsTarget, StoreStartPositions) {
  struct Case {
    const char* from;
    node::StartFrom want;
  };
  for (const Case c : {Case{"", node::StartFrom::new_only}, Case{"?from=new", node::StartFrom::new_only},
                       Case{"?from=first", node::StartFrom::first}, Case{"?from=last", node::StartFrom::last}}) {
    EXPECT_EQ(spec(std::string("/v1/ws/store/s") + c.from).start.from, c.want) << c.from;
  }
  WsSpec s = spec("/v1/ws/store/s?from=seq:42&group=g");
  EXPECT_EQ(s.start.from, node::StartFrom::sequence);
  EXPECT_EQ(s.start.seq, 42u);
  EXPECT_EQ(s.group, "g");
  s = spec("/v1/ws/store/s?from=time:2023-11-14T22:13:20Z");
  EXPECT_EQ(s.start.from, node::StartFrom::time);
  EXPECT_EQ(s.start.time, Timestamp{1'700'000'000'000'000'000});
  EXPECT_EQ(spec("/v1/ws/store/s?from=time:2023-11-15T00:13:20%2B02:00").start.time, Timestamp{1'700'000'000'000'000'000});
  EXPECT_EQ(spec("/v1/ws/store/s?from=time:1700000000000000000").start.time, Timestamp{1'700'000'000'000'000'000});
  s = spec("/v1/ws/store/s?from=delta:5m");
  EXPECT_EQ(s.start.from, node::StartFrom::time_delta);
  EXPECT_EQ(s.start.delta, Duration::seconds(300));
  const auto sub = std::get<node::SubscribeStore>(*subscribe_request(s, 1));
  EXPECT_EQ(sub.channel, "s");
  EXPECT_EQ(sub.start.delta, Duration::seconds(300));
}

TEST(WsTarget, StoreStartErrors) {
  const std::string usage = "; use new, first, last, seq:N, time:T or delta:D";
  EXPECT_EQ(spec_error("/v1/ws/store/s?from=oldest").message, "query parameter 'from' is 'oldest'" + usage);
  EXPECT_EQ(spec_error("/v1/ws/store/s?from=seq:x").message, "query parameter 'from' is 'seq:x'" + usage);
  EXPECT_EQ(spec_error("/v1/ws/store/s?from=seq:0").message, "sequences start at 1 (from=seq:1 is the first message)");
  EXPECT_EQ(spec_error("/v1/ws/store/s?from=time:yesterday").message, "query parameter 'from' is 'time:yesterday'" + usage);
  EXPECT_EQ(spec_error("/v1/ws/store/s?from=delta:90").message,
            "from=delta:D needs a duration with its unit, like delta:90s, delta:5m or delta:1500ms");
  EXPECT_EQ(spec_error("/v1/ws/store/s.*").message,
            "channel name 's.*' has an invalid character (wildcards are for subscriptions only)");
  EXPECT_EQ(spec_error("/v1/ws/store/s?pattern=x").message, "unknown query parameter 'pattern'");
}

TEST(WsTarget, QueueStreams) {
  WsSpec s = spec("/v1/ws/queues/jobs");
  EXPECT_EQ(s.kind, StreamKind::queue);
  EXPECT_EQ(s.prefetch, 1u);
  EXPECT_EQ(s.visibility, Duration{});
  EXPECT_EQ(subscribe_request(s, 1), std::nullopt);
  s = spec("/v1/ws/queues/jobs?prefetch=16&visibility_ms=5000&client_id=w1");
  EXPECT_EQ(s.prefetch, 16u);
  EXPECT_EQ(s.visibility, Duration::seconds(5));
  EXPECT_EQ(s.client_id, "w1");
  const node::Write w = queue_receive(s, 16, Duration::seconds(30));
  EXPECT_EQ(w.wait, Duration::seconds(30));
  EXPECT_EQ(std::get<broker::QueueReceive>(w.command), (broker::QueueReceive{"jobs", 16, Duration::seconds(5), "w1"}));
  EXPECT_EQ(spec_error("/v1/ws/queues/jobs?prefetch=0").message, "query parameter 'prefetch' must be 1 to 1000");
  EXPECT_EQ(spec_error("/v1/ws/queues/jobs?visibility_ms=43200001").message,
            "query parameter 'visibility_ms' is 43200001; the limit is 43200000 ms");
}

TEST(WsTarget, RpcResponders) {
  WsSpec s = spec("/v1/ws/rpc/queries/svc.get?group=g");
  EXPECT_EQ(s.kind, StreamKind::rpc);
  EXPECT_EQ(s.rpc_kind, node::RpcKind::query);
  const auto sub = std::get<node::SubscribeRpc>(*subscribe_request(s, 1));
  EXPECT_EQ(sub.kind, node::RpcKind::query);
  EXPECT_EQ(sub.channel, "svc.get");
  EXPECT_EQ(sub.group, "g");
  EXPECT_EQ(spec("/v1/ws/rpc/commands/svc").rpc_kind, node::RpcKind::command);
}

TEST(WsTarget, UnknownStreamsAre404) {
  for (const char* t : {"/v1/ws", "/v1/ws/queues", "/v1/ws/rpc/calls/x", "/v1/ws/events/a/b", "/v1/queues/q/stats"}) {
    EXPECT_EQ(spec_error(t).status, 404u) << t;
  }
}

// ---------------------------------------------------------------------------
// Client frames

WsFrame frame(StreamKind kind, std::string_view text) {
  WsSpec s;
  s.kind = kind;
  s.channel = "jobs";
  return parse_ws_frame(RestOptions{}, s, text);
}

std::string frame_error(StreamKind kind, std::string_view text) {
  const WsFrame f = frame(kind, text);
  EXPECT_TRUE(f.error.has_value()) << text;
  EXPECT_TRUE(f.answers.empty());
  return f.error ? f.error->message : "";
}

TEST(WsFrames, QueueOperations) {
  WsFrame f = frame(StreamKind::queue, R"({"ack":5,"ref":"a1"})");
  ASSERT_FALSE(f.error);
  EXPECT_EQ(f.ref, "\"a1\"");
  EXPECT_EQ(std::get<broker::QueueAck>(std::get<node::Write>(f.request).command).receipts, std::vector<std::uint64_t>{5});
  EXPECT_EQ(f.answers, std::vector<std::uint64_t>{5});
  f = frame(StreamKind::queue, R"({"ack":[5,6],"ref":9})");
  EXPECT_EQ(f.ref, "9");
  EXPECT_EQ(f.answers, (std::vector<std::uint64_t>{5, 6}));
  f = frame(StreamKind::queue, R"({"reject":7})");
  EXPECT_EQ(std::get<broker::QueueReject>(std::get<node::Write>(f.request).command).receipt, 7u);
  EXPECT_EQ(f.answers, std::vector<std::uint64_t>{7});
  f = frame(StreamKind::queue, R"({"extend":7,"visibility_ms":2000})");
  EXPECT_EQ(std::get<broker::QueueExtend>(std::get<node::Write>(f.request).command),
            (broker::QueueExtend{7, Duration::seconds(2)}));
  EXPECT_TRUE(f.answers.empty());  // still this client's to answer
  f = frame(StreamKind::queue, R"({"resend":7,"to":"jobs.later"})");
  EXPECT_EQ(std::get<broker::QueueResend>(std::get<node::Write>(f.request).command), (broker::QueueResend{7, "jobs.later"}));
  EXPECT_EQ(f.answers, std::vector<std::uint64_t>{7});
}

TEST(WsFrames, QueueFrameErrors) {
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"ack":1,"reject":1})"), "one of ack, reject, extend or resend per frame");
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"ref":1})"),
            R"(a queue stream takes {"ack": R}, {"reject": R}, {"extend": R, "visibility_ms": V} or {"resend": R, "to": C})");
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"ack":"5"})"), "field 'ack' must be a receipt or an array of receipts");
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"ack":[]})"), "field 'ack' is empty");
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"extend":1})"), "field 'visibility_ms' is required and must be positive");
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"ack":1,"visibility_ms":5})"), "field 'visibility_ms' goes with extend");
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"ack":1,"nack":1})"), "unknown field 'nack'");
  EXPECT_EQ(frame_error(StreamKind::queue, R"({"ack":1,"ref":[1]})"), "field 'ref' must be a string or a non-negative integer");
  EXPECT_EQ(frame_error(StreamKind::queue, "ack 5").substr(0, 27), "the frame is not valid JSON");
  // A refused frame still echoes a ref it could read.
  EXPECT_EQ(frame(StreamKind::queue, R"({"ack":"x","ref":"r"})").ref, "\"r\"");
}

TEST(WsFrames, RpcResponses) {
  WsFrame f = frame(StreamKind::rpc, R"({"respond":"77","executed":true,"body":"done","ref":1})");
  ASSERT_FALSE(f.error);
  const auto r = std::get<node::RpcRespond>(f.request);
  EXPECT_EQ(r.rpc_id, 77u);
  EXPECT_TRUE(r.executed);
  EXPECT_EQ(r.body, "done");
  EXPECT_EQ(frame_error(StreamKind::rpc, R"({"executed":true})"), "field 'respond' is required");
  EXPECT_EQ(frame_error(StreamKind::rpc, R"({"respond":"77","rpc_id":"77"})"), "unknown field 'rpc_id'");
}

TEST(WsFrames, SubscriptionsTakeNoFrames) {
  EXPECT_EQ(frame_error(StreamKind::events, R"({"ack":1})"), "this stream only sends; it takes no frames");
  EXPECT_EQ(frame_error(StreamKind::store, "{}"), "this stream only sends; it takes no frames");
}

TEST(WsFrames, ServerFrames) {
  WsSpec s;
  s.kind = StreamKind::queue;
  s.channel = "jobs";
  EXPECT_EQ(ws_subscribed_frame(s), R"({"type":"subscribed","stream":"queue","channel":"jobs"})");
  EXPECT_EQ(ws_reply_frame("\"a1\"", node::ClientReply{2, {}, kNoNode, broker::Reply{broker::AckResult{1, {}}}}),
            R"({"type":"reply","ref":"a1","status":200,"result":{"acked":1,"stale":[]}})");
  EXPECT_EQ(ws_reply_frame("", node::ClientReply{2, Status(Code::not_found, "receipt 9 is stale"), kNoNode, {}}),
            R"({"type":"reply","status":404,"error":{"code":"not_found","message":"receipt 9 is stale"}})");
  EXPECT_EQ(ws_error_frame("3", bad_request("no")), R"({"type":"reply","ref":3,"status":400,"error":{"code":"invalid_argument","message":"no"}})");
  EXPECT_EQ(ws_stream_error_frame(Status(Code::unavailable, "no leader")),
            R"({"type":"error","error":{"code":"unavailable","message":"no leader"}})");
}

}  // namespace
}  // namespace sluice::http
