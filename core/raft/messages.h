// Raft messages between peers. Every message travels in an Envelope that
// carries its group id (multi-raft later); these structs carry the rest.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "core/raft/quorum.h"
#include "core/storage/log_store.h"

namespace sluice::raft {

struct VoteRequest {
  Term term;  // for a pre-vote: the term the candidate would campaign in
  LogIndex last_index;
  Term last_term;
  bool pre_vote = false;
  bool transfer = false;  // sent on TimeoutNow: bypasses the leader lease
};
struct VoteReply {
  Term term;
  bool granted = false;
  bool pre_vote = false;
};
struct AppendRequest {
  Term term;
  LogIndex prev_index;
  Term prev_term;
  std::vector<LogEntry> entries;
  LogIndex commit;
};
struct AppendReply {
  Term term;
  bool success = false;
  // success: the follower's log matches ours through `index`.
  // failure: `index` is the rejected prev_index and `hint` the highest index
  // that may match (fast backtracking).
  LogIndex index;
  LogIndex hint;
  Term hint_term;  // failure: the follower's term at `hint`
};
struct Heartbeat {
  Term term;
  LogIndex commit;  // never beyond what the follower is known to hold
  std::uint64_t read_round = 0;  // ReadIndex: the round this heartbeat confirms
};
struct HeartbeatReply {
  Term term;
  std::uint64_t read_round = 0;  // echoed
};
struct TimeoutNow {
  Term term;
};

// One chunk of a snapshot: the state at (index, snapshot_term), streamed
// in order; `offset` is where `data` starts in the whole snapshot.
struct InstallSnapshot {
  Term term;
  LogIndex index;
  Term snapshot_term;
  std::uint64_t offset = 0;
  std::string data;
  bool done = false;  // the last chunk
  JointConfig config;  // the configuration as of `index`
};
struct InstallSnapshotReply {
  Term term;
  LogIndex index;            // the snapshot this answers
  std::uint64_t next_offset = 0;  // the offset the follower expects next
  bool installed = false;    // the snapshot is durable on the follower
};

using Message = std::variant<VoteRequest, VoteReply, AppendRequest, AppendReply, Heartbeat, HeartbeatReply, TimeoutNow,
                             InstallSnapshot, InstallSnapshotReply>;

Term message_term(const Message& message);
std::string describe(const Message& message);

// Entry data: one kind byte, then the payload.
enum class EntryKind : std::uint8_t { normal = 0, noop = 1, config = 2 };
std::string make_entry_data(EntryKind kind, std::string_view payload);
EntryKind entry_kind(const LogEntry& entry);
std::string_view entry_payload(const LogEntry& entry);

// A configuration as bytes (config entries, snapshot records):
// count (4) + ids (8 each), for incoming then outgoing.
std::string encode_config(const JointConfig& config);
// Returns false on malformed input.
bool decode_config(std::string_view in, JointConfig* out, std::size_t* consumed);

}  // namespace sluice::raft
