// The Raft log store and hard state, as a typed view over the KvStore
// contract (DESIGN section 5).
//
// Writes are added to a caller's WriteBatch, so that log entries, hard state
// and state-machine writes of one driver output land in one atomic batch.
// Reads come straight from the store. Every record carries a CRC-32C over its
// key and payload, verified on read: a mismatch is Code::corruption and the
// entry is never returned.
//
// Keys: raft_log   = group (8 bytes BE) + index (8 bytes BE)
//       raft_state = group (8 bytes BE)
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/common/types.h"
#include "core/storage/kv_store.h"

namespace sluice {

struct LogEntry {
  Term term;
  LogIndex index;
  std::string data;

  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// What Raft must have on disk before it answers: current term, vote, commit.
struct HardState {
  Term term;
  NodeId vote = kNoNode;
  LogIndex commit;

  friend bool operator==(const HardState&, const HardState&) = default;
};

// Index range [first, last] of a non-empty log.
struct LogBounds {
  LogIndex first;
  LogIndex last;
};

namespace log_store {

void append(WriteBatch& batch, GroupId group, const LogEntry& entry);
// Removes entries with index >= from (a conflicting suffix).
void truncate_suffix(WriteBatch& batch, GroupId group, LogIndex from);
// Removes entries with index <= through (compaction after a snapshot).
void truncate_prefix(WriteBatch& batch, GroupId group, LogIndex through);

// Entries [lo, hi) in order, stopping early once max_bytes of data have been
// read (at least one entry is returned if any exists at lo). A missing index
// inside the range is reported as corruption: the log has no holes.
Result<std::vector<LogEntry>> read(KvStore& store, GroupId group, LogIndex lo, LogIndex hi,
                                   std::size_t max_bytes);
Result<std::optional<LogBounds>> bounds(KvStore& store, GroupId group);
Result<std::optional<Term>> term_at(KvStore& store, GroupId group, LogIndex index);

void save_hard_state(WriteBatch& batch, GroupId group, const HardState& state);
Result<std::optional<HardState>> load_hard_state(KvStore& store, GroupId group);

// Exposed for tests and the storage implementations.
std::string entry_key(GroupId group, LogIndex index);
std::string encode_entry(const std::string& key, const LogEntry& entry);
Result<LogEntry> decode_entry(std::string_view key, std::string_view value);

}  // namespace log_store
}  // namespace sluice
