// The gateway's WebSocket streams on loopback, over a fake ClientHub:
// subscriptions, the queue consumer loop with its prefetch bound, RPC
// responders (answering over the socket or over REST), and slow consumers.
#include <nlohmann/json.hpp>

#include "tests/net/http/harness.h"

namespace sluice::http::testing {
namespace {

using Json = nlohmann::json;

broker::StoredMessage message(std::string channel, std::uint64_t seq, std::string body) {
  return broker::StoredMessage{"m" + std::to_string(seq), std::move(channel), "", std::move(body), {}, "", Timestamp{0}, seq};
}

broker::Delivery delivery(std::uint64_t receipt, std::string body) {
  return broker::Delivery{message("jobs", receipt, std::move(body)), receipt, 1, Timestamp{0}, Timestamp{0}, "", ""};
}

Json next(WsClient& c) {
  auto frame = c.read();
  EXPECT_TRUE(frame.has_value()) << c.error().message();
  return frame ? Json::parse(*frame) : Json();
}

class WebSocketTest : public GatewayTest {
 protected:
  // The hub answers every subscription with ok.
  void accept_subscriptions() {
    hub_.on_submit = [this](NodeId c, const node::ClientRequest& r) {
      if (std::holds_alternative<node::SubscribeEvents>(r.body) || std::holds_alternative<node::SubscribeStore>(r.body) ||
          std::holds_alternative<node::SubscribeRpc>(r.body)) {
        hub_.reply(c, r.request_id);
      }
    };
  }
  // The receives a queue stream has sent, in order.
  std::vector<broker::QueueReceive> receives() const {
    std::vector<broker::QueueReceive> out;
    for (const auto& s : hub_.submitted) {
      if (const auto* w = std::get_if<node::Write>(&s.request.body)) {
        if (const auto* r = std::get_if<broker::QueueReceive>(&w->command)) out.push_back(*r);
      }
    }
    return out;
  }
};

TEST_F(WebSocketTest, EventsStreamDeliversAsTextFrames) {
  start();
  accept_subscriptions();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/events/orders.*?group=billing"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  ASSERT_EQ(hub_.submitted.size(), 1u);
  const auto sub = std::get<node::SubscribeEvents>(hub_.submitted[0].request.body);
  EXPECT_EQ(sub.pattern, "orders.*");
  EXPECT_EQ(sub.group, "billing");
  const NodeId client = hub_.submitted[0].client;
  hub_.send(client, node::EventDelivery{sub.sub_id, message("orders.eu", 0, "one")});
  hub_.send(client, node::EventDelivery{sub.sub_id, message("orders.us", 0, "two")});
  Json f = next(*c);
  EXPECT_EQ(f["type"], "event");
  EXPECT_EQ(f["message"]["body"], "one");
  EXPECT_EQ(next(*c)["message"]["channel"], "orders.us");
  EXPECT_EQ(gateway_->stats().websockets_open, 1u);
  c->close();
  ASSERT_TRUE(drive([&] { return !hub_.is_connected(client); }));
  ASSERT_TRUE(drive([&] { return gateway_->stats().websockets_open == 0; }));
}

TEST_F(WebSocketTest, StoreStreamStartsWhereAsked) {
  start();
  accept_subscriptions();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/store/audit?from=seq:5"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  const auto sub = std::get<node::SubscribeStore>(hub_.submitted.at(0).request.body);
  EXPECT_EQ(sub.start.from, node::StartFrom::sequence);
  EXPECT_EQ(sub.start.seq, 5u);
  hub_.send(hub_.submitted[0].client, node::StoreDelivery{sub.sub_id, message("audit", 5, "five")});
  const Json f = next(*c);
  EXPECT_EQ(f["type"], "store");
  EXPECT_EQ(f["message"]["seq"], 5);
}

TEST_F(WebSocketTest, ARefusedSubscriptionSaysWhyAndCloses) {
  start();
  hub_.on_submit = [&](NodeId c, const node::ClientRequest& r) {
    hub_.reply(c, r.request_id, Status(Code::unavailable, "this node has too many subscriptions"));
  };
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/events/a"));
  const Json f = next(*c);
  EXPECT_EQ(f["type"], "error");
  EXPECT_EQ(f["error"]["message"], "this node has too many subscriptions");
  EXPECT_EQ(c->read(), std::nullopt);
  EXPECT_EQ(c->reason().code, websocket::close_code::policy_error);
  EXPECT_EQ(c->reason_text(), "subscribe refused: this node has too many subscriptions");
  ASSERT_TRUE(drive([&] { return hub_.open() == 0; }));
}

TEST_F(WebSocketTest, BadStreamsAreRefusedBeforeTheUpgrade) {
  start();
  unsigned status = 0;
  auto c = ws();
  EXPECT_FALSE(c->handshake("/v1/ws/store/a.*", &status));
  EXPECT_EQ(status, 400u);
  auto d = ws();
  EXPECT_FALSE(d->handshake("/v1/ws/nothing/a", &status));
  EXPECT_EQ(status, 404u);
  EXPECT_TRUE(hub_.connected.empty());
}

TEST_F(WebSocketTest, QueueStreamKeepsAtMostPrefetchUnanswered) {
  start();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/queues/jobs?prefetch=2&visibility_ms=5000"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  ASSERT_TRUE(drive([&] { return receives().size() == 1; }));
  EXPECT_EQ(receives()[0], (broker::QueueReceive{"jobs", 2, Duration::seconds(5), ""}));
  const NodeId client = hub_.submitted[0].client;
  EXPECT_EQ(std::get<node::Write>(hub_.submitted[0].request.body).wait, Duration::seconds(30));

  // Two messages: the client now holds its prefetch, so no receive goes out.
  hub_.reply(client, hub_.submitted[0].request.request_id, {},
             broker::Reply{broker::ReceiveResult{{delivery(11, "a"), delivery(12, "b")}}});
  Json f = next(*c);
  EXPECT_EQ(f["type"], "queue");
  EXPECT_EQ(f["message"]["receipt"], 11);
  EXPECT_EQ(next(*c)["message"]["body"], "b");
  io_.poll();
  EXPECT_EQ(receives().size(), 1u);

  // An ack settles one; the stream asks for one more.
  c->write(R"({"ack":11,"ref":"x"})");
  ASSERT_TRUE(drive([&] { return hub_.submitted.size() == 2; }));
  const auto& ack = hub_.submitted[1];
  EXPECT_EQ(std::get<broker::QueueAck>(std::get<node::Write>(ack.request.body).command).receipts,
            std::vector<std::uint64_t>{11});
  hub_.reply(client, ack.request.request_id, {}, broker::Reply{broker::AckResult{1, {}}});
  f = next(*c);
  EXPECT_EQ(f["type"], "reply");
  EXPECT_EQ(f["ref"], "x");
  EXPECT_EQ(f["result"]["acked"], 1);
  ASSERT_TRUE(drive([&] { return receives().size() == 2; }));
  EXPECT_EQ(receives()[1].max_messages, 1u);

  // An empty receive (the wait ran out) is simply asked again.
  hub_.reply(client, hub_.submitted.back().request.request_id, {}, broker::Reply{broker::ReceiveResult{}});
  ASSERT_TRUE(drive([&] { return receives().size() == 3; }));
}

TEST_F(WebSocketTest, AClosedQueueStreamHandsBackWhatItHeldUnanswered) {
  start();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/queues/jobs?prefetch=3"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  ASSERT_TRUE(drive([&] { return receives().size() == 1; }));
  const NodeId client = hub_.submitted[0].client;
  hub_.reply(client, hub_.submitted[0].request.request_id, {},
             broker::Reply{broker::ReceiveResult{{delivery(21, "a"), delivery(22, "b"), delivery(23, "c")}}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(next(*c)["type"], "queue");
  c->write(R"({"ack":21})");
  ASSERT_TRUE(drive([&] { return hub_.submitted.size() == 2; }));
  hub_.reply(client, hub_.submitted[1].request.request_id, {}, broker::Reply{broker::AckResult{1, {}}});
  EXPECT_EQ(next(*c)["type"], "reply");
  const std::size_t before = hub_.submitted.size();
  c->close();
  ASSERT_TRUE(drive([&] { return !hub_.is_connected(client); }));
  // 22 and 23 go back to the queue at once, before the client leaves the
  // hub; 21 was acked and is not touched.
  std::vector<std::uint64_t> rejected;
  for (std::size_t i = before; i < hub_.submitted.size(); ++i) {
    EXPECT_EQ(hub_.submitted[i].client, client);
    const auto& w = std::get<node::Write>(hub_.submitted[i].request.body);
    if (const auto* r = std::get_if<broker::QueueReject>(&w.command)) rejected.push_back(r->receipt);
  }
  EXPECT_EQ(rejected, (std::vector<std::uint64_t>{22, 23}));
}

TEST_F(WebSocketTest, QueueStreamRetriesWithoutALeaderAndStopsOnARealError) {
  GatewayOptions o;
  o.stream_retry = Duration::millis(10);
  start(o);
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/queues/jobs"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  ASSERT_TRUE(drive([&] { return receives().size() == 1; }));
  const NodeId client = hub_.submitted[0].client;
  hub_.reply(client, hub_.submitted[0].request.request_id, Status(Code::unavailable, "no leader is known"));
  EXPECT_EQ(next(*c)["error"]["code"], "unavailable");
  ASSERT_TRUE(drive([&] { return receives().size() == 2; }));
  hub_.reply(client, hub_.submitted[1].request.request_id, Status(Code::invalid_argument, "bad"));
  EXPECT_EQ(next(*c)["error"]["code"], "invalid_argument");
  EXPECT_EQ(c->read(), std::nullopt);
  EXPECT_EQ(c->reason_text(), "receive refused: bad");
}

TEST_F(WebSocketTest, BadFramesGetAReplyAndTheStreamGoesOn) {
  start();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/queues/jobs"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  c->write(R"({"ack":"eleven","ref":4})");
  Json f = next(*c);
  EXPECT_EQ(f["status"], 400);
  EXPECT_EQ(f["ref"], 4);
  EXPECT_EQ(f["error"]["message"], "field 'ack' must be a receipt or an array of receipts");
  c->write_binary("\x01\x02");
  EXPECT_EQ(next(*c)["error"]["message"], "frames are JSON text, not binary");
  c->write("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
  EXPECT_EQ(next(*c)["error"]["message"], "the frame nests deeper than 16 levels");
  // Still serving.
  c->write(R"({"reject":3})");
  ASSERT_TRUE(drive([&] { return hub_.submitted.size() == 2; }));
}

TEST_F(WebSocketTest, ARespondFrameAnswersAnRpc) {
  start();
  accept_subscriptions();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/rpc/commands/svc.restart"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  const NodeId responder = hub_.submitted[0].client;
  hub_.send(responder, node::RpcIncoming{1, 0xfedcba9876543210ull, node::RpcKind::command, message("svc.restart", 0, "now")});
  const Json in = next(*c);
  EXPECT_EQ(in["type"], "rpc");
  EXPECT_EQ(in["rpc_id"], "18364758544493064720");
  EXPECT_EQ(in["kind"], "command");
  c->write(R"({"respond":")" + in["rpc_id"].get<std::string>() + R"(","executed":true,"ref":1})");
  ASSERT_TRUE(drive([&] { return hub_.submitted.size() == 2; }));
  EXPECT_EQ(hub_.submitted[1].client, responder);
  const auto r = std::get<node::RpcRespond>(hub_.submitted[1].request.body);
  EXPECT_EQ(r.rpc_id, 0xfedcba9876543210ull);
  EXPECT_TRUE(r.executed);
  hub_.reply(responder, hub_.submitted[1].request.request_id);
  EXPECT_EQ(next(*c)["status"], 200);
}

TEST_F(WebSocketTest, AnRpcReceivedOnASocketCanBeAnsweredOverRest) {
  start();
  accept_subscriptions();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/rpc/queries/svc.get"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  const NodeId responder = hub_.submitted[0].client;
  hub_.send(responder, node::RpcIncoming{1, 99, node::RpcKind::query, message("svc.get", 0, "q")});
  EXPECT_EQ(next(*c)["rpc_id"], "99");

  // The answer must reach the node as the socket's client: the node takes
  // answers only from the client it asked.
  hub_.on_submit = [&](NodeId from, const node::ClientRequest& req) {
    EXPECT_EQ(from, responder);
    hub_.reply(from, req.request_id);
  };
  HttpClient client = http();
  Response r = client.call("POST", "/v1/rpc/respond", R"({"rpc_id":"99","body":"answer"})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(std::get<node::RpcRespond>(hub_.submitted.back().request.body).body, "answer");
  // Answered: a second answer has nowhere to go.
  r = client.call("POST", "/v1/rpc/respond", R"({"rpc_id":"99","body":"again"})");
  EXPECT_EQ(r.status, 404u);
  r = client.call("POST", "/v1/rpc/respond", R"({"rpc_id":"12345"})");
  EXPECT_EQ(r.status, 404u);
}

TEST_F(WebSocketTest, ASlowConsumerIsClosedWithAReason) {
  GatewayOptions o;
  o.ws_queue_frames_max = 4;
  start(o);
  accept_subscriptions();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/events/firehose"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  const NodeId client = hub_.submitted[0].client;
  // The node pushes faster than the socket drains: all in one turn of the loop.
  for (int i = 0; i < 100 && hub_.is_connected(client); ++i) {
    hub_.send(client, node::EventDelivery{1, message("firehose", 0, std::to_string(i))});
  }
  int frames = 0;
  while (c->read().has_value()) ++frames;
  EXPECT_LE(frames, 4);
  EXPECT_EQ(c->reason().code, websocket::close_code::policy_error);
  EXPECT_EQ(c->reason_text(), "slow consumer: over 4 frames or 16777216 bytes waiting to be sent");
  ASSERT_TRUE(drive([&] { return !hub_.is_connected(client); }));
  EXPECT_EQ(gateway_->stats().slow_consumers_closed, 1u);
}

TEST_F(WebSocketTest, StopClosesStreams) {
  start();
  accept_subscriptions();
  auto c = ws();
  ASSERT_TRUE(c->handshake("/v1/ws/events/a"));
  EXPECT_EQ(next(*c)["type"], "subscribed");
  gateway_->stop();
  EXPECT_EQ(hub_.open(), 0u);
  hub_.forbid_calls();
  EXPECT_EQ(c->read(), std::nullopt);
}

TEST_F(WebSocketTest, AStreamThatNeverAnswersPingsIsClosed) {
  GatewayOptions o;
  o.idle_timeout = Duration::millis(200);
  start(o);
  accept_subscriptions();
  // A raw TCP client that completes the upgrade and then never reads or
  // answers: Beast's idle timeout (with pings) closes it.
  HttpClient raw = http();
  raw.write_raw(
      "GET /v1/ws/events/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_TRUE(raw.closed_by_server());
  ASSERT_TRUE(drive([&] { return hub_.open() == 0; }));
}

}  // namespace
}  // namespace sluice::http::testing
