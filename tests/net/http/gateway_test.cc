// The HTTP side of the gateway (net/http/gateway.h) on loopback, over a
// fake ClientHub: REST calls through the hub, errors answered without it,
// system endpoints, limits, and clients that misbehave.
#include <nlohmann/json.hpp>

#include "tests/net/http/harness.h"

namespace sluice::http::testing {
namespace {

using Json = nlohmann::json;

broker::Published published(std::string id, std::uint64_t seq) { return {std::move(id), seq, Timestamp{0}, false}; }

TEST_F(GatewayTest, ARestCallGoesThroughItsOwnHubClient) {
  start();
  hub_.on_submit = [&](NodeId c, const node::ClientRequest& r) {
    hub_.reply(c, r.request_id, {}, broker::Reply{published("m1", 7)});  // answered inside submit
  };
  HttpClient client = http();
  const Response r = client.call("POST", "/v1/store/orders", R"({"body":"hello"})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Json::parse(r.body)["seq"], 7);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  ASSERT_EQ(hub_.submitted.size(), 1u);
  const auto& w = std::get<node::Write>(hub_.submitted[0].request.body);
  EXPECT_EQ(std::get<broker::StorePublish>(w.command).message.body, "hello");
  // The client is gone once the answer is out.
  EXPECT_EQ(hub_.disconnected, hub_.connected);
  EXPECT_EQ(hub_.open(), 0u);
}

TEST_F(GatewayTest, KeepAliveServesRequestsInTurnEachWithAFreshClient) {
  start();
  std::vector<NodeId> waiting;
  hub_.on_submit = [&](NodeId c, const node::ClientRequest&) { waiting.push_back(c); };
  HttpClient client = http();
  for (int i = 0; i < 3; ++i) {
    client.send("GET", "/v1/queues/q/stats");
    client.start_read();
    ASSERT_TRUE(drive([&] { return waiting.size() == static_cast<std::size_t>(i + 1); }));
    hub_.reply(waiting.back(), 1, {}, broker::QueueStats{static_cast<std::uint64_t>(i)});
    ASSERT_TRUE(drive([&] { return client.done(); }));
    EXPECT_EQ(Json::parse(client.result().body)["ready"], i);
    EXPECT_TRUE(client.result().keep_alive);
  }
  EXPECT_EQ(hub_.connected.size(), 3u);
  EXPECT_NE(hub_.connected[0], hub_.connected[1]);
}

TEST_F(GatewayTest, NodeErrorsKeepTheirMeaning) {
  start();
  hub_.on_submit = [&](NodeId c, const node::ClientRequest& r) {
    hub_.reply(c, r.request_id, Status(Code::unavailable, "not the leader"), {}, NodeId(2));
  };
  HttpClient client = http();
  Response r = client.call("POST", "/v1/queues/q/send", R"({"body":"x"})");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.header("Retry-After"), "1");
  EXPECT_EQ(r.body, R"({"error":{"code":"unavailable","message":"not the leader","leader_hint":2}})" "\n");
  hub_.on_submit = [&](NodeId c, const node::ClientRequest& r2) {
    hub_.reply(c, r2.request_id, Status(Code::not_found, "no channel 'q'"));
  };
  r = client.call("GET", "/v1/queues/q/stats");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(Json::parse(r.body)["error"]["message"], "no channel 'q'");
}

TEST_F(GatewayTest, BadRequestsAreAnsweredWithoutTheNode) {
  start();
  HttpClient client = http();
  Response r = client.call("POST", "/v1/events/a", "{nope");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "invalid_argument");
  r = client.call("POST", "/v1/evnts/a", "{}");
  EXPECT_EQ(r.status, 404u);
  r = client.call("GET", "/v1/events/a");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("Allow"), "POST");
  r = client.call("GET", "/v1/ws/events/a");
  EXPECT_EQ(r.status, 426u);
  r = client.call("POST", "/metrics");
  EXPECT_EQ(r.status, 405u);
  EXPECT_TRUE(r.keep_alive);  // errors of the request, not of the connection
  EXPECT_TRUE(hub_.connected.empty());
  EXPECT_EQ(gateway_->stats().responses_4xx, 5u);
}

TEST_F(GatewayTest, ABodyOverTheLimitIs413AndTheConnectionCloses) {
  GatewayOptions o;
  o.rest.body_bytes_max = 64;
  start(o);
  HttpClient client = http();
  Response r = client.call("POST", "/v1/events/a", R"({"body":")" + std::string(100, 'x') + "\"}");
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "payload_too_large");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(client.closed_by_server());
  // Exactly the limit is fine.
  hub_.on_submit = [&](NodeId c, const node::ClientRequest& req) {
    hub_.reply(c, req.request_id, {}, broker::Reply{published("e", 0)});
  };
  HttpClient again = http();
  const std::string body = R"({"body":")" + std::string(64 - 11, 'x') + "\"}";
  ASSERT_EQ(body.size(), 64u);
  EXPECT_EQ(again.call("POST", "/v1/events/a", body).status, 200u);
}

TEST_F(GatewayTest, Expect100ContinueIsAnswered) {
  start();
  hub_.on_submit = [&](NodeId c, const node::ClientRequest& req) {
    hub_.reply(c, req.request_id, {}, broker::Reply{published("e", 0)});
  };
  HttpClient client = http();
  const std::string body = R"({"body":")" + std::string(2000, 'x') + "\"}";
  client.write_raw("POST /v1/events/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  // The interim 100 arrives before we send the body (Beast reads it as a response of its own).
  Response interim = client.read();
  EXPECT_EQ(interim.status, 100u);
  client.write_raw(body);
  EXPECT_EQ(client.read().status, 200u);
}

TEST_F(GatewayTest, HeadersOverTheLimitAre431) {
  GatewayOptions o;
  o.header_bytes_max = 512;
  start(o);
  HttpClient client = http();
  const Response r = client.call("GET", "/v1/channels", "", {{"X-Big", std::string(1000, 'h')}});
  EXPECT_EQ(r.status, 431u);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(GatewayTest, GarbageGets400AndAClose) {
  start();
  HttpClient client = http();
  client.write_raw("THIS IS NOT HTTP\r\n\r\n");
  const Response r = client.read();
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(hub_.connected.empty());
}

TEST_F(GatewayTest, APartialRequestIsClosedAfterTheIdleTimeout) {
  GatewayOptions o;
  o.idle_timeout = Duration::millis(100);
  start(o);
  HttpClient client = http();
  client.write_raw("POST /v1/events/a HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"bo");
  EXPECT_TRUE(client.closed_by_server());
  HttpClient idle = http();
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_TRUE(hub_.connected.empty());
}

TEST_F(GatewayTest, TheNodeNotAnsweringIs504AndTheClientIsReleased) {
  GatewayOptions o;
  o.reply_grace = Duration::millis(50);
  start(o);
  HttpClient client = http();
  const Response r = client.call("POST", "/v1/store/s", "{}");
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "timeout");
  EXPECT_EQ(hub_.disconnected, hub_.connected);
  EXPECT_EQ(gateway_->stats().timeouts, 1u);
}

TEST_F(GatewayTest, AClientThatHangsUpDuringALongReceiveEndsItsWait) {
  start();
  HttpClient client = http();
  client.send("POST", "/v1/queues/jobs/receive", R"({"wait_ms":30000})");
  ASSERT_TRUE(drive([&] { return hub_.submitted.size() == 1; }));
  EXPECT_EQ(std::get<node::Write>(hub_.submitted[0].request.body).wait, Duration::seconds(30));
  const NodeId c = hub_.submitted[0].client;
  EXPECT_TRUE(hub_.is_connected(c));
  client.close();
  // The node is told at once, not after the wait: no message goes to a
  // connection that is gone.
  ASSERT_TRUE(drive([&] { return !hub_.is_connected(c); }));
}

TEST_F(GatewayTest, ALateReplyAfterTheClientLeftIsDropped) {
  start();
  NodeId c = kNoNode;
  hub_.on_submit = [&](NodeId client, const node::ClientRequest&) { c = client; };
  {
    HttpClient client = http();
    client.send("POST", "/v1/queues/jobs/receive", R"({"wait_ms":5000})");
    ASSERT_TRUE(drive([&] { return c != kNoNode; }));
    // The node answers, and in the same turn of the loop the client hangs up.
    hub_.reply(c, 1, {}, broker::Reply{broker::ReceiveResult{}});
    client.close();
  }
  ASSERT_TRUE(drive([&] { return hub_.open() == 0; }));
  io_.poll();
}

TEST_F(GatewayTest, SystemEndpoints) {
  start();
  HttpClient client = http();
  Response r = client.call("GET", "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, metrics_);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  r = client.call("GET", "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"status":"alive","detail":"no leader yet"})" "\n");
  r = client.call("GET", "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body, R"({"status":"not_ready","detail":"no leader yet"})" "\n");
  health_ = Health{true, true, "leader 1, applied 42 of 42"};
  r = client.call("GET", "/readyz?verbose=1");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Json::parse(r.body)["status"], "ready");
  health_.alive = false;
  EXPECT_EQ(client.call("GET", "/healthz").status, 503u);
  EXPECT_TRUE(hub_.connected.empty());
}

TEST_F(GatewayTest, ConnectionsOverTheLimitAreRefusedWith503) {
  GatewayOptions o;
  o.connections_max = 1;
  start(o);
  HttpClient first = http();
  EXPECT_EQ(first.call("GET", "/healthz").status, 200u);  // now surely accepted and open
  HttpClient second = http();
  second.send("GET", "/healthz");
  const Response r = second.read();
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(Json::parse(r.body)["error"]["message"], "too many connections to this HTTP port");
  EXPECT_EQ(gateway_->stats().connections_refused, 1u);
  EXPECT_EQ(first.call("GET", "/healthz").status, 200u);  // the first is unharmed
}

TEST_F(GatewayTest, StopDisconnectsEveryClientAndClosesSockets) {
  start();
  HttpClient client = http();
  client.send("POST", "/v1/queues/jobs/receive", R"({"wait_ms":30000})");
  ASSERT_TRUE(drive([&] { return hub_.open() == 1; }));
  gateway_->stop();
  EXPECT_EQ(hub_.open(), 0u);
  hub_.forbid_calls();
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(gateway_->port(), 0);
  gateway_->stop();  // idempotent
}

TEST_F(GatewayTest, StartRefusesAnAddressItCannotUse) {
  HttpGateway g(io_, hub_, {}, [] { return std::string(); }, [] { return Health{}; });
  const Status s = g.start("not-an-ip", 0);
  EXPECT_EQ(s.code(), Code::invalid_argument);
  start();
  HttpGateway taken(io_, hub_, {}, [] { return std::string(); }, [] { return Health{}; });
  EXPECT_EQ(taken.start("127.0.0.1", gateway_->port()).code(), Code::unavailable);
}

}  // namespace
}  // namespace sluice::http::testing
