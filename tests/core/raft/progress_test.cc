#include <gtest/gtest.h>

#include "core/raft/progress.h"

namespace sluice::raft {
namespace {

TEST(Inflights, BoundedByCountAndBytes) {
  Inflights in(3, 100);
  in.add(LogIndex(1), 10);
  in.add(LogIndex(2), 10);
  EXPECT_FALSE(in.full());
  in.add(LogIndex(3), 10);
  EXPECT_TRUE(in.full()) << "count bound";
  in.free_through(LogIndex(2));
  EXPECT_EQ(in.count(), 1u);
  EXPECT_EQ(in.bytes(), 10u);
  in.add(LogIndex(9), 95);
  EXPECT_TRUE(in.full()) << "byte bound";
  in.free_first();
  EXPECT_EQ(in.count(), 1u);
  in.reset();
  EXPECT_EQ(in.count(), 0u);
  EXPECT_EQ(in.bytes(), 0u);
}

TEST(Progress, ProbeSendsOneAtATime) {
  Progress p(LogIndex(11), 8, 1 << 20);
  EXPECT_EQ(p.state(), ProgressState::probe);
  EXPECT_FALSE(p.paused());
  p.sent_entries(LogIndex(12), 10);
  EXPECT_TRUE(p.paused()) << "one probe in flight";
  EXPECT_EQ(p.next(), LogIndex(11)) << "probe does not advance next optimistically";
  p.heartbeat_answered();
  EXPECT_FALSE(p.paused());
}

TEST(Progress, ReplicatePipelinesUpToTheWindow) {
  Progress p(LogIndex(1), 2, 1 << 20);
  ASSERT_TRUE(p.maybe_update(LogIndex(0)) == false);
  p.become_replicate();
  p.sent_entries(LogIndex(5), 10);
  EXPECT_EQ(p.next(), LogIndex(6));
  p.sent_entries(LogIndex(9), 10);
  EXPECT_TRUE(p.paused()) << "window of 2 is full";
  EXPECT_TRUE(p.maybe_update(LogIndex(5)));
  EXPECT_FALSE(p.paused());
  EXPECT_EQ(p.match(), LogIndex(5));
  EXPECT_EQ(p.next(), LogIndex(10));
}

TEST(Progress, FullWindowGivesUpASlotOnHeartbeat) {
  Progress p(LogIndex(1), 1, 1 << 20);
  p.become_replicate();
  p.sent_entries(LogIndex(3), 1);
  ASSERT_TRUE(p.paused());
  p.heartbeat_answered();
  EXPECT_FALSE(p.paused()) << "lost appends must not stall a follower for ever";
}

TEST(Progress, RejectionsBackOffBelowTheRejectedIndex) {
  Progress p(LogIndex(43), 8, 1 << 20);
  // Probe at prev=42 rejected with hint 42 (the follower's term at 42 is
  // lower): the next probe must go below 42, not resend 42.
  ASSERT_TRUE(p.maybe_decrease_to(LogIndex(42), LogIndex(42)));
  EXPECT_EQ(p.next(), LogIndex(42));
  // A hint far below jumps there.
  ASSERT_TRUE(p.maybe_decrease_to(LogIndex(41), LogIndex(10)));
  EXPECT_EQ(p.next(), LogIndex(11));
  // A stale rejection (not for our last probe) is ignored.
  EXPECT_FALSE(p.maybe_decrease_to(LogIndex(30), LogIndex(5)));
  EXPECT_EQ(p.next(), LogIndex(11));
}

TEST(Progress, NeverBacksOffBelowMatch) {
  Progress p(LogIndex(1), 8, 1 << 20);
  p.maybe_update(LogIndex(20));
  p.become_replicate();
  p.sent_entries(LogIndex(30), 1);
  EXPECT_FALSE(p.maybe_decrease_to(LogIndex(15), LogIndex(0))) << "rejection below match is stale";
  ASSERT_TRUE(p.maybe_decrease_to(LogIndex(25), LogIndex(0)));
  EXPECT_EQ(p.next(), LogIndex(21));
  EXPECT_GT(p.next(), p.match());
}

TEST(Progress, SnapshotStateHoldsUntilAcknowledged) {
  Progress p(LogIndex(1), 8, 1 << 20);
  p.become_snapshot(LogIndex(100));
  EXPECT_TRUE(p.paused());
  p.maybe_update(LogIndex(100));
  p.become_probe();
  EXPECT_EQ(p.next(), LogIndex(101));
}

}  // namespace
}  // namespace sluice::raft
