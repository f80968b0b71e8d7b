#include "core/raft/progress.h"

#include "core/common/status.h"

namespace sluice::raft {

const char* progress_state_name(ProgressState state) {
  switch (state) {
    case ProgressState::probe: return "probe";
    case ProgressState::replicate: return "replicate";
    case ProgressState::snapshot: return "snapshot";
  }
  return "unknown";
}

void Inflights::add(LogIndex last, std::size_t bytes) {
  SLUICE_ASSERT(!full(), "inflights: add while full");
  SLUICE_ASSERT(items_.empty() || items_.back().first < last, "inflights: indexes must increase");
  items_.emplace_back(last, bytes);
  bytes_ += bytes;
}

void Inflights::free_through(LogIndex index) {
  while (!items_.empty() && items_.front().first <= index) {
    bytes_ -= items_.front().second;
    items_.pop_front();
  }
}

void Inflights::free_first() {
  if (items_.empty()) return;
  bytes_ -= items_.front().second;
  items_.pop_front();
}

void Inflights::reset() {
  items_.clear();
  bytes_ = 0;
}

void Progress::become_probe() {
  // After a snapshot the follower has at least the snapshot: start there.
  if (state_ == ProgressState::snapshot) {
    const LogIndex from = pending_snapshot_ > match_ ? pending_snapshot_ : match_;
    next_ = from.next();
  } else {
    next_ = match_.next();
  }
  state_ = ProgressState::probe;
  probe_sent_ = false;
  pending_snapshot_ = LogIndex(0);
  inflights_.reset();
}

void Progress::become_replicate() {
  state_ = ProgressState::replicate;
  next_ = match_.next();
  probe_sent_ = false;
  inflights_.reset();
}

void Progress::become_snapshot(LogIndex snapshot_index) {
  state_ = ProgressState::snapshot;
  pending_snapshot_ = snapshot_index;
  probe_sent_ = false;
  inflights_.reset();
}

bool Progress::maybe_update(LogIndex index) {
  bool updated = false;
  if (index > match_) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  if (next_ < index.next()) next_ = index.next();
  inflights_.free_through(index);
  SLUICE_ASSERT(match_ < next_, "progress: match < next");
  return updated;
}

void Progress::sent_entries(LogIndex last, std::size_t bytes) {
  switch (state_) {
    case ProgressState::replicate:
      if (last >= next_) {
        next_ = last.next();
        inflights_.add(last, bytes);
      }
      break;
    case ProgressState::probe:
      probe_sent_ = true;
      break;
    case ProgressState::snapshot:
      SLUICE_ASSERT(false, "progress: entries sent in snapshot state");
  }
}

bool Progress::maybe_decrease_to(LogIndex rejected, LogIndex hint) {
  if (state_ == ProgressState::replicate) {
    // Only a rejection of something beyond what is matched is news; older
    // rejections are duplicates or reordered.
    if (rejected <= match_) return false;
    next_ = match_.next();
    return true;
  }
  // Probe: only the answer to the append we sent last counts.
  if (next_.value() == 0 || LogIndex(next_.value() - 1) != rejected) return false;
  // The next probe must sit below the rejected index: min(rejected, hint + 1).
  const LogIndex candidate = hint.next() < rejected ? hint.next() : rejected;
  next_ = candidate > match_.next() ? candidate : match_.next();
  probe_sent_ = false;
  return true;
}

void Progress::heartbeat_answered() {
  probe_sent_ = false;
  if (state_ == ProgressState::replicate && inflights_.full()) inflights_.free_first();
}

bool Progress::paused() const {
  switch (state_) {
    case ProgressState::probe: return probe_sent_;
    case ProgressState::replicate: return inflights_.full();
    case ProgressState::snapshot: return true;
  }
  return true;
}

std::string Progress::describe() const {
  return std::string(progress_state_name(state_)) + " match=" + to_string(match_) + " next=" + to_string(next_) +
         " inflight=" + std::to_string(inflights_.count());
}

}  // namespace sluice::raft
