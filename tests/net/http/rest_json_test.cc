// Node replies and pushes as JSON (net/http/rest.h, docs/rest.md
// "Responses"): the exact text for each reply type, status mapping, and
// bytes that are not UTF-8.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/http/rest.h"
#include "net/http/websocket_api.h"

namespace sluice::http {
namespace {

using Json = nlohmann::json;

constexpr Timestamp kT{1'700'000'000'123'456'789};

node::ClientReply ok_reply(node::ReplyBody body) { return node::ClientReply{1, {}, kNoNode, std::move(body)}; }

broker::StoredMessage msg(std::uint64_t seq, std::string body = "hi") {
  return broker::StoredMessage{"m1", "orders", "meta", std::move(body), {{"k", "v"}}, "c1", kT, seq};
}

const char* kMessageJson =
    R"({"id":"m1","channel":"orders","seq":3,"timestamp":"2023-11-14T22:13:20.123456789Z",)"
    R"("timestamp_ns":1700000000123456789,"client_id":"c1","metadata":"meta","body":"hi","tags":{"k":"v"}})";

TEST(RestJson, Published) {
  const auto r = reply_to_json(ok_reply(broker::Reply{broker::Published{"m1", 3, kT, true}}));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"id":"m1","seq":3,"timestamp":"2023-11-14T22:13:20.123456789Z",)"
                    R"("timestamp_ns":1700000000123456789,"duplicate":true})");
  // An event has no sequence.
  EXPECT_EQ(reply_to_json(ok_reply(broker::Reply{broker::Published{"e1", 0, kT, false}})).body,
            R"({"id":"e1","timestamp":"2023-11-14T22:13:20.123456789Z","timestamp_ns":1700000000123456789,)"
            R"("duplicate":false})");
}

TEST(RestJson, SendResult) {
  const auto r = reply_to_json(ok_reply(broker::Reply{broker::SendResult{{{"a", 1, kT, false}, {"b", 2, kT, false}}}}));
  const Json j = Json::parse(r.body);
  ASSERT_EQ(j["messages"].size(), 2u);
  EXPECT_EQ(j["messages"][1]["id"], "b");
  EXPECT_EQ(j["messages"][1]["seq"], 2);
}

TEST(RestJson, ReceivedDeliveries) {
  broker::Delivery d{msg(3), 42, 2, kT, Timestamp{kT.ns + 30'000'000'000}, "max receive count", "jobs"};
  const auto r = reply_to_json(ok_reply(broker::Reply{broker::ReceiveResult{{d}}}));
  std::string want = kMessageJson;
  want.pop_back();
  want += R"(,"receipt":42,"receive_count":2,"delivered_at":"2023-11-14T22:13:20.123456789Z",)"
          R"("visible_again_at":"2023-11-14T22:13:50.123456789Z","dead_letter_reason":"max receive count",)"
          R"("dead_letter_from":"jobs"})";
  EXPECT_EQ(r.body, R"({"messages":[)" + want + "]}");
  // No dead-letter fields for an ordinary delivery; none at all for an empty receive.
  d.dead_letter_reason.clear();
  d.dead_letter_from.clear();
  EXPECT_EQ(Json::parse(reply_to_json(ok_reply(broker::Reply{broker::ReceiveResult{{d}}})).body)["messages"][0].count(
                "dead_letter_reason"),
            0u);
  EXPECT_EQ(reply_to_json(ok_reply(broker::Reply{broker::ReceiveResult{}})).body, R"({"messages":[]})");
}

TEST(RestJson, AckPurgeDone) {
  EXPECT_EQ(reply_to_json(ok_reply(broker::Reply{broker::AckResult{2, {7}}})).body, R"({"acked":2,"stale":[7]})");
  EXPECT_EQ(reply_to_json(ok_reply(broker::Reply{broker::Purged{5}})).body, R"({"purged":5})");
  EXPECT_EQ(reply_to_json(ok_reply(broker::Reply{broker::Done{}})).body, "{}");
  EXPECT_EQ(reply_to_json(ok_reply(std::monostate{})).body, "{}");
}

TEST(RestJson, PeekAndStats) {
  EXPECT_EQ(reply_to_json(ok_reply(std::vector<broker::StoredMessage>{msg(3)})).body,
            std::string(R"({"messages":[)") + kMessageJson + "]}");
  EXPECT_EQ(reply_to_json(ok_reply(broker::QueueStats{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})).body,
            R"({"ready":1,"delayed":2,"in_flight":3,"bytes":4,"sent":5,"delivered":6,"acked":7,"rejected":8,)"
            R"("expired":9,"dead_lettered":10,"purged":11,"resent":12})");
  broker::StoreStats s{1, 9, 9, 100, 9, 0, broker::Retention{Duration::seconds(60), 1 << 30, 0}};
  EXPECT_EQ(reply_to_json(ok_reply(s)).body,
            R"({"first_seq":1,"last_seq":9,"count":9,"bytes":100,"published":9,"trimmed":0,)"
            R"("retention":{"age_ms":60000,"bytes_max":1073741824,"count_max":0}})");
}

TEST(RestJson, ChannelsAndRpcAnswers) {
  EXPECT_EQ(reply_to_json(ok_reply(std::vector<node::ChannelInfo>{{"queues", "jobs", 3, 1, 10, 0}})).body,
            R"({"channels":[{"kind":"queues","name":"jobs","messages":3,"in_flight":1,"total":10,"subscribers":0}]})");
  EXPECT_EQ(reply_to_json(ok_reply(node::RpcAnswer{true, "", "m", "answer", {{"a", "b"}}, true})).body,
            R"({"executed":true,"error":"","metadata":"m","body":"answer","tags":{"a":"b"},"from_cache":true})");
}

TEST(RestJson, BytesThatAreNotUtf8) {
  // A binary body travels as base64; other text gets U+FFFD rather than failing.
  broker::StoredMessage m = msg(1, std::string("\xff\x00", 2));
  m.metadata = "bad\xc3";
  const Json j = Json::parse(reply_to_json(ok_reply(std::vector<broker::StoredMessage>{m})).body)["messages"][0];
  EXPECT_EQ(j.count("body"), 0u);
  EXPECT_EQ(j["body_base64"], "/wA=");
  EXPECT_EQ(j["metadata"], "bad\xef\xbf\xbd");
}

TEST(RestJson, ErrorsMapToStatuses) {
  struct Case {
    Code code;
    unsigned status;
  };
  for (const Case c : {Case{Code::invalid_argument, 400}, Case{Code::not_found, 404}, Case{Code::timeout, 504},
                       Case{Code::unavailable, 503}, Case{Code::poisoned, 503}, Case{Code::no_space, 507},
                       Case{Code::corruption, 500}, Case{Code::io_error, 500}, Case{Code::version_mismatch, 500}}) {
    const auto r = reply_to_json(node::ClientReply{1, Status(c.code, "why"), kNoNode, {}});
    EXPECT_EQ(r.status, c.status) << code_name(c.code);
    EXPECT_EQ(r.body, std::string(R"({"error":{"code":")") + code_name(c.code) + R"(","message":"why"}})");
    EXPECT_EQ(r.retry, c.code == Code::unavailable || c.code == Code::poisoned);
  }
  const auto r = reply_to_json(node::ClientReply{1, Status(Code::unavailable, "not the leader"), NodeId(3), {}});
  EXPECT_EQ(r.body, R"({"error":{"code":"unavailable","message":"not the leader","leader_hint":3}})");
  EXPECT_EQ(error_to_json(HttpError{405, "method_not_allowed", "use GET", "GET"}).body,
            R"({"error":{"code":"method_not_allowed","message":"use GET"}})");
}

TEST(RestJson, Pushes) {
  EXPECT_EQ(event_to_json(node::EventDelivery{1, msg(0)}),
            R"({"type":"event","message":{"id":"m1","channel":"orders","timestamp":"2023-11-14T22:13:20.123456789Z",)"
            R"("timestamp_ns":1700000000123456789,"client_id":"c1","metadata":"meta","body":"hi","tags":{"k":"v"}}})");
  EXPECT_EQ(store_to_json(node::StoreDelivery{1, msg(3)}), std::string(R"({"type":"store","message":)") + kMessageJson + "}");
  EXPECT_EQ(rpc_incoming_to_json(node::RpcIncoming{1, 18446744073709551615ull, node::RpcKind::query, msg(0)}).substr(0, 61),
            R"({"type":"rpc","rpc_id":"18446744073709551615","kind":"query",)");
}

}  // namespace
}  // namespace sluice::http
