#include "sim/raftkv/invariants.h"

#include "core/common/random.h"

namespace sluice::raftkv {
namespace {

std::uint64_t entry_hash(const LogEntry& e) { return fnv1a64(e.data.data(), e.data.size()); }

}  // namespace

void InvariantChecker::fail(const std::string& what) {
  if (violations_.size() < 10) violations_.push_back(what);
}

bool InvariantChecker::check() {
  const std::size_t before = violations_.size();
  for (NodeId id : cluster_->servers()) {
    KvNode* node = cluster_->node(id);
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
