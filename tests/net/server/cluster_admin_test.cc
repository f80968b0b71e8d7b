// Cluster changes on real processes (label `integration`), made with the
// `sluice` CLI as an operator would (docs/operations.md, "Changing the
// cluster"): move leadership to a chosen node; replace a node by adding a
// fourth, started empty with --join, which catches up by snapshot because
// the leader compacted past what it needs; remove the old node; and check
// that the cluster serves and the new node holds what was written before it
// joined. Every wait polls with a generous bound; nothing asserts a
// duration.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/net/server/process_cluster.h"
#include "tests/storage/temp_dir.h"

#ifndef SLUICED_BINARY
#error "SLUICED_BINARY must name the sluiced executable"
#endif
#ifndef SLUICE_BINARY
#error "SLUICE_BINARY must name the sluice executable"
#endif

namespace sluice::net {
namespace {

using nlohmann::json;
using testing::eventually;
using testing::http_ok;
using testing::metric;
using testing::ProcessCluster;
using testing::TempDir;

constexpr int kSnapshotEvery = 20;
constexpr int kPublishes = 60;

struct Cli : testing::Cli {
  json value() const { return json::parse(out, nullptr, false); }
};

Cli sluice(ProcessCluster& cluster, const std::vector<std::size_t>& indexes, const std::string& command) {
  return Cli{testing::run_cli(SLUICE_BINARY, cluster, indexes, command)};
}

void publish(std::uint16_t http_port, int seq) {
  const json body = {{"body", "order " + std::to_string(seq)}, {"producer_id", "it"}, {"producer_seq", seq}};
  const auto answer = http_ok(http_port, "POST", "/v1/store/orders", body.dump());
  ASSERT_EQ(answer.status, 200) << answer.body;
}

json store_stats(std::uint16_t http_port) {
  const auto answer = http_ok(http_port, "GET", "/v1/store/orders/stats");
  return answer.status == 200 ? json::parse(answer.body, nullptr, false) : json::object();
}

TEST(ClusterAdmin, TransferThenReplaceANodeWithOneAddedEmptyThatCatchesUpBySnapshot) {
  TempDir dir("sluice-admin-it");
  ProcessCluster cluster(SLUICED_BINARY, 3, dir.path(), {"--snapshot-every", std::to_string(kSnapshotEvery)});
  ASSERT_GE(cluster.wait_leader(), 0) << "no leader within the bound";
  const std::vector<std::size_t> first = {0, 1, 2};

  // Leadership to node 3, whoever leads now; a node that is not a voter is
  // refused (exit 1).
  const Cli moved = sluice(cluster, first, "cluster transfer-leader 3");
  ASSERT_EQ(moved.exit_code, 0) << moved.out;
  EXPECT_EQ(moved.value()["leader"], 3) << moved.out;
  EXPECT_EQ(moved.value()["voters"], json({1, 2, 3})) << moved.out;
  EXPECT_EQ(sluice(cluster, first, "cluster transfer-leader 7").exit_code, 1);

  // Enough writes for the leader to compact well past the start of its log.
  for (int seq = 1; seq <= kPublishes; ++seq) publish(cluster.node(2).http_port, seq);
  const auto compacted = metric(cluster.node(2).http_port, "sluice_raft_snapshot_index");
  ASSERT_TRUE(compacted.has_value());
  ASSERT_GE(*compacted, kSnapshotEvery) << "the leader never compacted its log";

  // Node 4 starts empty and waits; the leader adds it by its peer address.
  const std::size_t fourth = cluster.add_joiner();
  const std::string address = "127.0.0.1:" + std::to_string(cluster.node(fourth).peer_port);
  const Cli bad = sluice(cluster, first, "cluster add 4 no-port-here");
  EXPECT_EQ(bad.exit_code, 1) << "an address that is not host:port is refused: " << bad.out;
  const Cli added = sluice(cluster, first, "cluster add 4 " + address);
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_EQ(added.value()["voters"], json({1, 2, 3, 4})) << added.out;

  // It caught up by snapshot, and what was written before it joined is in
  // its own applied state.
  const std::uint16_t http4 = cluster.node(fourth).http_port;
  EXPECT_TRUE(eventually([&] { return store_stats(http4).value("last_seq", -1) == kPublishes; }))
      << store_stats(http4).dump();
  EXPECT_GE(metric(http4, "sluice_raft_snapshots_installed_total").value_or(0), 1)
      << "it caught up without a snapshot";
  EXPECT_TRUE(eventually([&] { return http_ok(http4, "GET", "/readyz").status == 200; }));

  // It takes writes (forwarded to the leader).
  const Cli via_4 = sluice(cluster, {fourth}, "store pub orders order-61");
  ASSERT_EQ(via_4.exit_code, 0) << via_4.out;
  EXPECT_EQ(via_4.value()["seq"], kPublishes + 1) << via_4.out;

  // Node 1 leaves and stops; the rest, node 4 among them, keep a quorum.
  const Cli removed = sluice(cluster, first, "cluster remove 1");
  ASSERT_EQ(removed.exit_code, 0) << removed.out;
  EXPECT_EQ(removed.value()["voters"], json({2, 3, 4})) << removed.out;
  cluster.kill(0);
  const std::vector<std::size_t> rest = {1, 2, fourth};
  const Cli after = sluice(cluster, rest, "store pub orders order-62");
  ASSERT_EQ(after.exit_code, 0) << after.out;
  EXPECT_EQ(after.value()["seq"], kPublishes + 2) << after.out;
  const Cli status = sluice(cluster, rest, "cluster status");
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_EQ(sluice(cluster, rest, "cluster remove 1").exit_code, 1) << "node 1 is no longer a voter";
}

}  // namespace
}  // namespace sluice::net
