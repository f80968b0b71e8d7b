#include "core/broker/state.h"

#include <algorithm>

#include "core/broker/encoding.h"
#include "core/common/bytes.h"
#include "core/common/codec.h"
#include "core/common/overloaded.h"

namespace sluice::broker {
namespace {

constexpr std::uint8_t kRecordVersion = 1;
const std::string kMetaKey = "m";

Status unavailable(std::string m) { return Status(Code::unavailable, std::move(m)); }
Status corruption(std::string m) { return Status(Code::corruption, "broker state: " + std::move(m)); }

std::string channel_key(Kind kind, const std::string& name) {
  std::string k = "C";
  k.push_back(static_cast<char>(kind));
  return k + name;
}
using encoding::get_retention;
using encoding::message_key;
using encoding::put_retention;

Status stale_receipt(std::uint64_t receipt) {
  return Status(Code::not_found, "receipt " + std::to_string(receipt) +
                                     " names no delivery in flight (acked, rejected, redelivered, expired or purged)");
}

std::uint64_t message_bytes(const StoredMessage& m) { return m.body.size() + m.metadata.size(); }

void put_stored(Encoder& e, const StoredMessage& m) {
  e.str(m.id);
  e.str(m.metadata);
  e.str(m.body);
  encoding::put_tags(e, m.tags);
  e.str(m.client_id);
  e.timestamp(m.timestamp);
}
StoredMessage get_stored(Decoder& d, const std::string& channel, std::uint64_t seq) {
  StoredMessage m;
  m.channel = channel;
  m.seq = seq;
  m.id = d.str();
  m.metadata = d.str();
  m.body = d.str();
  m.tags = encoding::get_tags(d);
  m.client_id = d.str();
  m.timestamp = d.timestamp();
  return m;
}

}  // namespace

BrokerState::BrokerState() : limits_(state_limits(Limits{})) {}

// ---------------------------------------------------------------------------
// Apply

Result<Reply> BrokerState::apply(LogIndex index, const Entry& entry) {
  SLUICE_ASSERT(index == applied_.next(), "broker entries apply in order");
  applied_ = index;
  // A new leader's clock may be behind the old one's: time never goes back.
  clock_ = std::max(clock_, entry.stamp);
  fire_timers();
  prune_dedup();
  return std::visit(Overloaded{
                        [&](const StorePublish& c) { return publish(index, c); },
                        [&](const QueueSend& c) { return send(index, c); },
                        [&](const QueueReceive& c) { return receive(c); },
                        [&](const QueueAck& c) { return ack(c); },
                        [&](const QueueReject& c) { return reject(c); },
                        [&](const QueueExtend& c) { return extend(c); },
                        [&](const QueueResend& c) { return resend(c); },
                        [&](const QueuePurge& c) { return purge(c); },
                        [&](const StoreRetention& c) { return set_retention(c); },
                        [&](const Configure& c) -> Result<Reply> {
                          limits_ = c.limits;
                          retention_changed();
                          prune_dedup();
                          return Reply{Done{}};
                        },
                        [&](const Tick&) -> Result<Reply> {
                          for (auto& [name, s] : stores_) {
                            if (s.stats.retention.age_max.ns > 0) trim(name, s);
                          }
                          return Reply{Done{}};
                        },
                        [&](const StoreGroupPosition& c) { return set_group_position(c); },
                    },
                    entry.command);
}

// ---------------------------------------------------------------------------
// Events store

Result<Reply> BrokerState::publish(LogIndex index, const StorePublish& c) {
  const std::string key = dedup_key(Kind::store, c.message, c.key);
  if (!key.empty()) {
    if (auto it = dedup_.find(key); it != dedup_.end()) {
      Published p = it->second.result;
      p.duplicate = true;
      return Reply{p};
    }
  }
  const std::string& name = c.message.channel;
  auto it = stores_.find(name);
  // A message larger than the channel's byte retention would be trimmed as
  // it is stored: refused, rather than acknowledged and gone.
  const std::uint64_t bytes_max = it == stores_.end() ? limits_.store_retention.bytes_max
                                                      : it->second.stats.retention.bytes_max;
  const std::uint64_t bytes = c.message.body.size() + c.message.metadata.size();
  if (bytes_max > 0 && bytes > bytes_max) {
    return Status(Code::invalid_argument, "a message of " + std::to_string(bytes) +
                                              " bytes (body and metadata) is larger than the byte retention of "
                                              "channel '" + name + "' (" + std::to_string(bytes_max) +
                                              " bytes): it would be trimmed at once");
  }
  if (it == stores_.end()) {
    if (stores_.size() >= limits_.channels_max) {
      return unavailable("events store channel limit of " + std::to_string(limits_.channels_max) + " reached");
    }
    it = stores_.emplace(name, Store{}).first;
    it->second.stats.retention = limits_.store_retention;
    retention_changed();
  }
  Store& s = it->second;
  StoredMessage m{c.message.id, name, c.message.metadata, c.message.body, c.message.tags, c.message.client_id,
                  clock_, s.next_seq++};
  if (m.id.empty()) m.id = std::to_string(index.value()) + "-0";
  const Published result{m.id, m.seq, m.timestamp, false};
  s.stats.published++;
  s.stats.count++;
  s.stats.bytes += message_bytes(m);
  s.stats.last_seq = m.seq;
  if (s.log.empty()) s.stats.first_seq = m.seq;
  dirty_store_msgs_.emplace(name, m.seq);
  dirty_channels_.emplace(Kind::store, name);
  s.log.push_back(std::move(m));
  trim(name, s);
  if (!key.empty()) remember(key, result, {index.value(), 0});
  return Reply{result};
}

void BrokerState::trim(const std::string& name, Store& s) {
  const Retention& r = s.stats.retention;
  while (!s.log.empty()) {
    const StoredMessage& front = s.log.front();
    const bool over = (r.count_max > 0 && s.stats.count > r.count_max) ||
                      (r.bytes_max > 0 && s.stats.bytes > r.bytes_max) ||
                      (r.age_max.ns > 0 && front.timestamp + r.age_max <= clock_);
    if (!over) break;
    s.stats.count--;
    s.stats.bytes -= message_bytes(front);
    s.stats.trimmed++;
    dirty_store_msgs_.emplace(name, front.seq);
    s.log.pop_front();
    s.stats.first_seq++;
    dirty_channels_.emplace(Kind::store, name);
  }
}

Result<Reply> BrokerState::set_retention(const StoreRetention& c) {
  auto it = stores_.find(c.channel);
  if (it == stores_.end()) {
    if (stores_.size() >= limits_.channels_max) {
      return unavailable("events store channel limit of " + std::to_string(limits_.channels_max) + " reached");
    }
    it = stores_.emplace(c.channel, Store{}).first;
  }
  it->second.custom_retention = true;
  it->second.stats.retention = c.retention;
  dirty_channels_.emplace(Kind::store, c.channel);
  retention_changed();
  trim(c.channel, it->second);
  return Reply{Done{}};
}

Result<Reply> BrokerState::set_group_position(const StoreGroupPosition& c) {
  auto it = stores_.find(c.channel);
  if (it == stores_.end()) return Status(Code::not_found, "no events store channel '" + c.channel + "'");
  Store& s = it->second;
  const std::uint64_t next = std::min(c.next_seq, s.next_seq);
  auto g = s.groups.find(c.group);
  if (g == s.groups.end()) {
    if (s.groups.size() >= kStoreGroupsPerChannelMax) {
      return unavailable("channel '" + c.channel + "' has the most group positions there may be (" +
                         std::to_string(kStoreGroupsPerChannelMax) + ")");
    }
    s.groups.emplace(c.group, next);
  } else if (next > g->second) {
    g->second = next;
  } else {
    return Reply{Done{}};  // positions only move forward
  }
  dirty_channels_.emplace(Kind::store, c.channel);
  return Reply{Done{}};
}

std::optional<std::uint64_t> BrokerState::store_group_position(const std::string& channel,
                                                               const std::string& group) const {
  auto it = stores_.find(channel);
  if (it == stores_.end()) return std::nullopt;
  auto g = it->second.groups.find(group);
  if (g == it->second.groups.end()) return std::nullopt;
  return g->second;
}

void BrokerState::retention_changed() {
  age_retained_ = 0;
  for (auto& [name, s] : stores_) {
    if (!s.custom_retention && !(s.stats.retention == limits_.store_retention)) {
      s.stats.retention = limits_.store_retention;
      dirty_channels_.emplace(Kind::store, name);
      trim(name, s);
    }
    if (s.stats.retention.age_max.ns > 0) age_retained_++;
  }
}

// ---------------------------------------------------------------------------
// Queues

std::optional<Timestamp> BrokerState::QueueMessage::timer() const {
  switch (phase) {
    case Phase::delayed:
      return expires_at.ns != 0 && expires_at < visible_at ? expires_at : visible_at;
    case Phase::ready:
      if (expires_at.ns != 0) return expires_at;
      return std::nullopt;
    case Phase::in_flight:
      return deadline;
  }
  SLUICE_ASSERT(false, "unknown queue message phase");
}

BrokerState::Queue* BrokerState::find_queue(const std::string& name) {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

BrokerState::Queue& BrokerState::queue(const std::string& name) {
  auto [it, created] = queues_.try_emplace(name);
  if (created) dirty_channels_.emplace(Kind::queue, name);
  return it->second;
}

void BrokerState::place(const std::string& channel, Queue& qu, QueueMessage& q) {
  SLUICE_ASSERT(!q.armed.has_value(), "a message is placed once");
  switch (q.phase) {
    case QueueMessage::Phase::delayed: qu.stats.delayed++; break;
    case QueueMessage::Phase::ready:
      qu.stats.ready++;
      qu.ready.insert(q.m.seq);
      break;
    case QueueMessage::Phase::in_flight:
      SLUICE_ASSERT(q.receipt != 0, "a message in flight has a receipt");
      qu.stats.in_flight++;
      receipts_[q.receipt] = {channel, q.m.seq};
      break;
  }
  q.armed = q.timer();
  if (q.armed) timers_.emplace(*q.armed, channel, q.m.seq);
}

void BrokerState::unplace(const std::string& channel, Queue& qu, QueueMessage& q) {
  switch (q.phase) {
    case QueueMessage::Phase::delayed: qu.stats.delayed--; break;
    case QueueMessage::Phase::ready:
      qu.stats.ready--;
      qu.ready.erase(q.m.seq);
      break;
    case QueueMessage::Phase::in_flight:
      qu.stats.in_flight--;
      receipts_.erase(q.receipt);
      break;
  }
  if (q.armed) timers_.erase(TimerKey{*q.armed, channel, q.m.seq});
  q.armed.reset();
}

void BrokerState::set_phase(const std::string& channel, QueueMessage& q, QueueMessage::Phase phase) {
  Queue& qu = queues_.at(channel);
  unplace(channel, qu, q);
  if (q.phase == QueueMessage::Phase::in_flight && phase != QueueMessage::Phase::in_flight) q.receipt = 0;
  q.phase = phase;
  place(channel, qu, q);
  mark_queue(channel, q.m.seq);
}

std::uint64_t BrokerState::enqueue(const std::string& channel, StoredMessage m, const QueueItem* item) {
  Queue& qu = queue(channel);
  const std::uint64_t seq = qu.next_seq++;
  m.channel = channel;
  m.seq = seq;
  m.timestamp = clock_;
  QueueMessage q;
  q.m = std::move(m);
  q.phase = QueueMessage::Phase::ready;
  if (item != nullptr) {
    if (item->delay.ns > 0) {
      q.phase = QueueMessage::Phase::delayed;
      q.visible_at = clock_ + item->delay;
    }
    if (item->expiration.ns > 0) q.expires_at = clock_ + item->expiration;
    q.max_receive_count = item->max_receive_count;
    q.dead_letter = item->dead_letter;
  }
  qu.stats.sent++;
  qu.stats.bytes += message_bytes(q.m);
  QueueMessage& placed = qu.messages.emplace(seq, std::move(q)).first->second;
  place(channel, qu, placed);
  mark_queue(channel, seq);
  dirty_channels_.emplace(Kind::queue, channel);
  return seq;
}

void BrokerState::remove(const std::string& channel, std::uint64_t seq) {
  Queue& qu = queues_.at(channel);
  auto it = qu.messages.find(seq);
  SLUICE_ASSERT(it != qu.messages.end(), "removing a message that is not queued");
  unplace(channel, qu, it->second);
  qu.stats.bytes -= message_bytes(it->second.m);
  qu.messages.erase(it);
  mark_queue(channel, seq);
  dirty_channels_.emplace(Kind::queue, channel);
}

void BrokerState::fire_timers() {
  while (!timers_.empty() && std::get<0>(*timers_.begin()) <= clock_) {
    const auto [at, channel, seq] = *timers_.begin();
    fire(channel, seq, at);
  }
}

void BrokerState::fire(const std::string& channel, std::uint64_t seq, Timestamp at) {
  Queue& qu = queues_.at(channel);
  QueueMessage& q = qu.messages.at(seq);
  SLUICE_ASSERT(q.armed == at, "a timer fires for the message that armed it");
  switch (q.phase) {
    case QueueMessage::Phase::delayed:
      if (q.expires_at.ns != 0 && q.expires_at <= q.visible_at) {
        qu.stats.expired++;
        remove(channel, seq);
      } else {
        set_phase(channel, q, QueueMessage::Phase::ready);
      }
      return;
    case QueueMessage::Phase::ready:
      qu.stats.expired++;
      remove(channel, seq);
      return;
    case QueueMessage::Phase::in_flight:
      requeue(channel, q);
      return;
  }
}

void BrokerState::requeue(const std::string& channel, QueueMessage& q) {
  Queue& qu = queues_.at(channel);
  if (q.max_receive_count > 0 && q.receive_count >= q.max_receive_count) {
    dead_letter(channel, q.m.seq, "max receive count " + std::to_string(q.max_receive_count) + " reached");
  } else if (q.expires_at.ns != 0 && q.expires_at <= clock_) {
    qu.stats.expired++;
    remove(channel, q.m.seq);
  } else {
    set_phase(channel, q, QueueMessage::Phase::ready);
  }
}

void BrokerState::dead_letter(const std::string& channel, std::uint64_t seq, std::string reason) {
  Queue& qu = queues_.at(channel);
  const QueueMessage q = qu.messages.at(seq);
  qu.stats.dead_lettered++;
  remove(channel, seq);
  if (q.dead_letter.empty()) return;  // no dead-letter queue: counted, then dropped
  // The dead-letter queue takes it even when full or over the channel
  // limit: refusing would lose the message.
  const std::uint64_t dlq_seq = enqueue(q.dead_letter, q.m, nullptr);
  QueueMessage& moved = queues_.at(q.dead_letter).messages.at(dlq_seq);
  moved.dead_letter_reason = std::move(reason);
  moved.dead_letter_from = channel;
}

BrokerState::QueueMessage* BrokerState::in_flight(std::uint64_t receipt, std::string* channel) {
  auto it = receipts_.find(receipt);
  if (it == receipts_.end()) return nullptr;
  *channel = it->second.first;
  QueueMessage& q = queues_.at(it->second.first).messages.at(it->second.second);
  SLUICE_ASSERT(q.phase == QueueMessage::Phase::in_flight && q.receipt == receipt,
                "a live receipt names the message's current delivery");
  return &q;
}

Result<Reply> BrokerState::send(LogIndex index, const QueueSend& c) {
  // First decide which items are new (a key may repeat within the batch),
  // then check capacity for all of them: the batch is all or nothing. A
  // duplicate's answer is taken now, because remembering this batch's keys
  // may push older keys out of a full dedup map before the reply is built.
  const std::size_t n = c.items.size();
  std::vector<std::string> keys(n);
  std::vector<std::optional<Published>> remembered(n);  // a duplicate of an earlier command
  std::vector<std::optional<std::size_t>> repeats(n);   // a duplicate of an earlier item here
  std::map<std::string, std::size_t> first_with_key;
  std::map<std::string, std::uint64_t> adding;          // channel -> new messages
  for (std::size_t i = 0; i < n; ++i) {
    const QueueItem& item = c.items[i];
    keys[i] = dedup_key(Kind::queue, item.message, item.key);
    if (!keys[i].empty()) {
      if (auto it = dedup_.find(keys[i]); it != dedup_.end()) {
        remembered[i] = it->second.result;
      } else if (auto [first, inserted] = first_with_key.emplace(keys[i], i); !inserted) {
        repeats[i] = first->second;
      }
    }
    if (!remembered[i] && !repeats[i]) adding[item.message.channel]++;
  }
  if (Status s = room_for(adding); !s.ok()) return s;
  SendResult result;
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<Published> dup = repeats[i] ? std::optional(result.items[*repeats[i]]) : remembered[i];
    if (dup) {
      dup->duplicate = true;
      result.items.push_back(*dup);
      continue;
    }
    const MessageIn& in = c.items[i].message;
    StoredMessage m{in.id, in.channel, in.metadata, in.body, in.tags, in.client_id, clock_, 0};
    if (m.id.empty()) m.id = std::to_string(index.value()) + "-" + std::to_string(i);
    const std::string id = m.id;
    const std::uint64_t seq = enqueue(in.channel, std::move(m), &c.items[i]);
    const Published p{id, seq, clock_, false};
    if (!keys[i].empty()) remember(keys[i], p, {index.value(), static_cast<std::uint32_t>(i)});
    result.items.push_back(p);
  }
  return Reply{std::move(result)};
}

Status BrokerState::room_for(const std::map<std::string, std::uint64_t>& adding) const {
  std::size_t new_channels = 0;
  for (const auto& [channel, n] : adding) {
    auto it = queues_.find(channel);
    if (it == queues_.end()) new_channels++;
    const std::uint64_t have = it == queues_.end() ? 0 : it->second.messages.size();
    if (have + n > limits_.queue_messages_max) {
      return unavailable("queue '" + channel + "' is full (" + std::to_string(limits_.queue_messages_max) +
                         " messages); receive and ack to make room");
    }
  }
  if (queues_.size() + new_channels > limits_.channels_max) {
    return unavailable("queue channel limit of " + std::to_string(limits_.channels_max) + " reached");
  }
  return {};
}

Result<Reply> BrokerState::receive(const QueueReceive& c) {
  Queue* qu = find_queue(c.channel);
  ReceiveResult result;
  if (qu == nullptr) return Reply{std::move(result)};
  const Duration visibility = c.visibility.ns > 0 ? c.visibility : limits_.visibility_default;
  std::vector<std::uint64_t> take;
  for (auto it = qu->ready.begin(); it != qu->ready.end() && take.size() < c.max_messages; ++it) take.push_back(*it);
  for (const std::uint64_t seq : take) {
    QueueMessage& q = qu->messages.at(seq);
    q.receive_count++;
    q.receipt = next_receipt_++;
    q.deadline = clock_ + visibility;
    set_phase(c.channel, q, QueueMessage::Phase::in_flight);
    qu->stats.delivered++;
    result.deliveries.push_back(Delivery{q.m, q.receipt, q.receive_count, clock_, q.deadline,
                                         q.dead_letter_reason, q.dead_letter_from});
  }
  if (!take.empty()) dirty_channels_.emplace(Kind::queue, c.channel);
  return Reply{std::move(result)};
}

Result<Reply> BrokerState::ack(const QueueAck& c) {
  AckResult result;
  for (const std::uint64_t receipt : c.receipts) {
    std::string channel;
    QueueMessage* q = in_flight(receipt, &channel);
    if (q == nullptr) {
      result.stale.push_back(receipt);
      continue;
    }
    queues_.at(channel).stats.acked++;
    remove(channel, q->m.seq);
    result.acked++;
  }
  return Reply{std::move(result)};
}

Result<Reply> BrokerState::reject(const QueueReject& c) {
  std::string channel;
  QueueMessage* q = in_flight(c.receipt, &channel);
  if (q == nullptr) return stale_receipt(c.receipt);
  queues_.at(channel).stats.rejected++;
  requeue(channel, *q);
  return Reply{Done{}};
}

Result<Reply> BrokerState::extend(const QueueExtend& c) {
  std::string channel;
  QueueMessage* q = in_flight(c.receipt, &channel);
  if (q == nullptr) return stale_receipt(c.receipt);
  q->deadline = clock_ + c.visibility;
  set_phase(channel, *q, QueueMessage::Phase::in_flight);  // re-arms the timer
  return Reply{Done{}};
}

Result<Reply> BrokerState::resend(const QueueResend& c) {
  std::string channel;
  QueueMessage* q = in_flight(c.receipt, &channel);
  if (q == nullptr) return stale_receipt(c.receipt);
  const Queue* to = find_queue(c.to_channel);
  if (to == nullptr && queues_.size() >= limits_.channels_max) {
    return unavailable("queue channel limit of " + std::to_string(limits_.channels_max) + " reached");
  }
  if (to != nullptr && to->messages.size() >= limits_.queue_messages_max) {
    return unavailable("queue '" + c.to_channel + "' is full");
  }
  StoredMessage m = q->m;
  queues_.at(channel).stats.resent++;
  remove(channel, m.seq);
  const std::uint64_t seq = enqueue(c.to_channel, std::move(m), nullptr);
  const StoredMessage& moved = queues_.at(c.to_channel).messages.at(seq).m;
  return Reply{Published{moved.id, seq, moved.timestamp, false}};
}

Result<Reply> BrokerState::purge(const QueuePurge& c) {
  Queue* qu = find_queue(c.channel);
  if (qu == nullptr) return Reply{Purged{0}};
  std::vector<std::uint64_t> seqs;
  for (const auto& [seq, q] : qu->messages) seqs.push_back(seq);
  for (const std::uint64_t seq : seqs) remove(c.channel, seq);
  qu->stats.purged += seqs.size();
  return Reply{Purged{seqs.size()}};
}

// ---------------------------------------------------------------------------
// Exactly-once

std::string BrokerState::dedup_key(Kind kind, const MessageIn& m, const IdempotencyKey& key) {
  if (key.empty()) return {};
  // Keys are scoped to a channel, as a stream's message ids are.
  std::string k(1, static_cast<char>(kind));
  k += m.channel;
  k.push_back('\0');
  if (key.by_message_id) return k + "i" + m.id;
  k += "p" + key.producer_id;
  k.push_back('\0');
  put_u64_be(k, key.producer_seq);
  return k;
}

void BrokerState::remember(std::string key, const Published& result, DedupOrder order) {
  SLUICE_ASSERT(dedup_by_age_.empty() || dedup_by_age_.rbegin()->first < order,
                "keys are remembered in log order");
  SLUICE_ASSERT(!dedup_.contains(key), "a key is remembered once while it lives");
  dedup_by_age_.emplace(order, key);
  dirty_dedup_.insert(key);
  dedup_.emplace(std::move(key), Dedup{clock_, order, result});
  prune_dedup();
}

void BrokerState::prune_dedup() {
  while (!dedup_by_age_.empty()) {
    auto oldest = dedup_by_age_.begin();
    auto it = dedup_.find(oldest->second);
    SLUICE_ASSERT(it != dedup_.end(), "the age index names remembered keys only");
    // Remembering order is time order, so the oldest decides the window.
    if (it->second.at + limits_.dedup_window > clock_ && dedup_.size() <= limits_.dedup_keys_max) break;
    dirty_dedup_.insert(oldest->second);
    dedup_.erase(it);
    dedup_by_age_.erase(oldest);
  }
}

// ---------------------------------------------------------------------------
// Reads

std::optional<Timestamp> BrokerState::next_timer() const {
  if (timers_.empty()) return std::nullopt;
  return std::get<0>(*timers_.begin());
}

std::vector<StoredMessage> BrokerState::read_store(const std::string& channel, std::uint64_t from_seq,
                                                   std::size_t max) const {
  std::vector<StoredMessage> out;
  auto it = stores_.find(channel);
  if (it == stores_.end() || it->second.log.empty()) return out;
  const Store& s = it->second;
  const std::uint64_t first = s.log.front().seq;
  std::size_t i = from_seq <= first ? 0 : static_cast<std::size_t>(from_seq - first);
  for (; i < s.log.size() && out.size() < max; ++i) out.push_back(s.log[i]);
  return out;
}

std::uint64_t BrokerState::store_seq_at(const std::string& channel, Timestamp t) const {
  auto it = stores_.find(channel);
  if (it == stores_.end()) return 1;
  const Store& s = it->second;
  auto pos = std::lower_bound(s.log.begin(), s.log.end(), t,
                              [](const StoredMessage& m, Timestamp at) { return m.timestamp < at; });
  return pos == s.log.end() ? s.next_seq : pos->seq;
}

std::optional<StoreStats> BrokerState::store_stats(const std::string& channel) const {
  auto it = stores_.find(channel);
  if (it == stores_.end()) return std::nullopt;
  return it->second.stats;
}

std::optional<QueueStats> BrokerState::queue_stats(const std::string& channel) const {
  auto it = queues_.find(channel);
  if (it == queues_.end()) return std::nullopt;
  return it->second.stats;
}

std::vector<StoredMessage> BrokerState::peek(const std::string& channel, std::size_t max) const {
  std::vector<StoredMessage> out;
  auto it = queues_.find(channel);
  if (it == queues_.end()) return out;
  for (const std::uint64_t seq : it->second.ready) {
    if (out.size() >= max) break;
    out.push_back(it->second.messages.at(seq).m);
  }
  return out;
}

std::vector<std::string> BrokerState::channels(Kind kind) const {
  std::vector<std::string> out;
  if (kind == Kind::store) {
    for (const auto& [name, s] : stores_) out.push_back(name);
  } else {
    for (const auto& [name, q] : queues_) out.push_back(name);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Records: the one encoding of the state, used by flush/load (the state
// keyspace) and by snapshot/restore (InstallSnapshot).
//
//   "m"                        meta: version, applied, clock, next receipt, limits
//   "C" kind name              a channel: next seq, totals (queues), retention (stores)
//   "Q" name \0 seq            a queue message and its delivery state
//   "S" name \0 seq            an events store message
//   "D" key                    an idempotency key and its first result

namespace {

std::string meta_value(LogIndex applied, std::uint64_t chain, Timestamp clock, std::uint64_t next_receipt,
                       const StateLimits& l) {
  Encoder e;
  e.u8(kRecordVersion);
  e.u64(applied.value());
  e.timestamp(clock);
  e.u64(next_receipt);
  e.u64(chain);
  encoding::put_state_limits(e, l);
  return e.take();
}

// Splits "<name>\0<seq>" after a one-byte prefix.
bool split_message_key(std::string_view key, std::string* channel, std::uint64_t* seq) {
  if (key.size() < 1 + 1 + 8) return false;
  const std::size_t nul = key.size() - 9;
  if (key[nul] != '\0') return false;
  *channel = std::string(key.substr(1, nul - 1));
  *seq = get_u64_be(key, nul + 1);
  return true;
}

}  // namespace

std::optional<std::string> BrokerState::channel_record(Kind kind, const std::string& name) const {
  Encoder e;
  if (kind == Kind::queue) {
    auto it = queues_.find(name);
    if (it == queues_.end()) return std::nullopt;
    const Queue& qu = it->second;
    e.u64(qu.next_seq);
    for (const std::uint64_t v : {qu.stats.sent, qu.stats.delivered, qu.stats.acked, qu.stats.rejected,
                                  qu.stats.expired, qu.stats.dead_lettered, qu.stats.purged, qu.stats.resent}) {
      e.u64(v);
    }
  } else {
    auto it = stores_.find(name);
    if (it == stores_.end()) return std::nullopt;
    const Store& s = it->second;
    e.u64(s.next_seq);
    e.boolean(s.custom_retention);
    put_retention(e, s.stats.retention);
    e.u64(s.stats.published);
    e.u64(s.stats.trimmed);
    // Group positions trail the record (a record written before they
    // existed ends here, and loads with none).
    if (!s.groups.empty()) {
      e.u32(static_cast<std::uint32_t>(s.groups.size()));
      for (const auto& [group, next] : s.groups) {
        e.str(group);
        e.u64(next);
      }
    }
  }
  return e.take();
}

std::optional<std::string> BrokerState::queue_record(const std::string& channel, std::uint64_t seq) const {
  auto qit = queues_.find(channel);
  if (qit == queues_.end()) return std::nullopt;
  auto it = qit->second.messages.find(seq);
  if (it == qit->second.messages.end()) return std::nullopt;
  const QueueMessage& q = it->second;
  Encoder m;
  put_stored(m, q.m);
  m.u8(static_cast<std::uint8_t>(q.phase));
  m.timestamp(q.visible_at);
  m.timestamp(q.expires_at);
  m.u32(q.max_receive_count);
  m.str(q.dead_letter);
  m.u32(q.receive_count);
  m.u64(q.receipt);
  m.timestamp(q.deadline);
  m.str(q.dead_letter_reason);
  m.str(q.dead_letter_from);
  return m.take();
}

std::optional<std::string> BrokerState::store_record(const std::string& channel, std::uint64_t seq) const {
  auto it = stores_.find(channel);
  if (it == stores_.end() || it->second.log.empty()) return std::nullopt;
  const Store& s = it->second;
  const std::uint64_t first = s.log.front().seq;
  if (seq < first || seq - first >= s.log.size()) return std::nullopt;
  Encoder v;
  put_stored(v, s.log[static_cast<std::size_t>(seq - first)]);
  return v.take();
}

std::optional<std::string> BrokerState::dedup_record(const std::string& key) const {
  auto it = dedup_.find(key);
  if (it == dedup_.end()) return std::nullopt;
  Encoder e;
  e.timestamp(it->second.at);
  e.u64(it->second.order.first);
  e.u32(it->second.order.second);
  e.str(it->second.result.id);
  e.u64(it->second.result.seq);
  e.timestamp(it->second.result.timestamp);
  return e.take();
}

template <class F>
void BrokerState::each_record(F emit) const {
  emit(kMetaKey, meta_value(applied_, chain_, clock_, next_receipt_, limits_));
  for (const auto& [name, qu] : queues_) {
    emit(channel_key(Kind::queue, name), *channel_record(Kind::queue, name));
    for (const auto& [seq, q] : qu.messages) emit(message_key('Q', name, seq), *queue_record(name, seq));
  }
  for (const auto& [name, s] : stores_) {
    emit(channel_key(Kind::store, name), *channel_record(Kind::store, name));
    for (const StoredMessage& m : s.log) emit(message_key('S', name, m.seq), *store_record(name, m.seq));
  }
  for (const auto& [key, d] : dedup_) emit("D" + key, *dedup_record(key));
}

void BrokerState::flush(WriteBatch& batch) {
  auto put_or_erase = [&batch](const std::string& key, const std::optional<std::string>& value) {
    if (value) {
      batch.put(Keyspace::state, key, *value);
    } else {
      batch.erase(Keyspace::state, key);
    }
  };
  // Only what changed: each touched record is written once, however many
  // entries of this output touched it.
  for (const auto& [kind, name] : dirty_channels_) put_or_erase(channel_key(kind, name), channel_record(kind, name));
  for (const auto& [channel, seq] : dirty_queue_msgs_) {
    put_or_erase(message_key('Q', channel, seq), queue_record(channel, seq));
  }
  for (const auto& [channel, seq] : dirty_store_msgs_) {
    put_or_erase(message_key('S', channel, seq), store_record(channel, seq));
  }
  for (const std::string& key : dirty_dedup_) put_or_erase("D" + key, dedup_record(key));
  dirty_channels_.clear();
  dirty_queue_msgs_.clear();
  dirty_store_msgs_.clear();
  dirty_dedup_.clear();
  batch.put(Keyspace::state, kMetaKey, meta_value(applied_, chain_, clock_, next_receipt_, limits_));
}

std::string BrokerState::snapshot() const {
  Encoder e;
  e.u8(kRecordVersion);
  std::uint32_t n = 0;
  each_record([&n](const std::string&, const std::string&) { n++; });
  e.u32(n);
  each_record([&e](const std::string& key, const std::string& value) {
    e.str(key);
    e.str(value);
  });
  return e.take();
}

Status BrokerState::load_record(std::string_view key, std::string_view value) {
  if (key.empty()) return Status(Code::corruption, "empty broker state key");
  Decoder d(value);
  const char prefix = key[0];
  if (key == kMetaKey) {
    if (d.u8() != kRecordVersion) return Status(Code::version_mismatch, "broker state has an unknown format version");
    applied_ = LogIndex(d.u64());
    clock_ = d.timestamp();
    next_receipt_ = d.u64();
    chain_ = d.u64();
    limits_ = encoding::get_state_limits(d);
  } else if (prefix == 'C' && key.size() >= 3) {
    const std::string name(key.substr(2));
    if (static_cast<Kind>(key[1]) == Kind::queue) {
      Queue& qu = queues_[name];
      qu.next_seq = d.u64();
      for (std::uint64_t* v : {&qu.stats.sent, &qu.stats.delivered, &qu.stats.acked, &qu.stats.rejected,
                               &qu.stats.expired, &qu.stats.dead_lettered, &qu.stats.purged, &qu.stats.resent}) {
        *v = d.u64();
      }
    } else if (static_cast<Kind>(key[1]) == Kind::store) {
      Store& s = stores_[name];
      s.next_seq = d.u64();
      s.custom_retention = d.boolean();
      s.stats.retention = get_retention(d);
      s.stats.published = d.u64();
      s.stats.trimmed = d.u64();
      s.groups.clear();
      if (d.ok() && !d.done()) {
        for (std::uint32_t n = d.count(12); n > 0 && d.ok(); --n) {
          std::string group = d.str();
          const std::uint64_t next = d.u64();
          s.groups.emplace(std::move(group), next);
        }
      }
    } else {
      return Status(Code::corruption, "broker state has a channel of unknown kind");
    }
  } else if (prefix == 'Q' || prefix == 'S') {
    std::string channel;
    std::uint64_t seq = 0;
    if (!split_message_key(key, &channel, &seq)) return Status(Code::corruption, "malformed message key");
    StoredMessage m = get_stored(d, channel, seq);
    if (prefix == 'S') {
      stores_[channel].log.push_back(std::move(m));
    } else {
      QueueMessage q;
      q.m = std::move(m);
      const std::uint8_t phase = d.u8();
      if (phase > 2) return Status(Code::corruption, "queue message has an unknown phase");
      q.phase = static_cast<QueueMessage::Phase>(phase);
      q.visible_at = d.timestamp();
      q.expires_at = d.timestamp();
      q.max_receive_count = d.u32();
      q.dead_letter = d.str();
      q.receive_count = d.u32();
      q.receipt = d.u64();
      q.deadline = d.timestamp();
      q.dead_letter_reason = d.str();
      q.dead_letter_from = d.str();
      queues_[channel].messages.emplace(seq, std::move(q));
    }
  } else if (prefix == 'D') {
    Dedup entry;
    entry.at = d.timestamp();
    entry.order.first = d.u64();
    entry.order.second = d.u32();
    entry.result.id = d.str();
    entry.result.seq = d.u64();
    entry.result.timestamp = d.timestamp();
    dedup_.emplace(std::string(key.substr(1)), std::move(entry));
  } else {
    return Status(Code::corruption, "broker state has an unknown record");
  }
  if (!d.done()) return Status(Code::corruption, "broker state record is malformed");
  return {};
}

// Derives what records do not hold: counts, ready sets, timers, receipts,
// store bounds, the dedup age index. Records come from a disk or a peer:
// whatever the derived structures assert must be checked here first, so a
// damaged record is refused as corruption instead of stopping the process.
Status BrokerState::finish_load() {
  if (Status s = finish_queues(); !s.ok()) return s;
  if (Status s = finish_stores(); !s.ok()) return s;
  if (Status s = finish_dedup(); !s.ok()) return s;
  age_retained_ = 0;
  for (const auto& [name, s] : stores_) {
    if (s.stats.retention.age_max.ns > 0) age_retained_++;
  }
  return {};
}

Status BrokerState::finish_queues() {
  for (auto& [name, qu] : queues_) {
    if (qu.next_seq == 0) return corruption("queue channel has no next sequence");
    for (auto& [seq, q] : qu.messages) {
      if (seq >= qu.next_seq) return corruption("queue message past its channel's next sequence");
      if (Status s = check_delivery(q); !s.ok()) return s;
      qu.stats.bytes += message_bytes(q.m);
      place(name, qu, q);
    }
  }
  return {};
}

// The delivery state of a loaded message must be one apply could have left.
Status BrokerState::check_delivery(const QueueMessage& q) const {
  const bool in_flight = q.phase == QueueMessage::Phase::in_flight;
  if (in_flight && q.receipt == 0) return corruption("queue message in flight without a receipt");
  if (!in_flight && q.receipt != 0) return corruption("queue message not in flight has a receipt");
  if (q.receipt >= next_receipt_) return corruption("queue message has a receipt not yet handed out");
  if (in_flight && receipts_.contains(q.receipt)) return corruption("two queue messages share a receipt");
  return {};
}

Status BrokerState::finish_stores() {
  for (auto& [name, s] : stores_) {
    if (s.next_seq == 0) return corruption("events store has no next sequence");
    for (std::size_t i = 0; i < s.log.size(); ++i) {
      if (s.log[i].seq == 0) return corruption("events store message has sequence 0");
      if (i > 0 && s.log[i].seq != s.log[i - 1].seq + 1) return corruption("events store has a gap");
      s.stats.bytes += message_bytes(s.log[i]);
    }
    if (!s.log.empty() && s.log.back().seq >= s.next_seq) {
      return corruption("store message past its channel's next sequence");
    }
    if (s.groups.size() > kStoreGroupsPerChannelMax) return corruption("events store has too many group positions");
    for (const auto& [group, next] : s.groups) {
      if (next == 0 || next > s.next_seq) return corruption("events store group position past its channel");
    }
    s.stats.count = s.log.size();
    s.stats.first_seq = s.log.empty() ? s.next_seq : s.log.front().seq;
    s.stats.last_seq = s.next_seq - 1;
  }
  return {};
}

Status BrokerState::finish_dedup() {
  for (const auto& [key, d] : dedup_) {
    // Keys are remembered when applied, at the clock of the time.
    if (d.order.first > applied_.value() || d.at > clock_) {
      return corruption("idempotency key remembered after the applied index");
    }
    if (!dedup_by_age_.emplace(d.order, key).second) {
      return corruption("two idempotency keys remembered at one position");
    }
  }
  return {};
}

Result<BrokerState> BrokerState::load(KvStore& store) {
  BrokerState state;
  auto it = store.scan(Keyspace::state, "", "");
  for (; it->valid(); it->next()) {
    if (Status s = state.load_record(it->key(), it->value()); !s.ok()) return s;
  }
  if (Status s = it->status(); !s.ok()) return s;
  if (Status s = state.finish_load(); !s.ok()) return s;
  return state;
}

Result<std::vector<std::pair<std::string, std::string>>> BrokerState::snapshot_records(std::string_view snapshot) {
  Decoder d(snapshot);
  if (d.u8() != kRecordVersion) return Status(Code::version_mismatch, "snapshot has an unknown format version");
  std::vector<std::pair<std::string, std::string>> records;
  for (std::uint32_t n = d.count(8); n > 0 && d.ok(); --n) {
    std::string key = d.str();
    std::string value = d.str();
    if (d.ok()) records.emplace_back(std::move(key), std::move(value));
  }
  if (!d.done()) return Status(Code::corruption, "broker snapshot is malformed");
  return records;
}

Result<BrokerState> BrokerState::restore(std::string_view snapshot, WriteBatch& batch) {
  auto records = snapshot_records(snapshot);
  if (!records.ok()) return records.status();
  BrokerState state;
  for (const auto& [key, value] : *records) {
    if (Status s = state.load_record(key, value); !s.ok()) return s;
  }
  if (Status s = state.finish_load(); !s.ok()) return s;
  batch.erase_range(Keyspace::state, "", "");
  for (const auto& [key, value] : *records) batch.put(Keyspace::state, key, value);
  return state;
}

}  // namespace sluice::broker
