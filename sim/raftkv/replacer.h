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
#include "sim/cluster.h"
#include "sim/raftkv/kv_node.h"

namespace sluice::raftkv {

class Replacer {
 public:
  // Replacement ids are handed out from `first_id` upwards, at most
  // kReplacementsMax per run.
  static constexpr int kReplacementsMax = 16;

  Replacer(sim::SimCluster<KvNode>* cluster, Rng rng, NodeId first_id)
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
  KvNode* leader(NodeId* id);
  void schedule();
  void step();
  void watch_catch_up();

  sim::SimCluster<KvNode>* cluster_;
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

}  // namespace sluice::raftkv
