// Simulated key-value clients for the Raft workload, and their history.
//
// A client sends one request at a time to the node it believes leads. A
// refusal ("not the leader", back-pressure) or a silent attempt makes it
// retry the SAME request id elsewhere: a refusal speaks only for the copy
// that was refused (the network may have delivered another copy that was
// proposed), and the nodes' session table applies a request id once. After
// the request timeout the client gives up: the outcome is unknown, and the
// linearizability checker allows it to have happened at any time after its
// call, or never. So every operation ends ok or unknown, never "failed".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/check/linearizability.h"
#include "sim/cluster.h"
#include "sim/raftkv/kv_node.h"

namespace sluice::raftkv {

struct WorkloadOptions {
  int clients = 3;
  int keys = 4;
  double get_share = 0.4;
  Duration think_max = Duration::millis(30);
  Duration attempt_timeout = Duration::millis(250);  // then retry elsewhere
  Duration request_timeout = Duration::seconds(1);   // then give up: unknown
  // The first `sticky_clients` clients stay with a server that does not
  // answer, as a client bound to a connection does, and move only when
  // refused: they keep asking a leader that is cut off or paused, and see
  // whatever it serves when it comes back.
  int sticky_clients = 0;
};

class Workload {
 public:
  static constexpr std::uint64_t kFirstClientId = 1000;

  Workload(sim::SimCluster<KvNode>* cluster, Rng rng, WorkloadOptions options);

  void start(Timestamp stop);
  void on_reply(NodeId client, NodeId from, const KvReply& reply);
  // Liveness: one put and one get, retried until both succeed; sets *done.
  void start_final_probe(bool* done);

  const std::vector<check::KvOp>& history() const { return history_; }
  std::uint64_t completed() const { return completed_; }
  std::uint64_t unknown() const { return unknown_; }

 private:
  struct Client {
    NodeId id;
    NodeId target;
    std::uint64_t next_request = 1;
    std::optional<std::size_t> outstanding;  // index into history_
    std::uint64_t outstanding_request = 0;
    std::uint32_t attempts = 0;
    std::uint64_t writes = 0;
    bool probe = false;
    bool sticky = false;
  };
  void issue(std::size_t c);
  void send(std::size_t c, bool put, std::string key, std::string value);
  void attempt(std::size_t c, std::uint32_t number);
  void resolve(std::size_t c, bool succeeded);

  sim::SimCluster<KvNode>* cluster_;
  Rng rng_;
  WorkloadOptions options_;
  Timestamp stop_{0};
  std::vector<Client> clients_;
  std::vector<check::KvOp> history_;
  std::uint64_t completed_ = 0;
  std::uint64_t unknown_ = 0;
  bool* probe_done_ = nullptr;
  int probe_stage_ = 0;
};

}  // namespace sluice::raftkv
