// Smoke test of the Figure 16 experiment: a few trials of two lines, checked
// against what the setup implies. The full run is papers/raft-election/
// regenerate.sh, not a test.
#include <gtest/gtest.h>

#include "papers/raft-election/election.h"

namespace sluice::papers {
namespace {

constexpr int kTrials = 20;

ElectionSetup line(std::int64_t min_ms, std::int64_t max_ms, bool pre_vote) {
  ElectionSetup s;
  s.timeout_min_ms = min_ms;
  s.timeout_max_ms = max_ms;
  s.pre_vote = pre_vote;
  s.cap = Duration::seconds(20);
  return s;
}

// The followers' timers restart when the synchronized heartbeat arrives, at
// least one one-way latency after it was sent; the crash comes crash_offset
// after the send. No follower times out sooner than the minimum timeout after
// that (less one tick of phase), and a candidate then needs its own durable
// vote, a request, the voter's durable vote and a reply.
Duration earliest_leader(const ElectionSetup& s, const TrialResult& r) {
  return Duration::millis(s.timeout_min_ms - 1) - r.crash_offset + s.one_way.min * 3 + s.fsync.min * 2;
}

void check_trials(const ElectionSetup& s) {
  for (std::uint64_t k = 0; k < kTrials; ++k) {
    SCOPED_TRACE("line " + s.line() + (s.pre_vote ? " prevote" : "") + " trial " + std::to_string(k));
    auto r = run_trial(s, trial_seed(1, k));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_FALSE(r->capped);
    EXPECT_GE(r->crash_offset.ns, 0);
    EXPECT_LT(r->crash_offset, Duration::millis(s.heartbeat_ms()));
    EXPECT_GE(r->elected, earliest_leader(s, *r));
    EXPECT_GE(r->leaderless, r->elected) << "the others hear from a leader after it is elected";
    EXPECT_LT(r->leaderless, s.cap);
    EXPECT_GE(r->terms, 1u);
    EXPECT_GE(r->leaders, 1u);
    // Only the two longest follower logs hold every committed entry, so the
    // first leader is one of them. (If it is deposed, it has replicated its
    // log meanwhile and any server may win the next election.)
    if (r->leaders == 1) {
      EXPECT_TRUE(r->winner_lag == 0 || r->winner_lag == 1) << r->winner_lag;
    }
  }
}

TEST(RaftElection, WideRandomRangeElectsWithinBounds) { check_trials(line(150, 300, false)); }

TEST(RaftElection, PreVoteElectsWithinBounds) { check_trials(line(150, 300, true)); }

TEST(RaftElection, ShortTimeoutsStillElect) { check_trials(line(25, 50, false)); }

TEST(RaftElection, SameSeedSameTrial) {
  const ElectionSetup s = line(150, 155, false);
  auto a = run_trial(s, 42);
  auto b = run_trial(s, 42);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->trace_hash, b->trace_hash);
  EXPECT_EQ(a->leaderless, b->leaderless);
  auto c = run_trial(s, 43);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->trace_hash, c->trace_hash);
}

}  // namespace
}  // namespace sluice::papers
