// Simulated clients for the primary-backup protocol, and the history
// checker that judges what they saw.
//
// Each client issues one request at a time (a write of a unique value, or a
// read of the committed log), waits for the reply or its timeout, thinks,
// and goes again. A timed-out write is "unknown": it may or may not have
// happened, and the checker allows both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/cluster.h"
#include "sim/toy/primary_backup.h"

namespace sluice::toy {

struct WorkloadOptions {
  int clients = 3;
  Duration think_max = Duration::millis(50);
  Duration request_timeout = Duration::millis(800);
  double read_share = 0.3;
};

struct Op {
  enum class Kind { write, read };
  enum class Outcome { pending, ok, failed, unknown };
  NodeId client;
  std::uint64_t request_id = 0;
  Kind kind = Kind::write;
  std::string value;  // writes
  Timestamp invoked;
  Timestamp completed;
  Outcome outcome = Outcome::pending;
  std::vector<std::string> read_values;  // successful reads
};

// Checks a history: (1) a read holds every write acknowledged before the
// read was sent (no lost acknowledged write); (2) it holds only values some
// write sent (nothing unexpected), each once; (3) of two reads, the one that
// completed first returned a prefix of the later one (the log never forgets
// or rewrites). Returns one line per violation.
std::vector<std::string> check_history(const std::vector<Op>& history);

class Workload {
 public:
  static constexpr std::uint64_t kFirstClientId = 1000;

  Workload(sim::SimCluster<PrimaryBackupNode>* cluster, Rng rng, WorkloadOptions options,
           NodeId primary);

  // Clients issue requests until `stop` (virtual time).
  void start(Timestamp stop);
  void on_reply(NodeId client, const ClientReply& reply);

  // Liveness: one write and then one read, retried until both succeed.
  // Sets `*done` when finished.
  void start_final_probe(bool* done);

  const std::vector<Op>& history() const { return history_; }
  std::uint64_t acked_writes() const;

 private:
  struct Client {
    NodeId id;
    std::uint64_t next_request = 1;
    std::optional<std::size_t> outstanding;  // index into history_
    std::uint64_t written = 0;
    bool probe = false;
  };

  void issue(std::size_t client_index);
  void send(std::size_t client_index, Op::Kind kind, std::string value);
  void finish(std::size_t op_index, Op::Outcome outcome);

  sim::SimCluster<PrimaryBackupNode>* cluster_;
  Rng rng_;
  WorkloadOptions options_;
  NodeId primary_;
  Timestamp stop_{0};
  std::vector<Client> clients_;
  std::vector<Op> history_;
  bool* probe_done_ = nullptr;
  int probe_stage_ = 0;  // 0: idle, 1: writing, 2: reading, 3: done
};

}  // namespace sluice::toy
