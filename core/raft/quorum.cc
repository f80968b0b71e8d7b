#include "core/raft/quorum.h"

#include <algorithm>
#include <functional>

namespace sluice::raft {

LogIndex majority_committed(const VoterSet& voters, const std::map<NodeId, LogIndex>& acked) {
  if (voters.empty()) return LogIndex(UINT64_MAX);
  std::vector<LogIndex> indexes;
  indexes.reserve(voters.size());
  for (NodeId v : voters) {
    auto it = acked.find(v);
    indexes.push_back(it == acked.end() ? LogIndex(0) : it->second);
  }
  std::sort(indexes.begin(), indexes.end(), std::greater<>());
  // The (n/2+1)-th highest value is held by a majority.
  return indexes[voters.size() / 2];
}

VoteResult majority_vote(const VoterSet& voters, const std::map<NodeId, bool>& votes) {
  if (voters.empty()) return VoteResult::won;
  std::size_t yes = 0, no = 0;
  for (NodeId v : voters) {
    auto it = votes.find(v);
    if (it == votes.end()) continue;
    (it->second ? yes : no)++;
  }
  const std::size_t majority = voters.size() / 2 + 1;
  if (yes >= majority) return VoteResult::won;
  if (voters.size() - no < majority) return VoteResult::lost;
  return VoteResult::pending;
}

VoterSet JointConfig::all_voters() const {
  VoterSet all = incoming;
  all.insert(outgoing.begin(), outgoing.end());
  return all;
}

LogIndex joint_committed(const JointConfig& config, const std::map<NodeId, LogIndex>& acked) {
  return std::min(majority_committed(config.incoming, acked),
                  majority_committed(config.outgoing, acked));
}

VoteResult joint_vote(const JointConfig& config, const std::map<NodeId, bool>& votes) {
  const VoteResult a = majority_vote(config.incoming, votes);
  const VoteResult b = majority_vote(config.outgoing, votes);
  if (a == VoteResult::lost || b == VoteResult::lost) return VoteResult::lost;
  if (a == VoteResult::won && b == VoteResult::won) return VoteResult::won;
  return VoteResult::pending;
}

}  // namespace sluice::raft
