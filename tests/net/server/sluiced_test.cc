// sluiced as real processes on loopback (label `integration`): a 3-node
// cluster serves through any node; kill -9 of the leader during a stream of
// acknowledged sends loses none of them; exit codes for SIGTERM and for
// each startup failure. Every wait polls with a generous bound and nothing
// asserts a duration.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <set>

#include "tests/net/server/process_cluster.h"
#include "tests/storage/temp_dir.h"

#ifndef SLUICED_BINARY
#error "SLUICED_BINARY must name the sluiced executable"
#endif

namespace sluice::net {
namespace {

using testing::connect;
using testing::Process;
using testing::ProcessCluster;
using testing::queue_receive;
using testing::queue_send;
using testing::read_file;
using testing::request_ok;
using testing::TempDir;
using namespace std::chrono_literals;

std::vector<std::string> bodies(const node::ClientReply& reply) {
  std::vector<std::string> out;
  if (const auto* r = std::get_if<broker::Reply>(&reply.body)) {
    if (const auto* received = std::get_if<broker::ReceiveResult>(r)) {
      for (const auto& d : received->deliveries) out.push_back(d.message.body);
    }
  }
  return out;
}

TEST(Sluiced, ThreeProcessesElectALeaderAndServeThroughAnyNode) {
  TempDir dir("sluice-it");
  ProcessCluster cluster(SLUICED_BINARY, 3, dir.path());
  ASSERT_GE(cluster.wait_leader(), 0) << "no leader within the bound";
  auto producer = connect(cluster.node(1).client_port);
  const auto sent = request_ok(*producer, [] { return queue_send("jobs", "across processes", "p", 1); });
  ASSERT_TRUE(sent.status.ok()) << sent.status.to_string();
  auto consumer = connect(cluster.node(2).client_port);
  const auto received = request_ok(*consumer, [] { return queue_receive("jobs", 10); });
  ASSERT_TRUE(received.status.ok()) << received.status.to_string();
  EXPECT_EQ(bodies(received), std::vector<std::string>{"across processes"});
}

TEST(Sluiced, KillNineOfTheLeaderLosesNoAcknowledgedSend) {
  TempDir dir("sluice-it");
  ProcessCluster cluster(SLUICED_BINARY, 3, dir.path());
  const int leader = cluster.wait_leader();
  ASSERT_GE(leader, 0);
  const std::size_t entry = (static_cast<std::size_t>(leader) + 1) % cluster.size();
  auto producer = connect(cluster.node(entry).client_port);
  std::set<std::string> acked;
  for (std::uint64_t seq = 1; seq <= 40; ++seq) {
    if (seq == 15) cluster.node(static_cast<std::size_t>(leader)).process->signal(SIGKILL);
    const std::string body = "m" + std::to_string(seq);
    const auto reply = request_ok(*producer, [&] { return queue_send("durable", body, "producer", seq); });
    ASSERT_TRUE(reply.status.ok()) << "send " << seq << ": " << reply.status.to_string();
    acked.insert(body);
  }
  EXPECT_EQ(cluster.node(static_cast<std::size_t>(leader)).process->wait_exit(10s), 128 + SIGKILL);
  cluster.restart(static_cast<std::size_t>(leader));  // the same data directory and peer port
  auto consumer = connect(cluster.node(static_cast<std::size_t>(leader)).client_port);
  const auto received = request_ok(*consumer, [] { return queue_receive("durable", 100); });
  ASSERT_TRUE(received.status.ok()) << received.status.to_string();
  const auto got = bodies(received);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), acked);
  EXPECT_EQ(got.size(), acked.size()) << "a retried send was applied twice";
}

TEST(Sluiced, SigtermExitsZeroAndStartupFailuresHaveTheirOwnCodes) {
  TempDir dir("sluice-it");
  // A node of its own (retried on fresh ports if one is taken before it
  // binds), whose ports the clash below asks for again.
  ProcessCluster one(SLUICED_BINARY, 1, dir.sub("one"));
  const testing::ProcessNode& node = one.node(0);
  const std::vector<std::string> common = {"--cluster", "it", "--bind", "127.0.0.1", "--client-port",
                                           std::to_string(node.client_port), "--peer-port",
                                           std::to_string(node.peer_port), "--http-port",
                                           std::to_string(node.http_port)};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  {
    Process bad_flag(SLUICED_BINARY, with({"--election-ticks", "many"}), dir.sub("flag.log"));
    EXPECT_EQ(bad_flag.wait_exit(20s), 2);
    EXPECT_NE(read_file(dir.sub("flag.log")).find("--election-ticks"), std::string::npos);
  }
  {
    Process bad_snapshot(SLUICED_BINARY, with({"--snapshot-every", "often"}), dir.sub("snapshot.log"));
    EXPECT_EQ(bad_snapshot.wait_exit(20s), 2);
    EXPECT_NE(read_file(dir.sub("snapshot.log")).find("--snapshot-every: 'often' is not a number"), std::string::npos)
        << read_file(dir.sub("snapshot.log"));
  }
  {
    std::ofstream(dir.sub("a-file")) << "not a directory";
    Process bad_data(SLUICED_BINARY, with({"--data", dir.sub("a-file")}), dir.sub("data.log"));
    EXPECT_EQ(bad_data.wait_exit(20s), 3);
  }
  auto client = connect(node.client_port);  // the node is up and listening
  {
    Process clash(SLUICED_BINARY, with({"--data", dir.sub("data2")}), dir.sub("clash.log"));
    EXPECT_EQ(clash.wait_exit(20s), testing::kExitPortTaken) << "its ports are taken";
    EXPECT_NE(read_file(dir.sub("clash.log")).find("event=startup.listen_failed"), std::string::npos)
        << read_file(dir.sub("clash.log"));
  }
  const auto sent = request_ok(*client, [] { return queue_send("q", "x", "p", 1); });
  EXPECT_TRUE(sent.status.ok()) << sent.status.to_string();
  one.node(0).process->signal(SIGTERM);
  EXPECT_EQ(one.node(0).process->wait_exit(20s), 0);
  EXPECT_NE(read_file(node.log()).find("event=shutdown.done"), std::string::npos);
}

}  // namespace
}  // namespace sluice::net
