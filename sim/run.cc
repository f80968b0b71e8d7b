#include "sim/run.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include "sim/buggify.h"
#include "sim/cluster.h"
#include "sim/broker/run_broker.h"
#include "sim/raftkv/run_raft.h"
#include "sim/toy/workload.h"

namespace sluice::sim {
namespace {

using Cluster = SimCluster<toy::PrimaryBackupNode>;

// Convergence: every running server holds the primary's committed prefix.
bool converged(Cluster& cluster, NodeId primary) {
  toy::PrimaryBackupNode* p = cluster.node(primary);
  if (p == nullptr || p->recovering()) return false;
  const std::uint64_t n = p->commit().value();
  for (NodeId id : cluster.servers()) {
    toy::PrimaryBackupNode* b = cluster.node(id);
    if (b == nullptr || b->poisoned() || b->log().size() < n) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
      if (b->log()[i] != p->log()[i]) return false;
    }
  }
  return true;
}

// Checks convergence every 20 ms of virtual time (not after every event:
// the check reads every log).
bool wait_for_convergence(Scheduler& scheduler, Cluster& cluster, NodeId primary, Timestamp deadline) {
  return scheduler.poll_until([&] { return converged(cluster, primary); }, Duration::millis(20), deadline);
}

}  // namespace

std::string RunSpec::reproduce_command() const {
  std::string cmd = "sluice-sim --seed " + std::to_string(seed);
  if (nodes) cmd += " --nodes " + std::to_string(*nodes);
  if (duration) cmd += " --duration " + std::to_string(duration->to_ms()) + "ms";
  if (faults) cmd += std::string(" --faults ") + profile_name(*faults);
  if (clients) cmd += " --clients " + std::to_string(*clients);
  if (think_max) cmd += " --think " + std::to_string(think_max->ns / 1000) + "us";
  if (protocol != Protocol::raft) cmd += std::string(" --protocol ") + protocol_name(protocol);
  if (raft_lease_reads) cmd += " --lease-reads";
  if (!store_groups) cmd += " --no-store-groups";
  if (!data_loss) cmd += " --no-data-loss";
  if (!reads) cmd += " --no-reads";
  if (!time_starts) cmd += " --no-time-starts";
  return cmd;
}

namespace {

// Everything a run draws from its seed, in a fixed order: changing this
// order moves every seed (see docs/simulator.md, regression seeds).
struct Setup {
  explicit Setup(std::uint64_t seed) : root(seed) {}
  Rng root;
  int nodes = 3;
  Duration duration;
  FaultProfile profile = FaultProfile::all;
  FaultConfig faults;
  int clients = 1;
  double read_share = 0.3;
  double buggify_enable = 0;
  LinkConfig link;
  int keys = 4;  // raft
};

Setup draw_setup(const RunSpec& spec) {
  Setup s(spec.seed);
  Rng draw = s.root.fork();
  s.nodes = spec.nodes.value_or(pick(draw, std::vector<int>{1, 3, 3, 5, 5, 7}));
  s.duration = spec.duration.value_or(Duration::seconds(10));
  // Unless asked for one, a seed draws its fault profile too: half of the
  // seeds get every fault family, the rest one family each (or none).
  const std::vector<FaultProfile> single = {FaultProfile::none, FaultProfile::network, FaultProfile::disk,
                                            FaultProfile::process, FaultProfile::clock};
  const FaultProfile drawn_profile = chance(draw, 0.5) ? FaultProfile::all : pick(draw, single);
  s.profile = spec.faults.value_or(drawn_profile);
  s.faults = draw_fault_config(draw, s.profile);
  s.clients = static_cast<int>(uniform_between(draw, 1, 4));
  if (spec.clients) s.clients = *spec.clients;
  s.read_share = 0.1 + unit_double(draw) * 0.4;
  s.buggify_enable = chance(draw, 0.5) ? 0.25 : 0.0;
  // Link latency: a LAN, or a slow network with a long tail in which old
  // messages outlive crashes and restarts.
  if (s.profile != FaultProfile::none && chance(draw, 0.3)) {
    s.link.latency = {Duration::millis(1), Duration::millis(5), Duration::millis(50), Duration::seconds(1)};
  }
  s.keys = static_cast<int>(uniform_between(draw, 1, 6));
  // One Raft seed in ten has a 30 s safety phase, long enough for the
  // leader monitor (a connected majority gets a leader within 10 s) to
  // judge whole windows while faults are still on. Drawn last, so that no
  // earlier draw moves.
  if (spec.protocol == Protocol::raft && chance(draw, 0.1)) s.duration = spec.duration.value_or(Duration::seconds(30));
  return s;
}

// The parts every protocol's run shares.
struct World {
  explicit World(const RunSpec& spec, const Setup& setup, std::FILE* trace_file)
      : trace(trace_file),
        rng(setup.root),
        buggify(spec.seed, rng.fork(), setup.buggify_enable, 0.25),
        hooks{&buggify, &probes},
        network(&scheduler, &trace, rng.fork(), hooks) {
    network.set_default_link(setup.link);
    for (int i = 1; i <= setup.nodes; ++i) cluster_options.servers.push_back(NodeId(static_cast<std::uint64_t>(i)));
  }
  Trace trace;
  Scheduler scheduler;
  Rng rng;
  SimBuggify buggify;
  ProbeCounters probes;
  Hooks hooks;
  SimNetwork network;
  ClusterOptions cluster_options;
};

// The figures every run reports, whatever the protocol.
void collect(RunResult& result, World& world) {
  result.simulated = world.scheduler.now() - Timestamp{0};
  result.events = world.scheduler.events_processed();
  result.trace_hash = world.trace.hash();
  result.probes = world.probes;
  for (const auto& [name, site] : world.buggify.sites()) {
    if (site.fired > 0) result.buggify_fired.push_back(name);
  }
}

void run_toy(const RunSpec& spec, Setup& setup, World& w, RunResult& result) {
  const toy::Mode mode = spec.protocol == Protocol::naive ? toy::Mode::naive : toy::Mode::correct;
  toy::WorkloadOptions workload_options;
  workload_options.clients = setup.clients;
  workload_options.read_share = setup.read_share;
  if (spec.think_max) workload_options.think_max = *spec.think_max;
  const NodeId primary(1);
  setup.faults.data_loss_protected = {primary};
  result.fault_summary = setup.faults.summary();

  toy::Workload* workload_ptr = nullptr;
  auto factory = [&](NodeId id, KvStore& store) {
    toy::Options o;
    o.self = id;
    o.primary = primary;
    o.members = w.cluster_options.servers;
    o.mode = mode;
    o.hooks = w.hooks;
    return toy::PrimaryBackupNode::open(o, store);
  };
  auto client_sink = [&](NodeId client, NodeId /*from*/, std::uint64_t /*sent*/, toy::Message message) {
    if (auto* reply = std::get_if<toy::ClientReply>(&message); reply && workload_ptr) {
      workload_ptr->on_reply(client, *reply);
    }
  };
  Cluster cluster(&w.scheduler, &w.trace, &w.network, w.rng.fork(), w.hooks, w.cluster_options, factory, client_sink);
  toy::Workload workload(&cluster, w.rng.fork(), workload_options, primary);
  workload_ptr = &workload;
  FaultInjector injector(&cluster, w.rng.fork(), setup.faults);

  w.trace.event(w.scheduler.now(), "run.start").u("seed", spec.seed).u("nodes", static_cast<std::uint64_t>(setup.nodes))
      .s("faults", profile_name(setup.profile)).s("protocol", protocol_name(spec.protocol));

  // Safety phase: faults on, clients busy.
  cluster.start_all();
  const Timestamp safety_end = Timestamp{0} + setup.duration;
  workload.start(safety_end);
  injector.start(safety_end);
  w.scheduler.run_until(safety_end);

  // Liveness phase: every fault healed; the cluster must serve a write and a
  // read and converge within the bound.
  injector.heal_all();
  const Timestamp liveness_deadline = safety_end + spec.liveness_bound;
  bool probe_done = false;
  workload.start_final_probe(&probe_done);
  if (!w.scheduler.run_while([&] { return !probe_done; }, liveness_deadline)) {
    result.violations.push_back("liveness: no write and read completed within " +
                                format_duration(spec.liveness_bound) + " after healing");
  } else if (!wait_for_convergence(w.scheduler, cluster, primary, liveness_deadline)) {
    result.violations.push_back("liveness: replicas did not converge within " +
                                format_duration(spec.liveness_bound) + " after healing");
  }
  w.trace.event(w.scheduler.now(), "run.end").u("events", w.scheduler.events_processed());
  for (auto& v : workload.history().check()) result.violations.push_back(std::move(v));
  result.acked_writes = workload.history().acked_writes();
  result.operations = workload.history().ops().size();
  result.fault_counts = injector.counts_summary();
}

}  // namespace

const char* protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::raft: return "raft";
    case Protocol::broker: return "broker";
    case Protocol::toy: return "toy";
    case Protocol::naive: return "naive";
  }
  return "unknown";
}

bool parse_protocol(const std::string& text, Protocol* out) {
  for (Protocol p : {Protocol::raft, Protocol::broker, Protocol::toy, Protocol::naive}) {
    if (text == protocol_name(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

RunResult run_one(const RunSpec& spec) {
  const auto wall_start = std::chrono::steady_clock::now();
  RunResult result;
  result.seed = spec.seed;
  result.reproduce = spec.reproduce_command();
  result.protocol = protocol_name(spec.protocol);
  Setup setup = draw_setup(spec);
  result.nodes = setup.nodes;
  result.faults = setup.profile;

  std::FILE* trace_file = nullptr;
  if (!spec.trace_path.empty()) {
    trace_file = std::fopen(spec.trace_path.c_str(), "w");
    if (trace_file == nullptr) {
      result.violations.push_back("cannot open trace file " + spec.trace_path);
      return result;
    }
  }
  {
    World world(spec, setup, trace_file);
    if (spec.protocol == Protocol::raft) {
      RaftRunOptions options{setup.clients, setup.keys, setup.read_share, spec.think_max, spec.liveness_bound,
                             setup.duration, setup.profile, spec.raft_batching, spec.history_path,
                             spec.raft_lease_reads};
      run_raft(spec.seed, options, setup.faults, world.scheduler, world.trace, world.network, world.rng, world.hooks,
               world.cluster_options, result);
    } else if (spec.protocol == Protocol::broker) {
      BrokerRunOptions options{setup.duration, spec.liveness_bound, setup.profile, spec.clients, spec.store_groups,
                               spec.data_loss, spec.reads, spec.time_starts};
      run_broker(spec.seed, options, setup.faults, world.scheduler, world.trace, world.network, world.rng, world.hooks,
                 world.cluster_options, result);
    } else {
      run_toy(spec, setup, world, result);
    }
    collect(result, world);
  }
  if (trace_file != nullptr) std::fclose(trace_file);
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

std::string format_report(const RunResult& r, bool verbose) {
  std::ostringstream out;
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.trace_hash));
  out << "seed " << r.seed << ": " << (r.ok() ? "PASS" : "FAIL") << "\n"
      << "  cluster     " << r.nodes << " nodes, protocol " << r.protocol << ", faults " << profile_name(r.faults) << "\n"
      << "  simulated   " << format_duration(r.simulated) << " in " << r.wall_seconds << " s wall ("
      << (r.wall_seconds > 0 ? static_cast<double>(r.simulated.ns) / 1e9 / r.wall_seconds : 0)
      << "x)\n"
      << "  events      " << r.events << "\n"
      << "  trace hash  " << hash << "\n"
      << "  operations  " << r.operations << " (" << r.acked_writes << " acknowledged writes)\n";
  if (r.protocol == "raft") {
    out << "  leaderless  " << format_duration(r.longest_leaderless_wait)
        << " longest wait of a connected majority for a leader (bound 10s)\n";
  }
  if (verbose) {
    out << "  fault rates " << r.fault_summary << "\n"
        << "  injected    " << (r.fault_counts.empty() ? "nothing" : r.fault_counts) << "\n";
    out << "  buggify     ";
    if (r.buggify_fired.empty()) out << "none fired";
    for (const auto& s : r.buggify_fired) out << s << " ";
    out << "\n  probes hit  ";
    bool any = false;
    for (std::size_t i = 0; i < kProbeCount; ++i) {
      if (r.probes.hits[i] == 0) continue;
      out << kProbeCatalogue[i].name << "=" << r.probes.hits[i] << " ";
      any = true;
    }
    if (!any) out << "none";
    out << "\n";
  }
  for (const auto& v : r.violations) out << "  VIOLATION   " << v << "\n";
  if (!r.ok()) out << "  reproduce:  " << r.reproduce << "\n";
  return out.str();
}

}  // namespace sluice::sim
