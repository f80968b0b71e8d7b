// A follower that fell behind the leader's snapshot catches up by
// InstallSnapshot (label `integration`), with sluiced processes on
// loopback: the leader compacts its log every 50 entries; a follower is
// killed with SIGKILL, more than that is written without it, and once it
// comes back (on its own data) the entries it lacks are gone from the
// leader's log, so it must install the leader's snapshot. It then serves
// what was acknowledged while it was down from its own applied state, and
// takes writes again.
//
// Not an empty disk: a Raft server that forgot its log and votes must not
// rejoin as the member it was (it could vote twice in a term, or help
// elect a leader that lacks committed entries); its peers refuse it until
// it is removed and added back as a new member (data_loss_test.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/net/server/process_cluster.h"
#include "tests/storage/temp_dir.h"

#ifndef SLUICED_BINARY
#error "SLUICED_BINARY must name the sluiced executable"
#endif

namespace sluice::net {
namespace {

using nlohmann::json;
using testing::eventually;
using testing::http_ok;
using testing::metric;
using testing::ProcessCluster;
using testing::TempDir;

constexpr int kSnapshotEvery = 50;
constexpr int kPublishes = 70;
constexpr int kSends = 70;

// Writes through the HTTP port, each with an idempotency key so that a
// retry after a 503 or 504 is applied once.
void publish(std::uint16_t port, const std::string& channel, int seq) {
  const json body = {{"body", "event " + std::to_string(seq)}, {"producer_id", "it"}, {"producer_seq", seq}};
  const auto answer = http_ok(port, "POST", "/v1/store/" + channel, body.dump());
  ASSERT_EQ(answer.status, 200) << answer.body;
}
void send(std::uint16_t port, const std::string& channel, int seq) {
  const json body = {{"body", "job " + std::to_string(seq)}, {"producer_id", "it"}, {"producer_seq", seq}};
  const auto answer = http_ok(port, "POST", "/v1/queues/" + channel + "/send", body.dump());
  ASSERT_EQ(answer.status, 200) << answer.body;
}
json get_json(std::uint16_t port, const std::string& target) {
  const auto answer = http_ok(port, "GET", target);
  EXPECT_EQ(answer.status, 200) << target << ": " << answer.body;
  return answer.status == 200 ? json::parse(answer.body) : json::object();
}

TEST(SnapshotCatchUp, AFollowerBehindTheLeadersSnapshotInstallsIt) {
  TempDir dir("sluice-it");
  ProcessCluster cluster(SLUICED_BINARY, 3, dir.path(), {"--snapshot-every", std::to_string(kSnapshotEvery)});
  const int leader_at = cluster.wait_leader();
  ASSERT_GE(leader_at, 0) << "no leader within the bound";
  const auto leader = static_cast<std::size_t>(leader_at);
  const std::size_t follower = (leader + 1) % cluster.size();
  const std::uint16_t leader_http = cluster.node(leader).http_port;

  // Some data on every node, then the follower dies and misses the rest.
  publish(leader_http, "audit", 1);
  send(leader_http, "jobs", 1);
  cluster.kill(follower);
  for (int i = 2; i <= kPublishes; ++i) publish(leader_http, "audit", i);
  for (int i = 2; i <= kSends; ++i) send(leader_http, "jobs", i);
  const auto compacted = metric(leader_http, "sluice_raft_snapshot_index");
  ASSERT_TRUE(compacted.has_value());
  ASSERT_GE(*compacted, kSnapshotEvery) << "the leader never compacted its log";

  cluster.restart(follower);  // its own data directory, id and peers
  const std::uint16_t follower_http = cluster.node(follower).http_port;

  // Caught up: it applied everything the leader had committed when asked.
  const auto commit = metric(leader_http, "sluice_raft_commit_index");
  ASSERT_TRUE(commit.has_value());
  EXPECT_TRUE(eventually([&] { return metric(follower_http, "sluice_raft_applied_index").value_or(0) >= *commit; }))
      << "the restarted follower did not reach the leader's commit index " << *commit;
  EXPECT_GE(metric(follower_http, "sluice_raft_snapshots_installed_total").value_or(0), 1)
      << "it caught up without installing a snapshot";
  EXPECT_GE(metric(follower_http, "sluice_raft_snapshot_index").value_or(0), *compacted);

  // Reads through the follower come from its own applied state.
  const json store = get_json(follower_http, "/v1/store/audit/stats");
  EXPECT_EQ(store.value("count", -1), kPublishes) << store.dump();
  EXPECT_EQ(store.value("last_seq", -1), kPublishes) << store.dump();
  const json queue = get_json(follower_http, "/v1/queues/jobs/stats");
  EXPECT_EQ(queue.value("ready", -1), kSends) << queue.dump();
  const json peek = get_json(follower_http, "/v1/queues/jobs/peek?max=1");
  ASSERT_EQ(peek["messages"].size(), 1u) << peek.dump();
  EXPECT_EQ(peek["messages"][0].value("body", ""), "job 1");

  // The cluster takes writes through the restarted node, and it applies them.
  publish(follower_http, "audit", kPublishes + 1);
  send(follower_http, "jobs", kSends + 1);
  EXPECT_TRUE(eventually([&] {
    return get_json(follower_http, "/v1/store/audit/stats").value("last_seq", -1) == kPublishes + 1;
  }));
  EXPECT_TRUE(eventually([&] {
    return get_json(follower_http, "/v1/queues/jobs/stats").value("ready", -1) == kSends + 1;
  }));
}

}  // namespace
}  // namespace sluice::net
