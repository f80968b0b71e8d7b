#include "sim/raftkv/run_raft.h"

#include <sstream>

#include "sim/check/linearizability.h"
#include "sim/raftkv/invariants.h"
#include "sim/raftkv/leader_monitor.h"
#include "sim/raftkv/replacer.h"
#include "sim/raftkv/workload.h"

namespace sluice::sim {
namespace {

using Cluster = SimCluster<raftkv::KvNode>;

// Every voter of the leader's configuration runs and has applied the same
// log as the leader.
bool converged(Cluster& cluster) {
  const raftkv::KvNode* leader = nullptr;
  for (NodeId id : cluster.servers()) {
    raftkv::KvNode* n = cluster.node(id);
    if (n != nullptr && n->raft().role() == raft::Role::leader) leader = n;
  }
  if (leader == nullptr || leader->raft().config().joint()) return false;
  for (NodeId id : leader->raft().config().all_voters()) {
    raftkv::KvNode* n = cluster.node(id);
    if (n == nullptr || n->poisoned()) return false;
    if (n->applied() != leader->applied() || n->applied_chain() != leader->applied_chain()) return false;
  }
  return true;
}

std::string describe_cluster(Cluster& cluster) {
  std::string out;
  for (NodeId id : cluster.servers()) {
    raftkv::KvNode* n = cluster.node(id);
    out += " [" + to_string(id) + ": ";
    if (n == nullptr) {
      out += "down]";
      continue;
    }
    const raft::Node& r = n->raft();
    out += std::string(raft::role_name(r.role())) + " t=" + to_string(r.term()) + " last=" + to_string(r.last_index()) +
           " commit=" + to_string(r.commit()) + " applied=" + to_string(n->applied()) + " voters=";
    for (NodeId v : r.config().incoming) out += to_string(v) + ",";
    if (r.config().joint()) {
      out += "|";
      for (NodeId v : r.config().outgoing) out += to_string(v) + ",";
    }
    out += (n->poisoned() ? " poisoned]" : "]");
  }
  return out;
}

}  // namespace

void run_raft(std::uint64_t seed, const RaftRunOptions& options, FaultConfig faults, Scheduler& scheduler,
              Trace& trace, SimNetwork& network, Rng& rng, Hooks hooks, const ClusterOptions& cluster_options,
              RunResult& result) {
  // A server that loses its disk, or finds it corrupt, is replaced under a
  // new id (raftkv::Replacer), never restarted empty under its own.
  faults.data_loss_protected.clear();
  faults.partial_partition = true;

  // Some seeds get spare servers that start outside the group, and an
  // operator who adds and removes members while faults are on.
  Rng membership_draw = rng.fork();
  const bool membership_changes = chance(membership_draw, 0.5);
  ClusterOptions all_servers = cluster_options;
  const int spares = membership_changes ? static_cast<int>(uniform_between(membership_draw, 1, 2)) : 0;
  for (int i = 1; i <= spares; ++i) {
    all_servers.servers.push_back(NodeId(cluster_options.servers.size() + static_cast<std::uint64_t>(i)));
  }
  raft::VoterSet voters(cluster_options.servers.begin(), cluster_options.servers.end());
  // Gets through ReadIndex or through the log, drawn per seed.
  Rng reads_draw = rng.fork();
  const bool read_index = chance(reads_draw, 0.5);
  // Small, randomized compaction thresholds so snapshots and InstallSnapshot
  // happen often; some seeds never compact.
  const std::uint64_t compact_every =
      chance(reads_draw, 0.75) ? static_cast<std::uint64_t>(uniform_between(reads_draw, 3, 200)) : 0;
  // The stale-read mix, for a fifth of the seeds with network faults: many
  // clients reading one hot key through ReadIndex, half of them sticking to
  // a server that does not answer, and a nemesis that cuts the leader off
  // (often pausing it too) while those clients keep asking it.
  // A deposed leader that served reads without a heartbeat round would
  // answer from a stale state. Drawn after the draws above, so that seeds
  // without the mix keep theirs.
  const bool stale_read_mix = faults.network && chance(reads_draw, 0.2);
  const auto reads =
      read_index || stale_read_mix ? raftkv::KvNode::Reads::read_index : raftkv::KvNode::Reads::through_log;
  faults.isolate_leader = stale_read_mix;
  result.fault_summary = faults.summary();
  Rng node_seeds = rng.fork();
  raftkv::Workload* workload_ptr = nullptr;
  auto factory = [&](NodeId id, KvStore& store) {
    raft::Options o;
    o.self = id;
    o.hooks = hooks;
    if (!options.batching) o.append_entries_max = 1;
    o.lease_reads = options.lease_reads;
    // Spares join with no configuration; the others bootstrap the group.
    const raft::VoterSet bootstrap = voters.count(id) ? voters : raft::VoterSet{};
    return raftkv::KvNode::open(o, bootstrap, store, node_seeds.fork(), reads, compact_every);
  };
  auto client_sink = [&](NodeId client, NodeId from, std::uint64_t /*sent*/, raftkv::Message message) {
    if (auto* reply = std::get_if<raftkv::KvReply>(&message); reply && workload_ptr) {
      workload_ptr->on_reply(client, from, *reply);
    }
  };
  Cluster cluster(&scheduler, &trace, &network, rng.fork(), hooks, all_servers, factory, client_sink);
  raftkv::WorkloadOptions wo;
  wo.clients = options.clients;
  wo.keys = options.keys;
  wo.get_share = options.get_share;
  if (stale_read_mix) {
    wo.clients = static_cast<int>(uniform_between(reads_draw, 3, 6));
    wo.sticky_clients = wo.clients / 2;
    wo.keys = 1;
    wo.get_share = 0.7;
    wo.think_max = Duration::millis(5);
  }
  if (options.think_max) wo.think_max = *options.think_max;
  raftkv::Workload workload(&cluster, rng.fork(), wo);
  workload_ptr = &workload;
  FaultInjector injector(&cluster, rng.fork(), faults);
  injector.set_leader_finder([&] {
    NodeId leader = kNoNode;
    Term term;
    for (NodeId id : cluster.servers()) {
      if (cluster.state(id) != ProcessState::running) continue;
      const raft::Node& r = cluster.node(id)->raft();
      if (r.role() == raft::Role::leader && r.term() >= term) {
        leader = id;
        term = r.term();
      }
    }
    return leader;
  });
  raftkv::InvariantChecker invariants(&cluster);
  bool invariants_ok = true;
  // Liveness under faults: never longer than 10 s without a leader while a
  // majority is connected (sim/raftkv/leader_monitor.h).
  raftkv::LeaderMonitor leader_monitor(&cluster, Duration::seconds(10));
  // A snapshot installed while a partition is in force (issue 3's probe):
  // the core counts installs, the network knows about partitions, so the
  // two meet here, after the event that installed it.
  std::uint64_t installs_seen = 0;
  scheduler.set_after_event([&] {
    if (invariants_ok) invariants_ok = invariants.check();
    leader_monitor.after_event();
    if (hooks.probes != nullptr && hooks.probes->count(ProbeId::raft_snapshot_installed) != installs_seen) {
      installs_seen = hooks.probes->count(ProbeId::raft_snapshot_installed);
      CODE_PROBE(hooks, network.partitioned(), raft_snapshot_installed_during_partition);
    }
  });

  // Operator actions during the safety phase: leadership transfers.
  Rng operator_rng = rng.fork();
  const bool transfers = chance(operator_rng, 0.5) && cluster_options.servers.size() > 1;
  std::function<void()> transfer = [&] {
    if (scheduler.now() >= Timestamp{0} + options.duration) return;
    for (NodeId id : cluster_options.servers) {
      raftkv::KvNode* n = cluster.node(id);
      if (n == nullptr || n->raft().role() != raft::Role::leader) continue;
      NodeId to = pick(operator_rng, cluster_options.servers);
      if (to == id) break;
      trace.event(scheduler.now(), "op.transfer_leadership").u("from", id.value()).u("to", to.value());
      cluster.act(id, [to](raftkv::KvNode& node) { (void)node.raft().transfer_leadership(to); });
      break;
    }
    scheduler.after(Duration::millis(uniform_between(operator_rng, 200, 3000)), transfer);
  };
  if (transfers) scheduler.after(Duration::millis(500), transfer);

  // Servers that lose their data are retired and replaced by new ones.
  raftkv::Replacer replacer(&cluster, rng.fork(), NodeId(all_servers.servers.size() + 1));
  injector.set_data_loss_handler({[&](NodeId id) { return replacer.may_lose(id); },
                                  [&](NodeId id) { replacer.lost(id); }});

  // Membership changes: add a server outside the group, or remove a voter
  // (keeping at least one), through the current leader; not while a server
  // that lost its data is being replaced.
  auto change_membership = [&] {
    const std::vector<NodeId> servers = cluster.servers();
    for (NodeId id : servers) {
      raftkv::KvNode* n = cluster.node(id);
      if (n == nullptr || n->raft().role() != raft::Role::leader) continue;
      raft::VoterSet next = n->raft().config().incoming;
      std::vector<NodeId> outside;
      for (NodeId s : servers) {
        if (!next.count(s) && !cluster.retired(s)) outside.push_back(s);
      }
      if (!outside.empty() && (next.size() <= 2 || chance(membership_draw, 0.5))) {
        next.insert(pick(membership_draw, outside));
      } else if (next.size() > 1) {
        std::vector<NodeId> members(next.begin(), next.end());
        next.erase(pick(membership_draw, members));
      }
      trace.event(scheduler.now(), "op.change_membership").u("leader", id.value()).u("voters", next.size());
      cluster.act(id, [next](raftkv::KvNode& node) { (void)node.raft().change_membership(next); });
      return;
    }
  };
  std::function<void()> reconfigure = [&] {
    if (scheduler.now() >= Timestamp{0} + options.duration) return;
    if (!replacer.busy()) change_membership();
    scheduler.after(Duration::millis(uniform_between(membership_draw, 300, 3000)), reconfigure);
  };
  if (membership_changes) scheduler.after(Duration::millis(700), reconfigure);

  trace.event(scheduler.now(), "run.start").u("seed", seed).u("nodes", all_servers.servers.size())
      .s("faults", profile_name(options.profile)).s("protocol", "raft");
  cluster.start_all();
  const Timestamp safety_end = Timestamp{0} + options.duration;
  workload.start(safety_end);
  injector.start(safety_end);
  scheduler.run_while([&] { return invariants_ok; }, safety_end);

  if (invariants_ok) {
    injector.heal_all();
    const Timestamp deadline = safety_end + options.liveness_bound;
    // With every fault healed, a leader must emerge within 10 s.
    const Timestamp leader_deadline = safety_end + Duration::seconds(10);
    auto has_leader = [&] {
      for (NodeId id : cluster.servers()) {
        raftkv::KvNode* n = cluster.node(id);
        if (n != nullptr && n->raft().role() == raft::Role::leader) return true;
      }
      return false;
    };
    if (!scheduler.run_while([&] { return !has_leader() && invariants_ok; }, leader_deadline) && !has_leader()) {
      result.violations.push_back("liveness: no leader within 10s after healing:" + describe_cluster(cluster));
    }
    bool probe_done = false;
    workload.start_final_probe(&probe_done);
    if (!scheduler.run_while([&] { return !probe_done && invariants_ok; }, deadline)) {
      if (invariants_ok) {
        result.violations.push_back("liveness: no put and get completed within " +
                                    format_duration(options.liveness_bound) + " after healing:" +
                                    describe_cluster(cluster));
      }
    } else {
      const bool done = scheduler.poll_until([&] { return converged(cluster); }, Duration::millis(20), deadline,
                                             [&] { return invariants_ok; });
      if (!done && invariants_ok) {
        result.violations.push_back("liveness: replicas did not converge within " +
                                    format_duration(options.liveness_bound) + " after healing:" +
                                    describe_cluster(cluster));
      }
    }
  }
  scheduler.set_after_event(nullptr);
  trace.event(scheduler.now(), "run.end").u("events", scheduler.events_processed());
  for (const auto& v : invariants.violations()) result.violations.push_back("invariant: " + v);
  if (leader_monitor.violation()) result.violations.push_back(*leader_monitor.violation());
  result.longest_leaderless_wait = leader_monitor.longest_wait();

  if (!options.history_path.empty()) {
    if (std::FILE* f = std::fopen(options.history_path.c_str(), "w")) {
      for (const check::KvOp& op : workload.history()) {
        std::fprintf(f, "{\"client\":%llu,\"key\":\"%s\",\"op\":\"%s\",\"value\":\"%s\",\"found\":%s,\"call\":%lld,\"ret\":%s}\n",
                     static_cast<unsigned long long>(op.client), op.key.c_str(), op.put ? "put" : "get", op.value.c_str(),
                     op.found ? "true" : "false", static_cast<long long>(op.call),
                     op.ret ? std::to_string(*op.ret).c_str() : "null");
      }
      std::fclose(f);
    } else {
      result.violations.push_back("cannot open history file " + options.history_path);
    }
  }
  const auto lin = check::check_kv_linearizable(workload.history());
  if (lin.verdict == check::Verdict::not_linearizable) {
    result.violations.push_back("not linearizable: " + lin.detail);
  }
  CODE_PROBE(hooks, lin.verdict == check::Verdict::inconclusive, sim_linearizability_inconclusive);
  result.acked_writes = workload.completed();
  result.operations = workload.history().size();
  result.fault_counts = injector.counts_summary();
}

}  // namespace sluice::sim
