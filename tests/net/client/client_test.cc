// The client library against three in-process nodes on loopback: every
// pattern through the typed calls, an idempotency key that makes a retry a
// duplicate, and a store subscription that survives its node going away and
// resumes without loss or duplicates. Waits poll with generous bounds;
// nothing asserts a duration.
#include <gtest/gtest.h>

#include <thread>

#include "net/client/client.h"
#include "tests/net/server/local_cluster.h"
#include "tests/storage/temp_dir.h"

namespace sluice::client {
namespace {

using testing::LocalCluster;
using testing::TempDir;
using namespace std::chrono_literals;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(3, dir_.path());
    ASSERT_NE(cluster_->wait_leader(), kNoNode);
  }
  Options options(std::vector<NodeId> nodes = {NodeId(1), NodeId(2), NodeId(3)}) {
    Options o;
    for (NodeId id : nodes) o.servers.push_back("127.0.0.1:" + std::to_string(cluster_->client_port(id)));
    o.request_timeout = 30s;
    o.client_id = "client-test";
    return o;
  }
  static broker::MessageIn message(const std::string& channel, const std::string& body) {
    broker::MessageIn m;
    m.channel = channel;
    m.body = body;
    return m;
  }

  TempDir dir_{"sluice-client"};
  std::unique_ptr<LocalCluster> cluster_;
};

TEST(ParseServers, AcceptsListsAndNamesTheBadEntry) {
  auto ok = parse_servers("a:1,127.0.0.1:50000");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::vector<std::string>{"a:1", "127.0.0.1:50000"}));
  auto bad = parse_servers("a:1,nohost");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'nohost'"), std::string::npos);
  EXPECT_FALSE(parse_servers("a:x").ok());
  EXPECT_FALSE(parse_servers("").ok());
}

TEST(Unreachable, NoServerIsAClearUnavailable) {
  Options o;
  o.servers = {"127.0.0.1:1"};
  o.request_timeout = 1s;
  o.connect_timeout = 500ms;
  Client client(o);
  const Status s = client.connect();
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("127.0.0.1:1"), std::string::npos) << s.to_string();
}

TEST_F(ClientTest, QueueSendReceiveAckThroughAnyNode) {
  Client client(options({NodeId(2)}));
  broker::QueueItem item;
  item.message = message("jobs", "one");
  auto sent = client.send_queue({item});
  ASSERT_TRUE(sent.ok()) << sent.status().to_string();
  ASSERT_EQ(sent->items.size(), 1u);

  auto stats = client.queue_stats("jobs");
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->ready, 1u);
  auto peeked = client.peek("jobs", 10);
  ASSERT_TRUE(peeked.ok());
  ASSERT_EQ(peeked->size(), 1u);
  EXPECT_EQ((*peeked)[0].body, "one");

  broker::QueueReceive receive;
  receive.channel = "jobs";
  auto received = client.receive(receive, Duration::seconds(5));
  ASSERT_TRUE(received.ok()) << received.status().to_string();
  ASSERT_EQ(received->deliveries.size(), 1u);
  EXPECT_EQ(received->deliveries[0].message.body, "one");
  auto acked = client.ack({received->deliveries[0].receipt});
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ(acked->acked, 1u);
  EXPECT_TRUE(acked->stale.empty());
  auto again = client.ack({received->deliveries[0].receipt});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->stale.size(), 1u);
}

TEST_F(ClientTest, SameProducerKeyIsADuplicateNotASecondMessage) {
  Options o = options();
  o.producer_id = "fixed-producer";
  Client first(o);
  Client retry(o);  // a new client with the same producer id replays sequence 1
  auto a = first.publish_store(message("orders", "x"));
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_FALSE(a->duplicate);
  auto b = retry.publish_store(message("orders", "x"));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_TRUE(b->duplicate);
  EXPECT_EQ(b->seq, a->seq);
  auto stats = first.store_stats("orders");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->count, 1u);
}

TEST_F(ClientTest, EventsReachASubscriber) {
  Client subscriber(options({NodeId(1)}));
  std::vector<std::string> bodies;
  auto sub = subscriber.subscribe_events("metrics.>", "", [&](const broker::StoredMessage& m) {
    bodies.push_back(m.body);
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  Client publisher(options({NodeId(3)}));
  // Events are at most once and the subscription reaches other nodes through
  // their registries; publish until one arrives.
  for (int i = 0; i < 300 && bodies.empty(); ++i) {
    ASSERT_TRUE(publisher.publish_event(message("metrics.cpu", "42")).ok());
    ASSERT_TRUE(subscriber.poll(100ms).ok());
  }
  ASSERT_FALSE(bodies.empty());
  EXPECT_EQ(bodies[0], "42");
}

TEST_F(ClientTest, RpcQueryReachesAResponderOnAnotherConnection) {
  Client responder(options({NodeId(1)}));
  auto sub = responder.subscribe_rpc(node::RpcKind::query, "prices", "",
                                     [](node::RpcKind, const broker::StoredMessage& m) {
                                       node::RpcRespond answer;
                                       answer.executed = true;
                                       answer.body = "price of " + m.body;
                                       return answer;
                                     });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  std::atomic<bool> done{false};
  std::thread serve([&] {
    while (!done) ASSERT_TRUE(responder.poll(100ms).ok());
  });
  Client caller(options({NodeId(1)}));
  node::RpcCall call;
  call.kind = node::RpcKind::query;
  call.message = message("prices", "apple");
  call.timeout = Duration::seconds(20);
  auto answer = caller.call(call);
  done = true;
  serve.join();
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->body, "price of apple");
}

TEST_F(ClientTest, StoreSubscriptionResumesOnAnotherNodeWithoutLossOrDuplicates) {
  Client publisher(options());
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(publisher.publish_store(message("log", std::to_string(i))).ok());

  // The subscriber starts on node 1, then node 1 goes away.
  Options o = options({NodeId(1), NodeId(2), NodeId(3)});
  Client subscriber(o);
  std::vector<std::uint64_t> seqs;
  auto sub = subscriber.subscribe_store("log", "", node::StoreStart{node::StartFrom::first, 0, {}, {}},
                                        [&](const broker::StoredMessage& m) { seqs.push_back(m.seq); });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  for (int i = 0; i < 200 && seqs.size() < 3; ++i) ASSERT_TRUE(subscriber.poll(100ms).ok());
  ASSERT_EQ(seqs.size(), 3u);
  ASSERT_EQ(subscriber.node(), NodeId(1));

  cluster_->stop(NodeId(1));
  Options two = options({NodeId(2), NodeId(3)});
  Client publisher2(two);
  for (int i = 4; i <= 6; ++i) {
    auto p = publisher2.publish_store(message("log", std::to_string(i)));
    ASSERT_TRUE(p.ok()) << p.status().to_string();
  }
  for (int i = 0; i < 600 && seqs.size() < 6; ++i) {
    const Status polled = subscriber.poll(100ms);
    ASSERT_TRUE(polled.ok()) << polled.to_string();
  }
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_NE(subscriber.node(), NodeId(1));
  // A publish retried across the leader change was not stored twice.
  auto stats = publisher2.store_stats("log");
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->count, 6u);
}

TEST_F(ClientTest, StoreSubscriptionFromNewMissesNothingPublishedWhileItReconnects) {
  Client publisher(options());
  ASSERT_TRUE(publisher.publish_store(message("feed", "old")).ok());
  Client subscriber(options());
  std::vector<std::string> bodies;
  auto sub = subscriber.subscribe_store("feed", "", node::StoreStart{},
                                        [&](const broker::StoredMessage& m) { bodies.push_back(m.body); });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_EQ(subscriber.node(), NodeId(1));
  // Node 1 goes away before the subscriber saw anything; two messages are
  // published meanwhile.
  cluster_->stop(NodeId(1));
  Client publisher2(options({NodeId(2), NodeId(3)}));
  for (const char* body : {"new-1", "new-2"}) {
    auto p = publisher2.publish_store(message("feed", body));
    ASSERT_TRUE(p.ok()) << p.status().to_string();
  }
  for (int i = 0; i < 600 && bodies.size() < 2; ++i) {
    const Status polled = subscriber.poll(100ms);
    ASSERT_TRUE(polled.ok()) << polled.to_string();
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"new-1", "new-2"}));
}

}  // namespace
}  // namespace sluice::client
