// The broker in the simulator: regression seeds and every fault profile.
#include <gtest/gtest.h>

#include "sim/run.h"

namespace sluice::sim {
namespace {

// Every failure the broker swarm found, kept for good. Each run must pass
// and still reach its scenario's probe (seeds drift when draws change).
TEST(BrokerSim, RegressionSeeds) {
  struct Regression {
    const char* bug;
    std::uint64_t seed;
    FaultProfile faults;
    ProbeId scenario;
    bool store_groups = false;  // the seeds found before group members joined the workload ran without them
    bool data_loss = false;     // and before disks were wiped or found corrupt
    bool reads = false;         // and before reads were checked
    bool time_starts = false;   // and before store subscribers started by time
  };
  const std::vector<Regression> regressions = {
      // A reject counted in a queue's totals in memory but never marked
      // for writing: a node that restarted loaded other totals than the
      // leader had, and the replicas never converged.
      {"a reject's count was not persisted", 31, FaultProfile::disk, ProbeId::broker_state_loaded_on_restart},
      // Checker: a receive's answer arrived late, after the message had
      // moved to its dead-letter queue and been acked there; the delivery
      // was judged by when it was seen rather than when it was asked for.
      {"a late receive answer was taken for a delivery after an ack", 200242, FaultProfile::all,
       ProbeId::sim_delivery_deferred_by_pause},
      // A subscribe retried after silence was refused ("id in use") while
      // the first attempt's subscription kept delivering.
      {"a retried subscribe was refused but stayed live", 200302, FaultProfile::all, ProbeId::raft_node_poisoned},
      // Client model: reconnecting to the same node kept the old session,
      // and a message of the closed connection was taken on the new one.
      {"a reconnect to the same node kept the old session", 713, FaultProfile::all,
       ProbeId::broker_state_loaded_on_restart},
  };
  for (const Regression& reg : regressions) {
    RunSpec spec;
    spec.seed = reg.seed;
    spec.faults = reg.faults;
    spec.protocol = Protocol::broker;
    spec.store_groups = reg.store_groups;
    spec.data_loss = reg.data_loss;
    spec.reads = reg.reads;
    spec.time_starts = reg.time_starts;
    const RunResult r = run_one(spec);
    EXPECT_TRUE(r.ok()) << reg.bug << "\n" << format_report(r, true);
    EXPECT_GT(r.probes.count(reg.scenario), 0u)
        << "seed " << reg.seed << " no longer reaches the scenario of '" << reg.bug << "'";
  }
}

TEST(BrokerSim, EveryProfilePassesAFewSeeds) {
  for (FaultProfile p : {FaultProfile::none, FaultProfile::network, FaultProfile::disk, FaultProfile::process,
                         FaultProfile::clock, FaultProfile::all}) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      RunSpec spec;
      spec.seed = seed;
      spec.faults = p;
      spec.protocol = Protocol::broker;
      const RunResult r = run_one(spec);
      EXPECT_TRUE(r.ok()) << format_report(r, true);
      if (p == FaultProfile::none) {
        EXPECT_GT(r.acked_writes, 0u) << "a fault-free run makes progress";
      }
    }
  }
}

TEST(BrokerSim, SameSeedSameTraceHash) {
  RunSpec spec;
  spec.seed = 77;
  spec.protocol = Protocol::broker;
  const RunResult a = run_one(spec), b = run_one(spec);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.events, b.events);
}

}  // namespace
}  // namespace sluice::sim
