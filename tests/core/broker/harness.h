// A BrokerState with a log index and a leader clock, and short helpers for
// the commands, so that state tests read as transcripts:
//
//   Broker b;
//   b.send("orders", "a");
//   b.at(30);                      // the leader's clock, in seconds
//   Delivery d = b.receive("orders").at(0);
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/broker/state.h"

namespace sluice::broker::testing {

inline Timestamp seconds(double s) { return Timestamp{static_cast<std::int64_t>(s * 1e9)}; }
inline Duration secs(double s) { return Duration{static_cast<std::int64_t>(s * 1e9)}; }

// Options of one queue send: With().delay(secs(5)).dead_letter("dlq").
struct With {
  QueueItem item;
  With& delay(Duration d) { item.delay = d; return *this; }
  With& expiration(Duration d) { item.expiration = d; return *this; }
  With& max_receive_count(std::uint32_t n) { item.max_receive_count = n; return *this; }
  With& dead_letter(std::string channel) { item.dead_letter = std::move(channel); return *this; }
  With& key(IdempotencyKey k) { item.key = std::move(k); return *this; }
  With& id(std::string id) { item.message.id = std::move(id); return *this; }
};

inline QueueItem queue_item(const std::string& channel, const std::string& body, const With& with = {}) {
  QueueItem i = with.item;
  i.message.channel = channel;
  i.message.body = body;
  return i;
}

class Broker {
 public:
  BrokerState state;
  Timestamp now{};

  // The leader's clock for the next entries.
  void at(double s) { now = seconds(s); }

  // Applies one entry with the current stamp. The command must pass
  // validate(): apply trusts it, as the node does.
  Result<Reply> apply(const Command& c, const Limits& limits = Limits{}) {
    const Status valid = validate(c, limits);
    EXPECT_TRUE(valid.ok()) << command_name(c) << ": " << valid.to_string();
    return state.apply(state.applied().next(), Entry{now, c});
  }
  template <class T>
  T apply_ok(const Command& c) {
    Result<Reply> r = apply(c);
    EXPECT_TRUE(r.ok()) << command_name(c) << ": " << (r.ok() ? "" : r.status().to_string());
    if (!r.ok() || !std::holds_alternative<T>(*r)) {
      ADD_FAILURE() << command_name(c) << " replied with another type";
      return T{};
    }
    return std::get<T>(*r);
  }

  Published publish(const std::string& channel, const std::string& body, IdempotencyKey key = {},
                    std::string id = {}) {
    StorePublish p;
    p.message.id = std::move(id);
    p.message.channel = channel;
    p.message.body = body;
    p.key = std::move(key);
    return apply_ok<Published>(p);
  }
  Published send(const std::string& channel, const std::string& body, const With& o = {}) {
    const SendResult r = apply_ok<SendResult>(QueueSend{{queue_item(channel, body, o)}});
    EXPECT_EQ(r.items.size(), 1u);
    return r.items.empty() ? Published{} : r.items[0];
  }
  std::vector<Delivery> receive(const std::string& channel, std::uint32_t max = 1, Duration visibility = {}) {
    return apply_ok<ReceiveResult>(QueueReceive{channel, max, visibility, "client"}).deliveries;
  }
  // The one message a receive of one returns; fails the test if none.
  Delivery receive_one(const std::string& channel, Duration visibility = {}) {
    std::vector<Delivery> d = receive(channel, 1, visibility);
    EXPECT_EQ(d.size(), 1u) << "receive from " << channel;
    return d.empty() ? Delivery{} : d[0];
  }
  AckResult ack(std::vector<std::uint64_t> receipts) { return apply_ok<AckResult>(QueueAck{std::move(receipts)}); }
  Result<Reply> reject(std::uint64_t receipt) { return apply(QueueReject{receipt}); }
  Result<Reply> extend(std::uint64_t receipt, Duration visibility) { return apply(QueueExtend{receipt, visibility}); }
  Result<Reply> resend(std::uint64_t receipt, const std::string& to) { return apply(QueueResend{receipt, to}); }
  std::uint64_t purge(const std::string& channel) { return apply_ok<Purged>(QueuePurge{channel}).count; }
  void tick() { apply_ok<Done>(Tick{}); }
  void configure(const StateLimits& limits) { apply_ok<Done>(Configure{limits}); }
  void retention(const std::string& channel, Retention r) { apply_ok<Done>(StoreRetention{channel, r}); }

  QueueStats queue_stats(const std::string& channel) const {
    const std::optional<QueueStats> s = state.queue_stats(channel);
    EXPECT_TRUE(s.has_value()) << channel;
    return s.value_or(QueueStats{});
  }
  StoreStats store_stats(const std::string& channel) const {
    const std::optional<StoreStats> s = state.store_stats(channel);
    EXPECT_TRUE(s.has_value()) << channel;
    return s.value_or(StoreStats{});
  }
  std::vector<std::string> bodies(const std::vector<StoredMessage>& ms) const {
    std::vector<std::string> out;
    for (const StoredMessage& m : ms) out.push_back(m.body);
    return out;
  }
  std::vector<std::string> peek_bodies(const std::string& channel) const { return bodies(state.peek(channel, 1000)); }
  std::vector<std::uint64_t> store_seqs(const std::string& channel, std::uint64_t from = 1) const {
    std::vector<std::uint64_t> out;
    for (const StoredMessage& m : state.read_store(channel, from, 1000)) out.push_back(m.seq);
    return out;
  }
};

inline std::vector<std::string> bodies_of(const std::vector<Delivery>& ds) {
  std::vector<std::string> out;
  for (const Delivery& d : ds) out.push_back(d.message.body);
  return out;
}

}  // namespace sluice::broker::testing
