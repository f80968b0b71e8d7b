#include "core/raft/raft.h"

#include "core/common/overloaded.h"

#include <algorithm>

#include "core/common/bytes.h"
#include "core/common/crc32c.h"

namespace sluice::raft {
namespace {


// meta keyspace: the voters a group was bootstrapped with.
std::string voters_key(GroupId group) {
  std::string key = "raft/voters/";
  put_u64_be(key, group.value());
  return key;
}

// raft_state keyspace: the snapshot of a group sits just after its hard
// state. Value: crc32c | index | term | data.
std::string snapshot_key(GroupId group) {
  std::string key;
  put_u64_be(key, group.value());
  key.push_back('s');
  return key;
}

std::string encode_snapshot(const std::string& key, LogIndex index, Term term, const JointConfig& config,
                            const std::string& data) {
  std::string body;
  put_u64_be(body, index.value());
  put_u64_be(body, term.value());
  body += encode_config(config);
  body += data;
  std::string value;
  put_u32_be(value, crc32c(body, crc32c(key)));
  value += body;
  return value;
}

std::string encode_voters(const VoterSet& voters) {
  std::string out;
  for (NodeId v : voters) put_u64_be(out, v.value());
  return out;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre-candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
  }
  return "unknown";
}

Result<std::unique_ptr<Node>> Node::open(const Options& options, const VoterSet& voters, KvStore& store, Rng rng) {
  SLUICE_ASSERT(options.heartbeat_ticks * 2 <= options.election_ticks,
                "heartbeats must come well within an election timeout");
  SLUICE_ASSERT(options.election_ticks_max == 0 || options.election_ticks_max >= options.election_ticks,
                "the election timeout range must not be empty");
  SLUICE_ASSERT(options.append_entries_max > 0 && options.inflight_count_max > 0, "flow-control bounds are positive");
  SLUICE_ASSERT(!options.lease_reads || options.check_quorum, "lease reads are only safe with CheckQuorum");
  std::unique_ptr<Node> node(new Node(options, rng));
  // Odd but legal tuning, in simulation only: tiny windows and admission
  // bounds reach the flow-control and back-pressure paths.
  if (BUGGIFY(options.hooks, "raft.tiny_inflight_window")) node->options_.inflight_count_max = 1;
  if (BUGGIFY(options.hooks, "raft.tiny_uncommitted_bytes_limit")) node->options_.uncommitted_bytes_max = 64;
  auto stored_voters = store.get(Keyspace::meta, voters_key(options.group));
  if (!stored_voters.ok()) return stored_voters.status();
  if (stored_voters->has_value()) {
    const std::string& v = **stored_voters;
    if (v.empty() || v.size() % 8 != 0) return Status(Code::corruption, "stored voter set is malformed");
    for (std::size_t i = 0; i < v.size(); i += 8) node->snapshot_config_.incoming.insert(NodeId(get_u64_be(v, i)));
  } else if (!voters.empty()) {
    // A new group: these voters are its first configuration.
    node->snapshot_config_.incoming = voters;
    node->out_.persist.put(Keyspace::meta, voters_key(options.group), encode_voters(voters));
  }
  // Otherwise a node joining an existing group: no configuration until the
  // leader's log or snapshot brings one; it never campaigns before that.
  auto hard_state = log_store::load_hard_state(store, options.group);
  if (!hard_state.ok()) return hard_state.status();
  if (hard_state->has_value()) {
    node->term_ = (*hard_state)->term;
    node->vote_ = (*hard_state)->vote;
    node->commit_ = (*hard_state)->commit;
  }
  const std::string snap_key = snapshot_key(options.group);
  auto snap = store.get(Keyspace::raft_state, snap_key);
  if (!snap.ok()) return snap.status();
  if (snap->has_value()) {
    const std::string& v = **snap;
    if (v.size() < 20) return Status(Code::corruption, "snapshot record shorter than its header");
    const std::string_view body = std::string_view(v).substr(4);
    if (crc32c(body, crc32c(snap_key)) != get_u32_be(v)) return Status(Code::corruption, "snapshot checksum mismatch");
    node->snapshot_index_ = LogIndex(get_u64_be(body, 0));
    node->snapshot_term_ = Term(get_u64_be(body, 8));
    std::size_t config_size = 0;
    if (!decode_config(body.substr(16), &node->snapshot_config_, &config_size)) {
      return Status(Code::corruption, "snapshot configuration is malformed");
    }
    if (options.state_machine_durable) {
      // The state machine loads its own state, which covers the snapshot.
      node->snapshot_data_ready_ = false;
    } else {
      node->snapshot_data_ = std::string(body.substr(16 + config_size));
      node->restore_ = Snapshot{node->snapshot_index_, node->snapshot_term_, node->snapshot_data_};
    }
    node->applied_ = node->snapshot_index_;
    if (node->commit_ < node->snapshot_index_) node->commit_ = node->snapshot_index_;
  }
  auto bounds = log_store::bounds(store, options.group);
  if (!bounds.ok()) return bounds.status();
  if (bounds->has_value()) {
    const LogBounds b = **bounds;
    if (b.first != node->snapshot_index_.next()) {
      return Status(Code::corruption, "log starts at " + to_string(b.first) + " but the snapshot ends at " +
                                          to_string(node->snapshot_index_));
    }
    auto entries = log_store::read(store, options.group, b.first, b.last.next(), SIZE_MAX);
    if (!entries.ok()) return entries.status();
    node->log_ = std::move(entries).value();
  }
  if (node->commit_ > node->last_index()) {
    return Status(Code::corruption, "hard state commit " + to_string(node->commit_) + " is past the last log index " +
                                        to_string(node->last_index()));
  }
  for (const LogEntry& e : node->log_) {
    if (entry_kind(e) == EntryKind::config) {
      JointConfig c;
      std::size_t used = 0;
      if (!decode_config(entry_payload(e), &c, &used)) return Status(Code::corruption, "config entry is malformed");
      node->config_at_[e.index] = c;
    }
  }
  node->reset_config_from_log();
  // Entries up to commit were applied before the restart only if the state
  // machine says so; the caller replays from its own applied index. Raft
  // hands out everything after `applied_`, which starts at 0.
  node->self_durable_ = node->last_index();
  node->become_follower(node->term_, kNoNode);
  return node;
}

Role Node::role() const {
  return std::visit(Overloaded{
                        [](const Follower&) { return Role::follower; },
                        [](const Candidate& c) { return c.pre ? Role::pre_candidate : Role::candidate; },
                        [](const Leader&) { return Role::leader; },
                    },
                    role_);
}

Term Node::term_at(LogIndex index) const {
  if (index == snapshot_index_) return snapshot_term_;
  SLUICE_ASSERT(index > snapshot_index_ && index <= last_index(), "term_at outside the log");
  return log_[index.value() - snapshot_index_.value() - 1].term;
}

const LogEntry& Node::entry(LogIndex index) const {
  SLUICE_ASSERT(index > snapshot_index_ && index <= last_index(), "entry outside the log");
  return log_[index.value() - snapshot_index_.value() - 1];
}

const Progress& Node::progress(NodeId peer) const {
  return std::get<Leader>(role_).progress.at(peer);
}

void Node::send(NodeId to, Message message, bool after_persist) {
  auto& queue = after_persist ? out_.send_after_persist : out_.send_now;
  queue.push_back(Envelope<Message>{options_.group, options_.self, to, std::move(message)});
}

// ---------------------------------------------------------------------------
// Roles

void Node::reset_election_timer() {
  election_elapsed_ = 0;
  const std::uint64_t max =
      options_.election_ticks_max != 0 ? options_.election_ticks_max : 2 * options_.election_ticks - 1;
  randomized_election_ticks_ = static_cast<std::uint64_t>(uniform_between(
      rng_, static_cast<std::int64_t>(options_.election_ticks), static_cast<std::int64_t>(max)));
}

void Node::become_follower(Term term, NodeId leader, bool reset_timer) {
  if (const auto* l = std::get_if<Leader>(&role_)) {
    bool inflight = false;
    for (const auto& [peer, pr] : l->progress) inflight = inflight || pr.inflights().count() > 0;
    CODE_PROBE(options_.hooks, inflight, raft_leader_deposed_appends_inflight);
  }
  if (term != term_) {
    SLUICE_ASSERT(term > term_, "terms never decrease");
    term_ = term;
    vote_ = kNoNode;
    persist_hard_state();
  }
  role_ = Follower{};
  leader_ = leader;
  if (reset_timer) reset_election_timer();
}

void Node::become_candidate(bool pre) {
  SLUICE_ASSERT(role() != Role::leader, "a leader does not campaign");
  Candidate c;
  c.pre = pre;
  if (!pre) {
    term_ = term_.next();
    vote_ = options_.self;
    persist_hard_state();
  }
  c.votes[options_.self] = true;
  role_ = std::move(c);
  leader_ = kNoNode;
  reset_election_timer();
}

void Node::become_leader() {
  SLUICE_ASSERT(role() == Role::candidate, "only a candidate becomes leader");
  Leader l;
  for (NodeId v : config_.all_voters()) {
    if (v == options_.self) continue;
    auto [it, inserted] =
        l.progress.emplace(v, Progress(last_index().next(), options_.inflight_count_max, options_.inflight_bytes_max));
    // They just voted for us (or will hear from us within a round trip):
    // the first CheckQuorum check must not depose us before any reply can
    // arrive.
    it->second.recent_active = true;
  }
  role_ = std::move(l);
  leader_ = options_.self;
  heartbeat_elapsed_ = 0;
  quorum_elapsed_ = 0;
  // An entry of our own term: commits everything before it (the commit rule
  // counts replicas only for current-term entries).
  append_local({LogEntry{term_, last_index().next(), make_entry_data(EntryKind::noop, "")}});
  broadcast_append();
}

void Node::start_election(bool pre, bool transfer) {
  if (role() == Role::leader || poisoned_) return;
  if (!config_.is_voter(options_.self)) {
    // Not in our latest configuration. While that configuration is
    // uncommitted we may still be needed (Raft thesis 4.2.2): a leader that
    // removed itself and stepped down before the change committed may hold
    // the only log the others would vote for. Found by the simulator's
    // leader monitor: such a node never campaigned, and its group waited
    // for ever.
    const bool still_needed = config_index() > commit_ && config_as_of(commit_).is_voter(options_.self);
    CODE_PROBE(options_.hooks, still_needed, raft_removed_node_campaigned_before_commit);
    if (!still_needed) return;
  }
  CODE_PROBE(options_.hooks, config_index() > commit_, raft_election_during_config_change);
  become_candidate(pre);
  const Term campaign_term = pre ? term_.next() : term_;
  if (joint_vote(config_, std::get<Candidate>(role_).votes) == VoteResult::won) {
    // A single-voter group wins at once.
    if (pre) {
      start_election(false, transfer);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId v : config_.all_voters()) {
    if (v == options_.self) continue;
    // A real vote request carries our new term and self-vote: both must be
    // durable first, or a crash could let us vote twice in this term.
    send(v, VoteRequest{campaign_term, last_index(), last_term(), pre, transfer}, !pre);
  }
}

bool Node::in_lease() const {
  // With CheckQuorum, a follower that heard from a live leader within the
  // minimum election timeout ignores disruptive vote requests.
  return options_.check_quorum && leader_ != kNoNode && election_elapsed_ < options_.election_ticks;
}

// ---------------------------------------------------------------------------
// Inputs

void Node::step(NodeId from, const Message& message) {
  if (poisoned_) return;
  const Term t = message_term(message);
  const auto* vote_request = std::get_if<VoteRequest>(&message);
  if (t > term_) {
    if (vote_request != nullptr) {
      if (!vote_request->transfer && in_lease()) {
        CODE_PROBE(options_.hooks, true, raft_vote_ignored_in_lease);
        return;
      }
      // A pre-vote never changes our term; a real vote does, without
      // restarting our election timer (on_vote_request restarts it if we
      // grant). Restarting it here would let a candidate that cannot win
      // hold back those that can, by a whole timeout per attempt.
      if (!vote_request->pre_vote) become_follower(t, kNoNode, false);
    } else if (const auto* reply = std::get_if<VoteReply>(&message); reply && reply->pre_vote && reply->granted) {
      // Granted pre-votes carry the term we would campaign in: not news.
    } else {
      const bool from_leader = std::holds_alternative<AppendRequest>(message) ||
                               std::holds_alternative<Heartbeat>(message) ||
                               std::holds_alternative<TimeoutNow>(message) ||
                               std::holds_alternative<InstallSnapshot>(message);
      become_follower(t, from_leader ? from : kNoNode, from_leader);
    }
  } else if (t < term_) {
    // A stale leader learns of the newer term from our reply and steps down
    // (with CheckQuorum it might otherwise never hear of it).
    if (std::holds_alternative<AppendRequest>(message) || std::holds_alternative<Heartbeat>(message) ||
        std::holds_alternative<InstallSnapshot>(message)) {
      send(from, AppendReply{term_, false, LogIndex(0), LogIndex(0), Term(0)}, false);
    } else if (vote_request != nullptr && vote_request->pre_vote) {
      send(from, VoteReply{term_, false, true}, false);
    }
    return;
  }
  std::visit(Overloaded{
                 [&](const VoteRequest& m) { on_vote_request(from, m); },
                 [&](const VoteReply& m) { on_vote_reply(from, m); },
                 [&](const AppendRequest& m) { on_append(from, m); },
                 [&](const AppendReply& m) { on_append_reply(from, m); },
                 [&](const Heartbeat& m) { on_heartbeat(from, m); },
                 [&](const HeartbeatReply& m) { on_heartbeat_reply(from, m); },
                 [&](const TimeoutNow& m) { on_timeout_now(from, m); },
                 [&](const InstallSnapshot& m) { on_install_snapshot(from, m); },
                 [&](const InstallSnapshotReply& m) { on_install_snapshot_reply(from, m); },
             },
             message);
}

void Node::tick() {
  if (poisoned_) return;
  ++ticks_;
  if (role() == Role::leader) {
    tick_leader();
    return;
  }
  ++election_elapsed_;
  if (election_elapsed_ >= randomized_election_ticks_) {
    if (BUGGIFY(options_.hooks, "raft.skip_election_timeout")) {
      reset_election_timer();
      return;
    }
    start_election(options_.pre_vote, false);
  }
}

void Node::tick_leader() {
  Leader& l = std::get<Leader>(role_);
  ++heartbeat_elapsed_;
  ++quorum_elapsed_;
  if (l.transferee != kNoNode && ++l.transfer_elapsed >= options_.election_ticks) {
    l.transferee = kNoNode;  // the transfer timed out: serve again
  }
  if (quorum_elapsed_ >= options_.election_ticks) {
    quorum_elapsed_ = 0;
    if (options_.check_quorum) {
      std::map<NodeId, bool> active;
      active[options_.self] = true;
      for (auto& [id, pr] : l.progress) {
        active[id] = pr.recent_active;
        pr.recent_active = false;
      }
      // A leader that cannot reach a quorum steps down, so that clients
      // and followers find the real leader instead of waiting on it.
      if (joint_vote(config_, active) != VoteResult::won) {
        CODE_PROBE(options_.hooks, true, raft_leader_stepped_down_check_quorum);
        become_follower(term_, kNoNode);
        return;
      }
    }
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

void Node::on_persisted(PersistId id, const Status& status) {
  if (poisoned_) return;
  if (!status.ok()) {
    // What reached the disk is unknown: stop rather than guess.
    CODE_PROBE(options_.hooks, true, raft_node_poisoned);
    poisoned_ = true;
    out_ = {};
    return;
  }
  // Completions are in order and cover every earlier output.
  while (!in_flight_.empty() && in_flight_.begin()->first <= id) {
    const auto [index, term] = in_flight_.begin()->second;
    in_flight_.erase(in_flight_.begin());
    // Count only what is still our log: a truncation since then replaced it.
    if (index <= last_index() && index >= snapshot_index_ && term_at(index) == term && index > self_durable_) {
      self_durable_ = index;
    }
  }
  if (role() == Role::leader) maybe_commit();
}

bool Node::has_output() const {
  const auto* l = std::get_if<Leader>(&role_);
  return !out_.empty() || hard_state_dirty_ || applied_ < commit_ || !reads_ready_.empty() || restore_.has_value() ||
         (l != nullptr && l->round_wanted);
}

RaftOutput Node::take_output() {
  RaftOutput r;
  // Reads asked for since the last output share one heartbeat round.
  if (auto* l = std::get_if<Leader>(&role_); l != nullptr && l->round_wanted) broadcast_heartbeat();
  r.reads = std::move(reads_ready_);
  reads_ready_.clear();
  if (restore_) {
    r.restore = std::move(restore_);
    restore_.reset();
  }
  if (hard_state_dirty_) {
    log_store::save_hard_state(out_.persist, options_.group, HardState{term_, vote_, commit_});
    hard_state_dirty_ = false;
  }
  for (LogIndex i = applied_.next(); i <= commit_; i = i.next()) r.committed.push_back(entry(i));
  applied_ = commit_;
  // A durable state machine's bytes are held only while a follower is
  // being sent them.
  if (options_.state_machine_durable && snapshot_data_ready_) {
    const auto* l = std::get_if<Leader>(&role_);
    if (l == nullptr || l->snapshot_sends.empty()) {
      snapshot_data_ = {};
      snapshot_data_ready_ = false;
    }
  }
  r.io = std::move(out_);
  out_ = {};
  // Every output gets an id, so that a caller merging its own writes into
  // it can persist under this id; only outputs that append entries need
  // remembering (they move self_durable_). A completion covers earlier ids.
  r.io.persist_id = next_persist_id_++;
  if (out_appended_) in_flight_[r.io.persist_id] = {last_index(), last_term()};
  out_appended_ = false;
  return r;
}

// ---------------------------------------------------------------------------
// Elections

bool Node::log_up_to_date(LogIndex index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

void Node::on_vote_request(NodeId from, const VoteRequest& m) {
  if (m.pre_vote) {
    // Would we vote for this candidate in its next term? No state changes.
    const bool grant = m.term > term_ && log_up_to_date(m.last_index, m.last_term);
    CODE_PROBE(options_.hooks, !grant && m.term > term_, raft_prevote_rejected_stale_log);
    send(from, VoteReply{grant ? m.term : term_, grant, true}, false);
    return;
  }
  const bool can_vote = vote_ == from || (vote_ == kNoNode && leader_ == kNoNode);
  const bool grant = can_vote && log_up_to_date(m.last_index, m.last_term);
  if (grant) {
    vote_ = from;
    persist_hard_state();
    reset_election_timer();
  }
  // Durable before it leaves: a vote that could be forgotten is two votes.
  send(from, VoteReply{term_, grant, false}, true);
}

void Node::on_vote_reply(NodeId from, const VoteReply& m) {
  auto* c = std::get_if<Candidate>(&role_);
  if (c == nullptr || c->pre != m.pre_vote) return;
  c->votes[from] = m.granted;
  switch (joint_vote(config_, c->votes)) {
    case VoteResult::won:
      if (c->pre) {
        start_election(false, false);
      } else {
        become_leader();
      }
      break;
    case VoteResult::lost:
      // Keep the timeout drawn for this campaign: restarting it on every
      // loss would pull the servers' timers apart by accident.
      become_follower(term_, kNoNode, false);
      break;
    case VoteResult::pending:
      break;
  }
}

void Node::on_timeout_now(NodeId /*from*/, const TimeoutNow& /*m*/) {
  CODE_PROBE(options_.hooks, true, raft_timeout_now_received);
  // Leadership transfer: campaign at once, past pre-vote and leases.
  start_election(false, true);
}

// ---------------------------------------------------------------------------
// Replication: follower side

void Node::append_local(std::vector<LogEntry> entries) {
  for (LogEntry& e : entries) {
    SLUICE_ASSERT(e.index == last_index().next(), "log appends are contiguous");
    log_store::append(out_.persist, options_.group, e);
    out_appended_ = true;
    if (auto* l = std::get_if<Leader>(&role_)) l->uncommitted_bytes += e.data.size();
    log_.push_back(std::move(e));
    if (entry_kind(log_.back()) == EntryKind::config) config_appended(log_.back());
  }
}

void Node::truncate_from(LogIndex index) {
  SLUICE_ASSERT(index > commit_, "never truncate a committed entry");
  SLUICE_ASSERT(role() != Role::leader, "a leader never truncates its log");
  log_store::truncate_suffix(out_.persist, options_.group, index);
  log_.resize(index.value() - snapshot_index_.value() - 1);
  if (self_durable_ >= index) self_durable_ = LogIndex(index.value() - 1);
  if (config_at_.lower_bound(index) != config_at_.end()) {
    CODE_PROBE(options_.hooks, true, raft_config_entry_truncated);
    config_at_.erase(config_at_.lower_bound(index), config_at_.end());
    reset_config_from_log();
  }
}

LogIndex Node::find_conflict_hint(LogIndex prev, Term prev_term) const {
  // The highest index whose term is <= prev_term: everything above it cannot
  // match, so the leader may skip it (fast backtracking).
  LogIndex i = std::min(prev, last_index());
  while (i > snapshot_index_ && term_at(i) > prev_term) i = LogIndex(i.value() - 1);
  return i;
}

void Node::on_append(NodeId from, const AppendRequest& m) {
  // Our tail was appended under an older term and is not known committed: a
  // leader changed in the middle of replicating it. The new leader's log
  // decides whether it stays.
  CODE_PROBE(options_.hooks, last_index() > commit_ && last_term() < m.term, raft_new_leader_append_over_old_tail);
  if (role() != Role::follower) become_follower(term_, from);
  leader_ = from;
  election_elapsed_ = 0;
  if (m.prev_index < commit_) {
    // Everything up to commit is already settled here.
    send(from, AppendReply{term_, true, commit_, LogIndex(0), Term(0)}, true);
    return;
  }
  if (m.prev_index > last_index() || term_at(m.prev_index) != m.prev_term) {
    const LogIndex hint = find_conflict_hint(m.prev_index, m.prev_term);
    CODE_PROBE(options_.hooks, m.prev_index <= last_index(), raft_append_rejected_term_mismatch);
    send(from, AppendReply{term_, false, m.prev_index, hint, term_at(hint)}, false);
    return;
  }
  std::vector<LogEntry> fresh;
  for (const LogEntry& e : m.entries) {
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;  // already have it
      CODE_PROBE(options_.hooks, true, raft_follower_truncated_conflict);
      truncate_from(e.index);
    }
    fresh.push_back(e);
  }
  append_local(std::move(fresh));
  const LogIndex match(m.prev_index.value() + m.entries.size());
  set_commit(std::min(m.commit, match));
  // Durable before acknowledged.
  send(from, AppendReply{term_, true, match, LogIndex(0), Term(0)}, true);
}

void Node::on_heartbeat(NodeId from, const Heartbeat& m) {
  if (role() != Role::follower) become_follower(term_, from);
  leader_ = from;
  election_elapsed_ = 0;
  // m.commit never exceeds what the leader knows we hold.
  set_commit(std::min(m.commit, last_index()));
  send(from, HeartbeatReply{term_, m.read_round}, false);
}

void Node::set_commit(LogIndex commit) {
  if (commit <= commit_) return;
  SLUICE_ASSERT(commit <= last_index(), "commit beyond the log");
  commit_ = commit;
  persist_hard_state();
}

// ---------------------------------------------------------------------------
// Replication: leader side

void Node::send_append(NodeId to, bool allow_empty) {
  Leader& l = std::get<Leader>(role_);
  Progress& pr = l.progress.at(to);
  if (pr.state() == ProgressState::snapshot) return;  // chunks flow with the replies
  if (pr.next() <= snapshot_index_) {
    // The entries it needs were compacted away: send the snapshot.
    CODE_PROBE(options_.hooks, true, raft_snapshot_sent);
    pr.become_snapshot(snapshot_index_);
    l.snapshot_sends[to] = SnapshotSend{snapshot_index_, 0};
    send_snapshot_chunk(to);
    return;
  }
  if (pr.paused()) return;
  const LogIndex prev(pr.next().value() - 1);
  SLUICE_ASSERT(prev >= snapshot_index_, "appends start after the snapshot");
  AppendRequest m{term_, prev, term_at(prev), {}, commit_};
  std::size_t bytes = 0;
  std::size_t entries_max = options_.append_entries_max;
  if (BUGGIFY(options_.hooks, "raft.one_entry_per_append")) entries_max = 1;
  for (LogIndex i = pr.next(); i <= last_index() && m.entries.size() < entries_max; i = i.next()) {
    const LogEntry& e = entry(i);
    if (!m.entries.empty() && bytes + e.data.size() > options_.append_bytes_max) break;
    bytes += e.data.size();
    m.entries.push_back(e);
  }
  if (m.entries.empty() && !allow_empty) return;
  const LogIndex last_sent(prev.value() + m.entries.size());
  pr.sent_commit = std::max(pr.sent_commit, std::min(commit_, last_sent));
  if (m.entries.empty()) {
    pr.sent_probe();
  } else {
    pr.sent_entries(last_sent, bytes);
  }
  // In parallel with our own fsync (Raft thesis 10.2.1).
  send(to, std::move(m), false);
}

void Node::broadcast_append() {
  auto& l = std::get<Leader>(role_);
  for (auto& [id, pr] : l.progress) send_append(id, true);
  maybe_commit();  // a single-voter group commits on its own durability
}

void Node::broadcast_heartbeat() {
  auto& l = std::get<Leader>(role_);
  // Every heartbeat round is numbered: a quorum answering round r confirms
  // we led when it was sent, for ReadIndex and for the lease.
  ++l.read_round;
  l.round_sent_tick[l.read_round] = ticks_;
  l.round_wanted = false;
  for (auto& [id, pr] : l.progress) {
    const LogIndex commit = std::min(pr.match(), commit_);
    pr.sent_commit = std::max(pr.sent_commit, commit);
    send(id, Heartbeat{term_, commit, l.read_round}, false);
  }
}

Status Node::read_index(std::uint64_t id) {
  if (poisoned_) return Status(Code::poisoned, "node stopped after a failed write");
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) {
    return Status(Code::unavailable, leader_ == kNoNode ? "no leader" : "not the leader; leader is " + to_string(leader_));
  }
  // Our commit index is only known to be the cluster's once an entry of our
  // own term is committed (thesis 6.4, step 1).
  if (term_at(commit_) != term_) {
    CODE_PROBE(options_.hooks, true, raft_read_deferred_until_term_commit);
    return Status(Code::unavailable, "leader has not committed an entry of its term yet; retry");
  }
  if (l->progress.empty()) {
    reads_ready_.push_back(ReadState{id, commit_});
    return {};
  }
  if (options_.lease_reads && l->lease_until_tick > ticks_) {
    CODE_PROBE(options_.hooks, true, raft_read_served_from_lease);
    reads_ready_.push_back(ReadState{id, commit_});
    return {};
  }
  l->reads.push_back(PendingRead{id, commit_, l->read_round + 1});
  l->round_wanted = true;
  return {};
}

void Node::release_reads() {
  auto& l = std::get<Leader>(role_);
  // The newest round a quorum has answered.
  std::uint64_t confirmed = 0;
  for (auto it = l.round_sent_tick.rbegin(); it != l.round_sent_tick.rend(); ++it) {
    std::map<NodeId, bool> acks;
    acks[options_.self] = true;
    for (const auto& [peer, round] : l.read_acked) acks[peer] = round >= it->first;
    if (joint_vote(config_, acks) == VoteResult::won) {
      confirmed = it->first;
      // Followers that answered this round will not vote for anyone else
      // until an election timeout after they got it, which was after we
      // sent it: the lease runs from the send, with a margin for drift.
      const std::uint64_t margin = options_.election_ticks / 4 + 1;
      l.lease_until_tick = std::max(l.lease_until_tick, it->second + options_.election_ticks - margin);
      break;
    }
  }
  if (confirmed == 0) return;
  l.round_sent_tick.erase(l.round_sent_tick.begin(), l.round_sent_tick.upper_bound(confirmed));
  while (!l.reads.empty() && l.reads.front().round <= confirmed) {
    reads_ready_.push_back(ReadState{l.reads.front().id, l.reads.front().index});
    l.reads.pop_front();
  }
}

void Node::on_append_reply(NodeId from, const AppendReply& m) {
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return;
  auto it = l->progress.find(from);
  if (it == l->progress.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (!m.success) {
    // The follower's last index whose term is <= the term it has at `hint`
    // may match; skip in our log past entries of later terms too.
    CODE_PROBE(options_.hooks, m.hint == m.index && m.index.value() > 0, raft_reject_hint_at_rejected_index);
    LogIndex probe = m.hint;
    if (m.hint_term.value() > 0 && m.hint <= last_index()) probe = find_conflict_hint(m.hint, m.hint_term);
    if (pr.maybe_decrease_to(m.index, probe)) {
      if (pr.state() == ProgressState::replicate) pr.become_probe();
      send_append(from, true);
    }
    return;
  }
  const bool was_paused = pr.paused();
  if (pr.state() == ProgressState::snapshot && m.index >= pr.pending_snapshot()) {
    // It caught up through appends after all: no snapshot needed.
    pr.maybe_update(m.index);
    l->snapshot_sends.erase(from);
    pr.become_probe();
  }
  if (pr.maybe_update(m.index)) {
    if (pr.state() == ProgressState::probe) pr.become_replicate();
    maybe_commit();
    // Committing may finish a membership change that removes this follower
    // or deposes us: look everything up again.
    l = std::get_if<Leader>(&role_);
    if (l == nullptr) return;
    it = l->progress.find(from);
    if (it == l->progress.end()) return;
    if (l->transferee == from && it->second.match() == last_index()) {
      send(from, TimeoutNow{term_}, false);
    }
  }
  // Keep the pipeline full.
  Progress& live = it->second;
  if (was_paused || live.next() <= last_index()) {
    while (!live.paused() && live.next() <= last_index()) {
      const LogIndex before = live.next();
      send_append(from, false);
      if (live.next() == before) break;
    }
  }
  // A follower that holds entries we have committed since we last told it
  // learns so now, not at the next heartbeat.
  if (live.sent_commit < commit_ && live.match() > live.sent_commit) send_append(from, true);
}

void Node::on_heartbeat_reply(NodeId from, const HeartbeatReply& m) {
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return;
  auto it = l->progress.find(from);
  if (it == l->progress.end()) return;
  std::uint64_t& acked = l->read_acked[from];
  if (m.read_round > acked) {
    acked = m.read_round;
    release_reads();
  }
  it->second.recent_active = true;
  CODE_PROBE(options_.hooks,
             it->second.state() == ProgressState::replicate && it->second.inflights().full(),
             raft_heartbeat_freed_inflight_slot);
  it->second.heartbeat_answered();
  if (l->snapshot_sends.count(from)) {
    send_snapshot_chunk(from);  // the chunk or its reply may have been lost
  } else if (it->second.match() < last_index()) {
    send_append(from, true);
  }
}

void Node::maybe_commit() {
  auto& l = std::get<Leader>(role_);
  std::map<NodeId, LogIndex> acked;
  acked[options_.self] = self_durable_;
  for (const auto& [id, pr] : l.progress) acked[id] = pr.match();
  const LogIndex candidate = joint_committed(config_, acked);
  if (candidate <= commit_) return;
  // The commit rule (Raft section 5.4.2): count replicas only for an entry
  // of the current term; earlier entries commit with it.
  if (term_at(candidate) != term_) {
    CODE_PROBE(options_.hooks, true, raft_commit_deferred_old_term);
    return;
  }
  for (LogIndex i = commit_.next(); i <= candidate; i = i.next()) {
    const std::size_t size = entry(i).data.size();
    l.uncommitted_bytes = l.uncommitted_bytes > size ? l.uncommitted_bytes - size : 0;
  }
  set_commit(candidate);
  // Followers learn the new commit index promptly, not at the next heartbeat.
  for (auto& [id, pr] : l.progress) send_append(id, true);
  maybe_finish_config_change();
}

// ---------------------------------------------------------------------------
// Snapshots

void Node::persist_snapshot() {
  const std::string key = snapshot_key(options_.group);
  // A durable state machine's record says where the snapshot ends; the
  // state itself is the state machine's.
  const std::string& data = options_.state_machine_durable ? std::string() : snapshot_data_;
  out_.persist.put(Keyspace::raft_state, key,
                   encode_snapshot(key, snapshot_index_, snapshot_term_, snapshot_config_, data));
}

bool Node::wants_snapshot() const {
  const auto* l = std::get_if<Leader>(&role_);
  return !snapshot_data_ready_ && l != nullptr && !l->snapshot_sends.empty();
}

Status Node::compact(LogIndex index, std::string data) {
  if (index == snapshot_index_ && !snapshot_data_ready_) {
    // The bytes of the snapshot compact_log took.
    snapshot_data_ = std::move(data);
    snapshot_data_ready_ = true;
    start_waiting_snapshot_sends();
    return {};
  }
  if (Status s = compact_prefix(index, std::move(data), true); !s.ok()) return s;
  start_waiting_snapshot_sends();
  return {};
}

void Node::start_waiting_snapshot_sends() {
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return;
  for (auto& [to, send_state] : l->snapshot_sends) {
    if (send_state.waiting) send_snapshot_chunk(to);
  }
}

Status Node::compact_log(LogIndex index) {
  if (!options_.state_machine_durable) {
    return Status(Code::invalid_argument, "compaction without the state needs a durable state machine");
  }
  return compact_prefix(index, {}, false);
}

bool Node::sending_snapshot() const {
  const auto* l = std::get_if<Leader>(&role_);
  return l != nullptr && !l->snapshot_sends.empty();
}

Status Node::compact_prefix(LogIndex index, std::string data, bool ready) {
  if (index <= snapshot_index_) return Status(Code::invalid_argument, "compaction point is not past the snapshot");
  if (index > applied_) return Status(Code::invalid_argument, "compaction point is not applied yet");
  const Term term = term_at(index);
  snapshot_config_ = config_as_of(index);
  config_at_.erase(config_at_.begin(), config_at_.upper_bound(index));
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(index.value() - snapshot_index_.value()));
  snapshot_index_ = index;
  snapshot_term_ = term;
  snapshot_data_ = std::move(data);
  snapshot_data_ready_ = ready;
  persist_snapshot();
  log_store::truncate_prefix(out_.persist, options_.group, index);
  return {};
}

void Node::send_snapshot_chunk(NodeId to) {
  Leader& l = std::get<Leader>(role_);
  SnapshotSend& send_state = l.snapshot_sends.at(to);
  if (send_state.index != snapshot_index_) {
    // We compacted again meanwhile: start over with the newer snapshot.
    send_state = SnapshotSend{snapshot_index_, 0};
    l.progress.at(to).become_snapshot(snapshot_index_);
  }
  send_state.waiting = !snapshot_data_ready_;
  if (send_state.waiting) return;  // until the state machine hands the bytes over
  std::size_t chunk = options_.snapshot_chunk_bytes;
  if (BUGGIFY(options_.hooks, "raft.tiny_snapshot_chunks")) chunk = 7;
  const std::uint64_t offset = std::min<std::uint64_t>(send_state.offset, snapshot_data_.size());
  const std::string data = snapshot_data_.substr(offset, chunk);
  const bool done = offset + data.size() == snapshot_data_.size();
  send(to, InstallSnapshot{term_, snapshot_index_, snapshot_term_, offset, data, done, snapshot_config_}, false);
}

void Node::on_install_snapshot_reply(NodeId from, const InstallSnapshotReply& m) {
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return;
  auto it = l->snapshot_sends.find(from);
  if (it == l->snapshot_sends.end()) return;
  Progress& pr = l->progress.at(from);
  pr.recent_active = true;
  if (m.index != it->second.index) {
    send_snapshot_chunk(from);  // about another snapshot: resume ours
    return;
  }
  if (m.installed) {
    l->snapshot_sends.erase(it);
    pr.maybe_update(m.index);
    pr.become_probe();
    send_append(from, true);
    return;
  }
  it->second.offset = m.next_offset;
  send_snapshot_chunk(from);
}

void Node::on_install_snapshot(NodeId from, const InstallSnapshot& m) {
  if (role() != Role::follower) become_follower(term_, from);
  leader_ = from;
  election_elapsed_ = 0;
  if (m.index <= commit_) {
    // Everything in it is already committed here.
    send(from, InstallSnapshotReply{term_, m.index, 0, true}, true);
    return;
  }
  if (m.offset == 0) incoming_ = Incoming{m.index, m.snapshot_term, ""};
  if (!incoming_ || incoming_->index != m.index || incoming_->data.size() != m.offset) {
    // A chunk out of order (lost, duplicated or reordered): say where we are.
    const std::uint64_t next = incoming_ && incoming_->index == m.index ? incoming_->data.size() : 0;
    send(from, InstallSnapshotReply{term_, m.index, next, false}, false);
    return;
  }
  incoming_->data += m.data;
  if (!m.done) {
    send(from, InstallSnapshotReply{term_, m.index, incoming_->data.size(), false}, false);
    return;
  }
  CODE_PROBE(options_.hooks, true, raft_snapshot_installed);
  ++snapshots_installed_;
  Incoming snap = std::move(*incoming_);
  incoming_.reset();
  if (snap.index <= last_index() && term_at(snap.index) == snap.term) {
    // Our log already holds the snapshot's last entry: keep what follows.
    CODE_PROBE(options_.hooks, true, raft_snapshot_kept_log_suffix);
    log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(snap.index.value() - snapshot_index_.value()));
    log_store::truncate_prefix(out_.persist, options_.group, snap.index);
    config_at_.erase(config_at_.begin(), config_at_.upper_bound(snap.index));
  } else {
    log_.clear();
    log_store::truncate_suffix(out_.persist, options_.group, LogIndex(1));
    if (self_durable_ > snap.index) self_durable_ = snap.index;
    config_at_.clear();
  }
  snapshot_config_ = m.config;
  snapshot_index_ = snap.index;
  snapshot_term_ = snap.term;
  // A durable state machine makes the state durable with this output, from
  // restore_; we keep no copy.
  snapshot_data_ready_ = !options_.state_machine_durable;
  snapshot_data_ = snapshot_data_ready_ ? snap.data : std::string();
  reset_config_from_log();
  persist_snapshot();
  set_commit(snap.index);
  applied_ = snap.index;
  restore_ = Snapshot{snapshot_index_, snapshot_term_, std::move(snap.data)};
  // Durable before acknowledged.
  send(from, InstallSnapshotReply{term_, snap.index, 0, true}, true);
}

// ---------------------------------------------------------------------------
// Membership

JointConfig Node::config_as_of(LogIndex index) const {
  auto it = config_at_.upper_bound(index);
  if (it == config_at_.begin()) return snapshot_config_;
  return std::prev(it)->second;
}

void Node::reset_config_from_log() {
  config_ = config_at_.empty() ? snapshot_config_ : config_at_.rbegin()->second;
  if (role() == Role::leader) sync_progress();
}

void Node::config_appended(const LogEntry& entry) {
  JointConfig c;
  std::size_t used = 0;
  SLUICE_ASSERT(decode_config(entry_payload(entry), &c, &used), "a config entry we appended decodes");
  CODE_PROBE(options_.hooks, c.joint(), raft_config_joint_entered);
  CODE_PROBE(options_.hooks, !c.joint() && config_.joint(), raft_config_joint_left);
  config_at_[entry.index] = c;
  config_ = std::move(c);
  if (role() == Role::leader) sync_progress();
}

void Node::sync_progress() {
  Leader& l = std::get<Leader>(role_);
  const VoterSet voters = config_.all_voters();
  for (NodeId v : voters) {
    if (v != options_.self && !l.progress.count(v)) {
      l.progress.emplace(v, Progress(last_index().next(), options_.inflight_count_max, options_.inflight_bytes_max));
    }
  }
  for (auto it = l.progress.begin(); it != l.progress.end();) {
    if (voters.count(it->first)) {
      ++it;
      continue;
    }
    l.read_acked.erase(it->first);
    l.snapshot_sends.erase(it->first);
    if (l.transferee == it->first) l.transferee = kNoNode;
    it = l.progress.erase(it);
  }
}

void Node::maybe_finish_config_change() {
  // The configuration may come from a snapshot (its entry compacted away):
  // it is committed then, and a joint one must still be left.
  if (role() != Role::leader || config_index() > commit_) return;
  CODE_PROBE(options_.hooks, config_at_.empty() && config_.joint(), raft_joint_config_from_snapshot_left);
  if (config_.joint()) {
    // The joint configuration is committed: move to the new voters alone.
    JointConfig next{config_.incoming, {}, {}};
    for (const auto& [id, address] : config_.addresses) {
      if (next.incoming.contains(id)) next.addresses.emplace(id, address);
    }
    append_local({LogEntry{term_, last_index().next(), make_entry_data(EntryKind::config, encode_config(next))}});
    broadcast_append();
    return;
  }
  if (!config_.is_voter(options_.self)) {
    // We led the change that removed us; now that it is committed, let a
    // voter take over.
    CODE_PROBE(options_.hooks, true, raft_leader_removed_stepped_down);
    become_follower(term_, kNoNode);
  }
}

Status Node::change_membership(const VoterSet& voters, const std::map<NodeId, std::string>& addresses) {
  if (poisoned_) return Status(Code::poisoned, "node stopped after a failed write");
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return Status(Code::unavailable, "not the leader");
  if (voters.empty()) return Status(Code::invalid_argument, "a group needs at least one voter");
  if (l->transferee != kNoNode) return Status(Code::unavailable, "leadership transfer in progress");
  if (config_.joint() || config_index() > commit_) {
    return Status(Code::unavailable, "a membership change is already in progress");
  }
  if (term_at(commit_) != term_) {
    return Status(Code::unavailable, "leader has not committed an entry of its term yet; retry");
  }
  if (voters == config_.incoming) return {};
  JointConfig joint{voters, config_.incoming, config_.addresses};
  for (const auto& [id, address] : addresses) joint.addresses[id] = address;
  append_local({LogEntry{term_, last_index().next(), make_entry_data(EntryKind::config, encode_config(joint))}});
  broadcast_append();
  return {};
}

Result<LogIndex> Node::propose(std::string_view payload) {
  if (poisoned_) return Status(Code::poisoned, "node stopped after a failed write");
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) {
    return Status(Code::unavailable, leader_ == kNoNode ? "no leader" : "not the leader; leader is " + to_string(leader_));
  }
  if (l->transferee != kNoNode) return Status(Code::unavailable, "leadership transfer in progress");
  if (l->uncommitted_bytes + payload.size() > options_.uncommitted_bytes_max && l->uncommitted_bytes > 0) {
    CODE_PROBE(options_.hooks, true, raft_proposal_rejected_admission);
    return Status(Code::unavailable, "too many uncommitted bytes (" + std::to_string(l->uncommitted_bytes) +
                                         "); retry when the quorum catches up");
  }
  const LogIndex index = last_index().next();
  append_local({LogEntry{term_, index, make_entry_data(EntryKind::normal, payload)}});
  broadcast_append();
  return index;
}

Status Node::transfer_leadership(NodeId to) {
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return Status(Code::unavailable, "not the leader");
  if (to == options_.self) return Status(Code::invalid_argument, "already the leader");
  auto it = l->progress.find(to);
  if (it == l->progress.end()) return Status(Code::invalid_argument, "not a voter: " + to_string(to));
  l->transferee = to;
  l->transfer_elapsed = 0;
  if (it->second.match() == last_index()) {
    send(to, TimeoutNow{term_}, false);
  } else {
    send_append(to, true);
  }
  return {};
}

}  // namespace sluice::raft
