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
  // Successful reads. Reads normally agree with each other, so a read is kept
  // as its length: it equals the first read_length values of the history's
  // reference log. Only a read that disagrees keeps its own copy.
  std::size_t read_length = 0;
  bool read_diverged = false;
  std::vector<std::string> read_values;  // only if read_diverged
};

// A client history and its checker: (1) a read holds every write
// acknowledged before the read was sent (no lost acknowledged write); (2) it
// holds only values some write sent (nothing unexpected), each once; (3) all
// reads agree (each is a prefix of the longest), and a read is no shorter
// than any read that completed before it was sent (the log never forgets).
// Linear in the history, up to sorting.
class History {
 public:
  std::size_t invoke(NodeId client, std::uint64_t request_id, Op::Kind kind, std::string value,
                     Timestamp now);
  // read_values: for successful reads only.
  void complete(std::size_t index, Op::Outcome outcome, Timestamp now,
                const std::vector<std::string>* read_values = nullptr);

  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<std::string>& reference() const { return reference_; }
  std::uint64_t acked_writes() const;
  // One line per violation.
  std::vector<std::string> check() const;

 private:
  std::vector<Op> ops_;
  std::vector<std::string> reference_;  // the longest agreeing read so far
};

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

  const History& history() const { return history_; }

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
  void finish(std::size_t op_index, Op::Outcome outcome,
              const std::vector<std::string>* read_values = nullptr);

  sim::SimCluster<PrimaryBackupNode>* cluster_;
  Rng rng_;
  WorkloadOptions options_;
  NodeId primary_;
  Timestamp stop_{0};
  std::vector<Client> clients_;
  History history_;
  bool* probe_done_ = nullptr;
  int probe_stage_ = 0;  // 0: idle, 1: writing, 2: reading, 3: done
};

}  // namespace sluice::toy
