// Quorum arithmetic, pure and exhaustively tested: the commit index a set of
// voters has reached, and the outcome of a vote, for a single majority
// configuration and for a joint one (the old and new configurations of a
// membership change, both of which must agree).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/common/types.h"

namespace sluice::raft {

using VoterSet = std::set<NodeId>;

enum class VoteResult { pending, won, lost };

// The highest index that a majority of `voters` has acknowledged. Voters
// missing from `acked` count as 0. An empty voter set has no constraint: it
// returns the maximum index, so that a joint config with an empty half
// reduces to the other half.
LogIndex majority_committed(const VoterSet& voters, const std::map<NodeId, LogIndex>& acked);

// granted/rejected: who answered yes / no. Won once a majority said yes,
// lost once a majority can no longer say yes.
VoteResult majority_vote(const VoterSet& voters, const std::map<NodeId, bool>& votes);

// A configuration: during a joint change both `incoming` and `outgoing` are
// set, outside one only `incoming`.
struct JointConfig {
  VoterSet incoming;
  VoterSet outgoing;  // empty unless in a joint change
  // Peer addresses ("host:port") of voters that joined by a membership
  // change, replicated with the configuration so that every member, a later
  // leader and a restarted node can reach them. Opaque to Raft. The
  // bootstrap voters' addresses are configured on each node instead.
  std::map<NodeId, std::string> addresses;

  bool joint() const { return !outgoing.empty(); }
  bool is_voter(NodeId id) const { return incoming.count(id) || outgoing.count(id); }
  // Every voter of either half, ordered.
  VoterSet all_voters() const;
  friend bool operator==(const JointConfig&, const JointConfig&) = default;
};

LogIndex joint_committed(const JointConfig& config, const std::map<NodeId, LogIndex>& acked);
VoteResult joint_vote(const JointConfig& config, const std::map<NodeId, bool>& votes);

}  // namespace sluice::raft
