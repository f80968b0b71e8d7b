// sluiced as real processes on loopback (label `integration`): a 3-node
// cluster serves through any node; kill -9 of the leader during a stream of
// acknowledged sends loses none of them; exit codes for SIGTERM and for
// each startup failure. Every wait polls with a generous bound and nothing
// asserts a duration.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/net/server/test_client.h"
#include "tests/storage/temp_dir.h"

#ifndef SLUICED_BINARY
#error "SLUICED_BINARY must name the sluiced executable"
#endif

namespace sluice::net {
namespace {

using testing::queue_receive;
using testing::queue_send;
using testing::TempDir;
using testing::TestClient;
using namespace std::chrono_literals;

// Ports the kernel says are free now. Another process could take one before
// sluiced binds it; on a test machine that is rare, and shows as exit 4.
std::vector<std::uint16_t> free_ports(int n) {
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ports.push_back(ntohs(addr.sin_port));
    fds.push_back(fd);
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

class Process {
 public:
  Process(const std::vector<std::string>& args, const std::string& log_path) {
    pid_ = ::fork();
    SLUICE_ASSERT(pid_ >= 0, "fork failed");
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(SLUICED_BINARY));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(SLUICED_BINARY, argv.data());
      ::_exit(127);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      wait_exit(10s);
    }
  }
  void signal(int signo) { ::kill(pid_, signo); }
  bool running() { return exit_code_ == kRunning && !poll_exit(); }
  // The exit code (128 + signal if killed); -1 if still running after `bound`.
  int wait_exit(std::chrono::seconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (exit_code_ == kRunning && std::chrono::steady_clock::now() < deadline) {
      if (!poll_exit()) std::this_thread::sleep_for(20ms);
    }
    return exit_code_ == kRunning ? -1 : exit_code_;
  }

 private:
  static constexpr int kRunning = -1000;
  bool poll_exit() {
    if (exit_code_ != kRunning) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
  pid_t pid_ = -1;
  int exit_code_ = kRunning;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Node {
  NodeId id;
  std::uint16_t client_port = 0;
  std::uint16_t peer_port = 0;
  std::string dir;
  std::unique_ptr<Process> process;
  std::string log() const { return dir + "/sluiced.log"; }
};

class Cluster {
 public:
  Cluster(int n, const std::string& root) {
    const auto ports = free_ports(3 * n);
    for (int i = 0; i < n; ++i) {
      Node node;
      node.id = NodeId(static_cast<std::uint64_t>(i + 1));
      node.client_port = ports[3 * i];
      node.peer_port = ports[3 * i + 1];
      http_ports_.push_back(ports[3 * i + 2]);
      node.dir = root + "/node-" + std::to_string(i + 1);
      std::filesystem::create_directories(node.dir);
      nodes_.push_back(std::move(node));
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) start(i);
  }
  void start(std::size_t i) {
    std::string peers;
    for (const Node& n : nodes_) {
      peers += (peers.empty() ? "" : ",") + to_string(n.id) + "=127.0.0.1:" + std::to_string(n.peer_port);
    }
    Node& n = nodes_[i];
    n.process = std::make_unique<Process>(
        std::vector<std::string>{"--id", to_string(n.id), "--peers", peers, "--data", n.dir + "/data", "--bind",
                                 "127.0.0.1", "--client-port", std::to_string(n.client_port), "--peer-port",
                                 std::to_string(n.peer_port), "--http-port", std::to_string(http_ports_[i]),
                                 "--cluster", "it", "--log-level", "info"},
        n.log());
  }
  Node& node(std::size_t i) { return nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }

  // The node whose log says it leads, in the highest term any log names;
  // -1 if none within the bound.
  int wait_leader(std::chrono::seconds bound = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      int best = -1;
      std::uint64_t best_term = 0;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].process == nullptr || !nodes_[i].process->running()) continue;
        const auto [role, term] = last_role(read_file(nodes_[i].log()));
        if (role == "leader" && term >= best_term) {
          best = static_cast<int>(i);
          best_term = term;
        }
      }
      if (best >= 0) return best;
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }

 private:
  // The role and term of the last "event=raft.leader" line of a log. (No
  // std::regex: GCC 12 warns inside it under the sanitizers.)
  static std::pair<std::string, std::uint64_t> last_role(const std::string& log) {
    const auto at = log.rfind("event=raft.leader ");
    if (at == std::string::npos) return {"", 0};
    const std::string line = log.substr(at, log.find('\n', at) - at);
    auto field = [&](const std::string& key) {
      const auto k = line.find(" " + key + "=");
      if (k == std::string::npos) return std::string();
      const auto begin = k + key.size() + 2;
      return line.substr(begin, line.find(' ', begin) - begin);
    };
    const std::string term = field("term");
    return {field("role"), term.empty() ? 0 : std::stoull(term)};
  }

  std::vector<Node> nodes_;
  std::vector<std::uint16_t> http_ports_;
};

// A client to a node that may still be starting: connect and say Hello,
// retrying for up to 20 s.
std::unique_ptr<TestClient> connect(std::uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    try {
      auto client = std::make_unique<TestClient>(port);
      if (client->hello("it")) return client;
      throw std::runtime_error("the node refused our Hello");
    } catch (const std::exception&) {
      if (std::chrono::steady_clock::now() > deadline) throw;
    }
    std::this_thread::sleep_for(50ms);
  }
}

// Retries what a client may retry: unavailable (no leader yet) and timeout
// (the leader went away mid-write). A retried send carries the same
// idempotency key, so it is never applied twice.
node::ClientReply request_ok(TestClient& client, const std::function<node::RequestBody()>& body) {
  node::ClientReply reply;
  for (int attempt = 0; attempt < 300; ++attempt) {
    reply = client.request(body());
    if (reply.status.ok()) return reply;
    if (reply.status.code() != Code::unavailable && reply.status.code() != Code::timeout) return reply;
    std::this_thread::sleep_for(50ms);
  }
  return reply;
}

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
  Cluster cluster(3, dir.path());
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
  Cluster cluster(3, dir.path());
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
  cluster.start(static_cast<std::size_t>(leader));  // the same data directory and ports
  auto consumer = connect(cluster.node(static_cast<std::size_t>(leader)).client_port);
  const auto received = request_ok(*consumer, [] { return queue_receive("durable", 100); });
  ASSERT_TRUE(received.status.ok()) << received.status.to_string();
  const auto got = bodies(received);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), acked);
  EXPECT_EQ(got.size(), acked.size()) << "a retried send was applied twice";
}

TEST(Sluiced, SigtermExitsZeroAndStartupFailuresHaveTheirOwnCodes) {
  TempDir dir("sluice-it");
  const auto ports = free_ports(3);
  const std::vector<std::string> common = {"--cluster", "it", "--bind", "127.0.0.1", "--client-port", std::to_string(ports[0]),
                                           "--peer-port", std::to_string(ports[1]), "--http-port",
                                           std::to_string(ports[2])};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  {
    Process bad_flag(with({"--election-ticks", "many"}), dir.sub("flag.log"));
    EXPECT_EQ(bad_flag.wait_exit(20s), 2);
    EXPECT_NE(read_file(dir.sub("flag.log")).find("--election-ticks"), std::string::npos);
  }
  {
    std::ofstream(dir.sub("a-file")) << "not a directory";
    Process bad_data(with({"--data", dir.sub("a-file")}), dir.sub("data.log"));
    EXPECT_EQ(bad_data.wait_exit(20s), 3);
  }
  Process node(with({"--data", dir.sub("data")}), dir.sub("node.log"));
  auto client = connect(ports[0]);  // the node is up and listening
  {
    Process clash(with({"--data", dir.sub("data2")}), dir.sub("clash.log"));
    EXPECT_EQ(clash.wait_exit(20s), 4) << "its ports are taken";
  }
  const auto sent = request_ok(*client, [] { return queue_send("q", "x", "p", 1); });
  EXPECT_TRUE(sent.status.ok()) << sent.status.to_string();
  node.signal(SIGTERM);
  EXPECT_EQ(node.wait_exit(20s), 0);
  EXPECT_NE(read_file(dir.sub("node.log")).find("event=shutdown.done"), std::string::npos);
}

}  // namespace
}  // namespace sluice::net
