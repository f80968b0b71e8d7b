#include "sim/broker/run_broker.h"

#include <map>

#include "sim/broker/workload.h"
#include "sim/raftkv/invariants.h"
#include "sim/raftkv/replacer.h"

namespace sluice::sim {
namespace {

using brokersim::Cluster;

// The first record on which two state snapshots differ, for the report.
std::string first_difference(const std::string& a, const std::string& b) {
  auto records = [](const std::string& snap) {
    std::map<std::string, std::string> out;
    if (auto r = broker::BrokerState::snapshot_records(snap); r.ok()) out.insert(r->begin(), r->end());
    return out;
  };
  const auto ra = records(a);
  const auto rb = records(b);
  auto printable = [](const std::string& k) {
    std::string out;
    for (const char c : k) out += (c >= 32 && c < 127) ? std::string(1, c) : "\\x" + std::to_string(static_cast<unsigned char>(c));
    return out;
  };
  for (const auto& [k, v] : ra) {
    auto it = rb.find(k);
    if (it == rb.end()) return "record " + printable(k) + " only on the leader";
    if (it->second != v) return "record " + printable(k) + " differs";
  }
  for (const auto& [k, v] : rb) {
    if (!ra.contains(k)) return "record " + printable(k) + " only on the follower";
  }
  return "no record differs";
}

// Every voter of the leader's configuration runs and has applied what the
// leader applied, to byte-identical state.
bool converged(Cluster& cluster, std::string* why = nullptr) {
  const node::BrokerNode* leader = nullptr;
  for (NodeId id : cluster.servers()) {
    const node::BrokerNode* n = cluster.node(id);
    if (n != nullptr && n->raft().role() == raft::Role::leader) leader = n;
  }
  auto no = [why](std::string what) {
    if (why != nullptr) *why = std::move(what);
    return false;
  };
  if (leader == nullptr || leader->raft().config().joint()) return no(" no leader");
  const std::string state = leader->state().snapshot();
  for (NodeId id : leader->raft().config().all_voters()) {
    const node::BrokerNode* n = cluster.node(id);
    const std::string who = " node " + to_string(id);
    if (n == nullptr || n->poisoned()) return no(who + " is down or poisoned");
    if (n->applied() != leader->applied()) {
      return no(who + " applied " + to_string(n->applied()) + ", the leader " + to_string(leader->applied()));
    }
    if (n->applied_chain() != leader->applied_chain()) return no(who + " applied other entries than the leader");
    if (const std::string other = n->state().snapshot(); other != state) {
      return no(who + " has other state than the leader after the same entries: " + first_difference(state, other));
    }
  }
  return true;
}

}  // namespace

void run_broker(std::uint64_t seed, const BrokerRunOptions& options, FaultConfig faults, Scheduler& scheduler,
                Trace& trace, SimNetwork& network, Rng& rng, Hooks hooks, const ClusterOptions& cluster_options,
                RunResult& result) {
  // A server whose disk is wiped or found corrupt is retired and replaced
  // under a new id by the operator's procedure (raftkv::Replacer), as
  // docs/operations.md tells an operator to do; never restarted empty under
  // its own id. Without data loss, every disk keeps what it synced.
  if (options.data_loss) {
    faults.data_loss_protected.clear();
  } else {
    faults.data_loss_protected = cluster_options.servers;
    faults.empty_disk_share = 0;
  }
  result.fault_summary = faults.summary();

  Rng draw = rng.fork();
  // Small compaction thresholds so snapshots and InstallSnapshot carry the
  // broker state often; some seeds never compact.
  const std::uint64_t compact_every = chance(draw, 0.75) ? uniform_between(draw, 5, 300) : 0;
  raft::VoterSet voters(cluster_options.servers.begin(), cluster_options.servers.end());
  Rng node_seeds = rng.fork();
  brokersim::Workload* workload_ptr = nullptr;
  auto factory = [&](NodeId id, KvStore& store) {
    node::BrokerOptions o;
    o.raft.self = id;
    o.raft.hooks = hooks;
    o.compact_every = compact_every;
    return node::BrokerNode::open(o, voters, store, node_seeds.fork());
  };
  auto client_sink = [&](NodeId client, NodeId from, std::uint64_t sent, node::Message message) {
    if (workload_ptr != nullptr) workload_ptr->on_message(client, from, sent, std::move(message));
  };
  Cluster cluster(&scheduler, &trace, &network, rng.fork(), hooks, cluster_options, factory, client_sink);

  brokersim::WorkloadOptions wo;
  const int scale = options.clients.value_or(static_cast<int>(uniform_between(draw, 1, 2)));
  wo.producers = wo.consumers = wo.store_subscribers = wo.event_subscribers = 2 * scale;
  wo.store_group_members = options.store_groups ? 2 * scale : 0;
  wo.publishers = wo.event_publishers = wo.rpc_callers = wo.rpc_responders = scale;
  wo.readers = options.reads ? scale : 0;
  wo.time_starts = options.time_starts;
  if (scale == 0) wo = brokersim::WorkloadOptions{0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  brokersim::Workload workload(&cluster, rng.fork(), wo);
  workload_ptr = &workload;
  // Client connections behave as TCP does: no loss, duplication or
  // reordering between a client and its node (nodes still partition, crash
  // and pause).
  LinkConfig reliable = network.default_link();
  reliable.loss = reliable.duplicate = reliable.reorder = 0;
  // Replacements get ids after the servers'.
  using Replacer = raftkv::Replacer<node::BrokerNode>;
  const NodeId first_replacement(cluster_options.servers.size() + 1);
  std::vector<NodeId> reachable = cluster_options.servers;
  if (options.data_loss) {
    for (int i = 0; i < Replacer::kReplacementsMax; ++i) reachable.push_back(NodeId(first_replacement.value() + i));
  }
  for (std::uint64_t c = brokersim::Workload::kFirstClientId; c < brokersim::Workload::kFirstClientId + 64; ++c) {
    for (NodeId s : reachable) {
      network.set_link(NodeId(c), s, reliable);
      network.set_link(s, NodeId(c), reliable);
    }
  }

  FaultInjector injector(&cluster, rng.fork(), faults);
  std::optional<Replacer> replacer;
  if (options.data_loss) {
    replacer.emplace(&cluster, rng.fork(), first_replacement);
    injector.set_data_loss_handler({[&](NodeId id) { return replacer->may_lose(id); },
                                    [&](NodeId id) { replacer->lost(id); }});
  }
  raftkv::InvariantChecker invariants(&cluster);
  bool invariants_ok = true;
  scheduler.set_after_event([&] {
    if (invariants_ok) invariants_ok = invariants.check();
  });

  trace.event(scheduler.now(), "run.start").u("seed", seed).u("nodes", cluster_options.servers.size())
      .s("faults", profile_name(options.profile)).s("protocol", "broker");
  cluster.start_all();
  const Timestamp safety_end = Timestamp{0} + options.duration;
  workload.start(safety_end);
  injector.start(safety_end);
  scheduler.run_while([&] { return invariants_ok; }, safety_end);

  if (invariants_ok) {
    injector.heal_all();
    const Timestamp deadline = safety_end + options.liveness_bound;
    const bool done = scheduler.poll_until([&] { return workload.drained() && converged(cluster); },
                                           Duration::millis(50), deadline, [&] { return invariants_ok; });
    if (!done && invariants_ok) {
      result.violations.push_back("liveness: within " + format_duration(options.liveness_bound) +
                                  " of healing, queues did not drain, subscribers did not catch up or replicas "
                                  "did not converge:" + workload.drain_status() + [&] {
                                    std::string why;
                                    converged(cluster, &why);
                                    return why;
                                  }());
    }
  }
  scheduler.set_after_event(nullptr);
  trace.event(scheduler.now(), "run.end").u("events", scheduler.events_processed());
  for (const auto& v : invariants.violations()) result.violations.push_back("invariant: " + v);

  const node::BrokerNode* reference = nullptr;
  for (NodeId id : cluster.servers()) {
    const node::BrokerNode* n = cluster.node(id);
    if (n != nullptr && (reference == nullptr || n->applied() > reference->applied())) reference = n;
  }
  if (reference != nullptr) {
    for (auto& v : workload.check(reference->state())) result.violations.push_back("history: " + v);
  }
  result.acked_writes = workload.acknowledged();
  result.operations = workload.operations();
  result.fault_counts = injector.counts_summary();
}

}  // namespace sluice::sim
