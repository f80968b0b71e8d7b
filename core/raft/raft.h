// The Raft consensus step machine (DESIGN section 3), sans-IO.
//
// Inputs: step(), tick(), propose(), on_persisted(). Output: take_output()
// returns the IO to carry out (core/node/output.h: entries and hard state to
// persist, messages before and after the write) plus the newly committed
// entries, which the caller applies to its state machine in the same output
// (their state writes join the same batch; replies wait for it).
//
// What is here: elections with randomized timeouts; PreVote and CheckQuorum
// (both on by default); replication with batching, pipelining and flow
// control (probe/replicate states, inflights bounded by count and bytes);
// fast backtracking; the commit rule (only entries of the current term are
// committed by counting); durable term, vote and entries before any reply
// that depends on them, with the leader counting itself only once its own
// write is durable; leadership transfer (TimeoutNow); admission control on
// uncommitted bytes; ReadIndex batched on heartbeat rounds, and lease reads
// as an option behind CheckQuorum; snapshots with chunked InstallSnapshot
// and log compaction; membership changes by joint consensus. A server that
// lost its data must not rejoin under its old id: operators replace it
// under a new one (see sim/raftkv/replacer.h).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "core/common/hooks.h"
#include "core/common/random.h"
#include "core/common/status.h"
#include "core/node/output.h"
#include "core/raft/messages.h"
#include "core/raft/progress.h"
#include "core/raft/quorum.h"

namespace sluice::raft {

struct Options {
  NodeId self;
  GroupId group = kDefaultGroup;
  // Election timeout, randomized per election in
  // [election_ticks, election_ticks_max]; election_ticks_max 0 means
  // 2 * election_ticks - 1.
  std::uint64_t election_ticks = 15;
  std::uint64_t election_ticks_max = 0;
  std::uint64_t heartbeat_ticks = 3;
  bool pre_vote = true;
  bool check_quorum = true;
  std::size_t append_entries_max = 64;         // entries per AppendRequest
  std::size_t append_bytes_max = 1 << 20;      // payload bytes per AppendRequest
  std::size_t inflight_count_max = 64;         // unacknowledged appends per follower
  std::size_t inflight_bytes_max = 8 << 20;    // unacknowledged bytes per follower
  std::size_t uncommitted_bytes_max = 16 << 20;  // admission control on proposals
  // Serve ReadIndex requests from the leader's lease, without a heartbeat
  // round, while a quorum answered within the last election timeout. Off by
  // default: it trusts bounded clock drift. Requires check_quorum.
  bool lease_reads = false;
  std::size_t snapshot_chunk_bytes = 64 << 10;  // InstallSnapshot chunk size
  // The state machine keeps its own state durable, with its applied index,
  // before Raft's output that compacts past it. Raft then persists only
  // where its snapshot ends, compacts without a copy of the state
  // (compact_log), and asks for the state's bytes (wants_snapshot) only
  // while a follower needs them, dropping them once sent. Off: every
  // snapshot carries the state's bytes and is persisted with them.
  bool state_machine_durable = false;
  Hooks hooks;
};

// A snapshot of the state machine: its state after applying `index`.
struct Snapshot {
  LogIndex index;
  Term term;  // of the entry at index
  std::string data;
};

// A linearizable read may be served once the state machine has applied
// through `index`.
struct ReadState {
  std::uint64_t id = 0;
  LogIndex index;
};

enum class Role { follower, pre_candidate, candidate, leader };
const char* role_name(Role role);

struct RaftOutput {
  Output<Message> io;
  // Committed entries not handed out before, in order. Apply them now; their
  // effects must be persisted in io.persist and any reply must go in
  // io.send_after_persist.
  std::vector<LogEntry> committed;
  // ReadIndex requests confirmed by a quorum, in request order.
  std::vector<ReadState> reads;
  // If set, replace the state machine's state with this snapshot BEFORE
  // applying `committed` (which then starts after restore->index).
  std::optional<Snapshot> restore;
};

class Node {
 public:
  using Message = raft::Message;

  // Recovers from the store, or bootstraps a new group with `voters` when
  // the store holds nothing for it.
  static Result<std::unique_ptr<Node>> open(const Options& options, const VoterSet& voters, KvStore& store,
                                            Rng rng);

  void step(NodeId from, const Message& message);
  void tick();
  // A completion covers the output with this id and every earlier one.
  void on_persisted(PersistId id, const Status& status);
  bool has_output() const;
  RaftOutput take_output();

  // Appends a command if this node is the leader. Errors: unavailable (not
  // the leader, or a transfer is under way; the message names the leader if
  // known), invalid_argument (over the admission bound).
  Result<LogIndex> propose(std::string_view payload);
  // ReadIndex (Raft thesis 6.4): asks for a point at which a read is
  // linearizable. The answer comes in RaftOutput::reads once a quorum has
  // confirmed, by answering a heartbeat round sent after this call, that we
  // still lead. Reads asked for between two outputs share one round.
  // Errors: unavailable (not the leader, or no entry of this term committed
  // yet).
  Status read_index(std::uint64_t id);
  // Log compaction: the state machine's state after applying `index`
  // (<= the last committed entry handed out) replaces the log up to index.
  // The snapshot is persisted with the output and sent to followers that
  // need entries it replaced. Errors: invalid_argument (index not applied,
  // or not past the current snapshot).
  Status compact(LogIndex index, std::string data);
  // Log compaction without the state's bytes (state_machine_durable only):
  // the state machine's durable state covers `index`. Errors as compact.
  Status compact_log(LogIndex index);
  // A leader has a follower waiting for the snapshot's bytes, which it does
  // not hold (state_machine_durable only): the caller hands them over with
  // compact(index, data) at its applied index, which may equal the current
  // snapshot index.
  bool wants_snapshot() const;
  // A leader is sending a snapshot to a follower. A durable state machine
  // waits for it to finish before compacting again: a newer snapshot would
  // start the send over.
  bool sending_snapshot() const;
  LogIndex snapshot_index() const { return snapshot_index_; }
  LogIndex applied() const { return applied_; }
  // Membership change by joint consensus: the leader appends the joint
  // configuration (old and new voters must both agree), and once that is
  // committed, the configuration of the new voters alone. A configuration
  // takes effect as soon as it is in a log. A leader that is not among the
  // new voters steps down once the final configuration commits. Errors:
  // unavailable (not the leader, a change already under way, or no entry of
  // this term committed yet: the known fix for single-server changes, kept
  // here too), invalid_argument (no voters). `addresses` join the
  // configuration's address book (JointConfig::addresses), which travels
  // with every later configuration; a removed voter's address leaves it with
  // the final configuration.
  Status change_membership(const VoterSet& voters, const std::map<NodeId, std::string>& addresses = {});
  // Starts moving leadership to `to`. Errors: unavailable (not the leader),
  // invalid_argument (not a voter, or self).
  Status transfer_leadership(NodeId to);
  // The node leadership is being moved to; kNoNode when not the leader, or
  // no transfer is under way (none was asked for, or it timed out).
  NodeId transferee() const {
    const auto* l = std::get_if<Leader>(&role_);
    return l == nullptr ? kNoNode : l->transferee;
  }
  // Starts an election now, as an election timeout would (with a pre-vote
  // round when PreVote is on). For tests and transcripts.
  void campaign() { start_election(options_.pre_vote, false); }

  NodeId id() const { return options_.self; }
  Role role() const;
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return leader_; }
  LogIndex commit() const { return commit_; }
  LogIndex last_index() const { return LogIndex(snapshot_index_.value() + log_.size()); }
  Term last_term() const { return term_at(last_index()); }
  Term term_at(LogIndex index) const;
  const LogEntry& entry(LogIndex index) const;
  // The latest configuration in the log (it takes effect when appended).
  const JointConfig& config() const { return config_; }
  // The latest committed one: a change in it can no longer be undone.
  JointConfig committed_config() const { return config_as_of(commit_); }
  // The latest configuration is committed: no membership change under way
  // as far as this node knows.
  bool config_committed() const { return config_index() <= commit_; }
  // Snapshots received from a leader and installed since this node started.
  std::uint64_t snapshots_installed() const { return snapshots_installed_; }
  bool poisoned() const { return poisoned_; }
  // The leader's progress of a peer (tests). Precondition: leader.
  const Progress& progress(NodeId peer) const;

 private:
  struct Follower {};
  struct Candidate {
    bool pre = false;
    std::map<NodeId, bool> votes;
  };
  struct PendingRead {
    std::uint64_t id;
    LogIndex index;
    std::uint64_t round;
  };
  struct SnapshotSend {
    LogIndex index;        // the snapshot being sent
    std::uint64_t offset;  // the next chunk starts here
    bool waiting = false;  // for the state machine to hand over the bytes
  };
  struct Leader {
    std::map<NodeId, Progress> progress;  // every voter but self
    std::map<NodeId, SnapshotSend> snapshot_sends;  // peers in snapshot state
    std::deque<PendingRead> reads;          // rounds never decrease along the queue
    std::map<NodeId, std::uint64_t> read_acked;  // highest round each peer answered
    std::uint64_t read_round = 0;           // last round sent
    bool round_wanted = false;              // reads wait for the next round
    std::map<std::uint64_t, std::uint64_t> round_sent_tick;  // round -> tick sent, unconfirmed rounds
    std::uint64_t lease_until_tick = 0;     // lease reads are served before this tick
    NodeId transferee = kNoNode;
    std::uint64_t transfer_elapsed = 0;
    std::size_t uncommitted_bytes = 0;
  };

  Node(const Options& options, Rng rng) : options_(options), rng_(rng) {}

  // Roles.
  // reset_timer: restart the election timer. Raft's Figure 2 restarts it
  // only on an AppendEntries from the current leader or on granting a vote;
  // stepping down to a higher term, or losing an election, keeps it running.
  void become_follower(Term term, NodeId leader, bool reset_timer = true);
  void become_candidate(bool pre);
  void become_leader();
  void start_election(bool pre, bool transfer);
  void reset_election_timer();

  // Handlers.
  void on_vote_request(NodeId from, const VoteRequest& m);
  void on_vote_reply(NodeId from, const VoteReply& m);
  void on_append(NodeId from, const AppendRequest& m);
  void on_append_reply(NodeId from, const AppendReply& m);
  void on_heartbeat(NodeId from, const Heartbeat& m);
  void on_heartbeat_reply(NodeId from, const HeartbeatReply& m);
  void on_timeout_now(NodeId from, const TimeoutNow& m);
  void on_install_snapshot(NodeId from, const InstallSnapshot& m);
  void on_install_snapshot_reply(NodeId from, const InstallSnapshotReply& m);
  void send_snapshot_chunk(NodeId to);
  void start_waiting_snapshot_sends();
  Status compact_prefix(LogIndex index, std::string data, bool ready);
  void persist_snapshot();
  // Configurations.
  void config_appended(const LogEntry& entry);
  void reset_config_from_log();
  JointConfig config_as_of(LogIndex index) const;
  // Where the current configuration comes from: its entry's index, or the
  // snapshot's index when the snapshot holds it (then it is committed).
  LogIndex config_index() const { return config_at_.empty() ? snapshot_index_ : config_at_.rbegin()->first; }
  void sync_progress();
  void maybe_finish_config_change();
  bool in_lease() const;

  // Log and replication.
  void append_local(std::vector<LogEntry> entries);
  void truncate_from(LogIndex index);
  bool log_up_to_date(LogIndex last_index, Term last_term) const;
  LogIndex find_conflict_hint(LogIndex prev, Term prev_term) const;
  void send_append(NodeId to, bool allow_empty);
  void broadcast_append();
  void broadcast_heartbeat();
  void maybe_commit();
  void set_commit(LogIndex commit);
  void tick_leader();
  void release_reads();

  void send(NodeId to, Message message, bool after_persist);
  void persist_hard_state() { hard_state_dirty_ = true; }

  Options options_;
  Rng rng_;
  std::variant<Follower, Candidate, Leader> role_;
  // The latest configuration in the log (committed or not), the one as of
  // the snapshot, and every configuration entry after the snapshot.
  JointConfig config_;
  JointConfig snapshot_config_;
  std::map<LogIndex, JointConfig> config_at_;

  // Durable state (persisted through the output batch).
  Term term_;
  NodeId vote_ = kNoNode;
  // In-memory log: log_[i] has index snapshot_index_ + 1 + i. The snapshot
  // point is (0, 0) for a log that was never compacted.
  LogIndex snapshot_index_{0};
  Term snapshot_term_{0};
  std::string snapshot_data_;
  bool snapshot_data_ready_ = true;  // snapshot_data_ holds the snapshot's bytes
  std::optional<Snapshot> restore_;  // handed out with the next output
  // A snapshot arriving in chunks (followers).
  struct Incoming {
    LogIndex index;
    Term term;
    std::string data;
  };
  std::optional<Incoming> incoming_;
  std::vector<LogEntry> log_;
  LogIndex commit_;
  LogIndex applied_;  // handed out through RaftOutput::committed

  NodeId leader_ = kNoNode;
  std::uint64_t ticks_ = 0;  // ticks since start: the lease's clock
  std::uint64_t election_elapsed_ = 0;
  std::uint64_t heartbeat_elapsed_ = 0;
  std::uint64_t randomized_election_ticks_ = 0;
  // Ticks since the last CheckQuorum round (leaders).
  std::uint64_t quorum_elapsed_ = 0;

  // Local durability: the log is durable on this node through self_durable_.
  LogIndex self_durable_;
  std::map<PersistId, std::pair<LogIndex, Term>> in_flight_;  // id -> last (index, term) at take time
  PersistId next_persist_id_ = 1;
  bool poisoned_ = false;
  std::uint64_t snapshots_installed_ = 0;

  Output<Message> out_;
  std::vector<ReadState> reads_ready_;
  bool hard_state_dirty_ = false;
  bool out_appended_ = false;  // out_ holds log entries
};

}  // namespace sluice::raft
