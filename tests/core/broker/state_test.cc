// BrokerState by example (core/broker/state.h, DESIGN section 4): each test
// checks one sentence of the queue, events store or exactly-once semantics.
// Times are the leader's stamps, in seconds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/broker/state.h"
#include "tests/core/broker/harness.h"

namespace sluice::broker {
namespace {

using testing::bodies_of;
using testing::Broker;
using testing::queue_item;
using testing::seconds;
using testing::secs;
using testing::With;
using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------
// Queues

TEST(Queue, FirstDeliveryIsFifoWithinAChannel) {
  Broker b;
  b.apply_ok<SendResult>(QueueSend{{queue_item("q", "1"), queue_item("other", "x"), queue_item("q", "2")}});
  b.send("q", "3");
  b.send("q", "4");
  EXPECT_EQ(b.peek_bodies("q"), (Strings{"1", "2", "3", "4"}));
  EXPECT_EQ(bodies_of(b.receive("q", 2)), (Strings{"1", "2"}));
  EXPECT_EQ(bodies_of(b.receive("q", 10)), (Strings{"3", "4"}));
  EXPECT_TRUE(b.receive("q", 10).empty());
  EXPECT_EQ(bodies_of(b.receive("other", 10)), (Strings{"x"}));
}

TEST(Queue, SendRepliesWithIdsSequencesAndTheStamp) {
  Broker b;
  b.at(3);
  const SendResult r = b.apply_ok<SendResult>(
      QueueSend{{queue_item("q", "a"), queue_item("q", "b", With().id("mine"))}});
  ASSERT_EQ(r.items.size(), 2u);
  // An id is assigned from the log index and the position in the batch.
  EXPECT_EQ(r.items[0], (Published{"1-0", 1, seconds(3), false}));
  EXPECT_EQ(r.items[1], (Published{"mine", 2, seconds(3), false}));
  const Delivery d = b.receive_one("q");
  EXPECT_EQ(d.message.id, "1-0");
  EXPECT_EQ(d.message.channel, "q");
  EXPECT_EQ(d.message.timestamp, seconds(3));
  EXPECT_EQ(d.receive_count, 1u);
  EXPECT_EQ(d.delivered_at, seconds(3));
  EXPECT_EQ(d.visible_again_at, seconds(3 + 30)) << "the default visibility";
  EXPECT_EQ(d.dead_letter_reason, "");
}

TEST(Queue, ReceiveFromAnUnknownChannelIsEmptyAndCreatesNothing) {
  Broker b;
  EXPECT_TRUE(b.receive("nobody").empty());
  EXPECT_EQ(b.purge("nobody"), 0u);
  EXPECT_TRUE(b.state.channels(Kind::queue).empty());
}

TEST(Queue, DelayIsHonoured) {
  Broker b;
  b.send("q", "late", With().delay(secs(10)));
  b.send("q", "now");
  EXPECT_EQ(b.queue_stats("q").delayed, 1u);
  EXPECT_EQ(b.queue_stats("q").ready, 1u);
  EXPECT_EQ(b.peek_bodies("q"), Strings{"now"}) << "peek shows ready messages only";
  EXPECT_EQ(b.state.next_timer(), seconds(10));
  EXPECT_EQ(bodies_of(b.receive("q", 10)), Strings{"now"});
  b.at(9.999);
  EXPECT_TRUE(b.receive("q", 10).empty());
  b.at(10);
  EXPECT_EQ(bodies_of(b.receive("q", 10)), Strings{"late"});
  EXPECT_EQ(b.queue_stats("q").delayed, 0u);
}

TEST(Queue, DelayedMessagesKeepFifoBySendOrderOnceVisible) {
  Broker b;
  b.send("q", "a", With().delay(secs(5)));
  b.send("q", "b", With().delay(secs(1)));
  b.at(6);
  EXPECT_EQ(bodies_of(b.receive("q", 10)), (Strings{"a", "b"}));
}

TEST(Queue, MessagesExpireInTheQueue) {
  Broker b;
  b.send("q", "short", With().expiration(secs(5)));
  b.send("q", "long", With().expiration(secs(50)));
  b.at(4.9);
  EXPECT_EQ(b.peek_bodies("q"), (Strings{"short", "long"}));
  b.at(5);
  EXPECT_EQ(bodies_of(b.receive("q", 10)), Strings{"long"});
  const QueueStats s = b.queue_stats("q");
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.ready, 0u);
}

TEST(Queue, ADelayedMessageCanExpireBeforeItIsVisible) {
  Broker b;
  b.send("q", "never", With().delay(secs(10)).expiration(secs(10)));
  b.at(10);
  EXPECT_TRUE(b.receive("q", 10).empty());
  EXPECT_EQ(b.queue_stats("q").expired, 1u);
  EXPECT_EQ(b.queue_stats("q").delayed, 0u);
}

TEST(Queue, AMessageThatExpiresInFlightIsDroppedWhenItComesBack) {
  Broker b;
  b.send("q", "a", With().expiration(secs(5)));
  b.send("q", "b", With().expiration(secs(5)));
  const std::vector<Delivery> ds = b.receive("q", 2, secs(10));
  ASSERT_EQ(ds.size(), 2u);
  b.at(7);
  // In flight past its expiration: still in flight until it comes back.
  EXPECT_EQ(b.queue_stats("q").in_flight, 2u);
  EXPECT_EQ(b.queue_stats("q").expired, 0u);
  // Back by a reject: dropped at once.
  ASSERT_TRUE(b.reject(ds[0].receipt).ok());
  EXPECT_EQ(b.queue_stats("q").expired, 1u);
  EXPECT_EQ(b.queue_stats("q").rejected, 1u);
  // Back by the visibility timeout: dropped too.
  b.at(10);
  EXPECT_TRUE(b.receive("q", 10).empty());
  const QueueStats s = b.queue_stats("q");
  EXPECT_EQ(s.expired, 2u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.ready, 0u);
}

TEST(Queue, VisibilityTimeoutRedeliversWithTheReceiveCountIncremented) {
  Broker b;
  b.send("q", "m");
  const Delivery first = b.receive_one("q", secs(5));
  EXPECT_EQ(first.visible_again_at, seconds(5));
  EXPECT_EQ(b.state.next_timer(), seconds(5));
  b.at(4.999);
  EXPECT_TRUE(b.receive("q").empty());
  b.at(5);
  const Delivery second = b.receive_one("q", secs(5));
  EXPECT_EQ(second.message, first.message);
  EXPECT_EQ(second.receive_count, 2u);
  EXPECT_NE(second.receipt, first.receipt);
  EXPECT_EQ(second.visible_again_at, seconds(10));
  EXPECT_EQ(b.queue_stats("q").delivered, 2u);
}

TEST(Queue, AReceiptOfAnEarlierDeliveryCannotAckALaterOne) {
  Broker b;
  b.send("q", "m");
  const Delivery first = b.receive_one("q", secs(5));
  b.at(5);
  const Delivery second = b.receive_one("q", secs(5));
  const AckResult late = b.ack({first.receipt});
  EXPECT_EQ(late.acked, 0u);
  EXPECT_EQ(late.stale, std::vector<std::uint64_t>{first.receipt});
  EXPECT_EQ(b.queue_stats("q").in_flight, 1u) << "the redelivery is still in flight";
  for (const Result<Reply>& r : {b.reject(first.receipt), b.extend(first.receipt, secs(1)),
                                  b.resend(first.receipt, "elsewhere")}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::not_found);
  }
  EXPECT_FALSE(b.state.queue_stats("elsewhere").has_value()) << "a stale resend creates nothing";
  const AckResult ok = b.ack({second.receipt, second.receipt, 12345});
  EXPECT_EQ(ok.acked, 1u);
  EXPECT_EQ(ok.stale, (std::vector<std::uint64_t>{second.receipt, 12345}));
  const QueueStats s = b.queue_stats("q");
  EXPECT_EQ(s.acked, 1u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.bytes, 0u);
}

TEST(Queue, StaleReceiptErrorsSayWhy) {
  Broker b;
  const Result<Reply> r = b.reject(77);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "receipt 77 names no delivery in flight (acked, rejected, redelivered, expired or purged)");
}

TEST(Queue, RejectRequeuesAtOnce) {
  Broker b;
  b.send("q", "a");
  b.send("q", "b");
  const Delivery a = b.receive_one("q", secs(60));
  ASSERT_TRUE(b.reject(a.receipt).ok());
  EXPECT_EQ(b.peek_bodies("q"), (Strings{"a", "b"})) << "back in its place: FIFO by send order";
  const Delivery again = b.receive_one("q");
  EXPECT_EQ(again.message.body, "a");
  EXPECT_EQ(again.receive_count, 2u);
  EXPECT_EQ(b.queue_stats("q").rejected, 1u);
  EXPECT_FALSE(b.reject(a.receipt).ok()) << "the first receipt died with the reject";
}

TEST(Queue, ExtendMovesTheVisibilityDeadline) {
  Broker b;
  b.send("q", "m");
  const Delivery d = b.receive_one("q", secs(5));
  b.at(4);
  ASSERT_TRUE(b.extend(d.receipt, secs(10)).ok());
  EXPECT_EQ(b.state.next_timer(), seconds(14));
  b.at(13.9);
  EXPECT_TRUE(b.receive("q").empty());
  b.at(14);
  const Delivery again = b.receive_one("q");
  EXPECT_EQ(again.receive_count, 2u);
  // An extend may also shorten.
  b.at(15);
  ASSERT_TRUE(b.extend(again.receipt, secs(1)).ok());
  b.at(16);
  EXPECT_EQ(b.receive_one("q").receive_count, 3u);
}

TEST(Queue, ResendAcksAndSendsToAnotherChannelAsNew) {
  Broker b;
  b.send("q", "m", With().expiration(secs(100)).max_receive_count(1).dead_letter("dlq").id("id-1"));
  const Delivery d = b.receive_one("q");
  b.at(2);
  const Result<Reply> r = b.resend(d.receipt, "other");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<Published>(*r), (Published{"id-1", 1, seconds(2), false}));
  EXPECT_EQ(b.queue_stats("q").resent, 1u);
  EXPECT_EQ(b.queue_stats("q").in_flight, 0u);
  EXPECT_EQ(b.queue_stats("other").sent, 1u);
  const Delivery moved = b.receive_one("other");
  EXPECT_EQ(moved.message.id, "id-1");
  EXPECT_EQ(moved.message.channel, "other");
  EXPECT_EQ(moved.receive_count, 1u);
  // As new: the source's max receive count and expiration do not follow.
  ASSERT_TRUE(b.reject(moved.receipt).ok());
  b.at(500);
  EXPECT_EQ(b.receive_one("other").receive_count, 2u);
  EXPECT_FALSE(b.state.queue_stats("dlq").has_value());
}

TEST(Queue, PurgeRemovesEveryMessageInFlightOrNot) {
  Broker b;
  b.send("q", "a");
  b.send("q", "b", With().delay(secs(5)));
  b.send("q", "c");
  const Delivery a = b.receive_one("q");
  EXPECT_EQ(b.purge("q"), 3u);
  const QueueStats s = b.queue_stats("q");
  EXPECT_EQ(s.ready + s.delayed + s.in_flight + s.bytes, 0u);
  EXPECT_EQ(s.purged, 3u);
  EXPECT_EQ(b.ack({a.receipt}).stale, std::vector<std::uint64_t>{a.receipt});
  EXPECT_EQ(b.state.next_timer(), std::nullopt) << "no timer outlives its message";
  b.at(10);
  EXPECT_TRUE(b.receive("q").empty());
}

TEST(Queue, MaxReceiveCountMovesToTheDeadLetterChannelWithTheReason) {
  Broker b;
  b.send("q", "m", With().max_receive_count(2).dead_letter("q.dlq").id("m1"));
  const Delivery first = b.receive_one("q", secs(5));
  ASSERT_TRUE(b.reject(first.receipt).ok());
  const Delivery second = b.receive_one("q", secs(5));
  EXPECT_EQ(second.receive_count, 2u);
  b.at(5);  // the second delivery lapses: that was the last allowed
  EXPECT_TRUE(b.receive("q").empty());
  EXPECT_EQ(b.queue_stats("q").dead_lettered, 1u);
  EXPECT_EQ(b.queue_stats("q").bytes, 0u);
  const Delivery dead = b.receive_one("q.dlq");
  EXPECT_EQ(dead.message.id, "m1");
  EXPECT_EQ(dead.message.body, "m");
  EXPECT_EQ(dead.message.channel, "q.dlq");
  EXPECT_EQ(dead.receive_count, 1u);
  EXPECT_EQ(dead.dead_letter_reason, "max receive count 2 reached");
  EXPECT_EQ(dead.dead_letter_from, "q");
  // The reason stays with the message through redeliveries in the DLQ.
  ASSERT_TRUE(b.reject(dead.receipt).ok());
  EXPECT_EQ(b.receive_one("q.dlq").dead_letter_reason, "max receive count 2 reached");
}

TEST(Queue, MaxReceiveCountWithoutADeadLetterChannelDrops) {
  Broker b;
  b.send("q", "m", With().max_receive_count(1));
  ASSERT_TRUE(b.reject(b.receive_one("q").receipt).ok());
  EXPECT_TRUE(b.receive("q").empty());
  const QueueStats s = b.queue_stats("q");
  EXPECT_EQ(s.dead_lettered, 1u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(b.state.channels(Kind::queue), Strings{"q"});
}

// Both ends reached at once: the max receive count wins, so a message that
// kept failing is kept for inspection rather than counted as merely late.
TEST(Queue, OverItsMaxReceiveCountAndExpiredInFlightItIsDeadLettered) {
  Broker b;
  b.send("q", "m", With().expiration(secs(5)).max_receive_count(1).dead_letter("dlq"));
  b.receive_one("q", secs(10));
  b.at(10);
  b.tick();
  const QueueStats s = b.queue_stats("q");
  EXPECT_EQ(s.dead_lettered, 1u);
  EXPECT_EQ(s.expired, 0u);
  EXPECT_EQ(b.receive_one("dlq").dead_letter_reason, "max receive count 1 reached");
}

TEST(Queue, StatsCountEveryTransition) {
  Broker b;
  b.apply_ok<SendResult>(QueueSend{{queue_item("q", "aa"), queue_item("q", "bbb"), queue_item("q", "c"),
                                    queue_item("q", "dddd", With().delay(secs(100))),
                                    queue_item("q", "e", With().expiration(secs(50)))}});
  QueueStats want;
  want.sent = 5;
  want.ready = 4;
  want.delayed = 1;
  want.bytes = 11;
  EXPECT_EQ(b.queue_stats("q"), want);

  const std::vector<Delivery> ds = b.receive("q", 3, secs(10));  // aa bbb c
  want.ready = 1;
  want.in_flight = 3;
  want.delivered = 3;
  EXPECT_EQ(b.queue_stats("q"), want);

  EXPECT_EQ(b.ack({ds[0].receipt}).acked, 1u);
  ASSERT_TRUE(b.reject(ds[1].receipt).ok());
  ASSERT_TRUE(b.resend(ds[2].receipt, "r").ok());
  want.acked = 1;
  want.rejected = 1;
  want.resent = 1;
  want.in_flight = 0;
  want.ready = 2;  // bbb, e
  want.bytes = 1 + 3 + 4;
  EXPECT_EQ(b.queue_stats("q"), want);

  b.at(60);  // e expires
  b.tick();
  want.expired = 1;
  want.ready = 1;
  want.bytes = 3 + 4;
  EXPECT_EQ(b.queue_stats("q"), want);

  EXPECT_EQ(b.purge("q"), 2u);
  want.purged = 2;
  want.ready = 0;
  want.delayed = 0;
  want.bytes = 0;
  EXPECT_EQ(b.queue_stats("q"), want);
}

TEST(Queue, MetadataCountsTowardBytes) {
  Broker b;
  QueueItem i = queue_item("q", "12345");
  i.message.metadata = "abc";
  b.apply_ok<SendResult>(QueueSend{{i}});
  EXPECT_EQ(b.queue_stats("q").bytes, 8u);
}

StateLimits small_limits() {
  StateLimits l = state_limits(Limits{});
  l.queue_messages_max = 2;
  l.channels_max = 2;
  return l;
}

TEST(Queue, AFullQueueRefusesSendsAndTheBatchIsAllOrNothing) {
  Broker b;
  b.configure(small_limits());
  b.send("q", "1");
  const Result<Reply> batch = b.apply(QueueSend{{queue_item("other", "x"), queue_item("q", "2"), queue_item("q", "3")}});
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), Code::unavailable);
  EXPECT_EQ(batch.status().message(), "queue 'q' is full (2 messages); receive and ack to make room");
  EXPECT_EQ(b.queue_stats("q").sent, 1u) << "nothing of a refused batch is sent";
  EXPECT_FALSE(b.state.queue_stats("other").has_value());
  b.send("q", "2");
  EXPECT_FALSE(b.apply(QueueSend{{queue_item("q", "3")}}).ok());
  // In-flight messages still take room; an ack frees it.
  const Delivery d = b.receive_one("q");
  EXPECT_FALSE(b.apply(QueueSend{{queue_item("q", "3")}}).ok());
  b.ack({d.receipt});
  b.send("q", "3");
  EXPECT_EQ(b.peek_bodies("q"), (Strings{"2", "3"}));
}

TEST(Queue, AResendToAFullQueueIsRefusedAndChangesNothing) {
  Broker b;
  b.configure(small_limits());
  b.send("to", "1");
  b.send("to", "2");
  b.send("from", "m");
  const Delivery d = b.receive_one("from");
  const Result<Reply> r = b.resend(d.receipt, "to");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(b.queue_stats("from").in_flight, 1u);
  EXPECT_TRUE(b.ack({d.receipt}).acked == 1u) << "the delivery is still live";
}

TEST(Queue, ChannelsMaxBoundsQueuesButNotDeadLetterQueues) {
  Broker b;
  b.configure(small_limits());
  b.send("a", "1", With().max_receive_count(1).dead_letter("dead"));
  b.send("b", "1");
  const Result<Reply> r = b.apply(QueueSend{{queue_item("c", "1")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(r.status().message(), "queue channel limit of 2 reached");
  const Delivery d = b.receive_one("b");
  EXPECT_EQ(b.resend(d.receipt, "c").status().code(), Code::unavailable);
  // Refusing a dead letter would lose the message.
  ASSERT_TRUE(b.reject(b.receive_one("a").receipt).ok());
  EXPECT_EQ(b.state.channels(Kind::queue), (Strings{"a", "b", "dead"}));
  EXPECT_EQ(b.queue_stats("dead").ready, 1u);
}

TEST(Queue, AFailedCommandChangesOnlyTheClockAndIndex) {
  Broker b;
  b.configure(small_limits());
  b.send("q", "1");
  b.send("q", "2");
  const std::string before = b.state.snapshot();
  b.at(1);
  EXPECT_FALSE(b.apply(QueueSend{{queue_item("q", "3")}}).ok());
  EXPECT_EQ(b.state.applied(), LogIndex(4));
  EXPECT_EQ(b.state.replicated_time(), seconds(1));
  // The same state, but for the clock and index in the meta record.
  Broker same;
  same.configure(small_limits());
  same.send("q", "1");
  same.send("q", "2");
  same.at(1);
  same.tick();
  EXPECT_EQ(b.state.snapshot(), same.state.snapshot());
  EXPECT_NE(b.state.snapshot(), before);
}

// ---------------------------------------------------------------------------
// Events store

TEST(Store, SequencesStartAtOneWithoutGaps) {
  Broker b;
  for (int i = 1; i <= 3; ++i) {
    b.at(i);
    const Published p = b.publish("s", "m" + std::to_string(i));
    EXPECT_EQ(p.seq, static_cast<std::uint64_t>(i));
    EXPECT_EQ(p.timestamp, seconds(i));
    EXPECT_FALSE(p.duplicate);
  }
  EXPECT_EQ(b.publish("t", "other").seq, 1u) << "each channel has its own sequence";
  EXPECT_EQ(b.store_seqs("s"), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(b.store_seqs("s", 2), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(b.store_seqs("s", 4), std::vector<std::uint64_t>{});
  EXPECT_EQ(b.state.read_store("s", 1, 2).size(), 2u);
  EXPECT_TRUE(b.state.read_store("nobody", 1, 10).empty());
  const StoredMessage m = b.state.read_store("s", 2, 1).at(0);
  EXPECT_EQ(m.body, "m2");
  EXPECT_EQ(m.channel, "s");
  EXPECT_EQ(m.id, "2-0");
  const StoreStats s = b.store_stats("s");
  EXPECT_EQ(s.first_seq, 1u);
  EXPECT_EQ(s.last_seq, 3u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.bytes, 6u);
  EXPECT_EQ(s.published, 3u);
  EXPECT_EQ(s.retention, Limits{}.store_retention);
  EXPECT_EQ(b.state.channels(Kind::store), (Strings{"s", "t"}));
}

TEST(Store, SeqAtTimeFindsTheFirstMessageAtOrAfter) {
  Broker b;
  for (const double t : {1.0, 2.0, 2.0, 5.0}) {
    b.at(t);
    b.publish("s", "m");
  }
  EXPECT_EQ(b.state.store_seq_at("s", seconds(0)), 1u);
  EXPECT_EQ(b.state.store_seq_at("s", seconds(1)), 1u);
  EXPECT_EQ(b.state.store_seq_at("s", seconds(1.5)), 2u);
  EXPECT_EQ(b.state.store_seq_at("s", seconds(2)), 2u);
  EXPECT_EQ(b.state.store_seq_at("s", seconds(3)), 4u);
  EXPECT_EQ(b.state.store_seq_at("s", seconds(6)), 5u) << "none: the next sequence";
  EXPECT_EQ(b.state.store_seq_at("nobody", seconds(6)), 1u);
}

TEST(Store, RetentionByCount) {
  Broker b;
  b.retention("s", Retention{{}, 0, 2});
  for (int i = 0; i < 5; ++i) b.publish("s", "m");
  EXPECT_EQ(b.store_seqs("s"), (std::vector<std::uint64_t>{4, 5}));
  const StoreStats s = b.store_stats("s");
  EXPECT_EQ(s.first_seq, 4u);
  EXPECT_EQ(s.last_seq, 5u);
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.trimmed, 3u);
  EXPECT_EQ(s.published, 5u);
  // Tightening trims at once.
  b.retention("s", Retention{{}, 0, 1});
  EXPECT_EQ(b.store_seqs("s"), std::vector<std::uint64_t>{5});
  EXPECT_EQ(b.store_seqs("s", 2), std::vector<std::uint64_t>{5}) << "reading from a trimmed seq starts at the first";
}

TEST(Store, RetentionByBytes) {
  Broker b;
  b.retention("s", Retention{{}, 10, 0});
  b.publish("s", "12345");
  b.publish("s", "12345");
  EXPECT_EQ(b.store_stats("s").count, 2u);
  b.publish("s", "1");
  EXPECT_EQ(b.store_seqs("s"), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(b.store_stats("s").bytes, 6u);
}

TEST(Store, AMessageLargerThanTheByteRetentionIsRefusedNotAcknowledgedAndTrimmed) {
  Broker b;
  b.retention("s", Retention{{}, 10, 0});
  b.publish("s", "12345");
  StorePublish big;
  big.message.channel = "s";
  big.message.body = "12345678";
  big.message.metadata = "abc";  // 11 bytes with the body
  const Result<Reply> r = b.apply(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("byte retention"), std::string::npos) << r.status().to_string();
  const StoreStats stats = b.store_stats("s");
  EXPECT_EQ(stats.published, 1u) << "nothing stored";
  EXPECT_EQ(stats.last_seq, 1u) << "no sequence taken";
  EXPECT_EQ(b.store_seqs("s"), std::vector<std::uint64_t>{1}) << "nothing trimmed to make room";
  big.message.metadata = "ab";  // exactly 10: fits
  EXPECT_TRUE(b.apply(big).ok());
  // A new channel takes the default retention, and is not created by a refusal.
  Limits l;
  l.store_retention = Retention{{}, 4, 0};
  b.configure(state_limits(l));
  StorePublish fresh;
  fresh.message.channel = "fresh";
  fresh.message.body = "12345";
  EXPECT_EQ(b.apply(fresh).status().code(), Code::invalid_argument);
  EXPECT_FALSE(b.state.store_stats("fresh").has_value()) << "no channel was created";
}

TEST(Store, GroupPositionsMoveOnlyForwardAndStayWithinTheChannel) {
  Broker b;
  EXPECT_EQ(b.apply(StoreGroupPosition{"s", "g", 1}).status().code(), Code::not_found) << "no channel yet";
  EXPECT_FALSE(b.state.store_group_position("s", "g").has_value());
  for (int i = 0; i < 5; ++i) b.publish("s", "m");
  b.apply_ok<Done>(StoreGroupPosition{"s", "g", 3});
  EXPECT_EQ(b.state.store_group_position("s", "g"), 3u);
  b.apply_ok<Done>(StoreGroupPosition{"s", "g", 2});  // a late commit of an older position
  EXPECT_EQ(b.state.store_group_position("s", "g"), 3u) << "positions never go back";
  b.apply_ok<Done>(StoreGroupPosition{"s", "g", 99});
  EXPECT_EQ(b.state.store_group_position("s", "g"), 6u) << "never past the channel's next sequence";
  EXPECT_FALSE(b.state.store_group_position("s", "other").has_value());
  for (std::size_t i = 1; i < kStoreGroupsPerChannelMax; ++i) {
    b.apply_ok<Done>(StoreGroupPosition{"s", "g" + std::to_string(i), 1});
  }
  const Result<Reply> full = b.apply(StoreGroupPosition{"s", "one-too-many", 1});
  EXPECT_EQ(full.status().code(), Code::unavailable) << "a bounded number of groups per channel";
  b.apply_ok<Done>(StoreGroupPosition{"s", "g", 6});  // a known group still moves
}

TEST(Store, RetentionByAgeTrimsOnTick) {
  Broker b;
  b.retention("s", Retention{secs(10), 0, 0});
  EXPECT_TRUE(b.state.has_age_retention());
  b.publish("s", "old");
  b.at(5);
  b.publish("s", "new");
  b.at(9.9);
  b.tick();
  EXPECT_EQ(b.store_stats("s").count, 2u);
  b.at(10);
  b.tick();
  EXPECT_EQ(b.store_seqs("s"), std::vector<std::uint64_t>{2});
  b.at(15);
  b.tick();
  const StoreStats s = b.store_stats("s");
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.first_seq, 3u) << "empty: first_seq > last_seq";
  EXPECT_EQ(s.last_seq, 2u);
  EXPECT_EQ(b.state.store_seq_at("s", seconds(0)), 3u);
  EXPECT_EQ(b.publish("s", "next").seq, 3u) << "sequences continue after a trim";
}

TEST(Store, ConfigureChangesTheDefaultRetentionOfChannelsWithoutTheirOwn) {
  Broker b;
  b.retention("custom", Retention{{}, 0, 3});
  for (int i = 0; i < 3; ++i) {
    b.publish("default", "m");
    b.publish("custom", "m");
  }
  StateLimits l = state_limits(Limits{});
  l.store_retention = Retention{{}, 0, 1};
  b.configure(l);
  EXPECT_EQ(b.store_stats("default").retention, l.store_retention);
  EXPECT_EQ(b.store_seqs("default"), std::vector<std::uint64_t>{3}) << "trimmed at once";
  EXPECT_EQ(b.store_stats("custom").retention, (Retention{{}, 0, 3}));
  EXPECT_EQ(b.store_stats("custom").count, 3u);
  b.publish("fresh", "m");
  EXPECT_EQ(b.store_stats("fresh").retention, l.store_retention);
}

TEST(Store, ChannelsMax) {
  Broker b;
  b.configure(small_limits());
  b.publish("a", "m");
  b.retention("b", Retention{});
  const Result<Reply> r = b.apply(StorePublish{MessageIn{"", "c", "", "m", {}, ""}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(r.status().message(), "events store channel limit of 2 reached");
  EXPECT_EQ(b.apply(StoreRetention{"c", Retention{}}).status().code(), Code::unavailable);
  b.publish("a", "m");
  // Store and queue channels are counted apart.
  b.send("q", "m");
}

// ---------------------------------------------------------------------------
// Exactly-once publish

TEST(Idempotency, AProducerSequenceIsPublishedOnce) {
  Broker b;
  const IdempotencyKey k{"p", 1, false};
  b.at(1);
  const Published first = b.publish("s", "m", k);
  b.at(2);
  const Published retry = b.publish("s", "m", k);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.id, first.id);
  EXPECT_EQ(retry.seq, first.seq);
  EXPECT_EQ(retry.timestamp, first.timestamp);
  EXPECT_EQ(b.store_stats("s").count, 1u);
  EXPECT_FALSE(b.publish("s", "m", IdempotencyKey{"p", 2, false}).duplicate);
  EXPECT_FALSE(b.publish("s", "m", IdempotencyKey{"q", 1, false}).duplicate);
  EXPECT_FALSE(b.publish("other", "m", k).duplicate) << "keys are scoped to a channel";
  EXPECT_EQ(b.store_stats("s").count, 3u);
  EXPECT_EQ(b.state.dedup_keys(), 4u);
}

TEST(Idempotency, AMessageIdIsSentOnce) {
  Broker b;
  const With o = With().key(IdempotencyKey{"", 0, true}).id("order-7");
  const Published first = b.send("q", "m", o);
  const Published retry = b.send("q", "m", o);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.seq, first.seq);
  EXPECT_EQ(retry.id, "order-7");
  EXPECT_EQ(b.queue_stats("q").sent, 1u);
  // The same id without the key is an ordinary send.
  EXPECT_FALSE(b.send("q", "m", With().id("order-7")).duplicate);
  // A store publish with the same message id is another kind of channel.
  EXPECT_FALSE(b.publish("q", "m", IdempotencyKey{"", 0, true}, "order-7").duplicate);
}

TEST(Idempotency, WithinOneBatchTheFirstWins) {
  Broker b;
  const With o = With().key(IdempotencyKey{"p", 9, false});
  const SendResult r = b.apply_ok<SendResult>(
      QueueSend{{queue_item("q", "a", o), queue_item("q", "b"), queue_item("q", "c", o)}});
  ASSERT_EQ(r.items.size(), 3u);
  EXPECT_FALSE(r.items[0].duplicate);
  EXPECT_TRUE(r.items[2].duplicate);
  EXPECT_EQ(r.items[2].seq, r.items[0].seq);
  EXPECT_EQ(r.items[2].id, r.items[0].id);
  EXPECT_EQ(b.peek_bodies("q"), (Strings{"a", "b"}));
}

TEST(Idempotency, ADuplicateDoesNotCountTowardAFullQueue) {
  Broker b;
  b.configure(small_limits());
  const With o = With().key(IdempotencyKey{"p", 1, false});
  b.send("q", "a", o);
  b.send("q", "b");
  EXPECT_TRUE(b.send("q", "a", o).duplicate);
}

TEST(Idempotency, KeysAreForgottenAfterTheWindow) {
  Broker b;
  StateLimits l = state_limits(Limits{});
  l.dedup_window = secs(10);
  b.configure(l);
  const IdempotencyKey k{"p", 1, false};
  b.publish("s", "m", k);
  b.at(9.9);
  EXPECT_TRUE(b.publish("s", "m", k).duplicate);
  b.at(10);
  EXPECT_FALSE(b.publish("s", "m", k).duplicate);
  EXPECT_EQ(b.store_stats("s").count, 2u);
  EXPECT_EQ(b.state.dedup_keys(), 1u);
}

TEST(Idempotency, TheOldestKeysGoFirstOverTheCountBound) {
  Broker b;
  StateLimits l = state_limits(Limits{});
  l.dedup_keys_max = 2;
  b.configure(l);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) b.publish("s", "m", IdempotencyKey{"p", seq, false});
  EXPECT_EQ(b.state.dedup_keys(), 2u);
  EXPECT_FALSE(b.publish("s", "m", IdempotencyKey{"p", 1, false}).duplicate);
  // Within one stamp, "oldest" is the order of remembering, not of the keys'
  // bytes: the key just remembered survives, p/2 went.
  EXPECT_TRUE(b.publish("s", "m", IdempotencyKey{"p", 1, false}).duplicate);
  EXPECT_TRUE(b.publish("s", "m", IdempotencyKey{"p", 3, false}).duplicate);
  EXPECT_FALSE(b.publish("s", "m", IdempotencyKey{"p", 2, false}).duplicate);
}

// A batch whose keys were remembered by earlier sends, where remembering the
// batch's new keys pushes those out of a small key bound: the duplicates
// still answer with their first results.
TEST(Idempotency, ADuplicateInABatchKeepsItsResultWhenTheBoundEvictsIt) {
  Broker b;
  StateLimits l = state_limits(Limits{});
  l.dedup_keys_max = 1;
  b.configure(l);
  const With old_key = With().key(IdempotencyKey{"p", 1, false});
  const Published first = b.send("q", "a", old_key);
  const With new_key = With().key(IdempotencyKey{"p", 2, false});
  const SendResult r = b.apply_ok<SendResult>(QueueSend{{queue_item("q", "b", new_key), queue_item("q", "a", old_key)}});
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_TRUE(r.items[1].duplicate);
  EXPECT_EQ(r.items[1].seq, first.seq);
  EXPECT_EQ(r.items[1].id, first.id);
  EXPECT_EQ(r.items[1].timestamp, first.timestamp);
}

// ---------------------------------------------------------------------------
// Time

TEST(Clock, NeverGoesBackWhenStampsDo) {
  Broker b;
  b.at(10);
  b.tick();
  b.at(5);  // a new leader whose clock is behind
  const Published p = b.publish("s", "m");
  EXPECT_EQ(p.timestamp, seconds(10));
  EXPECT_EQ(b.state.replicated_time(), seconds(10));
  b.send("q", "m", With().delay(secs(3)));
  EXPECT_EQ(b.state.next_timer(), seconds(13)) << "the delay runs from the replicated clock";
  b.at(12);
  EXPECT_TRUE(b.receive("q").empty());
  b.at(13);
  EXPECT_EQ(b.receive_one("q").visible_again_at, seconds(43));
}

TEST(Clock, TimersFireInOrderWhenTimeJumps) {
  Broker b;
  b.send("q", "a", With().delay(secs(3)).expiration(secs(5)));
  b.send("q", "b", With().delay(secs(1)));
  b.send("q", "c", With().expiration(secs(2)));
  b.at(100);
  EXPECT_EQ(bodies_of(b.receive("q", 10)), Strings{"b"});
  EXPECT_EQ(b.queue_stats("q").expired, 2u);
  EXPECT_EQ(b.state.next_timer(), seconds(130));
}

}  // namespace
}  // namespace sluice::broker
