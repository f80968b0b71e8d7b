// Raft's safety invariants, checked by the simulator after every event:
//  - election safety: at most one leader per term;
//  - monotonicity: within one incarnation of a node, its term and commit
//    index never decrease;
//  - state machine safety: every replica that applies index i applies the
//    same entry, checked through a hash chain over applied entries;
//  - committed entries are never lost or rewritten: the entry committed at
//    index i (term and data) is the same in every log that holds i as
//    committed, for all time; and a new leader of term T holds every entry
//    committed in a term below T (leader completeness). A leader of an
//    older term may finish its election late, after a newer term committed
//    more: that is allowed, and not what this checks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/cluster.h"
#include "sim/raftkv/kv_node.h"

namespace sluice::raftkv {

class InvariantChecker {
 public:
  explicit InvariantChecker(sim::SimCluster<KvNode>* cluster) : cluster_(cluster) {}

  // Runs every check; records violations (the first few) and returns
  // whether all held.
  bool check();
  const std::vector<std::string>& violations() const { return violations_; }
  LogIndex highest_committed() const { return LogIndex(committed_.size()); }

 private:
  struct Seen {
    std::uint64_t incarnation = 0;
    Term term;
    LogIndex commit;
    LogIndex checked_commit;  // committed entries of this node compared so far
    LogIndex checked_applied;
    bool was_leader = false;
  };
  void fail(const std::string& what);

  sim::SimCluster<KvNode>* cluster_;
  std::map<Term, NodeId> leaders_;
  std::map<NodeId, Seen> seen_;
  struct Committed {
    Term term;           // the entry's own term
    std::uint64_t hash;  // of its data
    Term seen_in;        // the observer's term when first seen committed: >= the term it was committed in
  };
  // committed_[i - 1]: the entry committed at index i; empty where no node
  // showed it to us before compacting it away.
  std::vector<std::optional<Committed>> committed_;
  std::vector<std::uint64_t> chains_;  // chains_[i - 1]: applied hash chain after index i
  std::vector<std::string> violations_;
};

}  // namespace sluice::raftkv
