// Random broker entries for the model-based and persistence properties:
// valid commands (apply trusts validate(), as the node does) over a few
// channels, small limits so that queues fill, channels run out and keys are
// forgotten, receipts both current and stale, and a leader clock that mostly
// moves forward by steps that often tie and now and then goes back.
//
// Only usable inside a rapidcheck property: it draws with `*gen`.
#pragma once

#include <rapidcheck.h>

#include <string>
#include <vector>

#include "core/broker/state.h"

namespace sluice::broker::testing {

// Uniform in [lo, hi) whatever the case's size: inRange alone leans on lo
// while rapidcheck's size is small, which would starve the later branches
// of every choice below in the first cases.
template <class T>
T pick(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}

inline const std::vector<std::string> kQueues = {"q.a", "q.b", "q.c", "dlq"};
inline const std::vector<std::string> kStores = {"s.a", "s.b", "s.c"};
inline const std::vector<std::string> kGroups = {"g1", "g2"};

class Workload {
 public:
  // Limits small enough to be reached within a couple of hundred steps.
  static StateLimits draw_limits() {
    StateLimits l;
    l.queue_messages_max = pick<std::uint64_t>(2, 9);
    l.channels_max = pick<std::uint64_t>(2, 6);
    l.dedup_window = half_seconds(10, 60);
    l.dedup_keys_max = pick<std::uint64_t>(1, 9);
    l.visibility_default = half_seconds(1, 20);
    l.store_retention = draw_retention();
    return l;
  }

  Entry next() {
    move_clock();
    const int choice = pick(0, 100);
    return Entry{now_, choice < 20   ? send()
                       : choice < 35 ? receive()
                       : choice < 46 ? Command{QueueAck{ack_receipts()}}
                       : choice < 52 ? Command{QueueReject{receipt()}}
                       : choice < 57 ? Command{QueueExtend{receipt(), half_seconds(1, 20)}}
                       : choice < 61 ? Command{QueueResend{receipt(), *rc::gen::elementOf(kResendTo)}}
                       : choice < 63 ? Command{QueuePurge{*rc::gen::elementOf(kQueues)}}
                       : choice < 76 ? publish()
                       : choice < 79 ? Command{StoreRetention{*rc::gen::elementOf(kStores), draw_retention()}}
                       : choice < 81 ? Command{Configure{draw_limits()}}
                       : choice < 85 ? Command{StoreGroupPosition{*rc::gen::elementOf(kStores),
                                                                  *rc::gen::elementOf(kGroups), pick<std::uint64_t>(1, 30)}}
                                   : Command{Tick{}}};
  }

  // Learns the receipts a reply hands out, to ack, reject, extend and
  // resend with later (current or, by then, stale).
  void saw(const Result<Reply>& reply) {
    if (!reply.ok()) return;
    if (const auto* r = std::get_if<ReceiveResult>(&*reply)) {
      for (const Delivery& d : r->deliveries) receipts_.push_back(d.receipt);
    }
  }

  Timestamp now() const { return now_; }

 private:
  static inline const std::vector<std::string> kResendTo = {"q.a", "q.b", "q.c", "dlq", "q.d"};

  static Duration half_seconds(int lo, int hi) { return Duration::millis(500) * pick(lo, hi + 1); }
  static Retention draw_retention() {
    Retention r;
    if (pick(0, 3) == 0) r.age_max = half_seconds(2, 40);
    if (pick(0, 3) == 0) r.bytes_max = pick<std::uint64_t>(5, 60);
    if (pick(0, 2) == 0) r.count_max = pick<std::uint64_t>(1, 7);
    return r;
  }

  void move_clock() {
    const int choice = pick(0, 20);
    if (choice < 14) {
      now_ = now_ + half_seconds(0, 8);
    } else if (choice < 15) {
      now_ = now_ + half_seconds(9, 60);
    } else if (choice < 17) {
      // A new leader whose clock is behind.
      now_ = Timestamp{std::max<std::int64_t>(0, now_.ns - half_seconds(1, 10).ns)};
    }
  }

  MessageIn message(const std::string& channel) {
    MessageIn m;
    m.channel = channel;
    m.body = "b" + std::to_string(bodies_++);
    if (pick(0, 4) == 0) m.metadata = std::string(pick<std::size_t>(1, 12), 'm');
    if (pick(0, 5) == 0) m.tags = {{"k", "v"}};
    if (pick(0, 3) == 0) m.id = *rc::gen::element<std::string>("m1", "m2", "m3");
    m.client_id = *rc::gen::element<std::string>("", "c1");
    return m;
  }
  static IdempotencyKey key(const MessageIn& m) {
    const int choice = pick(0, 20);
    if (choice < 5) return IdempotencyKey{*rc::gen::element<std::string>("p1", "p2"), pick<std::uint64_t>(1, 3), false};
    if (choice < 8 && !m.id.empty()) return IdempotencyKey{"", 0, true};
    return {};
  }

  Command send() {
    QueueSend c;
    const int n = pick(1, 4);
    for (int i = 0; i < n; ++i) {
      QueueItem item;
      const std::string channel = *rc::gen::weightedElement<std::string>({{5, "q.a"}, {3, "q.b"}, {1, "q.c"}, {1, "dlq"}});
      item.message = message(channel);
      item.key = key(item.message);
      if (pick(0, 10) < 3) item.delay = half_seconds(1, 10);
      if (pick(0, 10) < 3) item.expiration = half_seconds(1, 20);
      if (pick(0, 10) < 4) item.max_receive_count = pick<std::uint32_t>(1, 4);
      const int dl = pick(0, 20);
      if (dl < 7 && channel != "dlq") {
        item.dead_letter = "dlq";
      } else if (dl < 10) {
        item.dead_letter = channel == "q.b" ? "q.c" : "q.b";
      }
      c.items.push_back(std::move(item));
    }
    return c;
  }
  Command receive() {
    QueueReceive c;
    c.channel = *rc::gen::weightedElement<std::string>({{3, "q.a"}, {2, "q.b"}, {1, "q.c"}, {2, "dlq"}});
    c.max_messages = pick<std::uint32_t>(1, 4);
    if (pick(0, 10) < 7) c.visibility = half_seconds(2, 40);
    c.client_id = "c1";
    return c;
  }
  Command publish() {
    StorePublish c;
    c.message = message(*rc::gen::weightedElement<std::string>({{4, "s.a"}, {2, "s.b"}, {1, "s.c"}}));
    c.key = key(c.message);
    return c;
  }

  // Mostly a recent receipt, sometimes an old one, sometimes one never
  // handed out.
  std::uint64_t receipt() {
    const int choice = pick(0, 10);
    if (receipts_.empty() || choice == 0) return pick<std::uint64_t>(1, 500);
    if (choice < 8) {
      const std::size_t recent = std::min<std::size_t>(receipts_.size(), 6);
      return receipts_[receipts_.size() - 1 - pick<std::size_t>(0, recent)];
    }
    return *rc::gen::elementOf(receipts_);
  }
  std::vector<std::uint64_t> ack_receipts() {
    std::vector<std::uint64_t> out;
    const int n = pick(1, 4);
    for (int i = 0; i < n; ++i) out.push_back(receipt());
    return out;
  }

  Timestamp now_;
  std::uint64_t bodies_ = 0;
  std::vector<std::uint64_t> receipts_;
};

}  // namespace sluice::broker::testing
