// Simulator benchmarks: how fast virtual time runs.
//
//   ./build/bench/sim_bench
//
// BM_SchedulerEvents    events scheduled and run per second (items/s)
// BM_Cluster5/idle      a 5-node Raft cluster with no clients, 10 s simulated
// BM_Cluster5/busy      a 5-node Raft cluster with 8 clients, no think time
// BM_RaftCommit3/1|0    committed operations/s, 3 nodes, batching on|off
// sim_s_per_wall_s is the simulated-to-wall time ratio.
#include <benchmark/benchmark.h>

#include <string>

#include "core/common/random.h"
#include "sim/run.h"
#include "sim/scheduler.h"

namespace sluice::sim {
namespace {

void BM_SchedulerEvents(benchmark::State& state) {
  const auto batch = static_cast<std::int64_t>(state.range(0));
  Rng rng(1);
  for (auto _ : state) {
    Scheduler scheduler;
    std::int64_t sink = 0;
    for (std::int64_t i = 0; i < batch; ++i) {
      scheduler.at(Timestamp{uniform_between(rng, 0, 1'000'000)}, [&sink, i] { sink += i; });
    }
    while (scheduler.step()) {}
    benchmark::DoNotOptimize(sink);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_SchedulerEvents)->Arg(1'000)->Arg(100'000);

// A self-rescheduling chain, as timers behave: the heap stays small.
void BM_SchedulerChain(benchmark::State& state) {
  for (auto _ : state) {
    Scheduler scheduler;
    std::int64_t left = 100'000;
    std::function<void()> tick = [&] {
      if (--left > 0) scheduler.after(Duration::micros(10), tick);
    };
    scheduler.after(Duration::micros(10), tick);
    while (scheduler.step()) {}
  }
  state.SetItemsProcessed(state.iterations() * 100'000);
}
BENCHMARK(BM_SchedulerChain);

void BM_Cluster5(benchmark::State& state) {
  const bool busy = state.range(0) != 0;
  RunSpec spec;
  spec.nodes = 5;
  spec.duration = Duration::seconds(10);
  spec.faults = FaultProfile::none;
  spec.clients = busy ? 8 : 0;
  spec.think_max = Duration::nanos(0);
  std::uint64_t events = 0;
  double simulated = 0;
  for (auto _ : state) {
    RunResult r = run_one(spec);
    if (!r.ok()) state.SkipWithError("simulation run failed");
    events += r.events;
    simulated += static_cast<double>(r.simulated.ns) / 1e9;
    ++spec.seed;
  }
  state.counters["sim_s_per_wall_s"] = benchmark::Counter(simulated, benchmark::Counter::kIsRate);
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.SetLabel(busy ? "busy: 8 clients, no think time" : "idle: ticks and heartbeats only");
}
BENCHMARK(BM_Cluster5)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Raft throughput: committed operations through a fault-free 3-node
// cluster with 64 clients and no think time, 10 s simulated, with appends
// batched (up to 64 entries) or one entry per AppendRequest. Reports
// committed operations per simulated second (protocol efficiency under the
// simulated LAN and disk latencies) and per wall second (CPU cost).
void BM_RaftCommit3(benchmark::State& state) {
  RunSpec spec;
  spec.nodes = 3;
  spec.duration = Duration::seconds(10);
  spec.faults = FaultProfile::none;
  spec.clients = 64;
  spec.think_max = Duration::nanos(0);
  spec.raft_batching = state.range(0) != 0;
  double committed = 0, simulated = 0;
  for (auto _ : state) {
    RunResult r = run_one(spec);
    if (!r.ok()) state.SkipWithError("simulation run failed");
    committed += static_cast<double>(r.acked_writes);
    simulated += static_cast<double>(r.simulated.ns) / 1e9;
    ++spec.seed;
  }
  state.counters["ops_per_sim_s"] = committed / simulated;
  state.counters["ops_per_wall_s"] = benchmark::Counter(committed, benchmark::Counter::kIsRate);
  state.SetLabel(spec.raft_batching ? "batching on (64 entries per append)" : "batching off (1 entry per append)");
}
BENCHMARK(BM_RaftCommit3)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::sim

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) command += std::string(i ? " " : "") + argv[i];
  benchmark::AddCustomContext("command", command);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
