// The leader's view of one follower's log, after etcd raft's tracker/.
//
// States:
//  - probe: we do not know where the follower's log matches ours; send one
//    append at a time and wait for its answer (or a heartbeat) before the
//    next, backing off with the follower's reject hints.
//  - replicate: the follower is keeping up; stream appends optimistically
//    (pipelining), bounded by the inflight window.
//  - snapshot: the entries it needs are compacted away; a snapshot is on its
//    way and nothing else is sent until it is acknowledged.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <utility>

#include "core/common/types.h"

namespace sluice::raft {

enum class ProgressState { probe, replicate, snapshot };
const char* progress_state_name(ProgressState state);

// Appends sent but not yet acknowledged, bounded by count and bytes. Each is
// remembered by its last index, so an acknowledgement frees a prefix.
class Inflights {
 public:
  Inflights(std::size_t count_max, std::size_t bytes_max) : count_max_(count_max), bytes_max_(bytes_max) {}

  // Precondition: !full().
  void add(LogIndex last, std::size_t bytes);
  // Frees every append whose last index is <= index.
  void free_through(LogIndex index);
  void free_first();
  void reset();
  bool full() const { return items_.size() >= count_max_ || (bytes_ >= bytes_max_ && !items_.empty()); }
  std::size_t count() const { return items_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t count_max_;
  std::size_t bytes_max_;
  std::deque<std::pair<LogIndex, std::size_t>> items_;
  std::size_t bytes_ = 0;
};

class Progress {
 public:
  Progress(LogIndex next, std::size_t inflight_count_max, std::size_t inflight_bytes_max)
      : next_(next), inflights_(inflight_count_max, inflight_bytes_max) {}

  // Match is the highest index known to be replicated on the follower.
  // Next is the index of the next entry to send. Invariant: match < next.
  LogIndex match() const { return match_; }
  LogIndex next() const { return next_; }
  ProgressState state() const { return state_; }
  LogIndex pending_snapshot() const { return pending_snapshot_; }
  const Inflights& inflights() const { return inflights_; }

  void become_probe();
  void become_replicate();
  void become_snapshot(LogIndex snapshot_index);

  // A successful append reply up to `index`. False if it told us nothing new.
  bool maybe_update(LogIndex index);
  // We just sent entries up to `last` (bytes of payload).
  void sent_entries(LogIndex last, std::size_t bytes);
  // We sent an append with no entries in probe state (also counts as a probe).
  void sent_probe() { probe_sent_ = true; }
  // A rejected append for `rejected` (its prev index); `hint` is the
  // follower's suggested next-to-try index minus one. False if stale.
  bool maybe_decrease_to(LogIndex rejected, LogIndex hint);
  // Heartbeat answered: the follower is alive. A probing leader may send
  // again, and a full window gives up one slot: if appends were lost (the
  // follower restarted), the next one draws the rejection that resets us.
  void heartbeat_answered();

  // Whether the leader should hold off sending entries.
  bool paused() const;

  // CheckQuorum: heard from since the last check.
  bool recent_active = false;
  // The highest commit index the follower can have learned from us (what
  // we sent, capped by the entries it could hold). Lagging: tell it.
  LogIndex sent_commit;

  std::string describe() const;

 private:
  LogIndex match_{0};
  LogIndex next_;
  ProgressState state_ = ProgressState::probe;
  bool probe_sent_ = false;
  LogIndex pending_snapshot_{0};
  Inflights inflights_;
};

}  // namespace sluice::raft
