// Liveness while faults are on (issue 3): no period without a leader longer
// than a bound (10 s) while a majority is connected.
//
// "A majority is connected" is decided by the connectivity oracle
// (sim/connectivity.h) over a set M of servers: every member of M is up and
// reaches every other both ways, and M is a quorum (joint: of both halves)
// in the configuration that each member of M that may campaign holds (a
// voter in its own configuration), so that whichever of them campaigns, M
// can elect it. Members that never campaign (a server being added that has
// no configuration yet, one that knows it was removed) still vote, and
// constrain nothing. M must stay so continuously: a set that breaks for a
// moment (a crash, a pause, a clog, a partition) starts its clock again.
//
// "A leader" is one that a quorum accepts: a running node in the leader
// role such that it and the running nodes that follow it in its term (their
// leader is it) form a quorum of its configuration. A leader cut off from
// its followers keeps their acceptance for at most an election timeout, and
// a node that believes itself leader while nobody follows it does not count.
//
// Violation: some M has been connected, and no accepted leader has been
// seen, for longer than the bound. Samples are taken on a 10 ms grid and at
// every change of processes or links, from the scheduler's after-event hook.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/connectivity.h"
#include "sim/raftkv/kv_node.h"

namespace sluice::raftkv {

class LeaderMonitor {
 public:
  static constexpr Duration kSampleEvery = Duration::millis(10);

  LeaderMonitor(sim::SimCluster<KvNode>* cluster, Duration bound) : cluster_(cluster), bound_(bound) {}

  // Call after every event; cheap unless a sample is due.
  void after_event();
  // The first violation, if any (the monitor reports one per run).
  const std::optional<std::string>& violation() const { return violation_; }
  // The longest wait seen so far: a connected majority without a leader.
  Duration longest_wait() const { return longest_wait_; }

 private:
  void sample(Timestamp now);
  // Reads processes, disks, links and configurations into the fields below.
  void refresh_view(Timestamp now);
  bool accepted_leader_exists() const;
  // Sets M that are connected majorities now, by the rules above.
  std::vector<sim::NodeMask> connected_majorities() const;

  sim::SimCluster<KvNode>* cluster_;
  Duration bound_;
  Timestamp next_sample_{0};
  std::uint64_t seen_process_generation_ = ~std::uint64_t{0};
  std::uint64_t seen_topology_generation_ = ~std::uint64_t{0};
  sim::Connectivity view_;
  std::vector<sim::NodeMask> bit_by_id_;  // NodeId value -> its bit in view_
  // Per server of view_, while it runs: its configuration as masks, its
  // term, whom it follows, and whether it leads.
  std::vector<sim::NodeMask> incoming_;
  std::vector<sim::NodeMask> outgoing_;
  std::vector<Term> term_;
  std::vector<NodeId> follows_;
  sim::NodeMask running_ = 0;
  sim::NodeMask leaders_ = 0;
  sim::NodeMask usable_ = 0;       // up and not poisoned
  sim::NodeMask campaigners_ = 0;  // usable, and a voter in its own configuration
  // What the sets below were computed from, and this sample's version.
  std::vector<sim::NodeMask> key_;
  std::vector<sim::NodeMask> scratch_;
  std::map<sim::NodeMask, Timestamp> connected_since_;  // every connected majority, and since when
  Timestamp oldest_since_{0};  // the earliest of connected_since_ (if any)
  Timestamp last_leader_{0};
  Duration longest_wait_;
  std::optional<std::string> violation_;
};

}  // namespace sluice::raftkv
