// One simulation run of the broker: a Raft-replicated BrokerNode cluster
// with clients of all five patterns, a safety phase under faults (Raft
// invariants after every event), a liveness phase after healing (queues
// drain, subscribers catch up, replicas converge), then the history checks.
#pragma once

#include "sim/cluster.h"
#include "sim/faults.h"
#include "sim/run.h"

namespace sluice::sim {

struct BrokerRunOptions {
  Duration duration = Duration::seconds(10);
  Duration liveness_bound = Duration::seconds(30);
  FaultProfile profile = FaultProfile::all;
  std::optional<int> clients;  // 0: no clients
  bool store_groups = true;    // events store group members in the workload
  bool data_loss = true;       // wiped and corrupt disks, and servers replaced
  bool reads = true;           // readers of events store stats in the workload
  bool time_starts = true;     // events store subscribers starting by time or time delta
};

void run_broker(std::uint64_t seed, const BrokerRunOptions& options, FaultConfig faults, Scheduler& scheduler,
                Trace& trace, SimNetwork& network, Rng& rng, Hooks hooks, const ClusterOptions& cluster_options,
                RunResult& result);

}  // namespace sluice::sim
