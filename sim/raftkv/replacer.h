// The operator's procedure for a server that lost its data (DESIGN section
// 6: restarts with an empty disk, corruption of a minority's data).
//
// A Raft server that forgot its log and its votes must not come back under
// its old identity: it could vote twice in a term, or help elect a leader
// that lacks committed entries. So the operator retires it for good,
// removes it from the group by a membership change, and then adds a new
// server, with a new id and an empty disk, which catches up from the leader
// (by InstallSnapshot when the log was compacted). Membership changes go
// through the leader one at a time; every step is retried until the
// leader's configuration shows it committed, through leader changes and
// into the liveness phase.
//
// Data loss is allowed only while the group can afford it: the leader's
// configuration is committed, not joint, has at least three voters, and
// holds no other lost server. Then the others remain a majority of every
// configuration the procedure passes through.
#pragma once

#include <deque>
#include <vector>

#include "core/common/random.h"
#include "core/raft/raft.h"
#include "core/common/hooks.h"
#include "sim/cluster.h"

namespace sluice::raftkv {

// Node: a server of the cluster with raft(), poisoned() and applied(), as
// raftkv::KvNode and node::BrokerNode have.
template <class Node>
class Replacer {
 public:
  // Replacement ids are handed out from `first_id` upwards, at most
  // kReplacementsMax per run.
  static constexpr int kReplacementsMax = 16;

  Replacer(sim::SimCluster<Node>* cluster, Rng rng, NodeId first_id)
      : cluster_(cluster), rng_(rng), next_id_(first_id) {}

  // May `id` lose its data now? (See the header comment.)
  bool may_lose(NodeId id);
  // `id` lost its data (a wiped or corrupt disk): retire it and replace it.
  void lost(NodeId id);
  // A replacement is under way: other membership changes wait.
  bool busy() const { return !pending_.empty(); }
  std::uint64_t replaced() const { return replaced_; }

 private:
  struct Pending {
    NodeId lost;
    NodeId replacement;
    bool was_voter = false;
    bool removed = false;  // `lost` is out of the leader's committed configuration
  };
  // The running leader of the highest term, or null.
  Node* leader(NodeId* id);
  void schedule();
  void step();
  void watch_catch_up();

  sim::SimCluster<Node>* cluster_;
  Rng rng_;
  NodeId next_id_;
  NodeId approved_ = kNoNode;  // may_lose said yes to it, for the lost() that follows
  bool approved_was_voter_ = false;
  int replacements_ = 0;
  std::uint64_t replaced_ = 0;
  bool scheduled_ = false;
  std::deque<Pending> pending_;
  // Replacements that joined and have not yet been seen caught up: for the
  // probe that says whether one caught up through a snapshot.
  std::vector<NodeId> joined_;
};

template <class Node>
Node* Replacer<Node>::leader(NodeId* id) {
  Node* best = nullptr;
  for (NodeId s : cluster_->servers()) {
    if (cluster_->state(s) != sim::ProcessState::running) continue;
    Node* n = cluster_->node(s);
    if (n->poisoned() || n->raft().role() != raft::Role::leader) continue;
    if (best == nullptr || n->raft().term() > best->raft().term()) {
      best = n;
      *id = s;
    }
  }
  return best;
}

template <class Node>
bool Replacer<Node>::may_lose(NodeId id) {
  approved_ = kNoNode;
  if (busy() || replacements_ >= kReplacementsMax || cluster_->retired(id)) return false;
  NodeId leader_id;
  const Node* l = leader(&leader_id);
  if (l == nullptr) return false;
  const raft::Node& r = l->raft();
  const raft::JointConfig& c = r.config();
  if (c.joint() || !r.config_committed() || c.incoming.size() < 3) return false;
  for (NodeId v : c.incoming) {
    if (cluster_->retired(v)) return false;
  }
  approved_ = id;
  approved_was_voter_ = c.is_voter(id);
  return true;
}

template <class Node>
void Replacer<Node>::lost(NodeId id) {
  SLUICE_ASSERT(approved_ == id, "data loss only where may_lose allowed it, just before");
  approved_ = kNoNode;
  cluster_->retire(id);
  const NodeId replacement = next_id_;
  next_id_ = NodeId(next_id_.value() + 1);
  ++replacements_;
  cluster_->add_server(replacement);
  cluster_->restart(replacement, true);
  cluster_->trace().event(cluster_->scheduler().now(), "op.replace").u("lost", id.value())
      .u("replacement", replacement.value()).u("voter", approved_was_voter_ ? 1 : 0);
  // A server outside the group is replaced by a spare: nothing to change.
  pending_.push_back(Pending{id, replacement, approved_was_voter_, !approved_was_voter_});
  schedule();
}

template <class Node>
void Replacer<Node>::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  cluster_->scheduler().after(Duration::millis(uniform_between(rng_, 100, 300)), [this] {
    scheduled_ = false;
    step();
  });
}

template <class Node>
void Replacer<Node>::step() {
  watch_catch_up();
  if (pending_.empty()) {
    if (!joined_.empty()) schedule();
    return;
  }
  schedule();
  Pending& p = pending_.front();
  if (!p.was_voter) {
    ++replaced_;
    pending_.pop_front();
    return;
  }
  NodeId leader_id;
  const Node* l = leader(&leader_id);
  if (l == nullptr) return;
  const raft::JointConfig config = l->raft().config();
  // A change is under way (ours or one a deposed leader began): the leader
  // finishes it first, and we look again.
  if (config.joint() || !l->raft().config_committed()) return;
  raft::VoterSet next = config.incoming;
  if (!p.removed) {
    if (config.is_voter(p.lost)) {
      next.erase(p.lost);
      cluster_->trace().event(cluster_->scheduler().now(), "op.replace.remove").u("lost", p.lost.value());
      cluster_->act(leader_id, [next](Node& n) { (void)n.raft().change_membership(next); });
      return;
    }
    CODE_PROBE(cluster_->hooks(), true, raft_lost_server_removed);
    p.removed = true;
  }
  if (!config.incoming.count(p.replacement)) {
    next.insert(p.replacement);
    cluster_->trace().event(cluster_->scheduler().now(), "op.replace.add").u("replacement", p.replacement.value());
    cluster_->act(leader_id, [next](Node& n) { (void)n.raft().change_membership(next); });
    return;
  }
  CODE_PROBE(cluster_->hooks(), true, raft_replacement_joined);
  ++replaced_;
  joined_.push_back(p.replacement);
  pending_.pop_front();
}

template <class Node>
void Replacer<Node>::watch_catch_up() {
  NodeId leader_id;
  const Node* l = leader(&leader_id);
  for (auto it = joined_.begin(); it != joined_.end();) {
    const Node* n = cluster_->state(*it) == sim::ProcessState::running ? cluster_->node(*it) : nullptr;
    if (n != nullptr && n->raft().snapshots_installed() > 0) {
      CODE_PROBE(cluster_->hooks(), true, raft_replacement_caught_up_by_snapshot);
      it = joined_.erase(it);
    } else if (cluster_->retired(*it) || (n != nullptr && l != nullptr && n->applied() >= l->raft().commit())) {
      it = joined_.erase(it);  // caught up through appends (or lost in turn)
    } else {
      ++it;
    }
  }
}

}  // namespace sluice::raftkv
