// One simulation run of Raft with the replicated key-value workload: a
// safety phase under faults with the invariant checker after every event,
// a liveness phase after healing, and a linearizability check of the
// client history.
#pragma once

#include <optional>

#include "sim/cluster.h"
#include "sim/faults.h"
#include "sim/run.h"

namespace sluice::sim {

struct RaftRunOptions {
  int clients = 3;
  int keys = 4;
  double get_share = 0.4;
  std::optional<Duration> think_max;
  Duration liveness_bound = Duration::seconds(30);
  Duration duration = Duration::seconds(10);
  FaultProfile profile = FaultProfile::all;
  bool batching = true;
  std::string history_path;
  bool lease_reads = false;
};

void run_raft(std::uint64_t seed, const RaftRunOptions& options, FaultConfig faults, Scheduler& scheduler,
              Trace& trace, SimNetwork& network, Rng& rng, Hooks hooks, const ClusterOptions& cluster_options,
              RunResult& result);

}  // namespace sluice::sim
