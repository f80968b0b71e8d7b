// A node must keep its own data (net/server/identity.h), with sluiced
// processes on loopback (label `integration`):
//  - a node restarted with an empty disk under its old id has forgotten its
//    votes and what it acknowledged; its peers refuse it, with the way out
//    in the message, and the rest of the cluster serves on. The way out:
//    remove it, start it empty with --join, add it back (under the same id
//    here; ClusterAdmin.* does it under a new one); it catches up by
//    snapshot and serves.
//  - a data directory started as another node, or in another cluster, does
//    not start at all (exit code 3).
#include <gtest/gtest.h>

#include <filesystem>

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
using testing::http_request;
using testing::metric;
using testing::Process;
using testing::ProcessCluster;
using testing::read_file;
using testing::run_cli;
using testing::TempDir;
using namespace std::chrono_literals;

void publish(std::uint16_t port, int seq) {
  const json body = {{"body", "event " + std::to_string(seq)}, {"producer_id", "it"}, {"producer_seq", seq}};
  const auto answer = http_ok(port, "POST", "/v1/store/audit", body.dump());
  ASSERT_EQ(answer.status, 200) << answer.body;
}

constexpr int kSnapshotEvery = 20;

TEST(DataLoss, ANodeRestartedEmptyUnderItsOldIdIsRefusedUntilRemovedAndAddedBack) {
  TempDir dir("sluice-it");
  ProcessCluster cluster(SLUICED_BINARY, 3, dir.path(), {"--snapshot-every", std::to_string(kSnapshotEvery)});
  const int leader_at = cluster.wait_leader();
  ASSERT_GE(leader_at, 0) << "no leader within the bound";
  const auto leader = static_cast<std::size_t>(leader_at);
  const std::size_t wiped = (leader + 1) % cluster.size();
  const std::size_t other = (leader + 2) % cluster.size();
  for (int i = 1; i <= 5 * kSnapshotEvery / 4; ++i) publish(cluster.node(leader).http_port, i);
  const int published = 5 * kSnapshotEvery / 4;
  // Every node has applied them, so every node has seen the others' storage ids.
  ASSERT_TRUE(eventually([&] {
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      if (metric(cluster.node(i).http_port, "sluice_raft_applied_index").value_or(0) <
          metric(cluster.node(leader).http_port, "sluice_raft_commit_index").value_or(1)) {
        return false;
      }
    }
    return true;
  }));

  cluster.kill(wiped);
  std::filesystem::remove_all(cluster.node(wiped).data());
  cluster.restart(wiped);  // the same id, peers and ports; an empty disk

  // Its peers refuse it, saying why and what to do.
  const std::string why = "came back with another data directory";
  EXPECT_TRUE(eventually([&] { return read_file(cluster.node(leader).log()).find(why) != std::string::npos; }))
      << read_file(cluster.node(leader).log());
  const std::string leader_log = read_file(cluster.node(leader).log());
  EXPECT_NE(leader_log.find("event=peer.data_lost"), std::string::npos);
  EXPECT_NE(leader_log.find("sluice cluster remove " + to_string(cluster.node(wiped).id)), std::string::npos);
  EXPECT_TRUE(eventually([&] {
    return read_file(cluster.node(wiped).log()).find(why, cluster.node(wiped).log_start) != std::string::npos;
  })) << "the wiped node is told too";

  // It joins nothing: no leader, not ready, and its reads do not answer
  // from its empty state as if the channel did not exist.
  std::this_thread::sleep_for(2s);
  const std::uint16_t wiped_http = cluster.node(wiped).http_port;
  EXPECT_EQ(metric(wiped_http, "sluice_raft_applied_index").value_or(-1), 0);
  EXPECT_NE(http_request(wiped_http, "GET", "/readyz").status, 200u);
  const auto stats = http_request(wiped_http, "GET", "/v1/store/audit/stats");
  EXPECT_NE(stats.status, 200u) << stats.body;
  EXPECT_NE(stats.status, 404u) << "an empty node must not claim the channel is gone: " << stats.body;

  // The other two are a majority, and serve on.
  publish(cluster.node(other).http_port, published + 1);
  const auto after = http_ok(cluster.node(leader).http_port, "GET", "/v1/store/audit/stats");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(json::parse(after.body).value("last_seq", -1), published + 1) << after.body;

  // The way back, as the message says: out of the cluster, then in again,
  // empty and under the same id, as a new member.
  const std::string id = to_string(cluster.node(wiped).id);
  cluster.kill(wiped);
  const std::vector<std::size_t> members = {leader, other};
  const testing::Cli removed = run_cli(SLUICE_BINARY, cluster, members, "cluster remove " + id);
  ASSERT_EQ(removed.exit_code, 0) << removed.out;
  std::filesystem::remove_all(cluster.node(wiped).data());
  cluster.node(wiped).joiner = true;  // --join, and the members as its --peers
  cluster.restart(wiped);
  const std::uint16_t back_http = cluster.node(wiped).http_port;  // restart may move it
  const std::string address = "127.0.0.1:" + std::to_string(cluster.node(wiped).peer_port);
  const testing::Cli added = run_cli(SLUICE_BINARY, cluster, members, "cluster add " + id + " " + address);
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_TRUE(eventually([&] {
    const auto s = http_ok(back_http, "GET", "/v1/store/audit/stats");
    return s.status == 200 && json::parse(s.body).value("last_seq", -1) == published + 1;
  })) << "the node added back did not catch up";
  EXPECT_GE(metric(back_http, "sluice_raft_snapshots_installed_total").value_or(0), 1)
      << "the leader compacted past its start: it catches up by snapshot";
  EXPECT_TRUE(eventually([&] { return http_ok(back_http, "GET", "/readyz").status == 200; }));
  EXPECT_NE(read_file(cluster.node(leader).log()).find("event=peer.removed peer=" + id), std::string::npos) << "its old storage id was dropped";
  publish(back_http, published + 2);  // forwarded to the leader
}

TEST(DataLoss, ADataDirectoryStartedAsAnotherNodeOrClusterDoesNotStart) {
  TempDir dir("sluice-it");
  ProcessCluster one(SLUICED_BINARY, 1, dir.sub("one"));
  ASSERT_GE(one.wait_leader(), 0);
  one.kill(0);
  const std::string data = one.node(0).data();
  const std::vector<std::string> ports = {"--bind", "127.0.0.1", "--client-port", "0", "--peer-port", "0",
                                          "--http-port", "0"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), ports.begin(), ports.end());
    return args;
  };
  {
    Process as_two(SLUICED_BINARY, with({"--id", "2", "--cluster", "it", "--data", data}), dir.sub("two.log"));
    EXPECT_EQ(as_two.wait_exit(20s), 3);
    EXPECT_NE(read_file(dir.sub("two.log")).find("this data directory belongs to node 1 of cluster 'it', not to "
                                                  "node 2 of cluster 'it'"),
              std::string::npos)
        << read_file(dir.sub("two.log"));
  }
  {
    Process elsewhere(SLUICED_BINARY, with({"--id", "1", "--cluster", "prod", "--data", data}), dir.sub("prod.log"));
    EXPECT_EQ(elsewhere.wait_exit(20s), 3);
    EXPECT_NE(read_file(dir.sub("prod.log")).find("not to node 1 of cluster 'prod'"), std::string::npos)
        << read_file(dir.sub("prod.log"));
  }
  // Its own node starts on it again.
  one.restart(0);
  EXPECT_GE(one.wait_leader(), 0);
}

}  // namespace
}  // namespace sluice::net
