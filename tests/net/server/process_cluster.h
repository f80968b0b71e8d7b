// sluiced as real processes on loopback, for the `integration` tests that
// need whole processes (kill -9, an empty data directory, exit codes, the
// HTTP port end to end). For nodes in one process, see local_cluster.h.
//
// Ports: a test cannot ask sluiced for port 0 and learn the choice before
// the peers must be named, so it picks ports that are free now and passes
// them on. Another process can take one before sluiced binds it; sluiced
// then exits 4 (docs/operations.md, "Exit codes") after logging
// `event=startup.listen_failed`. ProcessCluster notices that and starts the
// whole cluster again on fresh ports, so a stolen port is a retry, not a
// failed test. Ports are drawn below the kernel's ephemeral range when it
// leaves room, where outgoing connections (the nodes dialing each other)
// never take them.
//
// Every wait polls with a generous bound; nothing asserts a duration.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/net/server/test_client.h"

namespace sluice::testing {

// sluiced's exit code for a port it could not bind (net/server/sluiced.cc).
inline constexpr int kExitPortTaken = 4;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// True if 127.0.0.1:port can be bound now (as sluiced binds it, with
// SO_REUSEADDR, so a port in TIME_WAIT counts as free).
inline bool port_free(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

// `n` distinct ports that are free now. Drawn at random from [10000, the
// lowest ephemeral port) when that range has room, else from the kernel.
inline std::vector<std::uint16_t> free_ports(int n) {
  unsigned low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
  std::vector<std::uint16_t> ports;
  std::set<std::uint16_t> taken;
  if (low > 12000 && low <= 65535) {
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<unsigned> pick(10000, low - 1);
    for (int tries = 0; static_cast<int>(ports.size()) < n && tries < 100 * n; ++tries) {
      const auto port = static_cast<std::uint16_t>(pick(rng));
      if (taken.contains(port) || !port_free(port)) continue;
      taken.insert(port);
      ports.push_back(port);
    }
    if (static_cast<int>(ports.size()) == n) return ports;
    ports.clear();
  }
  // From the kernel: bind port 0, all at once so they differ.
  std::vector<int> fds;
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

// A child process running `binary args...`, stdout and stderr appended to
// `log_path`. Killed with SIGKILL when destroyed if still running.
class Process {
 public:
  Process(const std::string& binary, const std::vector<std::string>& args, const std::string& log_path) {
    pid_ = ::fork();
    SLUICE_ASSERT(pid_ >= 0, "fork failed");
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(10));
    }
  }
  void signal(int signo) { ::kill(pid_, signo); }
  bool running() { return exit_code_ == kRunning && !poll_exit(); }
  // The exit code (128 + signal if killed); -1 if still running after `bound`.
  int wait_exit(std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (exit_code_ == kRunning && std::chrono::steady_clock::now() < deadline) {
      if (!poll_exit()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
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

struct ProcessNode {
  NodeId id;
  std::uint16_t client_port = 0;
  std::uint16_t peer_port = 0;
  std::uint16_t http_port = 0;
  std::string dir;  // holds data/ and sluiced.log
  std::unique_ptr<Process> process;
  std::size_t log_start = 0;  // where the running process's lines begin (a restart appends)
  bool joiner = false;        // started with --join, after the cluster (add_joiner)
  std::string data() const { return dir + "/data"; }
  std::string log() const { return dir + "/sluiced.log"; }
};

// A cluster of sluiced processes on 127.0.0.1, each node in root/node-N.
class ProcessCluster {
 public:
  using PortPicker = std::function<std::vector<std::uint16_t>(int n)>;

  // Starts `n` nodes with `extra_args` added to each command line, and
  // returns once each has bound its ports (logged `server.listening`).
  // Throws if a node fails to start for another reason than a taken port,
  // or if ports keep being taken. `pick_ports` is free_ports but for tests
  // of this retry.
  ProcessCluster(std::string binary, int n, const std::string& root, std::vector<std::string> extra_args = {},
                 const PortPicker& pick_ports = free_ports)
      : binary_(std::move(binary)), root_(root), extra_args_(std::move(extra_args)) {
    for (int i = 0; i < n; ++i) {
      ProcessNode node;
      node.id = NodeId(static_cast<std::uint64_t>(i + 1));
      node.dir = root + "/node-" + std::to_string(i + 1);
      nodes_.push_back(std::move(node));
    }
    for (int attempt = 1;; ++attempt) {
      const auto ports = pick_ports(3 * n);
      for (int i = 0; i < n; ++i) {
        ProcessNode& node = nodes_[static_cast<std::size_t>(i)];
        node.process.reset();
        std::filesystem::remove_all(node.dir);
        std::filesystem::create_directories(node.dir);
        node.client_port = ports[static_cast<std::size_t>(3 * i)];
        node.peer_port = ports[static_cast<std::size_t>(3 * i + 1)];
        node.http_port = ports[static_cast<std::size_t>(3 * i + 2)];
      }
      for (std::size_t i = 0; i < nodes_.size(); ++i) launch(i);
      bool port_taken = false;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        const int code = wait_listening(i);
        if (code == kExitPortTaken) port_taken = true;
        else if (code != 0) throw std::runtime_error(startup_failure(i, code));
      }
      if (!port_taken) return;
      if (attempt == kStartAttempts) throw std::runtime_error("ports were taken on every one of the start attempts");
    }
  }
  ProcessCluster(const ProcessCluster&) = delete;
  ProcessCluster& operator=(const ProcessCluster&) = delete;

  ProcessNode& node(std::size_t i) { return nodes_.at(i); }
  std::size_t size() const { return nodes_.size(); }

  // Starts node i again (it must have exited) on the same id, peers, ports
  // and data directory, and waits until it listens. If its client or HTTP
  // port was taken meanwhile it moves those; its peer port is named in the
  // others' configuration and cannot move.
  void restart(std::size_t i) {
    for (int attempt = 1;; ++attempt) {
      launch(i);
      const int code = wait_listening(i);
      if (code == 0) return;
      if (code != kExitPortTaken || attempt == kStartAttempts) throw std::runtime_error(startup_failure(i, code));
      const auto ports = free_ports(2);
      nodes_[i].client_port = ports[0];
      nodes_[i].http_port = ports[1];
    }
  }
  // Starts one more node, empty, with --join and the current members as
  // its --peers: it waits for `sluice cluster add`. Returns its index.
  std::size_t add_joiner() {
    for (int attempt = 1;; ++attempt) {
      ProcessNode node;
      node.id = NodeId(static_cast<std::uint64_t>(nodes_.size() + 1));
      node.dir = root_ + "/node-" + to_string(node.id);
      node.joiner = true;
      std::filesystem::remove_all(node.dir);
      std::filesystem::create_directories(node.dir);
      const auto ports = free_ports(3);
      node.client_port = ports[0];
      node.peer_port = ports[1];
      node.http_port = ports[2];
      nodes_.push_back(std::move(node));
      const std::size_t i = nodes_.size() - 1;
      launch(i);
      const int code = wait_listening(i);
      if (code == 0) return i;
      if (code != kExitPortTaken || attempt == kStartAttempts) throw std::runtime_error(startup_failure(i, code));
      nodes_.pop_back();
    }
  }
  // kill -9, and wait until it is gone.
  void kill(std::size_t i) {
    nodes_[i].process->signal(SIGKILL);
    SLUICE_ASSERT(nodes_[i].process->wait_exit(std::chrono::seconds(10)) == 128 + SIGKILL, "SIGKILL did not kill");
  }

  // The node whose log says it leads, in the highest term any running
  // node's log names; -1 if none within the bound.
  int wait_leader(std::chrono::seconds bound = std::chrono::seconds(20)) {
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
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  static constexpr int kStartAttempts = 5;

  void launch(std::size_t i) {
    // The bootstrap voters; a joiner learns later members from the leader.
    std::string peers;
    for (const ProcessNode& n : nodes_) {
      if (n.joiner) continue;
      peers += (peers.empty() ? "" : ",") + to_string(n.id) + "=127.0.0.1:" + std::to_string(n.peer_port);
    }
    ProcessNode& n = nodes_[i];
    std::vector<std::string> args = {"--id", to_string(n.id), "--peers", peers, "--data", n.data(), "--bind",
                                     "127.0.0.1", "--client-port", std::to_string(n.client_port), "--peer-port",
                                     std::to_string(n.peer_port), "--http-port", std::to_string(n.http_port),
                                     "--cluster", "it", "--log-level", "info"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    if (n.joiner) args.push_back("--join");
    n.log_start = read_file(n.log()).size();
    n.process = std::make_unique<Process>(binary_, args, n.log());
  }

  // 0 once node i logs that it listens (every port is bound before that
  // line); else its exit code, or -1 if neither happens within 20 s.
  int wait_listening(std::size_t i) {
    ProcessNode& n = nodes_[i];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (read_file(n.log()).find("event=server.listening", n.log_start) != std::string::npos) return 0;
      if (!n.process->running()) return n.process->wait_exit(std::chrono::seconds(0));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  std::string startup_failure(std::size_t i, int code) {
    return "node " + to_string(nodes_[i].id) + " did not start (exit " + std::to_string(code) + "); its log:\n" +
           read_file(nodes_[i].log());
  }

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

  std::string binary_;
  std::string root_;
  std::vector<std::string> extra_args_;
  std::vector<ProcessNode> nodes_;
};

// A framed client to a node that may still be starting: connect and say
// Hello, retrying for up to 20 s.
inline std::unique_ptr<TestClient> connect(std::uint16_t port, const std::string& cluster = "it") {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    try {
      auto client = std::make_unique<TestClient>(port);
      if (client->hello(cluster)) return client;
      throw std::runtime_error("the node refused our Hello");
    } catch (const std::exception&) {
      if (std::chrono::steady_clock::now() > deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Retries what a client may retry: unavailable (no leader yet) and timeout
// (the leader went away mid-write). A retried write must carry the same
// idempotency key, so it is never applied twice.
inline node::ClientReply request_ok(TestClient& client, const std::function<node::RequestBody()>& body) {
  node::ClientReply reply;
  for (int attempt = 0; attempt < 300; ++attempt) {
    reply = client.request(body());
    if (reply.status.ok()) return reply;
    if (reply.status.code() != Code::unavailable && reply.status.code() != Code::timeout) return reply;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return reply;
}

// An HTTP request that retries, for up to 20 s, what the HTTP port answers
// when a node is not ready for it yet: no answer at all (still starting),
// 503 (no leader yet) and 504 (a forward to a leader that went away). A
// retried write must carry an idempotency key.
inline HttpAnswer http_ok(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = "") {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  HttpAnswer answer;
  for (;;) {
    try {
      answer = http_request(port, method, target, body);
    } catch (const std::exception&) {
      answer = HttpAnswer{};
    }
    const bool retry = answer.status == 0 || answer.status == 503 || answer.status == 504;
    if (!retry || std::chrono::steady_clock::now() > deadline) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The value of an unlabelled sample in a node's /metrics (`name value`
// on a line of its own); nullopt if the node did not answer or has none.
inline std::optional<double> metric(std::uint16_t http_port, const std::string& name) {
  HttpAnswer answer;
  try {
    answer = http_request(http_port, "GET", "/metrics");
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (answer.status != 200) return std::nullopt;
  const std::string& text = answer.body;
  for (std::size_t at = text.find(name + " "); at != std::string::npos; at = text.find(name + " ", at + 1)) {
    if (at != 0 && text[at - 1] != '\n') continue;
    return std::stod(text.substr(at + name.size() + 1, text.find('\n', at) - at - name.size() - 1));
  }
  return std::nullopt;
}

// Polls `condition` every 50 ms for up to `bound`; true once it holds.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds bound = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// What the sluice CLI printed (-o json) and its exit code.
struct Cli {
  int exit_code = -1;
  std::string out;
};

// The sluice CLI (`binary`) against the nodes at `indexes` of `cluster`,
// JSON output; stdout is captured, stderr goes to the test's output.
inline Cli run_cli(const std::string& binary, ProcessCluster& cluster, const std::vector<std::size_t>& indexes,
                   const std::string& command) {
  std::string servers;
  for (std::size_t i : indexes) {
    servers += (servers.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(cluster.node(i).client_port);
  }
  const std::string line = binary + " -o json --cluster it --timeout 20s -s " + servers + " " + command;
  Cli result;
  FILE* pipe = ::popen(line.c_str(), "r");
  SLUICE_ASSERT(pipe != nullptr, "popen failed");
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) result.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace sluice::testing
