// Three real nodes in one process, on loopback sockets and RocksDB: the
// runtime end to end, short of separate processes (those are in
// sluiced_test.cc). Every wait polls with a generous bound; nothing asserts
// how long anything took.
#include <gtest/gtest.h>

#include <set>

#include "tests/net/server/local_cluster.h"
#include "tests/net/server/test_client.h"

namespace sluice::net {
namespace {

using testing::LocalCluster;
using testing::queue_receive;
using testing::queue_send;
using testing::TempDir;
using testing::TestClient;

// Sends until the cluster says ok: right after an election a node may not
// know the leader yet (unavailable), which a client retries.
node::ClientReply request_ok(TestClient& client, const std::function<node::RequestBody()>& body) {
  for (int attempt = 0;; ++attempt) {
    node::ClientReply reply = client.request(body());
    if (reply.status.ok() || reply.status.code() != Code::unavailable || attempt == 200) return reply;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::vector<std::string> bodies(const node::ClientReply& reply) {
  std::vector<std::string> out;
  const auto* r = std::get_if<broker::Reply>(&reply.body);
  if (r == nullptr) return out;
  if (const auto* received = std::get_if<broker::ReceiveResult>(r)) {
    for (const auto& d : received->deliveries) out.push_back(d.message.body);
  }
  return out;
}

NodeId other_than(const LocalCluster& cluster, std::set<NodeId> not_these) {
  for (NodeId id : cluster.ids()) {
    if (!not_these.contains(id)) return id;
  }
  return kNoNode;
}

TEST(LocalCluster, ElectsALeaderAndCommitsAQueueSendThroughAFollower) {
  TempDir dir("sluice-net");
  LocalCluster cluster(3, dir.path());
  const NodeId leader = cluster.wait_leader();
  ASSERT_NE(leader, kNoNode) << "no leader within the bound";
  const NodeId follower = other_than(cluster, {leader});
  const NodeId third = other_than(cluster, {leader, follower});

  TestClient producer(cluster.client_port(follower));
  ASSERT_TRUE(producer.hello("test"));
  const node::ClientReply sent = request_ok(producer, [] { return queue_send("jobs", "hello"); });
  ASSERT_TRUE(sent.status.ok()) << sent.status.to_string();

  // The send is committed: every node applies it.
  const LogIndex committed = cluster.status(leader).commit;
  for (int i = 0; i < 1000; ++i) {
    bool all = true;
    for (NodeId id : cluster.ids()) all = all && cluster.status(id).applied >= committed;
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (NodeId id : cluster.ids()) EXPECT_GE(cluster.status(id).applied, committed) << "node " << to_string(id);

  TestClient consumer(cluster.client_port(third));
  ASSERT_TRUE(consumer.hello());
  const node::ClientReply received = request_ok(consumer, [] { return queue_receive("jobs", 10); });
  ASSERT_TRUE(received.status.ok()) << received.status.to_string();
  EXPECT_EQ(bodies(received), (std::vector<std::string>{"hello"}));
}

TEST(LocalCluster, EveryNodeIsReadyAndServesRestThroughItsHttpPort) {
  TempDir dir("sluice-net");
  LocalCluster cluster(3, dir.path());
  const NodeId leader = cluster.wait_leader();
  ASSERT_NE(leader, kNoNode);
  for (NodeId id : cluster.ids()) {
    testing::HttpAnswer ready;
    for (int i = 0; i < 500 && ready.status != 200; ++i) {
      ready = testing::http_request(cluster.http_port(id), "GET", "/readyz");
      if (ready.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(ready.status, 200) << "node " << to_string(id) << ": " << ready.body;
  }
  const NodeId follower = other_than(cluster, {leader});
  const auto sent = testing::http_request(cluster.http_port(follower), "POST", "/v1/queues/jobs/send",
                                          R"({"body":"over http"})");
  EXPECT_EQ(sent.status, 200) << sent.body;
  const auto received = testing::http_request(cluster.http_port(leader), "POST", "/v1/queues/jobs/receive",
                                              R"({"max":10})");
  EXPECT_EQ(received.status, 200) << received.body;
  EXPECT_NE(received.body.find("over http"), std::string::npos) << received.body;
}

TEST(LocalCluster, AcknowledgedWritesSurviveARestartOfEveryNode) {
  TempDir dir("sluice-net");
  std::set<std::string> acked;
  {
    LocalCluster cluster(3, dir.path());
    const NodeId leader = cluster.wait_leader();
    ASSERT_NE(leader, kNoNode);
    TestClient producer(cluster.client_port(other_than(cluster, {leader})));
    ASSERT_TRUE(producer.hello());
    for (int i = 0; i < 20; ++i) {
      const std::string body = "m" + std::to_string(i);
      const node::ClientReply reply = request_ok(producer, [&] { return queue_send("durable", body, "p", i + 1); });
      ASSERT_TRUE(reply.status.ok()) << reply.status.to_string();
      acked.insert(body);
    }
    for (NodeId id : cluster.ids()) cluster.stop(id);
    // Every node comes back from its RocksDB directory alone.
    for (NodeId id : cluster.ids()) cluster.restart(id);
    ASSERT_NE(cluster.wait_leader(), kNoNode) << "no leader after the restart";
    TestClient consumer(cluster.client_port(cluster.ids().front()));
    ASSERT_TRUE(consumer.hello());
    const node::ClientReply received = request_ok(consumer, [] { return queue_receive("durable", 100); });
    ASSERT_TRUE(received.status.ok()) << received.status.to_string();
    const auto got = bodies(received);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), acked);
    EXPECT_EQ(got.size(), acked.size()) << "no message twice";
  }
}

TEST(LocalCluster, AGracefulShutdownOfTheLeaderHandsLeadershipOver) {
  TempDir dir("sluice-net");
  LocalCluster cluster(3, dir.path());
  const NodeId leader = cluster.wait_leader();
  ASSERT_NE(leader, kNoNode);
  cluster.shutdown(leader);
  EXPECT_FALSE(cluster.is_leader(leader)) << "it left as leader: the transfer did not happen";
  cluster.stop(leader);
  const NodeId next = cluster.wait_leader();
  EXPECT_NE(next, kNoNode);
  EXPECT_NE(next, leader);
  // The two that remain still commit.
  TestClient client(cluster.client_port(next));
  ASSERT_TRUE(client.hello());
  EXPECT_TRUE(request_ok(client, [] { return queue_send("after", "x"); }).status.ok());
}

}  // namespace
}  // namespace sluice::net
