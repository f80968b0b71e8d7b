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
#include "core/common/random.h"
#include "sim/raftkv/kv_node.h"

namespace sluice::raftkv {

// Node: any Raft-based node with raft(), applied() and applied_chain()
// (KvNode, node::BrokerNode).
template <class Node>
class InvariantChecker {
 public:
  explicit InvariantChecker(sim::SimCluster<Node>* cluster) : cluster_(cluster) {}

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
  void fail(const std::string& what) {
    if (violations_.size() < 10) violations_.push_back(what);
  }
  static std::uint64_t entry_hash(const LogEntry& e) { return fnv1a64(e.data.data(), e.data.size()); }

  sim::SimCluster<Node>* cluster_;
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

template <class Node>
bool InvariantChecker<Node>::check() {
  const std::size_t before = violations_.size();
  for (NodeId id : cluster_->servers()) {
    Node* node = cluster_->node(id);
    if (node == nullptr) continue;
    const raft::Node& r = node->raft();
    Seen& s = seen_[id];
    const std::uint64_t incarnation = cluster_->incarnation(id);
    if (s.incarnation != incarnation) s = Seen{incarnation, r.term(), r.commit(), LogIndex(0), LogIndex(0), false};
    const std::string who = "node " + to_string(id);
    if (r.term() < s.term) fail(who + ": term went back from " + to_string(s.term) + " to " + to_string(r.term()));
    if (r.commit() < s.commit) fail(who + ": commit went back from " + to_string(s.commit) + " to " + to_string(r.commit()));
    s.term = r.term();
    s.commit = r.commit();
    const bool leader = r.role() == raft::Role::leader;
    if (leader) {
      auto [it, inserted] = leaders_.emplace(r.term(), id);
      if (!inserted && it->second != id) {
        fail("two leaders in term " + to_string(r.term()) + ": nodes " + to_string(it->second) + " and " + to_string(id));
      }
      if (!s.was_leader) {
        // Leader completeness: everything committed so far is in its log.
        for (std::size_t i = r.snapshot_index().value() + 1; i <= committed_.size(); ++i) {
          const LogIndex index(i);
          if (!committed_[i - 1] || committed_[i - 1]->seen_in >= r.term()) continue;
          if (index > r.last_index() || r.term_at(index) != committed_[i - 1]->term ||
              entry_hash(r.entry(index)) != committed_[i - 1]->hash) {
            fail(who + " became leader of term " + to_string(r.term()) + " without committed entry " + to_string(index));
            break;
          }
        }
      }
    }
    s.was_leader = leader;
    // Committed entries: the same everywhere and for ever.
    // Entries compacted into a snapshot cannot be compared any more.
    if (s.checked_commit < r.snapshot_index()) s.checked_commit = r.snapshot_index();
    for (LogIndex i = s.checked_commit.next(); i <= r.commit(); i = i.next()) {
      const LogEntry& e = r.entry(i);
      if (i.value() > committed_.size()) committed_.resize(i.value());
      auto& known = committed_[i.value() - 1];
      if (!known) {
        known = Committed{e.term, entry_hash(e), r.term()};
      } else if (known->term != e.term || known->hash != entry_hash(e)) {
        fail(who + ": committed entry " + to_string(i) + " differs from the one committed before");
      }
    }
    s.checked_commit = r.commit();
    // Applied state: one hash chain for all replicas.
    if (node->applied() > s.checked_applied) {
      const std::size_t i = node->applied().value();
      if (i > chains_.size()) {
        chains_.resize(i, 0);
        chains_[i - 1] = node->applied_chain();
      } else if (chains_[i - 1] != 0 && chains_[i - 1] != node->applied_chain()) {
        fail(who + ": applied state after index " + std::to_string(i) + " differs from another replica's");
      } else {
        chains_[i - 1] = node->applied_chain();
      }
      s.checked_applied = node->applied();
    }
  }
  return violations_.size() == before;
}

}  // namespace sluice::raftkv
