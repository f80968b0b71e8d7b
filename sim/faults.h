// Fault profiles, per-seed fault rates (swarm testing), and the injector that
// applies faults to a cluster during the safety phase and heals them all at
// the start of the liveness phase.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/common/random.h"
#include "sim/cluster.h"

namespace sluice::sim {

enum class FaultProfile { none, network, disk, process, clock, all };
const char* profile_name(FaultProfile profile);
bool parse_profile(const std::string& text, FaultProfile* out);

// Rates and bounds for one run, drawn from its seed.
struct FaultConfig {
  bool network = false;
  bool disk = false;
  bool process = false;
  bool clock = false;
  Duration interval_mean = Duration::seconds(1);  // between two injected faults
  Duration fault_duration_max = Duration::seconds(2);
  // network
  double loss_max = 0.0;
  double duplicate_max = 0.0;
  double reorder_max = 0.0;
  // Adds the partial partition (see network_fault) to the network faults.
  // Opt-in, so that protocols whose seeds predate it keep their draws.
  bool partial_partition = false;
  // The stale-read nemesis: every 1 to 3 s, besides the other faults, cut
  // the current leader off from the other servers for 0.5 to 3 s (clients
  // still reach it), pausing it for part of that half of the time, so that
  // a deposed leader that does not know it yet keeps being asked for reads.
  // Needs FaultInjector::set_leader_finder.
  bool isolate_leader = false;
  // process
  double empty_disk_share = 0.0;  // of restarts that come back with an empty disk
  // disk
  double io_error_max = 0.0;
  bool unsynced_may_survive = false;  // crashes keep a prefix and tear the next write
  // clock
  Duration skew_max = Duration::millis(500);
  std::int64_t drift_ppm_max = 1'000;
  Duration step_max = Duration::seconds(2);
  // Nodes whose disk is never wiped or corrupted: the demonstration
  // protocol's primary has no failover. (Raft replaces a server that lost
  // its data instead: see DataLossHandler.)
  std::vector<NodeId> data_loss_protected;

  std::string summary() const;
};

FaultConfig draw_fault_config(Rng& rng, FaultProfile profile);

// For a protocol that handles data loss itself (Raft retires the server and
// replaces it under a new id): `allowed` says whether `id` may lose its data
// now; `lost` hears that it did. The injector then never restarts it.
struct DataLossHandler {
  std::function<bool(NodeId)> allowed;
  std::function<void(NodeId)> lost;
};

class FaultInjector {
 public:
  FaultInjector(ClusterBase* cluster, Rng rng, FaultConfig config);

  // Who leads now (kNoNode if nobody): the protocol under test knows.
  void set_leader_finder(std::function<NodeId()> finder) { leader_finder_ = std::move(finder); }
  // Without a handler, a wiped node restarts with an empty disk under its
  // own id, and data_loss_protected nodes are spared.
  void set_data_loss_handler(DataLossHandler handler) { data_loss_ = std::move(handler); }
  // Injects faults from now until `until`.
  void start(Timestamp until);
  // Ends every fault: heals the network, clears disk faults, resumes paused
  // and restarts crashed processes. Clock skew and drift stay: a cluster must
  // make progress with imperfect clocks.
  void heal_all();

  // How many faults of each kind were injected, by name.
  const std::map<std::string, std::uint64_t>& counts() const { return counts_; }
  // "kind=n kind=n ...", for reports.
  std::string counts_summary() const;

 private:
  void schedule_next();
  void inject();
  void network_fault();
  void schedule_leader_isolation();
  void isolate_leader();
  void process_fault();
  void disk_fault();
  void clock_fault();
  Duration fault_duration();
  bool may_lose_data(NodeId id) const;
  void count(const char* kind) { ++counts_[kind]; }

  ClusterBase* cluster_;
  Rng rng_;
  FaultConfig config_;
  Timestamp until_{0};
  std::uint64_t epoch_ = 0;  // bumped by heal_all: pending repairs of older faults are void
  std::map<std::string, std::uint64_t> counts_;
  std::function<NodeId()> leader_finder_;
  DataLossHandler data_loss_;
};

}  // namespace sluice::sim
