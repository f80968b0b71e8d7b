// One simulation run from a seed, and a swarm of runs.
//
// A run draws its configuration from its seed (swarm testing): cluster size,
// fault rates, BUGGIFY sites, client count. Flags given explicitly override
// the draw, and the reproduce command repeats exactly those flags, so a
// failing seed from a swarm replays with the one printed command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/common/hooks.h"
#include "core/common/time.h"
#include "sim/faults.h"

namespace sluice::sim {

// The protocol under test: Raft with a replicated key-value store, the
// broker (Raft plus all five messaging patterns), or the primary-backup
// demonstration protocol in its correct or naive mode.
enum class Protocol { raft, broker, toy, naive };
const char* protocol_name(Protocol protocol);
bool parse_protocol(const std::string& text, Protocol* out);

// What the user asked for; unset fields are drawn from the seed.
struct RunSpec {
  std::uint64_t seed = 1;
  std::optional<int> nodes;
  std::optional<Duration> duration;
  std::optional<FaultProfile> faults;
  std::optional<int> clients;  // 0: an idle cluster (only the liveness probe)
  std::optional<Duration> think_max;  // client pause between requests
  bool raft_batching = true;  // false: one entry per AppendRequest
  // raft: serve reads from the leader's lease (raft::Options::lease_reads),
  // which trusts that clocks run at the same rate and never stop.
  bool raft_lease_reads = false;
  // broker: clients that are members of events store groups. Off replays
  // the workload of before they existed (older regression seeds).
  bool store_groups = true;
  // broker: disks that are wiped or found corrupt, and the operator's
  // replacement of such a server under a new id. Off replays the runs of
  // before the broker swarm had data loss (older regression seeds).
  bool data_loss = true;
  // broker: clients that read events store stats from any node and check
  // that each read saw every publish acknowledged before it began. Off
  // replays the runs of before they existed (older regression seeds).
  bool reads = true;
  // broker: events store subscribers may start by time and time delta, and
  // the checker verifies where a start by time began. Off replays the runs
  // of before (older regression seeds).
  bool time_starts = true;
  Protocol protocol = Protocol::raft;
  std::string trace_path;  // empty: no trace file
  std::string history_path;  // raft: write the client history as JSON lines
  Duration liveness_bound = Duration::seconds(30);

  // The sluice-sim command line that replays this run.
  std::string reproduce_command() const;
};

struct RunResult {
  std::uint64_t seed = 0;
  int nodes = 0;
  FaultProfile faults = FaultProfile::none;
  std::string fault_summary;
  Duration simulated;
  double wall_seconds = 0;
  std::uint64_t events = 0;
  std::uint64_t trace_hash = 0;
  std::uint64_t acked_writes = 0;  // toy: acknowledged writes; raft: completed operations
  std::uint64_t operations = 0;
  std::string protocol;
  std::vector<std::string> violations;
  ProbeCounters probes;
  std::vector<std::string> buggify_fired;  // sites that fired at least once
  std::string fault_counts;
  std::string reproduce;
  // raft: the longest time a connected majority waited for a leader
  // (sim/raftkv/leader_monitor.h); the bound is 10 s.
  Duration longest_leaderless_wait;

  bool ok() const { return violations.empty(); }
};

RunResult run_one(const RunSpec& spec);

// Human-readable report of one run.
std::string format_report(const RunResult& result, bool verbose);

}  // namespace sluice::sim
