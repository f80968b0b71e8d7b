// The broker state machine (DESIGN section 4): events store channels and
// queues, replicated through Raft. Every replica applies the same log
// entries, with the leader's stamp as the time, and reaches byte-identical
// state (`snapshot()` is the same bytes on every replica at one index).
//
// Time: the state keeps a clock that only moves forward: each entry's stamp,
// or the clock itself if a new leader's stamp is behind it. Delays,
// expirations, visibility timeouts and retention by age all run on this
// clock, through timers that fire when an entry moves it past them.
//
// Persistence: after applying, `flush()` adds the records that changed, and
// the applied index, to the caller's batch (the same batch as the Raft
// output, so the index and the state can never disagree after a crash).
// `load()` rebuilds the state from those records: a restart does not replay
// the log. `snapshot()` / `restore()` carry the same records for
// InstallSnapshot.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "core/broker/commands.h"
#include "core/common/types.h"
#include "core/storage/kv_store.h"

namespace sluice::broker {

struct StoredMessage {
  std::string id;
  std::string channel;
  std::string metadata;
  std::string body;
  Tags tags;
  std::string client_id;
  Timestamp timestamp;      // the replicated clock when it was accepted
  std::uint64_t seq = 0;    // position in its channel, from 1, no gaps
  friend bool operator==(const StoredMessage&, const StoredMessage&) = default;
};

// Replies of apply().
struct Published {
  std::string id;
  std::uint64_t seq = 0;
  Timestamp timestamp;
  bool duplicate = false;  // an earlier publish with the same key: this is its result
  friend bool operator==(const Published&, const Published&) = default;
};
struct SendResult {
  std::vector<Published> items;  // in the order sent
  friend bool operator==(const SendResult&, const SendResult&) = default;
};
struct Delivery {
  StoredMessage message;
  std::uint64_t receipt = 0;          // names this delivery alone; ack, reject, extend, resend use it
  std::uint32_t receive_count = 0;    // 1 on first delivery
  Timestamp delivered_at;             // the replicated clock at this delivery
  Timestamp visible_again_at;         // unless acked or extended first
  std::string dead_letter_reason;     // set for messages in a dead-letter queue
  std::string dead_letter_from;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};
struct ReceiveResult {
  std::vector<Delivery> deliveries;
  friend bool operator==(const ReceiveResult&, const ReceiveResult&) = default;
};
struct AckResult {
  std::uint32_t acked = 0;
  std::vector<std::uint64_t> stale;   // receipts that no longer name a delivery
  friend bool operator==(const AckResult&, const AckResult&) = default;
};
struct Purged {
  std::uint64_t count = 0;
  friend bool operator==(const Purged&, const Purged&) = default;
};
struct Done {
  friend bool operator==(const Done&, const Done&) = default;
};
using Reply = std::variant<Done, Published, SendResult, ReceiveResult, AckResult, Purged>;

struct QueueStats {
  std::uint64_t ready = 0;
  std::uint64_t delayed = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t bytes = 0;
  // Totals since the channel was created.
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t acked = 0;
  std::uint64_t rejected = 0;
  std::uint64_t expired = 0;
  std::uint64_t dead_lettered = 0;   // moved to a dead-letter queue, or dropped for want of one
  std::uint64_t purged = 0;
  std::uint64_t resent = 0;
  friend bool operator==(const QueueStats&, const QueueStats&) = default;
};
struct StoreStats {
  std::uint64_t first_seq = 1;  // the oldest retained; first_seq > last_seq when empty
  std::uint64_t last_seq = 0;
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  std::uint64_t published = 0;
  std::uint64_t trimmed = 0;    // removed by retention
  Retention retention;
  friend bool operator==(const StoreStats&, const StoreStats&) = default;
};

enum class Kind : std::uint8_t { store = 1, queue = 2 };

class BrokerState {
 public:
  BrokerState();

  // Applies the entry at `index` (the next one). Errors are replies to the
  // proposer (invalid_argument, not_found, unavailable for a full queue);
  // a failed command changes nothing but the clock and applied index.
  Result<Reply> apply(LogIndex index, const Entry& entry);
  // A log entry that is not a broker command (a leader's no-op, a
  // configuration change): only the applied index moves.
  void skip(LogIndex index) {
    SLUICE_ASSERT(index == applied_.next(), "broker entries apply in order");
    applied_ = index;
  }

  LogIndex applied() const { return applied_; }
  // A hash chain over the applied log entries, kept by the node that feeds
  // this state (the simulator compares it across replicas); persisted with
  // the applied index so it survives restarts and snapshots.
  std::uint64_t applied_chain() const { return chain_; }
  void set_applied_chain(std::uint64_t chain) { chain_ = chain; }
  Timestamp replicated_time() const { return clock_; }
  const StateLimits& limits() const { return limits_; }
  // The earliest pending timer (delay, expiry, visibility), if any: the
  // leader proposes a Tick once its clock passes it.
  std::optional<Timestamp> next_timer() const;
  bool has_age_retention() const { return age_retained_ > 0; }

  // Reads (no state change).
  std::vector<StoredMessage> read_store(const std::string& channel, std::uint64_t from_seq, std::size_t max) const;
  // The first retained sequence with timestamp >= t (last_seq + 1 if none).
  std::uint64_t store_seq_at(const std::string& channel, Timestamp t) const;
  std::optional<StoreStats> store_stats(const std::string& channel) const;
  std::optional<QueueStats> queue_stats(const std::string& channel) const;
  // Ready messages a receive would take next, without taking them.
  // The committed position of an events store group, if it has one.
  std::optional<std::uint64_t> store_group_position(const std::string& channel, const std::string& group) const;
  std::vector<StoredMessage> peek(const std::string& channel, std::size_t max) const;
  std::vector<std::string> channels(Kind kind) const;
  std::size_t dedup_keys() const { return dedup_.size(); }

  // Persistence. flush() adds every record changed since the last flush,
  // and the applied index, to `batch`.
  void flush(WriteBatch& batch);
  static Result<BrokerState> load(KvStore& store);
  std::string snapshot() const;
  // Replaces the state with a snapshot's; writes the replacement to `batch`.
  static Result<BrokerState> restore(std::string_view snapshot, WriteBatch& batch);
  // The (key, value) records a snapshot carries, in order.
  static Result<std::vector<std::pair<std::string, std::string>>> snapshot_records(std::string_view snapshot);

 private:
  struct QueueMessage {
    enum class Phase : std::uint8_t { delayed = 0, ready = 1, in_flight = 2 };
    StoredMessage m;
    Phase phase = Phase::ready;
    Timestamp visible_at;         // delayed: ready from here
    Timestamp expires_at;         // 0: never
    std::uint32_t max_receive_count = 0;
    std::string dead_letter;
    std::uint32_t receive_count = 0;
    std::uint64_t receipt = 0;    // in flight: the current delivery's receipt
    Timestamp deadline;           // in flight: visible again from here
    std::string dead_letter_reason;
    std::string dead_letter_from;
    std::optional<Timestamp> armed;  // its entry in timers_, if any
    // The one timer its phase wants, if any.
    std::optional<Timestamp> timer() const;
  };
  struct Queue {
    std::map<std::uint64_t, QueueMessage> messages;  // by seq
    std::set<std::uint64_t> ready;                   // first delivery is FIFO by seq
    std::uint64_t next_seq = 1;
    QueueStats stats;  // ready/delayed/in_flight/bytes kept current
  };
  struct Store {
    std::deque<StoredMessage> log;  // log[i].seq == first_seq + i
    std::uint64_t next_seq = 1;
    bool custom_retention = false;
    StoreStats stats;
    std::map<std::string, std::uint64_t> groups;  // committed group positions: group -> next seq
  };
  // When a key was remembered: its log index, then its item in a batch.
  // The clock never goes back, so this orders keys oldest first by time too,
  // and breaks ties by arrival: at the count bound the key just remembered
  // must not be the one to go because its bytes sort first.
  using DedupOrder = std::pair<std::uint64_t, std::uint32_t>;
  struct Dedup {
    Timestamp at;
    DedupOrder order;
    Published result;
  };
  using TimerKey = std::tuple<Timestamp, std::string, std::uint64_t>;  // (when, queue, seq)

  // Commands.
  Result<Reply> publish(LogIndex index, const StorePublish& c);
  Result<Reply> send(LogIndex index, const QueueSend& c);
  Status room_for(const std::map<std::string, std::uint64_t>& adding) const;  // channel -> new messages
  Result<Reply> receive(const QueueReceive& c);
  Result<Reply> ack(const QueueAck& c);
  Result<Reply> reject(const QueueReject& c);
  Result<Reply> extend(const QueueExtend& c);
  Result<Reply> resend(const QueueResend& c);
  Result<Reply> purge(const QueuePurge& c);
  Result<Reply> set_retention(const StoreRetention& c);
  Result<Reply> set_group_position(const StoreGroupPosition& c);

  // Queues.
  Queue* find_queue(const std::string& name);
  Queue& queue(const std::string& name);  // creates
  std::uint64_t enqueue(const std::string& channel, StoredMessage m, const QueueItem* item);
  void place(const std::string& channel, Queue& qu, QueueMessage& q);    // counts, ready set, timer
  void unplace(const std::string& channel, Queue& qu, QueueMessage& q);  // the reverse
  void set_phase(const std::string& channel, QueueMessage& q, QueueMessage::Phase phase);
  void remove(const std::string& channel, std::uint64_t seq);
  void fire_timers();
  void fire(const std::string& channel, std::uint64_t seq, Timestamp at);
  void requeue(const std::string& channel, QueueMessage& q);  // after a reject or a lapsed visibility
  void dead_letter(const std::string& channel, std::uint64_t seq, std::string reason);
  QueueMessage* in_flight(std::uint64_t receipt, std::string* channel);

  // Stores.
  void trim(const std::string& name, Store& s);
  void retention_changed();

  // Exactly-once.
  static std::string dedup_key(Kind kind, const MessageIn& m, const IdempotencyKey& key);
  void remember(std::string key, const Published& result, DedupOrder order);
  void prune_dedup();

  // Records.
  // A change to a queue's message may change its totals too (a reject
  // counts one and only moves the message): mark both records.
  void mark_queue(const std::string& channel, std::uint64_t seq) {
    dirty_queue_msgs_.emplace(channel, seq);
    dirty_channels_.emplace(Kind::queue, channel);
  }
  std::optional<std::string> channel_record(Kind kind, const std::string& name) const;
  std::optional<std::string> queue_record(const std::string& channel, std::uint64_t seq) const;
  std::optional<std::string> store_record(const std::string& channel, std::uint64_t seq) const;
  std::optional<std::string> dedup_record(const std::string& key) const;
  template <class F>
  void each_record(F emit) const;
  Status load_record(std::string_view key, std::string_view value);
  Status finish_load();
  Status finish_queues();
  Status check_delivery(const QueueMessage& q) const;
  Status finish_stores();
  Status finish_dedup();

  LogIndex applied_{0};
  Timestamp clock_;
  StateLimits limits_;
  std::uint64_t next_receipt_ = 1;
  std::uint64_t chain_ = 0;
  std::map<std::string, Queue> queues_;
  std::map<std::string, Store> stores_;
  std::set<TimerKey> timers_;
  std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> receipts_;  // receipt -> (queue, seq)
  std::map<std::string, Dedup> dedup_;
  std::map<DedupOrder, std::string> dedup_by_age_;  // oldest first
  std::size_t age_retained_ = 0;  // stores with an age bound

  // Changed since the last flush.
  std::set<std::pair<Kind, std::string>> dirty_channels_;
  std::set<std::pair<std::string, std::uint64_t>> dirty_queue_msgs_;
  std::set<std::pair<std::string, std::uint64_t>> dirty_store_msgs_;
  std::set<std::string> dirty_dedup_;
};

}  // namespace sluice::broker
