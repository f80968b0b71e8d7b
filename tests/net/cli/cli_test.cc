// The sluice CLI as a real process (label `integration`) against three
// in-process nodes on loopback: each pattern end to end, table and JSON
// output, and the documented exit codes. Subscribers run in the background
// and say "subscribed" on stderr once the node accepted them; every wait
// polls with a generous bound and nothing asserts a duration.
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

#ifndef SLUICE_BINARY
#error "SLUICE_BINARY must name the sluice executable"
#endif

namespace sluice::cli {
namespace {

using testing::LocalCluster;
using testing::TempDir;
using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One sluice process with its output in files.
class Cli {
 public:
  Cli(const std::vector<std::string>& args, const std::string& dir, int n) {
    out_ = dir + "/out-" + std::to_string(n);
    err_ = dir + "/err-" + std::to_string(n);
    pid_ = ::fork();
    SLUICE_ASSERT(pid_ >= 0, "fork failed");
    if (pid_ == 0) {
      const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(SLUICE_BINARY));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(SLUICE_BINARY, argv.data());
      ::_exit(127);
    }
  }
  Cli(const Cli&) = delete;
  Cli& operator=(const Cli&) = delete;
  ~Cli() {
    if (exit_ < 0) {
      ::kill(pid_, SIGKILL);
      wait(10s);
    }
  }
  // The exit code; -1 if it did not exit within the bound.
  int wait(std::chrono::seconds bound = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (exit_ < 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(20ms);
    }
    return exit_;
  }
  bool wait_stderr(const std::string& text, std::chrono::seconds bound = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      if (err().find(text) != std::string::npos) return true;
      if (exit_ >= 0) return false;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

 private:
  pid_t pid_ = -1;
  int exit_ = -1;
  std::string out_;
  std::string err_;
};

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(3, dir_.path());
    ASSERT_NE(cluster_->wait_leader(), kNoNode);
    for (NodeId id : cluster_->ids()) {
      servers_ += (servers_.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(cluster_->client_port(id));
    }
  }
  std::unique_ptr<Cli> start(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", servers_, "--timeout", "30s"});
    return std::make_unique<Cli>(args, dir_.path(), next_++);
  }
  Ran run(std::vector<std::string> args) {
    auto cli = start(std::move(args));
    Ran ran;
    ran.code = cli->wait();
    ran.out = cli->out();
    ran.err = cli->err();
    return ran;
  }

  TempDir dir_{"sluice-cli"};
  std::unique_ptr<LocalCluster> cluster_;
  std::string servers_;
  int next_ = 0;
};

TEST_F(CliTest, EventsPubReachesSub) {
  auto sub = start({"events", "sub", "news.>", "--count", "1", "--wait", "120s", "-o", "json"});
  ASSERT_TRUE(sub->wait_stderr("subscribed")) << sub->err();
  // At most once, and other nodes learn of the subscription from its
  // node's registry: publish until the subscriber has one.
  for (int i = 0; i < 200 && sub->wait(0s) < 0; ++i) {
    const Ran pub = run({"events", "pub", "news.sport", "goal"});
    ASSERT_EQ(pub.code, 0) << pub.err;
    EXPECT_NE(pub.out.find("published to news.sport"), std::string::npos);
  }
  ASSERT_EQ(sub->wait(), 0) << sub->err();
  const auto j = nlohmann::json::parse(sub->out().substr(0, sub->out().find('\n')));
  EXPECT_EQ(j["body"], "goal");
  EXPECT_EQ(j["channel"], "news.sport");
}

TEST_F(CliTest, StorePubThenSubFromFirst) {
  for (const char* body : {"a", "b"}) {
    const Ran pub = run({"store", "pub", "audit", body, "-o", "json"});
    ASSERT_EQ(pub.code, 0) << pub.err;
  }
  const Ran last = run({"store", "pub", "audit", "c"});
  ASSERT_EQ(last.code, 0) << last.err;
  EXPECT_NE(last.out.find("audit"), std::string::npos);
  const Ran sub = run({"store", "sub", "audit", "--from", "first", "--count", "3", "--wait", "60s"});
  ASSERT_EQ(sub.code, 0) << sub.err;
  EXPECT_NE(sub.out.find("1\taudit"), std::string::npos) << sub.out;
  EXPECT_NE(sub.out.find("3\taudit"), std::string::npos) << sub.out;
  const Ran from2 = run({"store", "sub", "audit", "--from", "seq:2", "--count", "2", "--wait", "60s", "-o", "json"});
  ASSERT_EQ(from2.code, 0) << from2.err;
  EXPECT_EQ(nlohmann::json::parse(from2.out.substr(0, from2.out.find('\n')))["body"], "b");
}

TEST_F(CliTest, QueueSendReceiveAckStatsPurge) {
  ASSERT_EQ(run({"queue", "send", "work", "job-1"}).code, 0);
  ASSERT_EQ(run({"queue", "send", "work", "job-2"}).code, 0);
  const Ran peek = run({"queue", "peek", "work"});
  ASSERT_EQ(peek.code, 0) << peek.err;
  EXPECT_NE(peek.out.find("job-1"), std::string::npos);
  const Ran received = run({"queue", "receive", "work", "--wait", "5s", "-o", "json"});
  ASSERT_EQ(received.code, 0) << received.err;
  const auto deliveries = nlohmann::json::parse(received.out);
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0]["body"], "job-1");
  const std::string receipt = std::to_string(deliveries[0]["receipt"].get<std::uint64_t>());
  const Ran ack = run({"queue", "ack", receipt});
  ASSERT_EQ(ack.code, 0) << ack.err;
  EXPECT_NE(ack.out.find("acked 1"), std::string::npos);
  EXPECT_EQ(run({"queue", "ack", receipt}).code, 1);  // stale now
  const Ran stats = run({"queue", "stats", "work", "-o", "json"});
  ASSERT_EQ(stats.code, 0) << stats.err;
  const auto s = nlohmann::json::parse(stats.out);
  EXPECT_EQ(s["acked"], 1);
  EXPECT_EQ(s["ready"], 1);
  const Ran purge = run({"queue", "purge", "work"});
  ASSERT_EQ(purge.code, 0) << purge.err;
  EXPECT_NE(purge.out.find("purged 1"), std::string::npos);
  const Ran list = run({"channels", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("work"), std::string::npos) << list.out;
}

TEST_F(CliTest, QueueRejectMakesItVisibleAgain) {
  ASSERT_EQ(run({"queue", "send", "retry", "once"}).code, 0);
  const Ran first = run({"queue", "receive", "retry", "--wait", "5s", "-o", "json"});
  ASSERT_EQ(first.code, 0) << first.err;
  const auto d = nlohmann::json::parse(first.out);
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(run({"queue", "reject", std::to_string(d[0]["receipt"].get<std::uint64_t>())}).code, 0);
  const Ran again = run({"queue", "receive", "retry", "--wait", "5s", "--ack", "-o", "json"});
  ASSERT_EQ(again.code, 0) << again.err;
  const auto d2 = nlohmann::json::parse(again.out);
  ASSERT_EQ(d2.size(), 1u);
  EXPECT_EQ(d2[0]["receive_count"], 2);
}

TEST_F(CliTest, RpcCommandAndQuery) {
  auto serve = start({"rpc", "serve", "query", "greet", "--reply", "hello", "--count", "1", "--wait", "120s"});
  ASSERT_TRUE(serve->wait_stderr("serving")) << serve->err();
  // The responder is known to other nodes once its node's registry reached
  // them; until then a call may find no responder (exit 1), so retry.
  Ran call;
  for (int i = 0; i < 100; ++i) {
    call = run({"rpc", "call", "query", "greet", "world"});
    if (call.code == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(call.code, 0) << call.err;
  EXPECT_EQ(call.out, "hello\n");
  ASSERT_EQ(serve->wait(), 0) << serve->err();

  auto refuse = start({"rpc", "serve", "command", "deploy", "--error", "frozen", "--count", "1", "--wait", "120s"});
  ASSERT_TRUE(refuse->wait_stderr("serving")) << refuse->err();
  for (int i = 0; i < 100; ++i) {
    call = run({"rpc", "call", "command", "deploy", "v2"});
    if (call.code != 1) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(call.code, 6) << call.err;
  EXPECT_NE(call.out.find("not executed: frozen"), std::string::npos) << call.out;
}

TEST_F(CliTest, ClusterStatusAndExitCodes) {
  const Ran status = run({"cluster", "status", "-o", "json"});
  ASSERT_EQ(status.code, 0) << status.err;
  const auto nodes = nlohmann::json::parse(status.out)["servers"];
  ASSERT_EQ(nodes.size(), 3u);
  for (const auto& n : nodes) EXPECT_EQ(n["state"], "serving");
  std::string http;
  for (NodeId id : cluster_->ids()) {
    http += (http.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(cluster_->http_port(id));
  }
  // The three views are read one after another; during an election they
  // may disagree for a moment, so ask until exactly one node leads.
  int leaders = 0;
  Ran raft;
  for (int i = 0; i < 50 && leaders != 1; ++i) {
    raft = run({"cluster", "status", "--http", http, "-o", "json"});
    ASSERT_EQ(raft.code, 0) << raft.err;
    const auto views = nlohmann::json::parse(raft.out)["raft"];
    ASSERT_EQ(views.size(), 3u);
    leaders = 0;
    for (const auto& v : views) {
      EXPECT_NE(v["role"], "down");
      leaders += v["role"] == "leader" ? 1 : 0;
    }
  }
  EXPECT_EQ(leaders, 1) << raft.out;

  const Ran moved = run({"cluster", "transfer-leader", "2", "-o", "json"});
  ASSERT_EQ(moved.code, 0) << moved.err;
  EXPECT_EQ(nlohmann::json::parse(moved.out)["leader"], 2) << moved.out;
  const Ran not_a_voter = run({"cluster", "transfer-leader", "9"});
  EXPECT_EQ(not_a_voter.code, 1) << not_a_voter.err;
  EXPECT_NE(not_a_voter.err.find("not a voter"), std::string::npos) << not_a_voter.err;
  EXPECT_EQ(run({"cluster", "remove", "0"}).code, 2);
  EXPECT_EQ(run({"cluster", "add", "4"}).code, 2) << "add needs the new node's peer address";
  EXPECT_EQ(run({"queue", "frobnicate"}).code, 2);
  EXPECT_EQ(run({"queue", "send", "only-channel"}).code, 2);
  EXPECT_EQ(run({"queue", "send", "c", "b", "--bogus", "1"}).code, 2);
  EXPECT_EQ(run({"store", "sub", "c", "--from", "yesterday"}).code, 2);
  const Ran help = run({"queue", "receive", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--visibility"), std::string::npos);
  const Ran bad_channel = run({"queue", "send", "bad name!", "x"});
  EXPECT_EQ(bad_channel.code, 1) << bad_channel.err;
  EXPECT_NE(bad_channel.err.find("invalid_argument"), std::string::npos) << bad_channel.err;

  Cli down({"--server", "127.0.0.1:1", "--timeout", "1s", "queue", "stats", "x"}, dir_.path(), 999);
  EXPECT_EQ(down.wait(), 3) << down.err();
  EXPECT_NE(down.err().find("127.0.0.1:1"), std::string::npos) << down.err();
}

}  // namespace
}  // namespace sluice::cli
