#include "sim/run.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include "sim/buggify.h"
#include "sim/cluster.h"
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
  bool done = false;
  std::function<void()> check = [&] {
    done = converged(cluster, primary);
    if (!done && scheduler.now() < deadline) scheduler.after(Duration::millis(20), check);
  };
  check();
  scheduler.run_while([&] { return !done; }, deadline);
  return done;
}

}  // namespace

std::string RunSpec::reproduce_command() const {
  std::string cmd = "sluice-sim --seed " + std::to_string(seed);
  if (nodes) cmd += " --nodes " + std::to_string(*nodes);
  if (duration) cmd += " --duration " + std::to_string(duration->to_ms()) + "ms";
  if (faults) cmd += std::string(" --faults ") + profile_name(*faults);
  if (clients) cmd += " --clients " + std::to_string(*clients);
  if (think_max) cmd += " --think " + std::to_string(think_max->ns / 1000) + "us";
  if (mode != toy::Mode::correct) cmd += std::string(" --protocol ") + toy::mode_name(mode);
  return cmd;
}

RunResult run_one(const RunSpec& spec) {
  const auto wall_start = std::chrono::steady_clock::now();
  RunResult result;
  result.seed = spec.seed;
  result.reproduce = spec.reproduce_command();

  // Every random choice of the run descends from this one generator.
  Rng root(spec.seed);
  Rng draw = root.fork();
  const int drawn_nodes = pick(draw, std::vector<int>{1, 3, 3, 5, 5, 7});
  const int nodes = spec.nodes.value_or(drawn_nodes);
  const Duration duration = spec.duration.value_or(Duration::seconds(10));
  const FaultProfile profile = spec.faults.value_or(FaultProfile::all);
  FaultConfig fault_config = draw_fault_config(draw, profile);
  toy::WorkloadOptions workload_options;
  workload_options.clients = static_cast<int>(uniform_between(draw, 1, 4));
  if (spec.clients) workload_options.clients = *spec.clients;
  if (spec.think_max) workload_options.think_max = *spec.think_max;
  workload_options.read_share = 0.1 + unit_double(draw) * 0.4;
  const double buggify_enable = chance(draw, 0.5) ? 0.25 : 0.0;
  // Link latency: a LAN, or a slow network with a long tail in which old
  // messages outlive crashes and restarts.
  LinkConfig link;
  if (profile != FaultProfile::none && chance(draw, 0.3)) {
    link.latency = {Duration::millis(1), Duration::millis(5), Duration::millis(50), Duration::seconds(1)};
  }

  result.nodes = nodes;
  result.faults = profile;

  std::FILE* trace_file = nullptr;
  if (!spec.trace_path.empty()) {
    trace_file = std::fopen(spec.trace_path.c_str(), "w");
    if (trace_file == nullptr) {
      result.violations.push_back("cannot open trace file " + spec.trace_path);
      return result;
    }
  }
  Trace trace(trace_file);
  Scheduler scheduler;
  SimBuggify buggify(spec.seed, root.fork(), buggify_enable, 0.25);
  ProbeCounters probes;
  Hooks hooks{&buggify, &probes};
  SimNetwork network(&scheduler, &trace, root.fork(), hooks);
  network.set_default_link(link);

  ClusterOptions cluster_options;
  for (int i = 1; i <= nodes; ++i) cluster_options.servers.push_back(NodeId(static_cast<std::uint64_t>(i)));
  const NodeId primary(1);
  fault_config.data_loss_protected = {primary};
  result.fault_summary = fault_config.summary();

  toy::Workload* workload_ptr = nullptr;
  auto factory = [&](NodeId id, KvStore& store) {
    toy::Options o;
    o.self = id;
    o.primary = primary;
    o.members = cluster_options.servers;
    o.mode = spec.mode;
    o.hooks = hooks;
    return toy::PrimaryBackupNode::open(o, store);
  };
  auto client_sink = [&](NodeId client, NodeId /*from*/, toy::Message message) {
    if (auto* reply = std::get_if<toy::ClientReply>(&message); reply && workload_ptr) {
      workload_ptr->on_reply(client, *reply);
    }
  };
  Cluster cluster(&scheduler, &trace, &network, root.fork(), hooks, cluster_options, factory, client_sink);
  toy::Workload workload(&cluster, root.fork(), workload_options, primary);
  workload_ptr = &workload;
  FaultInjector injector(&cluster, root.fork(), fault_config);

  trace.event(scheduler.now(), "run.start").u("seed", spec.seed).u("nodes", static_cast<std::uint64_t>(nodes))
      .s("faults", profile_name(profile)).s("protocol", toy::mode_name(spec.mode));

  // Safety phase: faults on, clients busy.
  cluster.start_all();
  const Timestamp safety_end = Timestamp{0} + duration;
  workload.start(safety_end);
  injector.start(safety_end);
  scheduler.run_until(safety_end);

  // Liveness phase: every fault healed; the cluster must serve a write and a
  // read and converge within the bound.
  injector.heal_all();
  const Timestamp liveness_deadline = safety_end + spec.liveness_bound;
  bool probe_done = false;
  workload.start_final_probe(&probe_done);
  if (!scheduler.run_while([&] { return !probe_done; }, liveness_deadline)) {
    result.violations.push_back("liveness: no write and read completed within " +
                                format_duration(spec.liveness_bound) + " after healing");
  } else if (!wait_for_convergence(scheduler, cluster, primary, liveness_deadline)) {
    result.violations.push_back("liveness: replicas did not converge within " +
                                format_duration(spec.liveness_bound) + " after healing");
  }
  trace.event(scheduler.now(), "run.end").u("events", scheduler.events_processed());

  for (auto& v : workload.history().check()) result.violations.push_back(std::move(v));

  result.simulated = scheduler.now() - Timestamp{0};
  result.events = scheduler.events_processed();
  result.trace_hash = trace.hash();
  result.acked_writes = workload.history().acked_writes();
  result.operations = workload.history().ops().size();
  result.probes = probes;
  for (const auto& [name, site] : buggify.sites()) {
    if (site.fired > 0) result.buggify_fired.push_back(name);
  }
  std::ostringstream counts;
  for (const auto& [name, n] : injector.counts()) counts << name << "=" << n << " ";
  result.fault_counts = counts.str();
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
      << "  cluster     " << r.nodes << " nodes, faults " << profile_name(r.faults) << "\n"
      << "  simulated   " << format_duration(r.simulated) << " in " << r.wall_seconds << " s wall ("
      << (r.wall_seconds > 0 ? static_cast<double>(r.simulated.ns) / 1e9 / r.wall_seconds : 0)
      << "x)\n"
      << "  events      " << r.events << "\n"
      << "  trace hash  " << hash << "\n"
      << "  operations  " << r.operations << " (" << r.acked_writes << " acknowledged writes)\n";
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
