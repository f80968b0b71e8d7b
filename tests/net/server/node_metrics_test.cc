// /metrics of a real node: a single-node cluster that took a queue send and
// an events store publish shows its Raft state, storage latencies and
// per-channel depths in the Prometheus text, read from its HTTP port.
#include <gtest/gtest.h>

#include "net/server/node_metrics.h"
#include "tests/net/server/local_cluster.h"
#include "tests/net/server/test_client.h"

namespace sluice::net {
namespace {

using testing::LocalCluster;
using testing::queue_send;
using testing::TempDir;
using testing::TestClient;

bool has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST(NodeMetrics, ShowTheNodesRaftStateStorageAndChannels) {
  TempDir dir("sluice-net");
  LocalCluster cluster(1, dir.path());
  const NodeId node(1);
  ASSERT_EQ(cluster.wait_leader(), node);
  TestClient client(cluster.client_port(node));
  ASSERT_TRUE(client.hello());
  ASSERT_TRUE(client.request(queue_send("jobs", "a")).status.ok());
  ASSERT_TRUE(client.request(queue_send("jobs", "b")).status.ok());
  broker::StorePublish publish;
  publish.message.channel = "orders";
  publish.message.body = "order 1";
  ASSERT_TRUE(client.request(node::Write{broker::Command(publish), Duration{}}).status.ok());

  const testing::HttpAnswer metrics = testing::http_request(cluster.http_port(node), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string& text = metrics.body;
  EXPECT_TRUE(has(text, "sluice_raft_is_leader 1\n")) << text;
  EXPECT_TRUE(has(text, "sluice_raft_leader 1\n")) << text;
  EXPECT_TRUE(has(text, "sluice_raft_proposals_total 3\n")) << text;
  EXPECT_TRUE(has(text, "sluice_client_connections 1\n")) << text;
  EXPECT_TRUE(has(text, "sluice_queue_messages{channel=\"jobs\",state=\"ready\"} 2\n")) << text;
  EXPECT_TRUE(has(text, "sluice_queue_sent_total{channel=\"jobs\"} 2\n")) << text;
  EXPECT_TRUE(has(text, "sluice_store_messages{channel=\"orders\"} 1\n")) << text;
  EXPECT_TRUE(has(text, "sluice_storage_fsync_seconds_count ")) << text;
  EXPECT_FALSE(has(text, "sluice_storage_fsync_seconds_count 0\n")) << "every acknowledged write was fsynced";
}

}  // namespace
}  // namespace sluice::net
