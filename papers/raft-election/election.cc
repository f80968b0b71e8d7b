#include "papers/raft-election/election.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>

#include "core/raft/raft.h"
#include "sim/cluster.h"

namespace sluice::papers {
namespace {

// A raft::Node as a StepMachine for the simulated cluster, plus what the
// experiment needs at the edge of the node: a receive filter that models the
// appends lost while the logs are made different, and observations.
class ElectionNode {
 public:
  using Message = raft::Message;

  static Result<std::unique_ptr<ElectionNode>> open(const raft::Options& options, const raft::VoterSet& voters,
                                                    KvStore& store, Rng rng) {
    auto node = raft::Node::open(options, voters, store, rng);
    if (!node.ok()) return node.status();
    return std::unique_ptr<ElectionNode>(new ElectionNode(std::move(node).value()));
  }

  void step(NodeId from, Message message, Timestamp /*now*/) {
    if (lost_on_the_wire(from, message)) return;
    const Term before = raft_->term();
    raft_->step(from, message);
    // A real vote request for a newer term that we refused: our log is more
    // up-to-date (with the term newer, our vote was free, so the log is the
    // only reason to refuse). The node took the term but kept its election
    // timer running (core/raft restarts it only when it grants a vote, hears
    // from a leader or campaigns). A request ignored under the CheckQuorum lease
    // leaves our term unchanged and is not counted.
    if (const auto* v = std::get_if<raft::VoteRequest>(&message); v != nullptr && !v->pre_vote) {
      if (v->term > before && raft_->term() == v->term && raft_->vote() != from) ++stale_resets_;
    }
  }
  void tick(Timestamp /*now*/) { raft_->tick(); }
  void on_persisted(PersistId id, Status status) { raft_->on_persisted(id, status); }
  bool has_output() const { return raft_->has_output(); }
  bool poisoned() const { return raft_->poisoned(); }

  Output<Message> take_output() {
    // No state machine: committed entries need no applying.
    raft::RaftOutput out = raft_->take_output();
    const bool heartbeat = std::any_of(out.io.send_now.begin(), out.io.send_now.end(), [](const auto& e) {
      return std::holds_alternative<raft::Heartbeat>(e.message);
    });
    if (heartbeat) ++heartbeat_rounds_;
    return std::move(out.io);
  }

  // Appends from `leader` that carry an entry past `through` are lost; once
  // `frozen`, every append from `leader` is.
  void lose_appends(NodeId leader, LogIndex through) {
    lose_from_ = leader;
    through_ = through;
  }
  void freeze() { frozen_ = true; }

  raft::Node& raft() { return *raft_; }
  std::uint64_t heartbeat_rounds() const { return heartbeat_rounds_; }
  std::uint64_t stale_resets() const { return stale_resets_; }

 private:
  explicit ElectionNode(std::unique_ptr<raft::Node> raft) : raft_(std::move(raft)) {}

  bool lost_on_the_wire(NodeId from, const Message& message) const {
    if (from != lose_from_) return false;
    const auto* append = std::get_if<raft::AppendRequest>(&message);
    if (append == nullptr) return false;
    if (frozen_) return true;
    return !append->entries.empty() && append->entries.back().index > through_;
  }

  std::unique_ptr<raft::Node> raft_;
  NodeId lose_from_ = kNoNode;
  LogIndex through_;
  bool frozen_ = false;
  std::uint64_t heartbeat_rounds_ = 0;
  std::uint64_t stale_resets_ = 0;
};

using Cluster = sim::SimCluster<ElectionNode>;

// Bounds on the setup phase, in virtual time; a trial that needs longer does
// not fit the model and is reported as an error.
constexpr Duration kSetupStepMax = Duration::seconds(10);

const sim::LatencyDist kInstant = sim::LatencyDist::fixed(Duration{0});

// The leader every live server follows in its term, if there is one.
NodeId agreed_leader(Cluster& cluster) {
  NodeId leader = kNoNode;
  Term term;
  for (NodeId id : cluster.servers()) {
    ElectionNode* n = cluster.node(id);
    if (n != nullptr && n->raft().role() == raft::Role::leader) {
      leader = id;
      term = n->raft().term();
    }
  }
  if (leader == kNoNode) return kNoNode;
  for (NodeId id : cluster.servers()) {
    ElectionNode* n = cluster.node(id);
    if (n == nullptr || id == leader) continue;
    if (n->raft().term() != term || n->raft().leader() != leader) return kNoNode;
  }
  return leader;
}

// A leader newer than `term` exists on some live server.
NodeId leader_after(Cluster& cluster, Term term) {
  for (NodeId id : cluster.servers()) {
    ElectionNode* n = cluster.node(id);
    if (n != nullptr && n->raft().role() == raft::Role::leader && n->raft().term() > term) return id;
  }
  return kNoNode;
}

class Trial {
 public:
  Trial(const ElectionSetup& setup, std::uint64_t seed, std::FILE* trace_file)
      : setup_(setup), seed_(seed), rng_(seed), trace_(trace_file),
        network_(&scheduler_, &trace_, rng_.fork(), Hooks{}) {
    sim::LinkConfig link;
    link.latency = setup.one_way;
    network_.set_default_link(link);
    sim::ClusterOptions options;
    for (int i = 1; i <= ElectionSetup::kServers; ++i) options.servers.push_back(NodeId(static_cast<std::uint64_t>(i)));
    options.tick_interval = Duration::millis(1);
    options.disk_timing.write = kInstant;
    options.disk_timing.fsync = setup.fsync;
    voters_ = raft::VoterSet(options.servers.begin(), options.servers.end());
    node_seeds_ = rng_.fork();
    auto factory = [this](NodeId id, KvStore& store) {
      raft::Options o;
      o.self = id;
      o.election_ticks = static_cast<std::uint64_t>(setup_.timeout_min_ms);
      o.election_ticks_max = static_cast<std::uint64_t>(setup_.timeout_max_ms);
      o.heartbeat_ticks = static_cast<std::uint64_t>(setup_.heartbeat_ms());
      o.pre_vote = setup_.pre_vote;
      o.check_quorum = setup_.check_quorum;
      return ElectionNode::open(o, voters_, store, node_seeds_.fork());
    };
    auto client_sink = [](NodeId, NodeId, std::uint64_t, raft::Message) {
      SLUICE_ASSERT(false, "the experiment has no clients");
    };
    cluster_ = std::make_unique<Cluster>(&scheduler_, &trace_, &network_, rng_.fork(), Hooks{}, options, factory,
                                         client_sink);
  }

  Result<TrialResult> run() {
    TrialResult r;
    r.seed = seed_;
    if (Status s = elect_first_leader(); !s.ok()) return s;
    if (Status s = make_logs_differ(); !s.ok()) return s;
    if (Status s = settle(); !s.ok()) return s;
    crash_after_heartbeat(r);
    measure_outage(r);
    r.trace_hash = trace_.hash();
    return r;
  }

 private:
  ElectionNode& node(NodeId id) {
    ElectionNode* n = cluster_->node(id);
    SLUICE_ASSERT(n != nullptr, "the node is running");
    return *n;
  }

  bool run_until(const std::function<bool()>& done, Duration bound) {
    return scheduler_.run_while([&] { return !done(); }, scheduler_.now() + bound);
  }

  Status fail(const std::string& what) {
    return Status(Code::timeout, "line " + setup_.line() + " seed " + std::to_string(seed_) + ": " + what);
  }

  // Servers start within one millisecond of each other, so their ticks are
  // not in lockstep (a real server's timer is not aligned to anyone's).
  Status elect_first_leader() {
    for (NodeId id : cluster_->servers()) {
      const Timestamp start{static_cast<std::int64_t>(uniform_below(rng_, 1'000'000))};
      scheduler_.at(start, [this, id] { cluster_->restart(id, false); });
    }
    scheduler_.run_until(Timestamp{1'000'000});
    cluster_->act(NodeId(1), [](ElectionNode& n) { n.raft().campaign(); });
    // Stable: everyone follows one leader, which has committed its no-op,
    // and still does two maximum election timeouts later (with timeouts
    // near the broadcast time the first leaders may not last).
    const Timestamp deadline = scheduler_.now() + kSetupStepMax;
    while (scheduler_.now() < deadline) {
      const bool agreed = run_until(
          [&] {
            leader_ = agreed_leader(*cluster_);
            if (leader_ == kNoNode) return false;
            const raft::Node& l = node(leader_).raft();
            return l.term_at(l.commit()) == l.term();
          },
          deadline - scheduler_.now());
      if (!agreed) break;
      const Term term = node(leader_).raft().term();
      scheduler_.run_until(scheduler_.now() + Duration::millis(2 * setup_.timeout_max_ms));
      if (agreed_leader(*cluster_) == leader_ && node(leader_).raft().term() == term) return {};
    }
    return fail("no stable first leader");
  }

  Status make_logs_differ() {
    for (NodeId id : cluster_->servers()) {
      if (id != leader_) followers_.push_back(id);
    }
    std::vector<int> lags(followers_.size());
    std::iota(lags.begin(), lags.end(), 0);
    shuffle(rng_, lags);
    const LogIndex base = node(leader_).raft().last_index();
    for (std::size_t i = 0; i < followers_.size(); ++i) {
      lag_[followers_[i]] = lags[i];
      const LogIndex through(base.value() + ElectionSetup::kLagMax - static_cast<std::uint64_t>(lags[i]));
      node(followers_[i]).lose_appends(leader_, through);
    }
    // One entry at a time, so that an append carries only the newest entry
    // and a follower takes exactly its share.
    for (int k = 1; k <= ElectionSetup::kLagMax; ++k) {
      const LogIndex index(base.value() + static_cast<std::uint64_t>(k));
      bool proposed = false;
      cluster_->act(leader_, [&](ElectionNode& n) { proposed = n.raft().propose("entry").ok(); });
      if (!proposed) return fail("the leader refused a proposal");
      const bool ok = run_until(
          [&] {
            for (NodeId f : followers_) {
              const bool wants = base.value() + ElectionSetup::kLagMax - static_cast<std::uint64_t>(lag_[f]) >= index.value();
              if (wants && node(f).raft().last_index() < index) return false;
            }
            return true;
          },
          kSetupStepMax);
      if (!ok) return fail("entry " + to_string(index) + " did not replicate");
      if (agreed_leader(*cluster_) != leader_) return fail("leadership moved while the logs were made different");
    }
    return {};
  }

  Status settle() {
    for (NodeId f : followers_) {
      if (lag_[f] > 0) node(f).freeze();
    }
    const Term term = node(leader_).raft().term();
    scheduler_.run_until(scheduler_.now() + Duration::millis(2 * setup_.timeout_max_ms));
    // With timeouts close to the broadcast time a follower may still time out
    // now and then; such a trial has no stable leader to crash.
    if (agreed_leader(*cluster_) != leader_ || node(leader_).raft().term() != term) {
      return fail("an election interrupted the settling leader");
    }
    const LogIndex last = node(leader_).raft().last_index();
    for (NodeId f : followers_) {
      const LogIndex want(last.value() - static_cast<std::uint64_t>(lag_[f]));
      if (node(f).raft().last_index() != want) return fail("follower " + to_string(f) + " has the wrong log length");
    }
    return {};
  }

  void crash_after_heartbeat(TrialResult& r) {
    const std::uint64_t rounds = node(leader_).heartbeat_rounds();
    const bool sent = run_until([&] { return node(leader_).heartbeat_rounds() > rounds; }, kSetupStepMax);
    SLUICE_ASSERT(sent, "a stable leader sends heartbeats");
    const Duration interval = Duration::millis(setup_.heartbeat_ms());
    r.crash_offset = Duration{static_cast<std::int64_t>(uniform_below(rng_, static_cast<std::uint64_t>(interval.ns)))};
    // The next round is due a full interval after this one: the crash comes first.
    scheduler_.run_until(scheduler_.now() + r.crash_offset);
    crashed_term_ = node(leader_).raft().term();
    r.setup = scheduler_.now() - Timestamp{0};
    cluster_->crash(leader_);
    for (NodeId f : followers_) stale_resets_before_ += node(f).stale_resets();
  }

  void measure_outage(TrialResult& r) {
    const Timestamp crash = scheduler_.now();
    NodeId first = kNoNode;
    NodeId last_elected = kNoNode;
    Term last_term = crashed_term_;
    const bool done = run_until(
        [&] {
          // Count each newly elected leader once, at the event that made it.
          if (NodeId l = leader_after(*cluster_, last_term); l != kNoNode) {
            last_term = node(l).raft().term();
            last_elected = l;
            ++r.leaders;
            if (first == kNoNode) {
              first = l;
              r.elected = scheduler_.now() - crash;
            }
          }
          return agreed_leader(*cluster_) != kNoNode;
        },
        setup_.cap);
    r.capped = !done;
    r.leaderless = done ? scheduler_.now() - crash : setup_.cap;
    if (r.capped && first == kNoNode) r.elected = setup_.cap;
    Term final_term = crashed_term_;
    std::uint64_t stale_resets = 0;
    for (NodeId f : followers_) {
      final_term = std::max(final_term, node(f).raft().term());
      stale_resets += node(f).stale_resets();
    }
    r.terms = final_term.value() - crashed_term_.value();
    r.stale_resets = stale_resets - stale_resets_before_;
    if (done) r.winner_lag = lag_.at(agreed_leader(*cluster_));
  }

  const ElectionSetup& setup_;
  std::uint64_t seed_;
  Rng rng_;
  Rng node_seeds_{0};
  sim::Scheduler scheduler_;
  sim::Trace trace_;
  sim::SimNetwork network_;
  raft::VoterSet voters_;
  std::unique_ptr<Cluster> cluster_;
  NodeId leader_ = kNoNode;
  std::vector<NodeId> followers_;
  std::map<NodeId, int> lag_;
  Term crashed_term_;
  std::uint64_t stale_resets_before_ = 0;
};

}  // namespace

std::uint64_t trial_seed(std::uint64_t base, std::uint64_t trial) {
  std::uint64_t state = base ^ (trial * 0x9e3779b97f4a7c15ULL);
  return splitmix64(state);
}

Result<TrialResult> run_trial(const ElectionSetup& setup, std::uint64_t seed, const std::string& trace_path) {
  SLUICE_ASSERT(setup.timeout_min_ms >= 2 && setup.timeout_max_ms >= setup.timeout_min_ms,
                "election timeouts: 2 <= min <= max");
  std::FILE* file = nullptr;
  if (!trace_path.empty()) {
    file = std::fopen(trace_path.c_str(), "w");
    if (file == nullptr) return Status(Code::io_error, "cannot write " + trace_path);
  }
  Result<TrialResult> r = Trial(setup, seed, file).run();
  if (file != nullptr) std::fclose(file);
  return r;
}

Summary summarize(const std::vector<TrialResult>& results) {
  Summary s;
  s.trials = results.size();
  if (results.empty()) return s;
  std::vector<double> ms;
  std::vector<double> elected_ms;
  for (const TrialResult& r : results) {
    ms.push_back(static_cast<double>(r.leaderless.ns) / 1e6);
    elected_ms.push_back(static_cast<double>(r.elected.ns) / 1e6);
    s.capped += r.capped ? 1 : 0;
    s.terms_mean += static_cast<double>(r.terms);
    s.stale_resets_mean += static_cast<double>(r.stale_resets);
  }
  std::sort(ms.begin(), ms.end());
  std::sort(elected_ms.begin(), elected_ms.end());
  auto rank = [](const std::vector<double>& v, double q) {
    // Nearest rank: the smallest value with at least q of the trials at or below it.
    std::size_t k = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
    k = std::clamp<std::size_t>(k, 1, v.size());
    return v[k - 1];
  };
  const double n = static_cast<double>(results.size());
  s.min_ms = ms.front();
  s.max_ms = ms.back();
  s.p50_ms = rank(ms, 0.50);
  s.p99_ms = rank(ms, 0.99);
  s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / n;
  s.elected_p50_ms = rank(elected_ms, 0.50);
  s.terms_mean /= n;
  s.stale_resets_mean /= n;
  return s;
}

}  // namespace sluice::papers
