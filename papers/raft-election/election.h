// Figure 16 of the Raft paper (Ongaro and Ousterhout, "In Search of an
// Understandable Consensus Algorithm", USENIX ATC 2014) in the simulator: how
// long a five-server cluster is without a leader after its leader crashes.
//
// One trial, following the paper's benchmark (and section 9.3 of Ongaro's
// dissertation, which describes the same runs in more detail):
//   1. Five servers start with staggered tick phases; one is elected and
//      commits its first entry.
//   2. The followers' logs are made different: the leader proposes three
//      entries one at a time, and the network loses the appends that would
//      carry entries past each follower's share (lags 0, 1, 2 and 3 entries,
//      in a random order). Only the two longest logs can win an election.
//   3. The lagging followers are frozen: from now on every append from the
//      old leader to them is lost, so they hear only heartbeats. The cluster
//      settles for two maximum election timeouts.
//   4. The leader sends a heartbeat round (a synchronized broadcast: every
//      follower's timer restarts on its arrival), and crashes at a uniformly
//      random moment within the heartbeat interval that follows. Messages
//      already on the wire are still delivered.
//   5. The outage ends when some server leads and every other live server
//      has heard from it in its term (the paper: "until the other servers
//      received the new leader's first heartbeat"), or at the cap.
//
// Deterministic: a trial is a function of (setup, seed); the trace hash
// fingerprints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/common/types.h"
#include "sim/latency.h"

namespace sluice::papers {

struct ElectionSetup {
  // The election timeout is drawn uniformly from [min, max] (ms, both
  // included) at every election; one tick is 1 ms. The heartbeat interval is
  // half the minimum, as in the paper.
  std::int64_t timeout_min_ms = 150;
  std::int64_t timeout_max_ms = 300;
  bool pre_vote = false;
  bool check_quorum = false;
  // One-way message latency and the time to make a write durable. A
  // broadcast (the candidate's durable vote for itself, the request, the
  // voter's durable vote, the reply) takes about 15 ms either way; by
  // default the disk dominates, as on the paper's hardware (gigabit
  // Ethernet, SATA SSDs, "network round trip plus disk write").
  static constexpr sim::LatencyDist kLanOneWay = {Duration::micros(50), Duration::micros(100), Duration::micros(200),
                                                  Duration::micros(500)};
  static constexpr sim::LatencyDist kSsdFsync = {Duration::millis(5), Duration::millis(7), Duration::millis(9),
                                                 Duration::millis(15)};
  static constexpr sim::LatencyDist kSlowOneWay = {Duration::micros(6'500), Duration::millis(7), Duration::millis(8),
                                                   Duration::millis(10)};
  static constexpr sim::LatencyDist kFastFsync = {Duration::micros(500), Duration::millis(1), Duration::millis(2),
                                                  Duration::millis(4)};
  sim::LatencyDist one_way = kLanOneWay;
  sim::LatencyDist fsync = kSsdFsync;
  // A trial that has not found a leader by then is reported as capped.
  Duration cap = Duration::seconds(60);
  // Entries the longest follower log holds beyond the shortest one. With
  // lags 0..3 over four followers, exactly two of them can win.
  static constexpr int kServers = 5;
  static constexpr int kLagMax = 3;

  std::int64_t heartbeat_ms() const { return timeout_min_ms / 2; }
  std::string line() const { return std::to_string(timeout_min_ms) + "-" + std::to_string(timeout_max_ms); }
};

struct TrialResult {
  std::uint64_t seed = 0;
  Duration crash_offset;  // from the synchronized heartbeat round to the crash
  // From the crash until some server first became leader; that leader may
  // still be deposed before the others hear from it (short timeouts).
  Duration elected;
  // From the crash until a leader is known to every live server: the time
  // without a leader, the paper's measure. Equals `cap` when capped.
  Duration leaderless;
  bool capped = false;
  std::uint64_t terms = 0;    // elections started: final term - crashed leader's term
  std::uint64_t leaders = 0;  // leaders elected during the outage (1 unless deposed)
  int winner_lag = -1;        // entries the winner's log lacked before the crash: 0 or 1, unless the
                              // first leader was deposed after replicating its log
  // Real (not pre-vote) vote requests for a newer term that a surviving
  // follower refused after the crash because its own log was more
  // up-to-date: it adopted the candidate's term without granting its vote.
  // The name is historical: core/raft used to restart the refusing server's
  // election timer here; it now keeps the timer running, as in Figure 2 of
  // the paper, so nothing is reset. Not always zero (see README).
  std::uint64_t stale_resets = 0;
  Duration setup;  // virtual time spent before the crash
  std::uint64_t trace_hash = 0;
};

// The seed of trial `trial` of a run with base seed `base`; the same for
// every line and mode, so lines are compared on the same draws.
std::uint64_t trial_seed(std::uint64_t base, std::uint64_t trial);

// Runs one trial. `trace_path`, if not empty, receives every simulator event
// as JSON lines. Errors: the setup did not reach a stable leader (a setup that
// does not fit the model, e.g. timeouts below the broadcast time).
Result<TrialResult> run_trial(const ElectionSetup& setup, std::uint64_t seed, const std::string& trace_path = "");

// Order statistics over trials, in milliseconds. Percentiles are
// nearest-rank: p50 of 1,000 trials is the 500th smallest.
struct Summary {
  std::size_t trials = 0;
  std::size_t capped = 0;
  double min_ms = 0, p50_ms = 0, mean_ms = 0, p99_ms = 0, max_ms = 0;
  double elected_p50_ms = 0;
  double terms_mean = 0;
  double stale_resets_mean = 0;
};
Summary summarize(const std::vector<TrialResult>& results);

}  // namespace sluice::papers
