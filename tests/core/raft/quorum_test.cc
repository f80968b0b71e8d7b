// Quorum arithmetic checked exhaustively against a brute-force definition
// for every voter set of up to 5 nodes and every ack/vote assignment.
#include <gtest/gtest.h>

#include "core/raft/quorum.h"

namespace sluice::raft {
namespace {

// Brute force: the highest index i such that a majority has acked >= i.
LogIndex brute_committed(const VoterSet& voters, const std::map<NodeId, LogIndex>& acked) {
  std::uint64_t best = 0;
  for (std::uint64_t i = 0; i <= 4; ++i) {
    std::size_t count = 0;
    for (NodeId v : voters) {
      auto it = acked.find(v);
      count += (it == acked.end() ? 0 : it->second.value()) >= i;
    }
    if (count * 2 > voters.size()) best = i;
  }
  return LogIndex(best);
}

TEST(Quorum, MajorityCommittedMatchesBruteForce) {
  for (std::size_t n = 1; n <= 5; ++n) {
    VoterSet voters;
    for (std::size_t i = 1; i <= n; ++i) voters.insert(NodeId(i));
    // Every assignment of acked index 0..3 (or missing) to each voter.
    std::size_t combos = 1;
    for (std::size_t i = 0; i < n; ++i) combos *= 5;
    for (std::size_t c = 0; c < combos; ++c) {
      std::map<NodeId, LogIndex> acked;
      std::size_t x = c;
      for (std::size_t i = 1; i <= n; ++i, x /= 5) {
        if (x % 5 != 4) acked[NodeId(i)] = LogIndex(x % 5);
      }
      ASSERT_EQ(majority_committed(voters, acked), brute_committed(voters, acked)) << "n=" << n << " c=" << c;
    }
  }
}

TEST(Quorum, MajorityVoteMatchesBruteForce) {
  for (std::size_t n = 1; n <= 5; ++n) {
    VoterSet voters;
    for (std::size_t i = 1; i <= n; ++i) voters.insert(NodeId(i));
    std::size_t combos = 1;
    for (std::size_t i = 0; i < n; ++i) combos *= 3;
    for (std::size_t c = 0; c < combos; ++c) {
      std::map<NodeId, bool> votes;
      std::size_t yes = 0, no = 0, x = c;
      for (std::size_t i = 1; i <= n; ++i, x /= 3) {
        if (x % 3 == 1) votes[NodeId(i)] = true, ++yes;
        if (x % 3 == 2) votes[NodeId(i)] = false, ++no;
      }
      const VoteResult want = yes * 2 > n ? VoteResult::won : (n - no) * 2 <= n ? VoteResult::lost : VoteResult::pending;
      ASSERT_EQ(majority_vote(voters, votes), want) << "n=" << n << " c=" << c;
    }
  }
}

TEST(Quorum, JointNeedsBothHalves) {
  JointConfig c{{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(3), NodeId(4), NodeId(5)}, {}};
  std::map<NodeId, LogIndex> acked{{NodeId(1), LogIndex(9)}, {NodeId(2), LogIndex(9)}, {NodeId(3), LogIndex(2)}};
  // The incoming half commits 9, the outgoing half only 0 (4 and 5 missing).
  EXPECT_EQ(joint_committed(c, acked), LogIndex(0));
  acked[NodeId(4)] = LogIndex(7);
  EXPECT_EQ(joint_committed(c, acked), LogIndex(2));
  acked[NodeId(3)] = LogIndex(8);
  EXPECT_EQ(joint_committed(c, acked), LogIndex(7));

  std::map<NodeId, bool> votes{{NodeId(1), true}, {NodeId(2), true}};
  EXPECT_EQ(joint_vote(c, votes), VoteResult::pending);
  votes[NodeId(4)] = false;
  votes[NodeId(5)] = false;
  EXPECT_EQ(joint_vote(c, votes), VoteResult::lost);
  votes[NodeId(4)] = true;
  votes[NodeId(3)] = true;
  EXPECT_EQ(joint_vote(c, votes), VoteResult::won);
}

TEST(Quorum, NonJointConfigIsAMajority) {
  JointConfig c{{NodeId(1), NodeId(2), NodeId(3)}, {}, {}};
  EXPECT_FALSE(c.joint());
  EXPECT_EQ(joint_committed(c, {{NodeId(1), LogIndex(5)}, {NodeId(2), LogIndex(4)}}), LogIndex(4));
  EXPECT_EQ(joint_vote(c, {{NodeId(1), true}, {NodeId(3), true}}), VoteResult::won);
}

}  // namespace
}  // namespace sluice::raft
