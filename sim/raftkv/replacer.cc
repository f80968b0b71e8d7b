#include "sim/raftkv/replacer.h"

namespace sluice::raftkv {

KvNode* Replacer::leader(NodeId* id) {
  KvNode* best = nullptr;
  for (NodeId s : cluster_->servers()) {
    if (cluster_->state(s) != sim::ProcessState::running) continue;
    KvNode* n = cluster_->node(s);
    if (n->poisoned() || n->raft().role() != raft::Role::leader) continue;
    if (best == nullptr || n->raft().term() > best->raft().term()) {
      best = n;
      *id = s;
    }
  }
  return best;
}

bool Replacer::may_lose(NodeId id) {
  approved_ = kNoNode;
  if (busy() || replacements_ >= kReplacementsMax || cluster_->retired(id)) return false;
  NodeId leader_id;
  const KvNode* l = leader(&leader_id);
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

void Replacer::lost(NodeId id) {
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

void Replacer::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  cluster_->scheduler().after(Duration::millis(uniform_between(rng_, 100, 300)), [this] {
    scheduled_ = false;
    step();
  });
}

void Replacer::step() {
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
  const KvNode* l = leader(&leader_id);
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
      cluster_->act(leader_id, [next](KvNode& n) { (void)n.raft().change_membership(next); });
      return;
    }
    CODE_PROBE(cluster_->hooks(), true, raft_lost_server_removed);
    p.removed = true;
  }
  if (!config.incoming.count(p.replacement)) {
    next.insert(p.replacement);
    cluster_->trace().event(cluster_->scheduler().now(), "op.replace.add").u("replacement", p.replacement.value());
    cluster_->act(leader_id, [next](KvNode& n) { (void)n.raft().change_membership(next); });
    return;
  }
  CODE_PROBE(cluster_->hooks(), true, raft_replacement_joined);
  ++replaced_;
  joined_.push_back(p.replacement);
  pending_.pop_front();
}

void Replacer::watch_catch_up() {
  NodeId leader_id;
  const KvNode* l = leader(&leader_id);
  for (auto it = joined_.begin(); it != joined_.end();) {
    const KvNode* n = cluster_->state(*it) == sim::ProcessState::running ? cluster_->node(*it) : nullptr;
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
