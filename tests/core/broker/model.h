// A reference model of the broker state machine (DESIGN section 4), for the
// model-based tests: the same commands and reads as BrokerState, written to
// be obviously right rather than fast. Messages sit in vectors in sequence
// order; every lookup is a linear scan; timers are not kept anywhere: after
// each clock move the earliest due message is found by scanning all of
// them, again and again, until none is due.
//
// Where the design leaves an order open, the model states the choice:
//  - messages that fall due at one time go in (time, channel, seq) order;
//  - a message back from a delivery (reject, lapsed visibility) over its
//    max receive count is dead-lettered, otherwise dropped if expired;
//  - the dedup map forgets its oldest key first, oldest by (log index, item).
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/broker/state.h"
#include "core/common/overloaded.h"

namespace sluice::broker::testing {

class Model {
 public:
  Model() : limits_(state_limits(Limits{})) {}

  Result<Reply> apply(const Entry& e) {
    index_++;
    clock_ = std::max(clock_, e.stamp);
    fire_due();
    forget_old_keys();
    return std::visit(Overloaded{
                          [&](const StorePublish& c) { return publish(c); },
                          [&](const QueueSend& c) { return send(c); },
                          [&](const QueueReceive& c) { return receive(c); },
                          [&](const QueueAck& c) { return ack(c); },
                          [&](const QueueReject& c) { return reject(c); },
                          [&](const QueueExtend& c) { return extend(c); },
                          [&](const QueueResend& c) { return resend(c); },
                          [&](const QueuePurge& c) { return purge(c); },
                          [&](const StoreRetention& c) { return set_retention(c); },
                          [&](const Configure& c) { return configure(c); },
                          [&](const Tick&) { return tick(); },
                          [&](const StoreGroupPosition& c) { return group_position(c); },
                      },
                      e.command);
  }

  // Reads, as BrokerState's.
  Timestamp clock() const { return clock_; }
  std::optional<std::uint64_t> store_group_position(const std::string& channel, const std::string& group) const {
    auto it = stores_.find(channel);
    if (it == stores_.end() || !it->second.groups.contains(group)) return std::nullopt;
    return it->second.groups.at(group);
  }
  std::optional<QueueStats> queue_stats(const std::string& channel) const {
    auto it = queues_.find(channel);
    if (it == queues_.end()) return std::nullopt;
    QueueStats s = it->second.totals;
    for (const Msg& m : it->second.msgs) {
      if (m.phase == Phase::ready) s.ready++;
      if (m.phase == Phase::delayed) s.delayed++;
      if (m.phase == Phase::in_flight) s.in_flight++;
      s.bytes += m.m.body.size() + m.m.metadata.size();
    }
    return s;
  }
  std::vector<StoredMessage> peek(const std::string& channel, std::size_t max) const {
    std::vector<StoredMessage> out;
    auto it = queues_.find(channel);
    if (it == queues_.end()) return out;
    for (const Msg& m : it->second.msgs) {
      if (m.phase == Phase::ready && out.size() < max) out.push_back(m.m);
    }
    return out;
  }
  std::optional<StoreStats> store_stats(const std::string& channel) const {
    auto it = stores_.find(channel);
    if (it == stores_.end()) return std::nullopt;
    const StoreLog& s = it->second;
    StoreStats out;
    out.first_seq = s.log.empty() ? s.next_seq : s.log.front().seq;
    out.last_seq = s.next_seq - 1;
    out.count = s.log.size();
    for (const StoredMessage& m : s.log) out.bytes += m.body.size() + m.metadata.size();
    out.published = s.published;
    out.trimmed = s.trimmed;
    out.retention = s.retention;
    return out;
  }
  std::vector<StoredMessage> read_store(const std::string& channel, std::uint64_t from, std::size_t max) const {
    std::vector<StoredMessage> out;
    auto it = stores_.find(channel);
    if (it == stores_.end()) return out;
    for (const StoredMessage& m : it->second.log) {
      if (m.seq >= from && out.size() < max) out.push_back(m);
    }
    return out;
  }
  std::uint64_t store_seq_at(const std::string& channel, Timestamp t) const {
    auto it = stores_.find(channel);
    if (it == stores_.end()) return 1;
    for (const StoredMessage& m : it->second.log) {
      if (m.timestamp >= t) return m.seq;
    }
    return it->second.next_seq;
  }
  std::vector<std::string> channels(Kind kind) const {
    std::vector<std::string> out;
    if (kind == Kind::queue) {
      for (const auto& [name, q] : queues_) out.push_back(name);
    } else {
      for (const auto& [name, s] : stores_) out.push_back(name);
    }
    return out;
  }
  std::size_t dedup_keys() const { return keys_.size(); }
  std::optional<Timestamp> next_timer() const {
    std::optional<Timestamp> first;
    for (const auto& [name, q] : queues_) {
      for (const Msg& m : q.msgs) {
        if (auto t = m.due(); t && (!first || *t < *first)) first = t;
      }
    }
    return first;
  }
  bool has_age_retention() const {
    return std::any_of(stores_.begin(), stores_.end(), [](const auto& s) { return s.second.retention.age_max.ns > 0; });
  }

 private:
  enum class Phase { delayed, ready, in_flight };
  struct Msg {
    StoredMessage m;
    Phase phase = Phase::ready;
    Timestamp visible_at;                 // delayed: ready from here
    std::optional<Timestamp> expires_at;  // none: never
    std::uint32_t max_receive_count = 0;
    std::string dead_letter;
    std::uint32_t receive_count = 0;
    std::uint64_t receipt = 0;            // in flight only
    Timestamp deadline;                   // in flight only
    std::string reason;
    std::string from;
    // When something happens to it by itself, if ever: a delayed message
    // becomes ready or expires, a ready one expires, a delivery lapses.
    std::optional<Timestamp> due() const {
      switch (phase) {
        case Phase::delayed: return expires_at && *expires_at < visible_at ? *expires_at : visible_at;
        case Phase::ready: return expires_at;
        case Phase::in_flight: return deadline;
      }
      return std::nullopt;
    }
  };
  struct Queue {
    std::vector<Msg> msgs;  // by seq
    std::uint64_t next_seq = 1;
    QueueStats totals;      // the counters; the gauges are counted on read
  };
  struct StoreLog {
    std::vector<StoredMessage> log;
    std::uint64_t next_seq = 1;
    bool custom = false;
    Retention retention;
    std::uint64_t published = 0;
    std::uint64_t trimmed = 0;
    std::map<std::string, std::uint64_t> groups;
  };
  // (kind, channel, by message id, id or producer, producer seq)
  using Key = std::tuple<Kind, std::string, bool, std::string, std::uint64_t>;
  struct Remembered {
    Key key;
    Timestamp at;
    Published result;
  };

  static std::optional<Key> key_of(Kind kind, const MessageIn& m, const IdempotencyKey& k) {
    if (k.by_message_id) return Key{kind, m.channel, true, m.id, 0};
    if (!k.producer_id.empty()) return Key{kind, m.channel, false, k.producer_id, k.producer_seq};
    return std::nullopt;
  }
  std::optional<Published> remembered(const std::optional<Key>& key) const {
    if (!key) return std::nullopt;
    for (const Remembered& r : keys_) {
      if (r.key == *key) return r.result;
    }
    return std::nullopt;
  }
  void remember(const std::optional<Key>& key, const Published& p) {
    if (!key) return;
    keys_.push_back(Remembered{*key, clock_, p});
    forget_old_keys();
  }
  void forget_old_keys() {
    while (!keys_.empty() &&
           (keys_.front().at + limits_.dedup_window <= clock_ || keys_.size() > limits_.dedup_keys_max)) {
      keys_.erase(keys_.begin());
    }
  }

  Msg* find(const std::string& channel, std::uint64_t seq) {
    for (Msg& m : queues_.at(channel).msgs) {
      if (m.m.seq == seq) return &m;
    }
    return nullptr;
  }
  void erase(const std::string& channel, std::uint64_t seq) {
    std::vector<Msg>& msgs = queues_.at(channel).msgs;
    msgs.erase(std::find_if(msgs.begin(), msgs.end(), [&](const Msg& m) { return m.m.seq == seq; }));
  }
  // The message whose current delivery has this receipt.
  std::optional<std::pair<std::string, std::uint64_t>> delivery(std::uint64_t receipt) const {
    for (const auto& [name, q] : queues_) {
      for (const Msg& m : q.msgs) {
        if (m.phase == Phase::in_flight && m.receipt == receipt) return std::pair(name, m.m.seq);
      }
    }
    return std::nullopt;
  }
  std::uint64_t add(const std::string& channel, StoredMessage m) {
    Queue& q = queues_[channel];
    m.channel = channel;
    m.seq = q.next_seq++;
    m.timestamp = clock_;
    Msg msg;
    msg.m = std::move(m);
    q.msgs.push_back(std::move(msg));
    q.totals.sent++;
    return q.msgs.back().m.seq;
  }

  void fire_due() {
    while (true) {
      std::optional<std::tuple<Timestamp, std::string, std::uint64_t>> first;
      for (const auto& [name, q] : queues_) {
        for (const Msg& m : q.msgs) {
          const std::optional<Timestamp> t = m.due();
          if (!t || *t > clock_) continue;
          const auto candidate = std::tuple(*t, name, m.m.seq);
          if (!first || candidate < *first) first = candidate;
        }
      }
      if (!first) return;
      const auto& [t, channel, seq] = *first;
      Msg& m = *find(channel, seq);
      if (m.phase == Phase::delayed && !(m.expires_at && *m.expires_at <= m.visible_at)) {
        m.phase = Phase::ready;
      } else if (m.phase == Phase::in_flight) {
        back_from_delivery(channel, seq);
      } else {
        queues_.at(channel).totals.expired++;
        erase(channel, seq);
      }
    }
  }
  void back_from_delivery(const std::string& channel, std::uint64_t seq) {
    Queue& q = queues_.at(channel);
    Msg m = *find(channel, seq);
    if (m.max_receive_count > 0 && m.receive_count >= m.max_receive_count) {
      q.totals.dead_lettered++;
      erase(channel, seq);
      if (m.dead_letter.empty()) return;
      const std::uint64_t moved = add(m.dead_letter, m.m);
      find(m.dead_letter, moved)->reason = "max receive count " + std::to_string(m.max_receive_count) + " reached";
      find(m.dead_letter, moved)->from = channel;
    } else if (m.expires_at && *m.expires_at <= clock_) {
      q.totals.expired++;
      erase(channel, seq);
    } else {
      Msg& back = *find(channel, seq);
      back.phase = Phase::ready;
      back.receipt = 0;
    }
  }

  void trim(StoreLog& s) {
    auto bytes = [&s] {
      std::uint64_t n = 0;
      for (const StoredMessage& m : s.log) n += m.body.size() + m.metadata.size();
      return n;
    };
    const Retention& r = s.retention;
    while (!s.log.empty() && ((r.count_max > 0 && s.log.size() > r.count_max) ||
                              (r.bytes_max > 0 && bytes() > r.bytes_max) ||
                              (r.age_max.ns > 0 && s.log.front().timestamp + r.age_max <= clock_))) {
      s.log.erase(s.log.begin());
      s.trimmed++;
    }
  }

  Result<Reply> publish(const StorePublish& c) {
    const std::optional<Key> key = key_of(Kind::store, c.message, c.key);
    if (std::optional<Published> p = remembered(key)) {
      p->duplicate = true;
      return Reply{*p};
    }
    const auto known = stores_.find(c.message.channel);
    const std::uint64_t bytes_max =
        known == stores_.end() ? limits_.store_retention.bytes_max : known->second.retention.bytes_max;
    if (bytes_max > 0 && c.message.body.size() + c.message.metadata.size() > bytes_max) {
      return Status(Code::invalid_argument, "larger than the byte retention");
    }
    if (!stores_.contains(c.message.channel)) {
      if (stores_.size() >= limits_.channels_max) return Status(Code::unavailable, "channels");
      stores_[c.message.channel].retention = limits_.store_retention;
    }
    StoreLog& s = stores_.at(c.message.channel);
    const MessageIn& in = c.message;
    StoredMessage m{in.id, in.channel, in.metadata, in.body, in.tags, in.client_id, clock_, s.next_seq++};
    if (m.id.empty()) m.id = std::to_string(index_) + "-0";
    const Published p{m.id, m.seq, clock_, false};
    s.log.push_back(m);
    s.published++;
    trim(s);
    remember(key, p);
    return Reply{p};
  }

  Result<Reply> send(const QueueSend& c) {
    const std::size_t n = c.items.size();
    std::vector<std::optional<Key>> keys(n);
    std::vector<std::optional<Published>> earlier(n);
    std::vector<std::optional<std::size_t>> same_as(n);
    std::map<std::string, std::uint64_t> adding;
    for (std::size_t i = 0; i < n; ++i) {
      keys[i] = key_of(Kind::queue, c.items[i].message, c.items[i].key);
      earlier[i] = remembered(keys[i]);
      for (std::size_t j = 0; j < i && keys[i] && !earlier[i] && !same_as[i]; ++j) {
        if (keys[j] == keys[i]) same_as[i] = j;
      }
      if (!earlier[i] && !same_as[i]) adding[c.items[i].message.channel]++;
    }
    std::size_t new_channels = 0;
    for (const auto& [channel, count] : adding) {
      const std::uint64_t have = queues_.contains(channel) ? queues_.at(channel).msgs.size() : 0;
      if (have + count > limits_.queue_messages_max) return Status(Code::unavailable, "full");
      if (!queues_.contains(channel)) new_channels++;
    }
    if (queues_.size() + new_channels > limits_.channels_max) return Status(Code::unavailable, "channels");
    SendResult result;
    for (std::size_t i = 0; i < n; ++i) {
      std::optional<Published> dup = same_as[i] ? result.items[*same_as[i]] : earlier[i];
      if (dup) {
        dup->duplicate = true;
        result.items.push_back(*dup);
        continue;
      }
      const QueueItem& item = c.items[i];
      const MessageIn& in = item.message;
      StoredMessage m{in.id, in.channel, in.metadata, in.body, in.tags, in.client_id, clock_, 0};
      if (m.id.empty()) m.id = std::to_string(index_) + "-" + std::to_string(i);
      const std::uint64_t seq = add(in.channel, m);
      Msg& msg = *find(in.channel, seq);
      if (item.delay.ns > 0) {
        msg.phase = Phase::delayed;
        msg.visible_at = clock_ + item.delay;
      }
      if (item.expiration.ns > 0) msg.expires_at = clock_ + item.expiration;
      msg.max_receive_count = item.max_receive_count;
      msg.dead_letter = item.dead_letter;
      const Published p{msg.m.id, seq, clock_, false};
      remember(keys[i], p);
      result.items.push_back(p);
    }
    return Reply{result};
  }

  Result<Reply> receive(const QueueReceive& c) {
    ReceiveResult result;
    if (!queues_.contains(c.channel)) return Reply{result};
    Queue& q = queues_.at(c.channel);
    const Duration visibility = c.visibility.ns > 0 ? c.visibility : limits_.visibility_default;
    for (Msg& m : q.msgs) {
      if (m.phase != Phase::ready || result.deliveries.size() >= c.max_messages) continue;
      m.phase = Phase::in_flight;
      m.receive_count++;
      m.receipt = next_receipt_++;
      m.deadline = clock_ + visibility;
      q.totals.delivered++;
      Delivery d;
      d.message = m.m;
      d.receipt = m.receipt;
      d.receive_count = m.receive_count;
      d.delivered_at = clock_;
      d.visible_again_at = m.deadline;
      d.dead_letter_reason = m.reason;
      d.dead_letter_from = m.from;
      result.deliveries.push_back(d);
    }
    return Reply{result};
  }

  Result<Reply> ack(const QueueAck& c) {
    AckResult result;
    for (const std::uint64_t receipt : c.receipts) {
      const auto at = delivery(receipt);
      if (!at) {
        result.stale.push_back(receipt);
        continue;
      }
      queues_.at(at->first).totals.acked++;
      erase(at->first, at->second);
      result.acked++;
    }
    return Reply{result};
  }

  Result<Reply> reject(const QueueReject& c) {
    const auto at = delivery(c.receipt);
    if (!at) return Status(Code::not_found, "stale");
    queues_.at(at->first).totals.rejected++;
    back_from_delivery(at->first, at->second);
    return Reply{Done{}};
  }

  Result<Reply> extend(const QueueExtend& c) {
    const auto at = delivery(c.receipt);
    if (!at) return Status(Code::not_found, "stale");
    find(at->first, at->second)->deadline = clock_ + c.visibility;
    return Reply{Done{}};
  }

  Result<Reply> resend(const QueueResend& c) {
    const auto at = delivery(c.receipt);
    if (!at) return Status(Code::not_found, "stale");
    if (!queues_.contains(c.to_channel) && queues_.size() >= limits_.channels_max) {
      return Status(Code::unavailable, "channels");
    }
    if (queues_.contains(c.to_channel) && queues_.at(c.to_channel).msgs.size() >= limits_.queue_messages_max) {
      return Status(Code::unavailable, "full");
    }
    const StoredMessage m = find(at->first, at->second)->m;
    queues_.at(at->first).totals.resent++;
    erase(at->first, at->second);
    const std::uint64_t seq = add(c.to_channel, m);
    return Reply{Published{m.id, seq, clock_, false}};
  }

  Result<Reply> purge(const QueuePurge& c) {
    if (!queues_.contains(c.channel)) return Reply{Purged{0}};
    Queue& q = queues_.at(c.channel);
    const std::uint64_t n = q.msgs.size();
    q.msgs.clear();
    q.totals.purged += n;
    return Reply{Purged{n}};
  }

  Result<Reply> set_retention(const StoreRetention& c) {
    if (!stores_.contains(c.channel) && stores_.size() >= limits_.channels_max) {
      return Status(Code::unavailable, "channels");
    }
    StoreLog& s = stores_[c.channel];
    s.custom = true;
    s.retention = c.retention;
    trim(s);
    return Reply{Done{}};
  }

  // A position moves only forward, up to the channel's next sequence.
  Result<Reply> group_position(const StoreGroupPosition& c) {
    auto it = stores_.find(c.channel);
    if (it == stores_.end()) return Status(Code::not_found, "channel");
    auto& groups = it->second.groups;
    if (!groups.contains(c.group) && groups.size() >= kStoreGroupsPerChannelMax) {
      return Status(Code::unavailable, "groups");
    }
    std::uint64_t& at = groups[c.group];
    at = std::max(at, std::min(c.next_seq, it->second.next_seq));
    return Reply{Done{}};
  }

  Result<Reply> configure(const Configure& c) {
    limits_ = c.limits;
    for (auto& [name, s] : stores_) {
      // Only a channel whose retention this changes is trimmed now; the
      // others trim on their next publish or tick, as before.
      if (!s.custom && !(s.retention == limits_.store_retention)) {
        s.retention = limits_.store_retention;
        trim(s);
      }
    }
    forget_old_keys();
    return Reply{Done{}};
  }

  Result<Reply> tick() {
    for (auto& [name, s] : stores_) {
      if (s.retention.age_max.ns > 0) trim(s);
    }
    return Reply{Done{}};
  }

  std::uint64_t index_ = 0;
  Timestamp clock_;
  StateLimits limits_;
  std::uint64_t next_receipt_ = 1;
  std::map<std::string, Queue> queues_;
  std::map<std::string, StoreLog> stores_;
  std::vector<Remembered> keys_;  // oldest first
};

}  // namespace sluice::broker::testing
