// The HTTP port end to end against three sluiced processes (label
// `integration`), as a curl or browser user would use it (docs/rest.md):
// each pattern through REST and WebSocket, with writes on one node and reads
// or subscriptions on another; the probes and /metrics; and bad input that
// gets a 4xx JSON error while the node keeps serving. The HTTP gateway's
// own tests (tests/net/http) run it against a fake hub; here it is the real
// node behind it.
#include <gtest/gtest.h>

#include <future>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "tests/net/server/process_cluster.h"
#include "tests/storage/temp_dir.h"

#ifndef SLUICED_BINARY
#error "SLUICED_BINARY must name the sluiced executable"
#endif

namespace sluice::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;
using testing::eventually;
using testing::http_ok;
using testing::http_request;
using testing::ProcessCluster;
using testing::TempDir;
using namespace std::chrono_literals;

// One WebSocket to a node's HTTP port, on its own io_context that runs
// only inside next(): a read that did not finish in one call stays pending
// for the next, so a short poll loses no frame.
class WsClient {
 public:
  WsClient(std::uint16_t port, const std::string& target) : ws_(io_) {
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    bool done = false;
    beast::error_code error;
    ws_.async_handshake("127.0.0.1:" + std::to_string(port), target, [&](beast::error_code ec) {
      error = ec;
      done = true;
    });
    io_.run_for(10s);
    if (!done || error) throw std::runtime_error("WebSocket handshake for " + target + " failed: " + error.message());
    io_.restart();
  }
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;
  ~WsClient() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).close(ec);
    io_.restart();
    io_.run_for(1s);  // lets a pending read complete with its error
  }

  // The next frame as JSON, or nullopt if none came within `bound` (or the
  // socket closed: see closed()).
  std::optional<json> next(std::chrono::milliseconds bound = 10s) {
    if (!reading_ && !closed_) {
      reading_ = true;
      buffer_.clear();
      ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
        reading_ = false;
        if (ec) {
          closed_ = true;
          return;
        }
        frames_.push_back(beast::buffers_to_string(buffer_.data()));
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (frames_.empty() && !closed_ && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(10ms);
      if (io_.stopped()) io_.restart();
    }
    if (frames_.empty()) return std::nullopt;
    json frame = json::parse(frames_.front());
    frames_.erase(frames_.begin());
    return frame;
  }
  // The next frame whose "type" is `type`, skipping others, within `bound`.
  std::optional<json> next_of(const std::string& type, std::chrono::milliseconds bound = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      auto frame = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!frame) return std::nullopt;
      if (frame->value("type", "") == type) return frame;
    }
    return std::nullopt;
  }
  void write(const json& frame) {
    ws_.text(true);
    ws_.write(asio::buffer(frame.dump()));
  }
  bool closed() const { return closed_; }

 private:
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::vector<std::string> frames_;
  bool reading_ = false;
  bool closed_ = false;
};

class RestCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<ProcessCluster>(SLUICED_BINARY, 3, dir_.path());
    ASSERT_GE(cluster_->wait_leader(), 0) << "no leader within the bound";
    for (std::size_t i = 0; i < cluster_->size(); ++i) {
      ASSERT_TRUE(eventually([&] { return http_ok(http(i), "GET", "/readyz").status == 200; }))
          << "node " << i + 1 << " is not ready";
    }
  }
  std::uint16_t http(std::size_t i) { return cluster_->node(i).http_port; }
  // A request that must answer 200 with a JSON body (retried while the
  // node answers 503 or 504).
  json ok(std::size_t node, const std::string& method, const std::string& target, const json& body = nullptr) {
    const auto answer = http_ok(http(node), method, target, body.is_null() ? "" : body.dump());
    EXPECT_EQ(answer.status, 200) << method << " " << target << ": " << answer.body;
    return answer.status == 200 ? json::parse(answer.body) : json::object();
  }
  // A request that must be refused with `status` and a JSON error naming
  // `code`; returns the error's message.
  std::string refused(std::size_t node, const std::string& method, const std::string& target,
                      const std::string& body, int status, const std::string& code = "invalid_argument") {
    const auto answer = http_request(http(node), method, target, body);
    EXPECT_EQ(answer.status, status) << method << " " << target << " " << body << ": " << answer.body;
    const json j = json::parse(answer.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << answer.body;
    if (j.is_discarded() || !j.contains("error")) return "";
    EXPECT_EQ(j["error"].value("code", ""), code) << answer.body;
    return j["error"].value("message", "");
  }

  TempDir dir_{"sluice-rest"};
  std::unique_ptr<ProcessCluster> cluster_;
};

TEST_F(RestCluster, ProbesAndMetricsAnswerOnEveryNode) {
  for (std::size_t i = 0; i < cluster_->size(); ++i) {
    const json health = ok(i, "GET", "/healthz");
    EXPECT_EQ(health.value("status", ""), "alive") << health.dump();
    const json ready = ok(i, "GET", "/readyz");
    EXPECT_EQ(ready.value("status", ""), "ready") << ready.dump();
    const auto metrics = http_request(http(i), "GET", "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find("\nsluice_raft_term "), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("\nsluice_raft_snapshots_installed_total 0\n"), std::string::npos) << metrics.body;
  }
}

TEST_F(RestCluster, StorePublishedOnOneNodeIsReadFromFirstOnAnother) {
  for (int seq = 1; seq <= 3; ++seq) {
    const json published = ok(0, "POST", "/v1/store/audit",
                              {{"body", "login " + std::to_string(seq)}, {"producer_id", "web"}, {"producer_seq", seq}});
    EXPECT_EQ(published.value("seq", 0), seq) << published.dump();
    EXPECT_EQ(published.value("duplicate", true), false);
  }
  // A retry with the same key is answered, not applied again.
  const json again = ok(2, "POST", "/v1/store/audit", {{"body", "login 3"}, {"producer_id", "web"}, {"producer_seq", 3}});
  EXPECT_EQ(again.value("duplicate", false), true) << again.dump();
  EXPECT_EQ(again.value("seq", 0), 3);

  WsClient sub(http(1), "/v1/ws/store/audit?from=first");
  for (int seq = 1; seq <= 3; ++seq) {
    const auto frame = sub.next_of("store");
    ASSERT_TRUE(frame.has_value()) << "store message " << seq << " never came";
    EXPECT_EQ((*frame)["message"].value("seq", 0), seq) << frame->dump();
    EXPECT_EQ((*frame)["message"].value("body", ""), "login " + std::to_string(seq));
    EXPECT_EQ((*frame)["message"].value("channel", ""), "audit");
  }
  const json stats = ok(1, "GET", "/v1/store/audit/stats");
  EXPECT_EQ(stats.value("count", 0), 3) << stats.dump();
}

TEST_F(RestCluster, QueueSendReceiveAckAndStatsAcrossNodes) {
  const json sent = ok(0, "POST", "/v1/queues/jobs/send", {{"body", "resize img-1"}, {"producer_id", "p"}, {"producer_seq", 1}});
  ASSERT_EQ(sent["messages"].size(), 1u) << sent.dump();
  EXPECT_EQ(sent["messages"][0].value("seq", 0), 1) << sent.dump();
  const json received = ok(1, "POST", "/v1/queues/jobs/receive", {{"max", 10}, {"wait_ms", 5000}});
  ASSERT_EQ(received["messages"].size(), 1u) << received.dump();
  const json& message = received["messages"][0];
  EXPECT_EQ(message.value("body", ""), "resize img-1");
  EXPECT_EQ(message.value("receive_count", 0), 1);
  const json acked = ok(2, "POST", "/v1/queues/jobs/ack", {{"receipts", {message["receipt"]}}});
  EXPECT_EQ(acked.value("acked", 0), 1) << acked.dump();
  EXPECT_EQ(acked["stale"], json::array());
  // Every node applies the ack; stats come from each node's applied state.
  for (std::size_t i = 0; i < cluster_->size(); ++i) {
    json stats;
    EXPECT_TRUE(eventually([&] {
      stats = ok(i, "GET", "/v1/queues/jobs/stats");
      return stats.value("acked", 0) == 1;
    })) << stats.dump();
    EXPECT_EQ(stats.value("ready", -1), 0) << stats.dump();
    EXPECT_EQ(stats.value("in_flight", -1), 0) << stats.dump();
    EXPECT_EQ(stats.value("sent", -1), 1) << stats.dump();
  }
}

TEST_F(RestCluster, AnEventPublishedOverRestReachesAWebSocketSubscriberOnAnotherNode) {
  WsClient sub(http(1), "/v1/ws/events/news.%3E");
  const auto subscribed = sub.next_of("subscribed");
  ASSERT_TRUE(subscribed.has_value());
  EXPECT_EQ(subscribed->value("channel", ""), "news.>") << subscribed->dump();
  // At most once, and node 3 learns of the subscription from node 2's
  // registry (within about a second): publish until one arrives.
  std::optional<json> event;
  for (int i = 0; i < 100 && !event; ++i) {
    const json published = ok(2, "POST", "/v1/events/news.sport", {{"body", "goal"}, {"tags", {{"minute", "90"}}}});
    EXPECT_TRUE(published.contains("id")) << published.dump();
    event = sub.next_of("event", 100ms);
  }
  ASSERT_TRUE(event.has_value()) << "no event reached the subscriber";
  EXPECT_EQ((*event)["message"].value("body", ""), "goal");
  EXPECT_EQ((*event)["message"].value("channel", ""), "news.sport");
  EXPECT_EQ((*event)["message"]["tags"].value("minute", ""), "90");
}

TEST_F(RestCluster, CommandsAndQueriesReachAWebSocketResponderOnAnotherNode) {
  WsClient commands(http(0), "/v1/ws/rpc/commands/billing.charge");
  WsClient queries(http(0), "/v1/ws/rpc/queries/prices.get");
  ASSERT_TRUE(commands.next_of("subscribed").has_value());
  ASSERT_TRUE(queries.next_of("subscribed").has_value());

  // Calls a channel on node 3 (in the background: the call waits for our
  // answer) and answers it on the responder socket with `answer`. Until
  // node 3 learns of the responder it answers 404 and we call again.
  auto call = [&](WsClient& responder, const std::string& target, json answer) -> std::optional<json> {
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto pending = std::async(std::launch::async, [&] {
        return http_request(http(2), "POST", target, json{{"body", "sku-1"}, {"timeout_ms", 5000}}.dump());
      });
      std::optional<json> rpc;
      while (!rpc && pending.wait_for(0s) != std::future_status::ready) rpc = responder.next_of("rpc", 50ms);
      if (rpc) {
        EXPECT_EQ((*rpc)["message"].value("body", ""), "sku-1") << rpc->dump();
        answer["respond"] = (*rpc)["rpc_id"];
        responder.write(answer);
      }
      const auto reply = pending.get();
      if (reply.status == 404 && !rpc) {
        std::this_thread::sleep_for(100ms);
        continue;
      }
      EXPECT_EQ(reply.status, 200) << reply.body;
      return json::parse(reply.body, nullptr, false);
    }
    return std::nullopt;
  };
  const auto executed = call(commands, "/v1/commands/billing.charge", {{"executed", true}});
  ASSERT_TRUE(executed.has_value()) << "no responder was ever found";
  EXPECT_EQ(executed->value("executed", false), true) << executed->dump();
  const auto price = call(queries, "/v1/queries/prices.get", {{"body", "9.99"}, {"metadata", "EUR"}});
  ASSERT_TRUE(price.has_value()) << "no responder was ever found";
  EXPECT_EQ(price->value("body", ""), "9.99") << price->dump();
  EXPECT_EQ(price->value("metadata", ""), "EUR") << price->dump();
  EXPECT_EQ(price->value("from_cache", true), false);
}

TEST_F(RestCluster, BadInputGetsAJsonErrorAndTheNodeKeepsServing) {
  refused(0, "POST", "/v1/queues/jobs/send", "{not json", 400);
  refused(0, "POST", "/v1/queues/jobs/send", "[1,2]", 400);
  EXPECT_NE(refused(0, "POST", "/v1/queues/jobs/send", R"({"bodyy":"x"})", 400).find("bodyy"), std::string::npos);
  EXPECT_NE(refused(0, "POST", "/v1/queues/jobs/receive", R"({"max":"ten"})", 400).find("max"), std::string::npos);
  refused(1, "POST", "/v1/store/bad..name", R"({"body":"x"})", 400);
  refused(1, "POST", "/v1/events/a%20b", R"({"body":"x"})", 400);
  refused(1, "GET", "/v1/store/audit/stats?nope=1", "", 400);
  refused(2, "GET", "/v1/no/such/route", "", 404, "not_found");
  refused(2, "GET", "/v1/queues/jobs/send", "", 405, "method_not_allowed");
  refused(2, "GET", "/v1/ws/events/news", "", 426, "upgrade_required");
  // The nodes still serve.
  for (std::size_t i = 0; i < cluster_->size(); ++i) EXPECT_EQ(http_request(http(i), "GET", "/healthz").status, 200);
  const json sent = ok(0, "POST", "/v1/queues/jobs/send", {{"body", "fine"}, {"producer_id", "p"}, {"producer_seq", 1}});
  EXPECT_EQ(sent["messages"].size(), 1u) << sent.dump();
  const json peek = ok(0, "GET", "/v1/queues/jobs/peek?max=5");
  ASSERT_EQ(peek["messages"].size(), 1u) << peek.dump();
  EXPECT_EQ(peek["messages"][0].value("body", ""), "fine");
}

// The broker's limits are sluiced configuration: a node started with
// smaller ones refuses what is over them, naming the limit, and takes the rest.
TEST(RestLimits, ANodeStartedWithSmallerLimitsRefusesWhatIsOverThem) {
  TempDir dir("sluice-rest-limits");
  ProcessCluster cluster(SLUICED_BINARY, 1, dir.path(), {"--body-bytes-max", "1KiB", "--send-batch-max", "2"});
  ASSERT_GE(cluster.wait_leader(), 0) << "no leader within the bound";
  const std::uint16_t port = cluster.node(0).http_port;
  const auto big = http_ok(port, "POST", "/v1/store/audit", json{{"body", std::string(1025, 'x')}}.dump());
  EXPECT_EQ(big.status, 400) << big.body;
  EXPECT_NE(big.body.find("body is 1025 bytes; the limit is 1024"), std::string::npos) << big.body;
  const json three = {{"messages", json::array({{{"body", "a"}}, {{"body", "b"}}, {{"body", "c"}}})}};
  const auto batch = http_ok(port, "POST", "/v1/queues/jobs/send", three.dump());
  EXPECT_EQ(batch.status, 400) << batch.body;
  EXPECT_NE(batch.body.find("the limit is 2"), std::string::npos) << batch.body;
  // Nothing of either was stored, and what fits is taken.
  const auto fits = http_ok(port, "POST", "/v1/store/audit", json{{"body", std::string(1024, 'x')}}.dump());
  ASSERT_EQ(fits.status, 200) << fits.body;
  EXPECT_EQ(json::parse(fits.body).value("seq", 0), 1) << "the refused publish took no sequence";
  const json two = {{"messages", json::array({{{"body", "d"}}, {{"body", "e"}}})}};
  ASSERT_EQ(http_ok(port, "POST", "/v1/queues/jobs/send", two.dump()).status, 200);
  const auto peek = http_ok(port, "GET", "/v1/queues/jobs/peek?max=5");
  ASSERT_EQ(peek.status, 200) << peek.body;
  const json peeked = json::parse(peek.body);
  ASSERT_EQ(peeked["messages"].size(), 2u) << peek.body;
  EXPECT_EQ(peeked["messages"][0].value("body", ""), "d");
  EXPECT_EQ(peeked["messages"][1].value("body", ""), "e");
}

}  // namespace
}  // namespace sluice::net
