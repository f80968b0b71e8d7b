// Subscriptions and routing that do not go through Raft: events store
// subscribers fed from the applied state, events fanned out to every node,
// commands and queries routed to one responder anywhere in the cluster.
#include <algorithm>

#include "core/broker/names.h"
#include "core/common/overloaded.h"
#include "core/node/broker_node.h"

namespace sluice::node {
namespace {

// A group of event subscribers: the pattern and the group name.
std::string group_key(const std::string& pattern, const std::string& group) { return pattern + "\n" + group; }
std::string group_pattern(const std::string& key) { return key.substr(0, key.find('\n')); }
std::string rpc_key(RpcKind kind, const std::string& channel) {
  return std::string(kind == RpcKind::command ? "c:" : "q:") + channel;
}

Status invalid(std::string m) { return Status(Code::invalid_argument, std::move(m)); }

}  // namespace

std::set<NodeId> BrokerNode::peers() const {
  std::set<NodeId> out = raft_->config().all_voters();
  out.erase(raft_->id());
  return out;
}

// A new subscription's id must be free across all kinds (one Unsubscribe
// ends whichever holds it), and the node's subscription count bounded.
Status BrokerNode::admit_subscription(const SubKey& key) const {
  if (store_subs_.contains(key) || event_subs_.contains(key) || rpc_subs_.contains(key)) {
    return invalid("subscription id " + std::to_string(key.second) + " is already in use by another subscription");
  }
  if (subscription_count() >= options_.subscriptions_max) {
    return Status(Code::unavailable, "this node has too many subscriptions");
  }
  return {};
}

// ---------------------------------------------------------------------------
// Events store subscriptions

void BrokerNode::subscribe_store(NodeId client, std::uint64_t request_id, const SubscribeStore& s) {
  const SubKey key{client, s.sub_id};
  if (auto it = store_subs_.find(key); it != store_subs_.end() && it->second.channel == s.channel &&
                                       it->second.group == s.group) {
    reply(client, request_id, {}, {}, out_, false);  // a retry whose first answer was lost: already served
    return;
  }
  Status status = broker::validate_channel(s.channel);
  if (status.ok()) status = broker::validate_group(s.group);
  if (status.ok()) status = admit_subscription(key);
  if (status.ok() && s.start.from == StartFrom::time_delta && s.start.delta.ns < 0) status = invalid("negative delta");
  if (!status.ok()) {
    reply(client, request_id, status, {}, out_, false);
    return;
  }
  const broker::StoreStats stats = state_.store_stats(s.channel).value_or(broker::StoreStats{});
  std::uint64_t start = stats.last_seq + 1;
  switch (s.start.from) {
    case StartFrom::new_only: break;
    case StartFrom::first: start = stats.first_seq; break;
    case StartFrom::last: start = stats.count > 0 ? stats.last_seq : stats.last_seq + 1; break;
    case StartFrom::sequence: start = std::max<std::uint64_t>(s.start.seq, 1); break;
    case StartFrom::time: start = state_.store_seq_at(s.channel, s.start.time); break;
    case StartFrom::time_delta: start = state_.store_seq_at(s.channel, now_ - s.start.delta); break;
  }
  std::optional<Timestamp> not_before;
  if (s.start.from == StartFrom::time) not_before = s.start.time;
  if (s.start.from == StartFrom::time_delta) not_before = now_ - s.start.delta;
  store_subs_[key] = StoreSub{s.channel, s.group, start, s.group.empty() ? not_before : std::nullopt};
  if (!s.group.empty()) {
    // A member joins its group's stream where the group stands (as peers
    // advertise it, or as last committed); the start option only places a
    // group that has neither.
    const StoreGroupKey group{s.channel, s.group};
    const auto known = known_position(group);
    CODE_PROBE(options_.raft.hooks, !advertised_cursor(group) && known && !store_groups_.contains(group),
               broker_store_group_resumed_from_committed);
    auto [it, created] = store_groups_.try_emplace(group, StoreGroup{known.value_or(start), 0, {}, false, {}, {}});
    if (!created && known) it->second.next_seq = std::max(it->second.next_seq, *known);
    it->second.empty_since.reset();
  }
  reply(client, request_id, {}, {}, out_, false);
  store_backlog_ = true;
  if (!s.group.empty()) send_registry(false);  // the group's membership here changed
}

void BrokerNode::push_store(Output<Message>& out) {
  if (!store_backlog_ && store_subs_.empty() && store_groups_.empty()) return;
  store_backlog_ = false;
  const std::size_t batch = options_.subscriber_batch_max;
  auto deliver = [&](const SubKey& to, const StoredMessage& m) {
    out.send_now.push_back({options_.raft.group, raft_->id(), to.first, StoreDelivery{to.second, m}});
  };
  for (auto& [key, sub] : store_subs_) {
    if (!sub.group.empty()) continue;
    const auto messages = state_.read_store(sub.channel, sub.next_seq, batch);
    for (const StoredMessage& m : messages) {
      sub.next_seq = m.seq + 1;
      if (sub.not_before) {
        if (m.timestamp < *sub.not_before) {
          CODE_PROBE(options_.raft.hooks, true, broker_store_time_start_skipped);
          continue;
        }
        sub.not_before.reset();
      }
      deliver(key, m);
    }
    if (messages.size() == batch) store_backlog_ = true;
  }
  push_store_groups(out);
}

// A group's stream is handed out by one node, its server: each message to
// one member, round robin over the members on every node (a member on
// another node gets it through that node, as a StoreGroupPush).
void BrokerNode::push_store_groups(Output<Message>& out) {
  const std::size_t batch = options_.subscriber_batch_max;
  bool handed_over = false;
  for (auto it = store_groups_.begin(); it != store_groups_.end();) {
    const StoreGroupKey& group = it->first;
    StoreGroup& cursor = it->second;
    const std::vector<SubKey> members = store_group_members(group);
    if (members.empty()) {
      // Kept a while, advertised with no members, so that a member joining
      // elsewhere goes on from here rather than from its start option.
      if (!cursor.empty_since) cursor.empty_since = now_;
      if (*cursor.empty_since + options_.registry_expiry <= now_) {
        it = store_groups_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    cursor.empty_since.reset();
    if (store_group_server(group) != raft_->id()) {
      // Handing over: tell the successor at once where the stream stands.
      if (cursor.serving) handed_over = true;
      cursor.serving = false;
      ++it;
      continue;
    }
    if (!cursor.serving) {
      cursor.serving = true;
      cursor.serve_from = now_ + options_.store_group_handoff;
      if (const auto committed = state_.store_group_position(group.first, group.second)) {
        cursor.next_seq = std::max(cursor.next_seq, *committed);
      }
      CODE_PROBE(options_.raft.hooks, true, broker_store_group_handoff);
    }
    if (now_ < cursor.serve_from) {
      ++it;
      continue;
    }
    // Slots: one per local member, then `members` per peer that has some.
    std::vector<std::pair<NodeId, std::uint32_t>> remote;
    std::uint64_t slots = members.size();
    for (const auto& [peer, c] : peer_store_cursors(group)) {
      if (c.members == 0) continue;
      remote.emplace_back(peer, c.members);
      slots += c.members;
    }
    const auto messages = state_.read_store(group.first, cursor.next_seq, batch);
    for (const StoredMessage& m : messages) {
      std::uint64_t slot = cursor.turn++ % slots;
      if (slot < members.size()) {
        const SubKey& to = members[slot];
        out.send_now.push_back({options_.raft.group, raft_->id(), to.first, StoreDelivery{to.second, m}});
      } else {
        slot -= members.size();
        for (const auto& [peer, count] : remote) {
          if (slot < count) {
            out.send_now.push_back(
                {options_.raft.group, raft_->id(), peer, StoreGroupPush{group.first, group.second, m}});
            break;
          }
          slot -= count;
        }
      }
      cursor.next_seq = m.seq + 1;
    }
    if (messages.size() == batch) store_backlog_ = true;
    ++it;
  }
  if (handed_over) send_registry(true);
}

// The node with the lowest id among those with members serves the group,
// as far as this node's registries tell. Views differ for a moment after a
// change; then two nodes may both hand out the same messages.
NodeId BrokerNode::store_group_server(const StoreGroupKey& key) const {
  NodeId server = raft_->id();
  for (const auto& [peer, c] : peer_store_cursors(key)) {
    if (c.members > 0) server = std::min(server, peer);
  }
  return server;
}

std::vector<BrokerNode::SubKey> BrokerNode::store_group_members(const StoreGroupKey& key) const {
  std::vector<SubKey> members;
  for (const auto& [sub_key, sub] : store_subs_) {
    if (sub.channel == key.first && sub.group == key.second) members.push_back(sub_key);
  }
  return members;
}

// What the peers whose registries are fresh advertise for the group.
std::vector<std::pair<NodeId, StoreGroupCursor>> BrokerNode::peer_store_cursors(const StoreGroupKey& key) const {
  std::vector<std::pair<NodeId, StoreGroupCursor>> out;
  for (const auto& [peer, reg] : registries_) {
    if (reg.seen + options_.registry_expiry <= now_) continue;
    for (const StoreGroupCursor& c : reg.registry.store_groups) {
      if (c.channel == key.first && c.group == key.second) out.emplace_back(peer, c);
    }
  }
  return out;
}

void BrokerNode::on_store_group_push(const StoreGroupPush& push) {
  auto it = store_groups_.find({push.channel, push.group});
  const std::vector<SubKey> members = store_group_members({push.channel, push.group});
  if (it == store_groups_.end() || members.empty()) {
    // Its members here left since the server's registry said otherwise:
    // the message is not handed to the group (as one in flight to a member
    // whose connection closed is not).
    CODE_PROBE(options_.raft.hooks, true, broker_store_group_push_dropped);
    return;
  }
  StoreGroup& cursor = it->second;
  cursor.next_seq = std::max(cursor.next_seq, push.message.seq + 1);
  const SubKey& to = members[cursor.turn++ % members.size()];
  send(to.first, StoreDelivery{to.second, push.message});
}

// Every cursor a peer advertises is at or behind what its group was given,
// so taking the furthest never hands a message out twice from here.
void BrokerNode::merge_store_cursors(const Registry& registry) {
  for (const StoreGroupCursor& c : registry.store_groups) {
    auto it = store_groups_.find({c.channel, c.group});
    if (it == store_groups_.end()) continue;
    if (c.next_seq > it->second.next_seq) {
      CODE_PROBE(options_.raft.hooks, store_group_server({c.channel, c.group}) != raft_->id(),
                 broker_store_group_cursor_followed);
      it->second.next_seq = c.next_seq;
    }
  }
}

// The serving node commits where its group stands, while it moves, at most
// every store_group_commit_interval (through the leader; a lost proposal is
// tried again next time). Also after the last member left, while the node
// still remembers the group: that is the position a group scaled to zero
// goes on from.
void BrokerNode::commit_store_groups() {
  for (auto& [key, cursor] : store_groups_) {
    if (!cursor.serving || now_ < cursor.commit_at || !state_.store_stats(key.first)) continue;
    const auto committed = state_.store_group_position(key.first, key.second);
    if (committed && *committed >= cursor.next_seq) continue;
    cursor.commit_at = now_ + options_.store_group_commit_interval;
    CODE_PROBE(options_.raft.hooks, true, broker_store_group_position_proposed);
    submit(InternalOrigin{}, broker::StoreGroupPosition{key.first, key.second, cursor.next_seq});
  }
}

std::optional<std::uint64_t> BrokerNode::known_position(const StoreGroupKey& key) const {
  std::optional<std::uint64_t> out = advertised_cursor(key);
  if (const auto committed = state_.store_group_position(key.first, key.second)) {
    out = std::max(out.value_or(0), *committed);
  }
  return out;
}

std::optional<std::uint64_t> BrokerNode::advertised_cursor(const StoreGroupKey& key) const {
  std::optional<std::uint64_t> out;
  for (const auto& [peer, c] : peer_store_cursors(key)) out = std::max(out.value_or(0), c.next_seq);
  return out;
}

// ---------------------------------------------------------------------------
// Events

void BrokerNode::subscribe_events(NodeId client, std::uint64_t request_id, const SubscribeEvents& s) {
  const SubKey key{client, s.sub_id};
  if (auto it = event_subs_.find(key); it != event_subs_.end() && it->second.pattern == s.pattern &&
                                       it->second.group == s.group) {
    reply(client, request_id, {}, {}, out_, false);  // a retry whose first answer was lost: already served
    return;
  }
  Status status = broker::validate_pattern(s.pattern);
  if (status.ok()) status = admit_subscription(key);
  if (status.ok()) status = broker::validate_group(s.group);
  if (!status.ok()) {
    reply(client, request_id, status, {}, out_, false);
    return;
  }
  event_subs_[key] = EventSub{s.pattern, s.group};
  reply(client, request_id, {}, {}, out_, false);
  send_registry(false);
}

void BrokerNode::publish_event(NodeId client, std::uint64_t request_id, const PublishEvent& p) {
  if (Status s = broker::validate_message(p.message, options_.limits); !s.ok()) {
    reply(client, request_id, s, {}, out_, false);
    return;
  }
  StoredMessage event{p.message.id, p.message.channel, p.message.metadata, p.message.body, p.message.tags,
                      p.message.client_id, now_, 0};
  if (event.id.empty()) event.id = "e" + to_string(raft_->id()) + "-" + std::to_string(next_event_++);
  // Which node serves each group this event matches: one member of a group
  // cluster-wide, the nodes that have members taking turns.
  std::map<std::string, std::vector<NodeId>> holders;
  for (const auto& [key, sub] : event_subs_) {
    if (!sub.group.empty() && broker::matches(sub.pattern, event.channel)) {
      holders[group_key(sub.pattern, sub.group)].push_back(raft_->id());
    }
  }
  for (const auto& [peer, reg] : registries_) {
    if (reg.seen + options_.registry_expiry <= now_) continue;
    for (const std::string& key : reg.registry.event_groups) {
      if (broker::matches(group_pattern(key), event.channel)) holders[key].push_back(peer);
    }
  }
  std::map<std::string, NodeId> groups;
  for (auto& [key, nodes] : holders) {
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    groups[key] = nodes[event_group_turns_[key]++ % nodes.size()];
  }
  for (const NodeId peer : peers()) {
    send(peer, EventFanout{event, std::vector<std::pair<std::string, NodeId>>(groups.begin(), groups.end())});
  }
  deliver_event(event, groups);
  reply(client, request_id, {}, broker::Reply{broker::Published{event.id, 0, event.timestamp, false}}, out_, false);
}

void BrokerNode::deliver_event(const StoredMessage& event, const std::map<std::string, NodeId>& groups) {
  if (!recent_events_.insert(event.id).second) {
    CODE_PROBE(options_.raft.hooks, true, broker_event_fanout_duplicate_dropped);
    return;
  }
  recent_order_.push_back(event.id);
  if (recent_order_.size() > kRecentEventsMax) {
    recent_events_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
  event_counts_[event.channel]++;
  std::map<std::string, std::vector<SubKey>> members;
  for (const auto& [key, sub] : event_subs_) {
    if (!broker::matches(sub.pattern, event.channel)) continue;
    if (sub.group.empty()) {
      send(key.first, EventDelivery{key.second, event});
    } else {
      members[group_key(sub.pattern, sub.group)].push_back(key);
    }
  }
  for (const auto& [key, subs] : members) {
    auto it = groups.find(key);
    if (it == groups.end() || it->second != raft_->id()) continue;  // another node serves this group
    const SubKey& to = subs[event_group_turns_["local\n" + key]++ % subs.size()];
    send(to.first, EventDelivery{to.second, event});
  }
}

// ---------------------------------------------------------------------------
// Commands and queries

void BrokerNode::subscribe_rpc(NodeId client, std::uint64_t request_id, const SubscribeRpc& s) {
  const SubKey key{client, s.sub_id};
  if (auto it = rpc_subs_.find(key); it != rpc_subs_.end() && it->second.kind == s.kind &&
                                     it->second.channel == s.channel && it->second.group == s.group) {
    reply(client, request_id, {}, {}, out_, false);  // a retry whose first answer was lost: already served
    return;
  }
  Status status = broker::validate_channel(s.channel);
  if (status.ok()) status = admit_subscription(key);
  if (!status.ok()) {
    reply(client, request_id, status, {}, out_, false);
    return;
  }
  rpc_subs_[key] = RpcSub{s.kind, s.channel, s.group};
  reply(client, request_id, {}, {}, out_, false);
  send_registry(false);
}

void BrokerNode::unsubscribe(NodeId client, std::uint64_t request_id, const Unsubscribe& u) {
  const SubKey key{client, u.sub_id};
  const std::size_t n = store_subs_.erase(key) + event_subs_.erase(key) + rpc_subs_.erase(key);
  if (n == 0) {
    reply(client, request_id, Status(Code::not_found, "no subscription " + std::to_string(u.sub_id)), {}, out_, false);
    return;
  }
  reply(client, request_id, {}, {}, out_, false);
  send_registry(false);
}

void BrokerNode::rpc_call(NodeId client, std::uint64_t request_id, const RpcCall& call) {
  Status status = broker::validate_message(call.message, options_.limits);
  if (status.ok() && (call.timeout.ns <= 0 || call.timeout > options_.limits.wait_max)) {
    status = invalid("timeout must be positive and at most " + format_duration(options_.limits.wait_max));
  }
  if (status.ok() && !call.cache_key.empty() && call.kind != RpcKind::query) status = invalid("only queries are cached");
  if (status.ok() && (call.cache_ttl.ns < 0 || call.cache_ttl > options_.limits.query_cache_ttl_max)) {
    status = invalid("cache ttl must be at most " + format_duration(options_.limits.query_cache_ttl_max));
  }
  if (!status.ok()) {
    reply(client, request_id, status, {}, out_, false);
    return;
  }
  const std::string cache_key = call.cache_key.empty() ? "" : call.message.channel + "\n" + call.cache_key;
  if (!cache_key.empty()) {
    auto it = query_cache_.find(cache_key);
    if (it != query_cache_.end() && it->second.first > now_) {
      RpcAnswer answer = it->second.second;
      answer.from_cache = true;
      reply(client, request_id, {}, answer, out_, false);
      return;
    }
  }
  const std::string key = rpc_key(call.kind, call.message.channel);
  std::vector<NodeId> candidates;
  for (const auto& [sub_key, sub] : rpc_subs_) {
    if (sub.kind == call.kind && sub.channel == call.message.channel) {
      candidates.push_back(raft_->id());
      break;
    }
  }
  for (const auto& [peer, reg] : registries_) {
    if (reg.seen + options_.registry_expiry <= now_) continue;
    const auto& r = reg.registry.responders;
    if (std::find(r.begin(), r.end(), key) != r.end()) candidates.push_back(peer);
  }
  if (candidates.empty()) {
    reply(client, request_id,
          Status(Code::not_found, std::string("no responder subscribed to ") + rpc_kind_name(call.kind) +
                                      " channel '" + call.message.channel + "'"),
          {}, out_, false);
    return;
  }
  const NodeId target = candidates[rpc_turns_[key]++ % candidates.size()];
  const std::uint64_t rpc_id = next_rpc_++;
  rpc_pending_[rpc_id] = RpcPending{client, request_id, now_ + call.timeout, cache_key, call.cache_ttl};
  StoredMessage request{call.message.id, call.message.channel, call.message.metadata, call.message.body,
                        call.message.tags, call.message.client_id, now_, 0};
  if (request.id.empty()) request.id = "r" + to_string(raft_->id()) + "-" + std::to_string(rpc_id);
  if (target == raft_->id()) {
    serve_rpc(target, rpc_id, call.kind, request);
  } else {
    send(target, RpcForward{rpc_id, call.kind, request});
  }
}

void BrokerNode::on_rpc_forward(NodeId origin, const RpcForward& f) { serve_rpc(origin, f.rpc_id, f.kind, f.request); }

void BrokerNode::serve_rpc(NodeId origin, std::uint64_t origin_rpc_id, RpcKind kind, const StoredMessage& request) {
  std::vector<SubKey> responders;
  for (const auto& [key, sub] : rpc_subs_) {
    if (sub.kind == kind && sub.channel == request.channel) responders.push_back(key);
  }
  if (responders.empty()) {
    const RpcReturn gone{origin_rpc_id, Status(Code::not_found, "the responder went away"), {}};
    if (origin == raft_->id()) {
      on_rpc_return(gone);
    } else {
      send(origin, gone);
    }
    return;
  }
  const SubKey to = responders[rpc_turns_["local\n" + rpc_key(kind, request.channel)]++ % responders.size()];
  const std::uint64_t id = next_serving_++;
  rpc_serving_[id] = RpcServing{origin, origin_rpc_id, to.first, now_ + options_.limits.wait_max};
  send(to.first, RpcIncoming{to.second, id, kind, request});
}

void BrokerNode::on_rpc_respond(NodeId responder, std::uint64_t request_id, const RpcRespond& r) {
  auto it = rpc_serving_.find(r.rpc_id);
  if (it == rpc_serving_.end() || it->second.responder != responder) {
    reply(responder, request_id, Status(Code::not_found, "no request " + std::to_string(r.rpc_id) + " is waiting for you"),
          {}, out_, false);
    return;
  }
  const RpcServing serving = it->second;
  rpc_serving_.erase(it);
  const RpcReturn ret{serving.origin_rpc_id, {}, RpcAnswer{r.executed, r.error, r.metadata, r.body, r.tags, false}};
  if (serving.origin == raft_->id()) {
    on_rpc_return(ret);
  } else {
    send(serving.origin, ret);
  }
  reply(responder, request_id, {}, {}, out_, false);
}

void BrokerNode::on_rpc_return(const RpcReturn& r) {
  auto it = rpc_pending_.find(r.rpc_id);
  if (it == rpc_pending_.end()) return;  // late: the caller already got a timeout
  const RpcPending p = it->second;
  rpc_pending_.erase(it);
  if (!r.status.ok()) {
    reply(p.client, p.request_id, r.status, {}, out_, false);
    return;
  }
  if (!p.cache_key.empty() && p.cache_ttl.ns > 0 && r.answer.error.empty()) {
    if (query_cache_.size() >= options_.query_cache_entries_max) {
      // Full: drop the entry closest to expiring.
      auto victim = query_cache_.begin();
      for (auto c = query_cache_.begin(); c != query_cache_.end(); ++c) {
        if (c->second.first < victim->second.first) victim = c;
      }
      query_cache_.erase(victim);
    }
    query_cache_[p.cache_key] = {now_ + p.cache_ttl, r.answer};
  }
  reply(p.client, p.request_id, {}, r.answer, out_, false);
}

void BrokerNode::expire_rpcs() {
  for (auto it = rpc_pending_.begin(); it != rpc_pending_.end();) {
    if (it->second.deadline > now_) {
      ++it;
      continue;
    }
    reply(it->second.client, it->second.request_id, Status(Code::timeout, "no response before the timeout"), {}, out_,
          false);
    it = rpc_pending_.erase(it);
  }
  for (auto it = rpc_serving_.begin(); it != rpc_serving_.end();) {
    it = it->second.deadline <= now_ ? rpc_serving_.erase(it) : std::next(it);
  }
  for (auto it = query_cache_.begin(); it != query_cache_.end();) {
    it = it->second.first <= now_ ? query_cache_.erase(it) : std::next(it);
  }
}

// ---------------------------------------------------------------------------
// Registry

Registry BrokerNode::local_registry() const {
  std::set<std::string> groups;
  for (const auto& [key, sub] : event_subs_) {
    if (!sub.group.empty()) groups.insert(group_key(sub.pattern, sub.group));
  }
  std::set<std::string> responders;
  for (const auto& [key, sub] : rpc_subs_) responders.insert(rpc_key(sub.kind, sub.channel));
  std::vector<StoreGroupCursor> stores;
  for (const auto& [key, cursor] : store_groups_) {
    const auto members = static_cast<std::uint32_t>(store_group_members(key).size());
    stores.push_back({key.first, key.second, members, cursor.next_seq});
  }
  return Registry{registry_generation_, {groups.begin(), groups.end()}, {responders.begin(), responders.end()},
                  std::move(stores)};
}

void BrokerNode::send_registry(bool force) {
  Registry now = local_registry();
  // Membership changes go out at once (with the cursors as they stand, so
  // the last member leaving hands its group on without a gap); cursors
  // alone ride on the periodic refresh.
  auto members = [](const Registry& r) {
    std::vector<std::tuple<std::string, std::string, std::uint32_t>> out;
    for (const StoreGroupCursor& c : r.store_groups) out.emplace_back(c.channel, c.group, c.members);
    return out;
  };
  const bool changed = now.event_groups != last_registry_.event_groups ||
                       now.responders != last_registry_.responders || members(now) != members(last_registry_);
  const bool cursors_moved = now.store_groups != last_registry_.store_groups;
  if (changed) {
    now.generation = ++registry_generation_;
  } else if (!force && now_ < registry_sent_ + options_.registry_interval &&
             !(cursors_moved && now_ >= registry_sent_ + options_.store_cursor_interval)) {
    return;
  }
  last_registry_ = now;
  registry_sent_ = now_;
  for (const NodeId peer : peers()) send(peer, now);
}

// ---------------------------------------------------------------------------

std::string describe(const Message& message) {
  return std::visit(
      Overloaded{
          [](const raft::Message& m) { return raft::describe(m); },
          [](const ClientRequest& r) { return "request#" + std::to_string(r.request_id); },
          [](const ClientReply& r) { return "reply#" + std::to_string(r.request_id) + " " + code_name(r.status.code()); },
          [](const EventDelivery& d) { return "event " + d.message.channel + " " + d.message.id; },
          [](const StoreDelivery& d) { return "store " + d.message.channel + " #" + std::to_string(d.message.seq); },
          [](const RpcIncoming& r) { return "rpc-in#" + std::to_string(r.rpc_id); },
          [](const Forward& f) { return "forward#" + std::to_string(f.forward_id) + " " + broker::command_name(f.command); },
          [](const ForwardReply& r) { return "forward-reply#" + std::to_string(r.forward_id); },
          [](const ReadIndexAsk& a) { return "read-index-ask#" + std::to_string(a.ask_id); },
          [](const ReadIndexAnswer& a) { return "read-index-answer#" + std::to_string(a.ask_id); },
          [](const EventFanout& f) { return "fanout " + f.event.channel; },
          [](const Registry& r) { return "registry g" + std::to_string(r.generation); },
          [](const RpcForward& f) { return "rpc-forward#" + std::to_string(f.rpc_id); },
          [](const RpcReturn& r) { return "rpc-return#" + std::to_string(r.rpc_id); },
          [](const StoreGroupPush& p) { return "store-group " + p.channel + " #" + std::to_string(p.message.seq); },
      },
      message);
}

}  // namespace sluice::node
