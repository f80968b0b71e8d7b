// Strong identifier and counter types shared by every layer of Sluice.
//
// A NodeId cannot be passed where a Term is expected: each is its own type
// over the same representation, so the compiler checks units for us.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace sluice {

template <class Tag, class Rep = std::uint64_t>
class Strong {
 public:
  using rep = Rep;

  constexpr Strong() = default;
  constexpr explicit Strong(Rep value) : value_(value) {}

  constexpr Rep value() const { return value_; }

  // Counters (terms, indexes) move forward one step at a time.
  constexpr Strong next() const { return Strong(value_ + 1); }

  friend constexpr auto operator<=>(Strong, Strong) = default;

 private:
  Rep value_{};
};

struct NodeIdTag {};
struct TermTag {};
struct LogIndexTag {};
struct GroupIdTag {};

// A server in the cluster. 0 means "none" (no vote, no leader).
using NodeId = Strong<NodeIdTag>;
// A Raft term, or an epoch of a simpler protocol. Starts at 0.
using Term = Strong<TermTag>;
// A position in a replicated log. The first entry has index 1; 0 means empty.
using LogIndex = Strong<LogIndexTag>;
// A consensus group. Today one group per cluster (group 1); multi-raft later.
using GroupId = Strong<GroupIdTag>;

inline constexpr NodeId kNoNode{0};
inline constexpr GroupId kDefaultGroup{1};

template <class Tag, class Rep>
std::string to_string(Strong<Tag, Rep> v) {
  return std::to_string(v.value());
}

}  // namespace sluice
