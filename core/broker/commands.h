// The replicated broker commands: what a leader proposes to the Raft log,
// and what every replica's BrokerState applies (state.h). Each log entry
// holds one Command plus the leader's clock reading (`stamp`); replicas apply
// with that stamp, never their own clock, so they reach the same state.
//
// Events, commands and queries are not here: they are not persisted and do
// not go through Raft (core/node routes them).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/broker/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"

namespace sluice::broker {

using Tags = std::map<std::string, std::string>;

// What a client supplies for one message.
struct MessageIn {
  std::string id;  // optional; the broker assigns one when empty
  std::string channel;
  std::string metadata;
  std::string body;
  Tags tags;
  std::string client_id;
  friend bool operator==(const MessageIn&, const MessageIn&) = default;
};

// Exactly-once publish: a retry carrying the same key within the dedup
// window is answered with the first attempt's result and changes nothing.
// Either a producer id with a sequence, or a message id (MessageIn::id,
// when `by_message_id`).
struct IdempotencyKey {
  std::string producer_id;
  std::uint64_t producer_seq = 0;
  bool by_message_id = false;
  bool empty() const { return producer_id.empty() && !by_message_id; }
  friend bool operator==(const IdempotencyKey&, const IdempotencyKey&) = default;
};

struct StorePublish {
  MessageIn message;
  IdempotencyKey key;
  friend bool operator==(const StorePublish&, const StorePublish&) = default;
};

struct QueueItem {
  MessageIn message;
  IdempotencyKey key;
  Duration delay{};              // invisible until stamp + delay
  Duration expiration{};         // 0: never; dropped (counted expired) after stamp + expiration
  std::uint32_t max_receive_count = 0;  // 0: unlimited
  std::string dead_letter;       // queue for messages over max_receive_count; empty: drop them
  friend bool operator==(const QueueItem&, const QueueItem&) = default;
};
struct QueueSend {
  std::vector<QueueItem> items;  // all or none
  friend bool operator==(const QueueSend&, const QueueSend&) = default;
};
struct QueueReceive {
  std::string channel;
  std::uint32_t max_messages = 1;
  Duration visibility{};         // 0: Limits::visibility_default
  std::string client_id;
  friend bool operator==(const QueueReceive&, const QueueReceive&) = default;
};
struct QueueAck {
  std::vector<std::uint64_t> receipts;
  friend bool operator==(const QueueAck&, const QueueAck&) = default;
};
// Makes the delivery's message visible again at once (receive count kept).
struct QueueReject {
  std::uint64_t receipt = 0;
  friend bool operator==(const QueueReject&, const QueueReject&) = default;
};
struct QueueExtend {
  std::uint64_t receipt = 0;
  Duration visibility{};         // visible again at stamp + visibility
  friend bool operator==(const QueueExtend&, const QueueExtend&) = default;
};
// Acks the delivery and sends its message, as new, to another queue.
struct QueueResend {
  std::uint64_t receipt = 0;
  std::string to_channel;
  friend bool operator==(const QueueResend&, const QueueResend&) = default;
};
struct QueuePurge {
  std::string channel;
  friend bool operator==(const QueuePurge&, const QueuePurge&) = default;
};
struct StoreRetention {
  std::string channel;
  Retention retention;
  friend bool operator==(const StoreRetention&, const StoreRetention&) = default;
};
// The limits that decide replicated outcomes. Apply must not depend on a
// node's own configuration, or replicas configured differently would
// diverge: a new leader whose configuration differs proposes this first.
struct StateLimits {
  std::uint64_t queue_messages_max = 0;
  std::uint64_t channels_max = 0;
  Duration dedup_window{};
  std::uint64_t dedup_keys_max = 0;
  Duration visibility_default{};
  Retention store_retention;
  friend bool operator==(const StateLimits&, const StateLimits&) = default;
};
StateLimits state_limits(const Limits& limits);
struct Configure {
  StateLimits limits;
  friend bool operator==(const Configure&, const Configure&) = default;
};
// Where an events store consumer group stands: the next sequence it hands
// out. The node serving the group commits it now and then, so the group
// goes on from there after every member left or every node restarted.
// Positions only move forward, and never past the channel's next sequence.
struct StoreGroupPosition {
  std::string channel;
  std::string group;
  std::uint64_t next_seq = 1;
  friend bool operator==(const StoreGroupPosition&, const StoreGroupPosition&) = default;
};
// Only advances the replicated clock: timers fire (delays end, visibility
// lapses, messages expire and dead-letter, retention trims by age).
struct Tick {
  friend bool operator==(const Tick&, const Tick&) = default;
};

using Command = std::variant<StorePublish, QueueSend, QueueReceive, QueueAck, QueueReject, QueueExtend, QueueResend,
                             QueuePurge, StoreRetention, Configure, Tick, StoreGroupPosition>;

struct Entry {
  Timestamp stamp;  // the leader's clock when it proposed
  Command command;
  friend bool operator==(const Entry&, const Entry&) = default;
};

std::string encode_entry(const Entry& entry);
// nullopt if the bytes are not a well-formed entry.
std::optional<Entry> decode_entry(std::string_view bytes);
const char* command_name(const Command& command);

// Checks a command against the stateless limits before it is proposed: the
// node refuses a bad request without using the log. Apply trusts these
// checks; what depends on the state (a full queue, an unknown receipt) is
// decided at apply, with the replicated StateLimits.
Status validate(const Command& command, const Limits& limits);
Status validate_message(const MessageIn& message, const Limits& limits);

}  // namespace sluice::broker
