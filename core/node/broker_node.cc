#include "core/node/broker_node.h"

#include "core/broker/names.h"
#include "core/common/hooks.h"
#include "core/common/overloaded.h"
#include "core/common/random.h"

namespace sluice::node {
namespace {

// What a client may ask to have written (directly, or forwarded by a
// follower): anything but the leader's own commands, within the limits.
Status check_client_command(const broker::Command& c, const broker::Limits& limits) {
  if (std::holds_alternative<broker::Tick>(c) || std::holds_alternative<broker::Configure>(c)) {
    return Status(Code::invalid_argument, "tick and configure are internal commands");
  }
  return broker::validate(c, limits);
}

}  // namespace

const char* rpc_kind_name(RpcKind kind) { return kind == RpcKind::command ? "commands" : "queries"; }

Result<std::unique_ptr<BrokerNode>> BrokerNode::open(const BrokerOptions& options, const raft::VoterSet& voters,
                                                     KvStore& store, Rng rng) {
  // The limits that reach the replicated state are checked as the state
  // would check a Configure: refused here, at startup, rather than proposed
  // and refused by every replica, leaving this node's wish unmet for ever.
  const broker::Command configure = broker::Configure{broker::state_limits(options.limits)};
  if (Status s = broker::validate(configure, options.limits); !s.ok()) {
    return Status(Code::invalid_argument, "broker limits: " + s.message());
  }
  // The state first: Raft hands out entries from its snapshot on, and we
  // skip those the loaded state already applied.
  auto state = broker::BrokerState::load(store);
  if (!state.ok()) return state.status();
  // Ids this node hands to peers (forwards, RPCs, reads) start at a random base
  // per incarnation: a late answer to the previous incarnation's request
  // must not match a new request that reused its id.
  const std::uint64_t id_base = (rng.next_u64() & 0xffffffffULL) << 32;
  raft::Options raft_options = options.raft;
  raft_options.state_machine_durable = true;  // the state is in the store; see compact()
  auto raft = raft::Node::open(raft_options, voters, store, rng);
  if (!raft.ok()) return raft.status();
  if ((*raft)->snapshot_index() > state->applied()) {
    return Status(Code::corruption, "the broker state (applied " + to_string(state->applied()) +
                                        ") is behind the Raft snapshot (" + to_string((*raft)->snapshot_index()) + ")");
  }
  auto node = std::unique_ptr<BrokerNode>(new BrokerNode(options, std::move(raft).value(), std::move(state).value()));
  node->next_forward_ = id_base + 1;
  node->next_rpc_ = id_base + 1;
  node->next_serving_ = id_base + 1;
  node->next_read_ = id_base + 1;  // ReadIndexAsk ids, answered by the leader
  return node;
}

// ---------------------------------------------------------------------------
// Inputs

void BrokerNode::step(NodeId from, Message message, Timestamp now) {
  now_ = std::max(now_, now);
  if (raft_->poisoned()) return;  // a poisoned node serves nothing
  std::visit(Overloaded{
                 [&](raft::Message& m) { raft_->step(from, m); },
                 [&](ClientRequest& r) { on_client(from, std::move(r)); },
                 [&](Forward& f) { on_forward(from, std::move(f)); },
                 [&](ForwardReply& r) { on_forward_reply(r); },
                 [&](EventFanout& f) {
                   std::map<std::string, NodeId> groups(f.groups.begin(), f.groups.end());
                   deliver_event(f.event, groups);
                 },
                 [&](Registry& r) {
                   PeerRegistry& p = registries_[from];
                   if (r.generation >= p.registry.generation || p.seen + options_.registry_expiry <= now_) {
                     p.registry = std::move(r);
                   }
                   p.seen = now_;
                   merge_store_cursors(p.registry);
                 },
                 [&](RpcForward& f) { on_rpc_forward(from, f); },
                 [&](RpcReturn& r) { on_rpc_return(r); },
                 [&](StoreGroupPush& p) { on_store_group_push(p); },
                 [&](ReadIndexAsk& a) { on_read_index_ask(from, a); },
                 [&](ReadIndexAnswer& a) { on_read_index_answer(a); },
                 // Meant for clients: a node never acts on these.
                 [&](ClientReply&) {},
                 [&](EventDelivery&) {},
                 [&](StoreDelivery&) {},
                 [&](RpcIncoming&) {},
             },
             message);
}

void BrokerNode::tick(Timestamp now) {
  now_ = std::max(now_, now);
  raft_->tick();
  if (raft_->poisoned()) return;
  // Forwarded writes the leader never answered: the outcome is unknown.
  for (auto it = forwards_.begin(); it != forwards_.end();) {
    if (it->second.deadline > now_) {
      ++it;
      continue;
    }
    const Origin origin = it->second.origin;
    it = forwards_.erase(it);
    CODE_PROBE(options_.raft.hooks, true, broker_forward_timed_out);
    finish(origin, Status(Code::timeout, "no answer from the leader in time; the write may or may not have happened"),
           out_, false);
  }
  wake_parked();
  tick_reads();
  expire_rpcs();
  // Store groups look at their server now and then: one may have gone
  // quiet (its registry expired), or a handoff wait may have run out.
  if (!store_groups_.empty()) store_backlog_ = true;
  send_registry(false);
  commit_store_groups();
  propose_internal();
  check_admin();
}

void BrokerNode::disconnect(NodeId client) {
  for (auto it = parked_.begin(); it != parked_.end();) {
    it = it->second.client == client ? parked_.erase(it) : std::next(it);
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    it = it->second.client == client ? reads_.erase(it) : std::next(it);
  }
  auto drop = [client](auto& subs) {
    for (auto it = subs.begin(); it != subs.end();) it = it->first.first == client ? subs.erase(it) : std::next(it);
  };
  drop(store_subs_);
  drop(event_subs_);
  drop(rpc_subs_);
  for (auto it = rpc_serving_.begin(); it != rpc_serving_.end();) {
    it = it->second.responder == client ? rpc_serving_.erase(it) : std::next(it);
  }
  for (auto it = rpc_pending_.begin(); it != rpc_pending_.end();) {
    it = it->second.client == client ? rpc_pending_.erase(it) : std::next(it);
  }
  send_registry(false);
}

void BrokerNode::on_client(NodeId client, ClientRequest request) {
  const std::uint64_t id = request.request_id;
  std::visit(Overloaded{
                 [&](Write& w) { on_write(client, id, std::move(w)); },
                 [&](PublishEvent& p) { publish_event(client, id, p); },
                 [&](SubscribeEvents& s) { subscribe_events(client, id, s); },
                 [&](SubscribeStore& s) { subscribe_store(client, id, s); },
                 [&](SubscribeRpc& s) { subscribe_rpc(client, id, s); },
                 [&](Unsubscribe& u) { unsubscribe(client, id, u); },
                 [&](RpcCall& c) { rpc_call(client, id, c); },
                 [&](RpcRespond& r) { on_rpc_respond(client, id, r); },
                 [&](ClusterAdmin& a) { on_admin(client, id, a); },
                 [&](auto& read) { on_read(client, id, RequestBody(std::move(read))); },
             },
             request.body);
}

// ---------------------------------------------------------------------------
// Writes

void BrokerNode::reply(NodeId client, std::uint64_t request_id, Status status, ReplyBody body, Output<Message>& out,
                       bool after_persist) {
  NodeId hint = kNoNode;
  if (status.code() == Code::unavailable && raft_->leader() != raft_->id()) hint = raft_->leader();
  Envelope<Message> e{options_.raft.group, raft_->id(), client,
                      ClientReply{request_id, std::move(status), hint, std::move(body)}};
  (after_persist ? out.send_after_persist : out.send_now).push_back(std::move(e));
}

void BrokerNode::on_write(NodeId client, std::uint64_t request_id, Write write) {
  if (Status s = check_client_command(write.command, options_.limits); !s.ok()) {
    reply(client, request_id, s, {}, out_, false);
    return;
  }
  if (auto* receive = std::get_if<broker::QueueReceive>(&write.command); receive != nullptr && write.wait.ns > 0) {
    if (write.wait > options_.limits.wait_max) {
      reply(client, request_id,
            Status(Code::invalid_argument, "wait " + format_duration(write.wait) + " is over the limit of " +
                                               format_duration(options_.limits.wait_max)),
            {}, out_, false);
      return;
    }
    if (parked_.size() >= options_.parked_receives_max) {
      reply(client, request_id, Status(Code::unavailable, "too many waiting receives on this node"), {}, out_, false);
      return;
    }
    const std::uint64_t park_id = next_park_++;
    parked_[park_id] = Parked{client, request_id, *receive, now_ + write.wait, false, now_, 0};
    attempt_receive(park_id);
    return;
  }
  if (write.wait.ns < 0) {
    reply(client, request_id, Status(Code::invalid_argument, "wait is negative"), {}, out_, false);
    return;
  }
  submit(LocalOrigin{client, request_id}, std::move(write.command));
}

void BrokerNode::submit(Origin origin, broker::Command command) {
  if (raft_->role() == raft::Role::leader) {
    auto index = raft_->propose(broker::encode_entry(broker::Entry{now_, std::move(command)}));
    if (index.ok()) {
      waiting_[*index] = Waiting{raft_->term(), std::move(origin)};
      return;
    }
    Status s = index.status();
    // Admission control: the quorum is behind; the producer must slow down.
    if (s.code() == Code::invalid_argument) s = Status(Code::unavailable, "the cluster is busy: " + s.message());
    finish(origin, s, out_, false);
    return;
  }
  const NodeId leader = raft_->leader();
  if (leader == kNoNode || leader == raft_->id() || std::holds_alternative<PeerOrigin>(origin)) {
    finish(origin, Status(Code::unavailable, leader == kNoNode ? "no leader is known; try again shortly"
                                                               : "not the leader"),
           out_, false);
    return;
  }
  CODE_PROBE(options_.raft.hooks, true, broker_write_forwarded);
  const std::uint64_t id = next_forward_++;
  forwards_[id] = Forwarded{std::move(origin), now_ + options_.forward_timeout};
  send(leader, Forward{id, std::move(command)});
}

void BrokerNode::finish(const Origin& origin, const Result<broker::Reply>& result, Output<Message>& out,
                        bool after_persist) {
  std::visit(Overloaded{
                 [&](const LocalOrigin& o) {
                   if (result.ok()) {
                     reply(o.client, o.request_id, {}, result.value(), out, after_persist);
                   } else {
                     reply(o.client, o.request_id, result.status(), {}, out, after_persist);
                   }
                 },
                 [&](const PeerOrigin& o) {
                   ForwardReply r{o.forward_id, result.ok() ? Status() : result.status(),
                                  result.ok() ? result.value() : broker::Reply{}, raft_->leader()};
                   Envelope<Message> e{options_.raft.group, raft_->id(), o.peer, std::move(r)};
                   (after_persist ? out.send_after_persist : out.send_now).push_back(std::move(e));
                 },
                 [&](const ParkOrigin& o) { on_receive_result(o.park_id, result, out, after_persist); },
                 [&](const InternalOrigin&) {},
             },
             origin);
}

void BrokerNode::on_forward(NodeId peer, Forward forward) {
  if (Status s = check_client_command(forward.command, options_.limits); !s.ok()) {
    finish(PeerOrigin{peer, forward.forward_id}, s, out_, false);
    return;
  }
  submit(PeerOrigin{peer, forward.forward_id}, std::move(forward.command));
}

void BrokerNode::on_forward_reply(const ForwardReply& r) {
  auto it = forwards_.find(r.forward_id);
  if (it == forwards_.end()) return;  // timed out already, or a duplicate
  const Origin origin = std::move(it->second.origin);
  forwards_.erase(it);
  if (r.status.ok()) {
    finish(origin, r.reply, out_, false);
  } else {
    finish(origin, r.status, out_, false);
  }
}

void BrokerNode::attempt_receive(std::uint64_t park_id) {
  Parked& p = parked_.at(park_id);
  p.attempting = true;
  p.attempts++;
  submit(ParkOrigin{park_id}, p.receive);
}

void BrokerNode::on_receive_result(std::uint64_t park_id, const Result<broker::Reply>& result, Output<Message>& out,
                                   bool after_persist) {
  auto it = parked_.find(park_id);
  if (it == parked_.end()) return;  // the client went away; deliveries come back after their visibility
  Parked& p = it->second;
  p.attempting = false;
  const bool got = result.ok() && !std::get<broker::ReceiveResult>(result.value()).deliveries.empty();
  const bool definite_error = !result.ok() && result.status().code() != Code::unavailable;
  if (got || definite_error || now_ >= p.deadline) {
    CODE_PROBE(options_.raft.hooks, got && p.attempts > 1, broker_receive_waited_then_served);
    if (result.ok()) {
      reply(p.client, p.request_id, {}, result.value(), out, after_persist);
    } else if (definite_error) {
      reply(p.client, p.request_id, result.status(), {}, out, after_persist);
    } else {
      reply(p.client, p.request_id, {}, broker::Reply{broker::ReceiveResult{}}, out, after_persist);
    }
    parked_.erase(it);
    return;
  }
  // Nothing yet (or no leader for now): wait for a message or the deadline,
  // and not in a tight loop when our state shows messages the leader has
  // already handed out.
  p.retry_at = now_ + options_.receive_retry;
}

void BrokerNode::wake_parked() {
  for (auto it = parked_.begin(); it != parked_.end();) {
    Parked& p = it->second;
    if (p.attempting) {
      ++it;
      continue;
    }
    if (now_ >= p.deadline) {
      reply(p.client, p.request_id, {}, broker::Reply{broker::ReceiveResult{}}, out_, false);
      it = parked_.erase(it);
      continue;
    }
    // Our applied state is a hint: a message is ready, or a timer is due
    // that will make one ready. The attempt through the log decides.
    const auto stats = state_.queue_stats(p.receive.channel);
    if (now_ >= p.retry_at && stats.has_value() && stats->ready > 0) attempt_receive(it->first);
    ++it;
  }
}

void BrokerNode::propose_internal() {
  if (raft_->role() != raft::Role::leader || now_ < internal_next_) return;
  const broker::StateLimits wanted = broker::state_limits(options_.limits);
  std::optional<broker::Command> command;
  if (!(state_.limits() == wanted)) {
    command = broker::Configure{wanted};
  } else if (const auto due = state_.next_timer(); due.has_value() && *due <= now_) {
    command = broker::Tick{};
    CODE_PROBE(options_.raft.hooks, true, broker_timer_tick_proposed);
  } else if (state_.has_age_retention() && now_ >= last_age_tick_ + options_.age_tick_interval) {
    command = broker::Tick{};
    last_age_tick_ = now_;
  }
  if (!command) return;
  // One internal entry at a time, give or take: the next waits a little.
  internal_next_ = now_ + Duration::millis(20);
  auto index = raft_->propose(broker::encode_entry(broker::Entry{now_, std::move(*command)}));
  if (index.ok()) waiting_[*index] = Waiting{raft_->term(), InternalOrigin{}};
}

// ---------------------------------------------------------------------------
// Output and apply

Output<Message> BrokerNode::take_output() {
  raft::RaftOutput r = raft_->take_output();
  Output<Message> out = std::move(out_);
  out_ = {};
  absorb(out, std::move(r.io));
  if (r.restore) restore(*r.restore, out);
  for (const LogEntry& entry : r.committed) apply(entry, out);
  on_read_states(r.reads);
  serve_reads();
  if (state_dirty_) {
    state_.flush(out.persist);
    state_dirty_ = false;
  }
  compact();
  // Deliveries and wake-ups from what was applied; their messages go out
  // with the next output if this one is already taken.
  push_store(out);
  wake_parked();
  for (auto& e : out_.send_now) out.send_now.push_back(std::move(e));
  out_.send_now.clear();
  return out;
}

// Our state is durable in the store, with its applied index, so the log is
// compacted without copying it. The state is serialized only when the
// leader has a follower to send a snapshot to; the newest half of the
// compaction interval stays in the log, so that a follower a little behind
// catches up from the log rather than from a snapshot.
void BrokerNode::compact() {
  if (state_.applied() > raft_->applied()) return;  // Raft is still handing out entries we loaded
  if (raft_->wants_snapshot()) {
    CODE_PROBE(options_.raft.hooks, true, broker_snapshot_serialized);
    const Status s = raft_->compact(state_.applied(), state_.snapshot());
    SLUICE_ASSERT(s.ok(), "a snapshot at the applied index cannot fail");
    return;
  }
  const std::uint64_t every = options_.compact_every;
  if (every == 0 || raft_->sending_snapshot()) return;
  const std::uint64_t applied = state_.applied().value();
  if (applied < raft_->snapshot_index().value() + every) return;
  const Status s = raft_->compact_log(LogIndex(applied - every / 2));
  SLUICE_ASSERT(s.ok(), "compaction behind the applied index cannot fail");
}

void BrokerNode::restore(const raft::Snapshot& snapshot, Output<Message>& out) {
  if (snapshot.index <= state_.applied()) return;  // our loaded state is already past it
  auto state = broker::BrokerState::restore(snapshot.data, out.persist);
  SLUICE_ASSERT(state.ok(), "a snapshot that Raft verified must decode");
  state_ = std::move(state).value();
  CODE_PROBE(options_.raft.hooks, true, broker_state_from_snapshot);
  SLUICE_ASSERT(state_.applied() == snapshot.index, "the snapshot's state is as of its index");
  // Whether our proposals up to here were applied is unknown now.
  for (auto it = waiting_.begin(); it != waiting_.end() && it->first <= snapshot.index;) {
    finish(it->second.origin,
           Status(Code::timeout, "a snapshot replaced this node's state; the write may or may not have happened"),
           out, false);
    it = waiting_.erase(it);
  }
  // Store subscribers continue from their sequences; the snapshot holds
  // everything retention kept.
  store_backlog_ = true;
}

void BrokerNode::apply(const LogEntry& entry, Output<Message>& out) {
  if (entry.index <= state_.applied()) {
    // Applied before a restart: the loaded state has it.
    CODE_PROBE(options_.raft.hooks, true, broker_state_loaded_on_restart);
    return;
  }
  const std::uint64_t term = entry.term.value();
  std::uint64_t chain = fnv1a64(&term, sizeof term, state_.applied_chain());
  state_.set_applied_chain(fnv1a64(entry.data.data(), entry.data.size(), chain));
  std::optional<Waiting> waiting;
  if (auto it = waiting_.find(entry.index); it != waiting_.end()) {
    waiting = std::move(it->second);
    waiting_.erase(it);
  }
  state_dirty_ = true;
  if (raft::entry_kind(entry) != raft::EntryKind::normal) {
    state_.skip(entry.index);
    if (waiting) finish(waiting->origin, Status(Code::unavailable, "leadership changed; the write was not applied"),
                        out, false);
    return;
  }
  const auto decoded = broker::decode_entry(raft::entry_payload(entry));
  SLUICE_ASSERT(decoded.has_value(), "a committed broker entry must decode (leaders encode, checksums guard)");
  const Result<broker::Reply> result = state_.apply(entry.index, *decoded);
  if (!waiting) return;
  if (waiting->term != entry.term) {
    // Another leader's entry took the index of ours: ours is gone for good.
    CODE_PROBE(options_.raft.hooks, true, broker_write_lost_to_new_leader);
    finish(waiting->origin, Status(Code::unavailable, "leadership changed; the write was not applied"), out, false);
    return;
  }
  // The state writes are in this output's batch: answer once it is durable.
  finish(waiting->origin, result, out, true);
}

}  // namespace sluice::node
