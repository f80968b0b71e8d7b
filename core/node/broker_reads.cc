// Reads: peek, stats and channel lists, linearizable through ReadIndex
// (Raft thesis 6.4). The node a client reads from learns a read index (the
// leader's commit index at a moment a quorum confirmed it still led: the
// leader asks its Raft node, a follower asks the leader with ReadIndexAsk)
// and serves the read from its own applied state once that reaches the
// index. So a read sees every write acknowledged before it began, on
// whichever node it lands. Events counts and subscriber counts in channel
// lists stay what this node saw (they are not replicated).
#include <algorithm>

#include "core/broker/names.h"
#include "core/common/hooks.h"
#include "core/common/overloaded.h"
#include "core/node/broker_node.h"

namespace sluice::node {

void BrokerNode::on_read(NodeId client, std::uint64_t request_id, RequestBody body) {
  if (Status s = check_read(body); !s.ok()) {
    reply(client, request_id, s, {}, out_, false);
    return;
  }
  if (reads_.size() >= options_.pending_reads_max) {
    reply(client, request_id, Status(Code::unavailable, "too many waiting reads on this node"), {}, out_, false);
    return;
  }
  const std::uint64_t id = next_read_++;
  PendingRead& read = reads_[id];
  read = PendingRead{client, request_id, std::move(body), now_ + options_.read_timeout, {}, {}};
  ask_read_index(id, read);
}

Status BrokerNode::check_read(const RequestBody& body) const {
  if (const auto* p = std::get_if<Peek>(&body)) return broker::validate_channel(p->channel);
  if (const auto* l = std::get_if<ListChannels>(&body); l != nullptr && !l->pattern.empty()) {
    return broker::validate_pattern(l->pattern);
  }
  return {};
}

// Unanswered asks are asked again by tick_reads(): a lost message, a
// leader that stepped down, or one with nothing of its term committed yet.
void BrokerNode::ask_read_index(std::uint64_t read_id, PendingRead& read) {
  if (raft_->role() == raft::Role::leader) {
    if (raft_->read_index(read_id).ok()) read.asked_at = now_;
    return;
  }
  const NodeId leader = raft_->leader();
  if (leader == kNoNode || leader == raft_->id()) return;
  read.asked_at = now_;
  CODE_PROBE(options_.raft.hooks, true, broker_read_index_asked_leader);
  send(leader, ReadIndexAsk{read_id});
}

void BrokerNode::on_read_index_ask(NodeId peer, const ReadIndexAsk& ask) {
  Status status;
  if (raft_->role() != raft::Role::leader) {
    status = Status(Code::unavailable, "not the leader");
  } else {
    const std::uint64_t id = next_read_++;
    status = raft_->read_index(id);
    if (status.ok()) {
      peer_reads_[id] = PeerRead{peer, ask.ask_id, now_};
      return;
    }
  }
  send(peer, ReadIndexAnswer{ask.ask_id, status, LogIndex{}, raft_->leader()});
}

void BrokerNode::on_read_index_answer(const ReadIndexAnswer& answer) {
  auto it = reads_.find(answer.ask_id);
  if (it == reads_.end() || it->second.index) return;  // answered already, or gone
  if (!answer.status.ok()) {
    it->second.asked_at.reset();  // ask again at the next tick
    return;
  }
  it->second.index = answer.index;
  serve_reads();
}

// Confirmed read indexes, from this node's Raft (it leads): ours, and those
// a follower asked for.
void BrokerNode::on_read_states(const std::vector<raft::ReadState>& states) {
  for (const raft::ReadState& rs : states) {
    if (auto p = peer_reads_.find(rs.id); p != peer_reads_.end()) {
      send(p->second.peer, ReadIndexAnswer{p->second.ask_id, {}, rs.index, kNoNode});
      peer_reads_.erase(p);
    } else if (auto r = reads_.find(rs.id); r != reads_.end() && !r->second.index) {
      r->second.index = rs.index;
    }
  }
}

void BrokerNode::serve_reads() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    const PendingRead& read = it->second;
    if (!read.index || *read.index > state_.applied()) {
      CODE_PROBE(options_.raft.hooks, read.index.has_value(), broker_read_waited_for_apply);
      ++it;
      continue;
    }
    serve_read(read.client, read.request_id, read.body);
    it = reads_.erase(it);
  }
}

void BrokerNode::tick_reads() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    PendingRead& read = it->second;
    if (now_ >= read.deadline) {
      CODE_PROBE(options_.raft.hooks, true, broker_read_timed_out);
      const std::string within = " within " + format_duration(options_.read_timeout) + "; try again";
      reply(read.client, read.request_id,
            Status(Code::unavailable, read.index ? "this node did not catch up with the leader" + within
                                                 : "no leader confirmed a read point" + within),
            {}, out_, false);
      it = reads_.erase(it);
      continue;
    }
    if (!read.index && (!read.asked_at || now_ >= *read.asked_at + options_.read_retry)) {
      ask_read_index(it->first, read);
    }
    ++it;
  }
  // A follower's ask that this node will not answer (it no longer leads, or
  // the quorum never confirmed): the follower asks again.
  for (auto it = peer_reads_.begin(); it != peer_reads_.end();) {
    const bool stale = raft_->role() != raft::Role::leader || now_ >= it->second.asked_at + options_.read_timeout;
    it = stale ? peer_reads_.erase(it) : std::next(it);
  }
}

void BrokerNode::serve_read(NodeId client, std::uint64_t request_id, const RequestBody& body) {
  std::visit(
      Overloaded{
          [&](const Peek& p) {
            const std::size_t max = std::min<std::size_t>(p.max_messages, options_.limits.receive_batch_max);
            reply(client, request_id, {}, state_.peek(p.channel, max), out_, false);
          },
          [&](const GetStats& g) {
            if (g.kind == broker::Kind::queue) {
              if (auto s = state_.queue_stats(g.channel)) {
                reply(client, request_id, {}, *s, out_, false);
                return;
              }
            } else if (auto s = state_.store_stats(g.channel)) {
              reply(client, request_id, {}, *s, out_, false);
              return;
            }
            reply(client, request_id, Status(Code::not_found, "no channel '" + g.channel + "'"), {}, out_, false);
          },
          [&](const ListChannels& l) {
            auto wanted = [&](const std::string& name) { return l.pattern.empty() || broker::matches(l.pattern, name); };
            std::vector<ChannelInfo> list;
            for (const std::string& name : state_.channels(broker::Kind::queue)) {
              if (!wanted(name)) continue;
              const broker::QueueStats s = *state_.queue_stats(name);
              list.push_back({"queues", name, s.ready + s.delayed, s.in_flight, s.sent, 0});
            }
            for (const std::string& name : state_.channels(broker::Kind::store)) {
              if (!wanted(name)) continue;
              const broker::StoreStats s = *state_.store_stats(name);
              std::uint64_t subs = 0;
              for (const auto& [key, sub] : store_subs_) subs += sub.channel == name ? 1 : 0;
              list.push_back({"events_store", name, s.count, 0, s.published, subs});
            }
            for (const auto& [name, count] : event_counts_) {
              if (wanted(name)) list.push_back({"events", name, 0, 0, count, 0});
            }
            reply(client, request_id, {}, std::move(list), out_, false);
          },
          [&](const auto&) { SLUICE_ASSERT(false, "serve_read got a request that is not a read"); },
      },
      body);
}

}  // namespace sluice::node
