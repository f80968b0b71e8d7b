// sluice-bench as a real process (label `integration`) against three
// in-process nodes on loopback sockets and RocksDB: a few hundred messages
// with 16 in flight, for the events store and for queues, every one
// acknowledged and (queues) received and acked exactly once. Checks counts
// and exit codes, never a duration or a rate.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/net/server/local_cluster.h"
#include "tests/storage/temp_dir.h"

#ifndef SLUICE_BENCH_BINARY
#error "SLUICE_BENCH_BINARY must name the sluice-bench executable"
#endif

namespace sluice::bench {
namespace {

using testing::LocalCluster;
using testing::TempDir;
using json = nlohmann::json;
using namespace std::chrono_literals;

struct Ran {
  int exit_code = -1;  // -1: did not exit within the bound (then killed)
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs sluice-bench to the end (at most `bound`), its output in files.
Ran run_bench(const std::vector<std::string>& args, const std::string& dir, std::chrono::seconds bound = 120s) {
  const std::string out = dir + "/out", err = dir + "/err";
  const pid_t pid = ::fork();
  SLUICE_ASSERT(pid >= 0, "fork failed");
  if (pid == 0) {
    ::dup2(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    ::dup2(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    std::vector<char*> argv{const_cast<char*>(SLUICE_BENCH_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(SLUICE_BENCH_BINARY, argv.data());
    ::_exit(127);
  }
  Ran ran;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  ran.out = read_file(out);
  ran.err = read_file(err);
  return ran;
}

class SluiceBenchTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(cluster_.wait_leader(), kNoNode); }

  std::vector<std::string> cluster_flags() {
    std::string servers, http;
    for (NodeId id : cluster_.ids()) {
      servers += (servers.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(cluster_.client_port(id));
      http += (http.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(cluster_.http_port(id));
    }
    return {"--servers", servers, "--http", http};
  }

  json run_json(const std::string& pattern, const std::string& target) {
    std::vector<std::string> args = cluster_flags();
    for (const char* a : {"-n", "300", "--size", "100", "--inflight", "16", "-o", "json"}) args.push_back(a);
    args.insert(args.end(), {"--pattern", pattern, "--target", target});
    const Ran ran = run_bench(args, dir_.path());
    EXPECT_EQ(ran.exit_code, 0) << ran.out << ran.err;
    auto parsed = json::parse(ran.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << ran.out << ran.err;
    return parsed;
  }

  TempDir dir_{"sluice-bench-test"};
  LocalCluster cluster_{3, dir_.path()};
};

TEST_F(SluiceBenchTest, StorePublishesAreAllAcknowledgedOnTheLeader) {
  const json r = run_json("store", "leader");
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["target"]["role"], "leader");
  ASSERT_EQ(r["phases"].size(), 1u);
  const json& publish = r["phases"][0];
  EXPECT_EQ(publish["messages"], 300);
  EXPECT_EQ(publish["errors"], 0);
  EXPECT_EQ(r["check"]["detail"]["acked"], 300);
  EXPECT_EQ(r["check"]["detail"]["bad_sequences"], 0);
  EXPECT_EQ(r["check"]["detail"]["stats_published"], 300);
}

TEST_F(SluiceBenchTest, QueueMessagesAreReceivedAndAckedOnceThroughAFollower) {
  const json r = run_json("queue", "follower");
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["target"]["role"], "follower");
  ASSERT_EQ(r["phases"].size(), 2u);
  EXPECT_EQ(r["phases"][0]["messages"], 300);
  EXPECT_EQ(r["phases"][0]["errors"], 0);
  EXPECT_EQ(r["phases"][1]["messages"], 300);
  EXPECT_EQ(r["phases"][1]["errors"], 0);
  const json& check = r["check"]["detail"];
  EXPECT_EQ(check["sent"], 300);
  EXPECT_EQ(check["received_distinct"], 300);
  EXPECT_EQ(check["acked"], 300);
  EXPECT_EQ(check["unknown"], 0);
  EXPECT_EQ(check["stats"]["waiting"], 0);
  EXPECT_EQ(check["stats"]["in_flight"], 0);
}

TEST_F(SluiceBenchTest, BadFlagsExitTwoWithAMessage) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--pattern", "events"}, {"-n", "0"}, {"--inflight", "x"}, {"--servers", "nohost"}, {"--bogus", "1"}}) {
    const Ran ran = run_bench(args, dir_.path(), 30s);
    EXPECT_EQ(ran.exit_code, 2) << args[0];
    EXPECT_NE(ran.err.find("sluice-bench: "), std::string::npos) << ran.err;
  }
}

}  // namespace
}  // namespace sluice::bench
