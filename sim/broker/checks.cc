// The history checkers for queues and the events store (issue 4, item 10).
// Events and RPC are judged as their messages arrive (workload.cc).
#include <algorithm>

#include "sim/broker/history.h"

namespace sluice::sim::brokersim {
namespace {

bool is_dead_letter_queue(const std::string& channel) { return channel.rfind("dlq.", 0) == 0; }

}  // namespace

bool Workload::drained() const {
  const node::BrokerNode* leader = nullptr;
  for (NodeId id : cluster_->servers()) {
    const node::BrokerNode* n = cluster_->node(id);
    if (n != nullptr && !n->poisoned() && n->raft().role() == raft::Role::leader) leader = n;
  }
  if (leader == nullptr) return false;
  const broker::BrokerState& s = leader->state();
  for (const std::string& q : s.channels(broker::Kind::queue)) {
    const broker::QueueStats st = *s.queue_stats(q);
    if (st.ready + st.delayed + st.in_flight > 0) return false;
  }
  for (const History::StoreStream* stream : history_->streams) {
    const auto st = s.store_stats(stream->channel);
    if (!st || st->count == 0) continue;
    if (stream->seen.empty() || stream->seen.back().seq < st->last_seq) return false;
  }
  return true;
}

std::vector<std::string> Workload::check(const broker::BrokerState& final_state) const {
  const History& h = *history_;
  std::vector<std::string> v = h.violations;
  auto fail = [&v](std::string what) {
    if (v.size() < 30) v.push_back(std::move(what));
  };

  // ---- Queues
  std::map<std::string, std::vector<const History::Delivery*>> by_body;
  for (const auto& d : h.deliveries) by_body[d.body].push_back(&d);
  for (const auto& [body, list] : by_body) {
    auto sent = h.sends.find(body);
    if (sent == h.sends.end()) {
      fail("unexpected queue message " + body);
      continue;
    }
    const History::Send& s = sent->second;
    std::optional<std::uint64_t> source_seq;
    const History::Delivery* acked = nullptr;
    for (const History::Delivery* d : list) {
      if (d->acked && (acked == nullptr || d->acked_time < acked->acked_time)) acked = d;
    }
    for (const History::Delivery* d : list) {
      const broker::Delivery& x = d->d;
      const bool source = x.message.channel == s.channel;
      if (!source && !(is_dead_letter_queue(x.message.channel) && x.message.channel == s.dead_letter)) {
        fail(body + " delivered from " + x.message.channel + ", not its queue or dead-letter queue");
        continue;
      }
      // Only a receive asked for after the ack was confirmed is certainly
      // served after it: an answer to an earlier receive may arrive late
      // (its delivery then happened before the ack, and the message may
      // since have moved to its dead-letter queue and been acked there).
      if (acked != nullptr && d != acked && d->requested_time > acked->acked_time) {
        fail(body + " delivered again after an acknowledged ack (receipt " + std::to_string(x.receipt) +
             ", asked for at " + format_duration(d->requested_time - Timestamp{}) + "; receipt " +
             std::to_string(acked->d.receipt) + " acked at " + format_duration(acked->acked_time - Timestamp{}) + ")");
      }
      if (source) {
        if (source_seq && *source_seq != x.message.seq) fail(body + " was enqueued twice (seq " +
                                                             std::to_string(*source_seq) + " and " +
                                                             std::to_string(x.message.seq) + ")");
        source_seq = x.message.seq;
        if (s.max_receive_count > 0 && x.receive_count > s.max_receive_count) {
          fail(body + " delivered " + std::to_string(x.receive_count) + " times; max receive count " +
               std::to_string(s.max_receive_count));
        }
        if (x.receive_count == 1 && x.delivered_at < x.message.timestamp + s.delay) {
          fail(body + " delivered before its delay ended");
        }
        if (s.expiration.ns > 0 && x.delivered_at >= x.message.timestamp + s.expiration) {
          fail(body + " delivered after it expired");
        }
      } else {
        if (s.max_receive_count == 0) fail(body + " dead-lettered without a max receive count");
        if (x.dead_letter_reason.empty() || x.dead_letter_from != s.channel) {
          fail(body + " in " + x.message.channel + " without its reason and origin");
        }
      }
    }
    // A redelivery comes only after the previous delivery's visibility
    // timeout, or after a reject.
    for (const History::Delivery* a : list) {
      for (const History::Delivery* b : list) {
        if (a->d.message.channel != b->d.message.channel || b->d.receive_count != a->d.receive_count + 1) continue;
        if (!a->rejected && b->d.delivered_at < a->d.visible_again_at) {
          fail(body + " redelivered at " + format_duration(b->d.delivered_at - Timestamp{}) +
               " before its visibility ended at " + format_duration(a->d.visible_again_at - Timestamp{}));
        }
      }
    }
  }
  // Nothing acknowledged is lost: every acked send was delivered (the
  // queues are drained), unless it could expire or be dropped after its
  // max receive count without a dead-letter queue.
  for (const auto& [body, s] : h.sends) {
    if (s.outcome != Outcome::acked || s.expiration.ns > 0) continue;
    if (s.max_receive_count > 0 && s.dead_letter.empty()) continue;
    if (!by_body.contains(body)) fail("acknowledged queue send " + body + " was never delivered");
  }
  // FIFO first delivery: messages without delay or expiration reach their
  // first consumer in sequence order.
  std::map<std::string, std::vector<const History::Delivery*>> firsts;
  for (const auto& d : h.deliveries) {
    auto s = h.sends.find(d.body);
    if (s == h.sends.end() || d.d.receive_count != 1 || d.d.message.channel != s->second.channel) continue;
    if (s->second.delay.ns > 0 || s->second.expiration.ns > 0) continue;
    firsts[d.d.message.channel].push_back(&d);
  }
  for (auto& [channel, list] : firsts) {
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->d.message.seq < b->d.message.seq; });
    for (std::size_t i = 1; i < list.size(); ++i) {
      if (list[i]->d.delivered_at < list[i - 1]->d.delivered_at) {
        fail(channel + ": seq " + std::to_string(list[i]->d.message.seq) + " was first delivered before seq " +
             std::to_string(list[i - 1]->d.message.seq));
        break;
      }
    }
  }

  // ---- Events store
  std::map<std::string, std::map<std::uint64_t, std::string>> logs;  // channel -> seq -> body
  std::map<std::string, std::map<std::uint64_t, Timestamp>> stamps;   // channel -> seq -> timestamp
  for (const std::string& channel : final_state.channels(broker::Kind::store)) {
    std::set<std::string> bodies;
    for (const auto& m : final_state.read_store(channel, 1, SIZE_MAX)) {
      logs[channel][m.seq] = m.body;
      stamps[channel][m.seq] = m.timestamp;
      if (!bodies.insert(m.body).second) fail("publish " + m.body + " appears twice in " + channel);
      if (!h.publishes.contains(m.body)) fail("unexpected message " + m.body + " in " + channel);
    }
  }
  for (const auto& [body, p] : h.publishes) {
    if (p.outcome != Outcome::acked) continue;
    auto it = logs[p.channel].find(p.seq);
    if (it == logs[p.channel].end() || it->second != body) {
      fail("acknowledged publish " + body + " (seq " + std::to_string(p.seq) + ") is not at its sequence in " +
           p.channel);
    }
  }
  for (const History::StoreStream* stream : h.streams) {
    const auto& log = logs[stream->channel];
    if (stream->first_by_time && !stream->seen.empty()) {
      // The log keeps everything here (no retention), from seq 1.
      const Timestamp t = stream->start.time;
      std::uint64_t want = 0;
      for (const auto& [seq, at] : stamps[stream->channel]) {
        if (at >= t) {
          want = seq;
          break;
        }
      }
      if (stream->seen.front().seq != want) {
        fail("a subscriber of " + stream->channel + " from time " + format_duration(t - Timestamp{}) +
             " began at seq " + std::to_string(stream->seen.front().seq) + "; the first stamped then or later is " +
             std::to_string(want));
      }
    }
    for (std::size_t i = 0; i < stream->seen.size(); ++i) {
      const broker::StoredMessage& m = stream->seen[i];
      auto it = log.find(m.seq);
      if (it == log.end() || it->second != m.body) {
        fail("a subscriber of " + stream->channel + " saw " + m.body + " at seq " + std::to_string(m.seq) +
             ", which the log does not hold there");
        break;
      }
      if (i > 0 && m.seq != stream->seen[i - 1].seq + 1) {
        fail("a subscriber of " + stream->channel + " skipped from " + std::to_string(stream->seen[i - 1].seq) +
             " to " + std::to_string(m.seq));
        break;
      }
    }
  }
  // ---- Events store groups: only what the log holds, at its sequence.
  for (const auto& [channel, seen] : h.group_seen) {
    const auto& log = logs[channel];
    for (const broker::StoredMessage& m : seen) {
      auto it = log.find(m.seq);
      if (it == log.end() || it->second != m.body) {
        fail("a member of a group on " + channel + " got " + m.body + " at seq " + std::to_string(m.seq) +
             ", which the log does not hold there");
        break;
      }
    }
  }
  return v;
}

}  // namespace sluice::sim::brokersim
