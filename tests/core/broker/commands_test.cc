// The replicated commands (core/broker/commands.h): the entry codec carries
// every command exactly, never crashes on damaged bytes, and validate()
// refuses each request over a limit with a message that names the limit.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <optional>
#include <string>

#include "core/broker/commands.h"
#include "core/broker/names.h"
#include "tests/core/broker/generators.h"

namespace sluice::broker {
namespace {

using testing::gen_entry;

RC_GTEST_PROP(EntryCodec, RoundTripsEveryCommand, ()) {
  const Entry entry = *gen_entry();
  RC_TAG(command_name(entry.command));
  const std::string bytes = encode_entry(entry);
  const std::optional<Entry> back = decode_entry(bytes);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == entry);
  RC_ASSERT(encode_entry(*back) == bytes);
}

// Decoding reads the exact shape the earlier bytes announce, so a strict
// prefix never decodes, nor does an entry with bytes after its end.
RC_GTEST_PROP(EntryCodec, RefusesTruncatedAndTrailingBytes, ()) {
  const std::string bytes = encode_entry(*gen_entry());
  const std::size_t cut = *rc::gen::inRange<std::size_t>(0, bytes.size());
  RC_ASSERT(!decode_entry(bytes.substr(0, cut)).has_value());
  RC_ASSERT(!decode_entry(bytes + *rc::gen::nonEmpty<std::string>()).has_value());
}

// Damage gives nullopt or an entry that is itself well formed; never a crash,
// a read past the input or an allocation the input cannot back.
void expect_nullopt_or_well_formed(const std::string& bytes) {
  const std::optional<Entry> entry = decode_entry(bytes);
  if (!entry) return;
  const std::optional<Entry> again = decode_entry(encode_entry(*entry));
  RC_ASSERT(again.has_value());
  RC_ASSERT(*again == *entry);
}

RC_GTEST_PROP(EntryCodec, SurvivesFlippedBits, ()) {
  std::string bytes = encode_entry(*gen_entry());
  const int flips = *rc::gen::inRange(1, 4);
  for (int i = 0; i < flips; ++i) {
    const std::size_t at = *rc::gen::inRange<std::size_t>(0, bytes.size());
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << *rc::gen::inRange(0, 8)));
  }
  expect_nullopt_or_well_formed(bytes);
}

RC_GTEST_PROP(EntryCodec, SurvivesGarbage, (std::string garbage)) {
  expect_nullopt_or_well_formed(garbage);
  // The same garbage behind a valid version byte and stamp reaches the
  // command decoders.
  std::string framed(9, '\0');
  framed[0] = 1;
  framed.push_back(static_cast<char>(*rc::gen::inRange(0, 13)));
  expect_nullopt_or_well_formed(framed + garbage);
}

TEST(EntryCodec, RefusesUnknownVersionAndKind) {
  std::string bytes = encode_entry(Entry{Timestamp{5}, Tick{}});
  ASSERT_TRUE(decode_entry(bytes).has_value());
  std::string wrong_version = bytes;
  wrong_version[0] = 2;
  EXPECT_FALSE(decode_entry(wrong_version).has_value());
  std::string wrong_kind = bytes;
  wrong_kind[9] = 12;
  EXPECT_FALSE(decode_entry(wrong_kind).has_value());
  EXPECT_FALSE(decode_entry("").has_value());
}

TEST(EntryCodec, CountsCannotAskForMoreThanTheInputHolds) {
  // A QueueAck claiming 2^32-1 receipts in a few bytes: refused before any
  // allocation.
  std::string bytes = encode_entry(Entry{Timestamp{1}, QueueAck{{7}}});
  bytes[10] = bytes[11] = bytes[12] = bytes[13] = '\xff';
  EXPECT_FALSE(decode_entry(bytes).has_value());
}

// ---------------------------------------------------------------------------
// validate()

MessageIn message(std::string channel = "orders") {
  MessageIn m;
  m.channel = std::move(channel);
  m.body = "body";
  return m;
}
QueueItem item(std::string channel = "orders") { return QueueItem{message(std::move(channel)), {}, {}, {}, 0, {}}; }

// The message of a refused command; empty if it is accepted.
std::string error(const Command& c, const Limits& limits = Limits{}) {
  const Status s = validate(c, limits);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), Code::invalid_argument) << command_name(c);
  return s.message();
}

TEST(Validate, AcceptsOrdinaryRequests) {
  EXPECT_EQ(error(StorePublish{message(), {}}), "");
  EXPECT_EQ(error(QueueSend{{item(), item("other")}}), "");
  EXPECT_EQ(error(QueueReceive{"orders", 10, Duration::seconds(30), "c1"}), "");
  EXPECT_EQ(error(QueueAck{{1, 2, 3}}), "");
  EXPECT_EQ(error(QueueReject{1}), "");
  EXPECT_EQ(error(QueueExtend{1, Duration::seconds(5)}), "");
  EXPECT_EQ(error(QueueResend{1, "other"}), "");
  EXPECT_EQ(error(QueuePurge{"orders"}), "");
  EXPECT_EQ(error(StoreRetention{"orders", Retention{Duration::seconds(60), 100, 10}}), "");
  EXPECT_EQ(error(Configure{state_limits(Limits{})}), "");
  EXPECT_EQ(error(Tick{}), "");
  EXPECT_EQ(error(StoreGroupPosition{"orders", "workers", 7}), "");
}

TEST(Validate, GroupPositions) {
  EXPECT_EQ(error(StoreGroupPosition{"orders", "", 1}), "a group position needs a group name");
  EXPECT_EQ(error(StoreGroupPosition{"orders", std::string(kGroupNameBytesMax + 1, 'g'), 1}),
            "group name is 257 bytes; the limit is 256");
  EXPECT_EQ(error(StoreGroupPosition{"orders", "a\nb", 1}), "group names cannot hold a newline");
  EXPECT_EQ(error(StoreGroupPosition{"orders", "g", 0}), "a group position starts at sequence 1");
  EXPECT_EQ(error(StoreGroupPosition{"orders.>", "g", 1}),
            "channel name 'orders.>' has an invalid character (wildcards are for subscriptions only)");
}

TEST(Validate, MessageShape) {
  Limits limits;
  limits.body_bytes_max = 10;
  limits.metadata_bytes_max = 5;
  limits.tags_count_max = 2;
  limits.tag_bytes_max = 6;
  limits.message_id_bytes_max = 4;
  limits.client_id_bytes_max = 3;
  auto publish = [&](MessageIn m) { return error(StorePublish{std::move(m), {}}, limits); };

  MessageIn m = message();
  m.body = std::string(10, 'b');
  EXPECT_EQ(publish(m), "");
  m.body += "b";
  EXPECT_EQ(publish(m), "body is 11 bytes; the limit is 10");

  m = message();
  m.metadata = "123456";
  EXPECT_EQ(publish(m), "metadata is 6 bytes; the limit is 5");

  m = message();
  m.tags = {{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(publish(m), "");
  m.tags["c"] = "3";
  EXPECT_EQ(publish(m), "3 tags; the limit is 2");

  m = message();
  m.tags = {{"key", "123"}};
  EXPECT_EQ(publish(m), "");
  m.tags = {{"key", "1234"}};
  EXPECT_EQ(publish(m), "tag 'key' is over the limit of 6 bytes");
  m.tags = {{"", "v"}};
  EXPECT_EQ(publish(m), "a tag has an empty key");

  m = message();
  m.id = "12345";
  EXPECT_EQ(publish(m), "message id is over the size limit");
  m = message();
  m.client_id = "abcd";
  EXPECT_EQ(publish(m), "client id is over the size limit");

  EXPECT_EQ(publish(message("bad..name")), "channel name 'bad..name' has an empty level");
  EXPECT_EQ(publish(message("orders.*")),
            "channel name 'orders.*' has an invalid character (wildcards are for subscriptions only)");

  // A queue send checks every item's message the same way.
  QueueItem big = item();
  big.message.body = std::string(11, 'b');
  EXPECT_EQ(error(QueueSend{{item(), big}}, limits), "body is 11 bytes; the limit is 10");
}

TEST(Validate, BatchSizes) {
  Limits limits;
  limits.send_batch_max = 2;
  limits.receive_batch_max = 3;
  limits.ack_batch_max = 2;
  EXPECT_EQ(error(QueueSend{{}}, limits), "a send needs at least one message");
  EXPECT_EQ(error(QueueSend{{item(), item()}}, limits), "");
  EXPECT_EQ(error(QueueSend{{item(), item(), item()}}, limits), "batch of 3 messages; the limit is 2");
  EXPECT_EQ(error(QueueReceive{"orders", 3, {}, ""}, limits), "");
  EXPECT_EQ(error(QueueReceive{"orders", 4, {}, ""}, limits), "receive of 4 messages; the limit is 3");
  EXPECT_EQ(error(QueueReceive{"orders", 0, {}, ""}, limits), "receive at least one message");
  EXPECT_EQ(error(QueueAck{{}}, limits), "ack needs at least one receipt");
  EXPECT_EQ(error(QueueAck{{1, 2}}, limits), "");
  EXPECT_EQ(error(QueueAck{{1, 2, 3}}, limits), "too many receipts in one ack");
}

TEST(Validate, TimersWithinTheirMaxima) {
  Limits limits;
  limits.visibility_max = Duration::seconds(10);
  limits.delay_max = Duration::seconds(20);
  limits.expiration_max = Duration::seconds(30);
  limits.receive_count_max = 5;

  EXPECT_EQ(error(QueueReceive{"orders", 1, Duration::seconds(10), ""}, limits), "");
  EXPECT_EQ(error(QueueReceive{"orders", 1, Duration::seconds(11), ""}, limits),
            "visibility 11.000s is over the limit of 10.000s");
  EXPECT_EQ(error(QueueReceive{"orders", 1, Duration{-1}, ""}, limits), "visibility is negative");
  EXPECT_EQ(error(QueueExtend{1, Duration::seconds(11)}, limits), "visibility 11.000s is over the limit of 10.000s");
  EXPECT_EQ(error(QueueExtend{1, Duration{}}, limits), "visibility must be positive");

  QueueItem i = item();
  i.delay = Duration::seconds(20);
  i.expiration = Duration::seconds(30);
  i.max_receive_count = 5;
  EXPECT_EQ(error(QueueSend{{i}}, limits), "");
  QueueItem late = i;
  late.delay = Duration::seconds(21);
  EXPECT_EQ(error(QueueSend{{late}}, limits), "delay 21.000s is over the limit of 20.000s");
  late = i;
  late.delay = Duration{-5};
  EXPECT_EQ(error(QueueSend{{late}}, limits), "delay is negative");
  late = i;
  late.expiration = Duration::seconds(31);
  EXPECT_EQ(error(QueueSend{{late}}, limits), "expiration 31.000s is over the limit of 30.000s");
  late = i;
  late.expiration = Duration{-1};
  EXPECT_EQ(error(QueueSend{{late}}, limits), "expiration is negative");
  late = i;
  late.max_receive_count = 6;
  EXPECT_EQ(error(QueueSend{{late}}, limits), "max receive count 6 is over the limit of 5");
}

TEST(Validate, DeadLetterChannel) {
  QueueItem i = item("orders");
  i.max_receive_count = 3;
  i.dead_letter = "orders.dlq";
  EXPECT_EQ(error(QueueSend{{i}}), "");
  i.dead_letter = "orders";
  EXPECT_EQ(error(QueueSend{{i}}), "a queue cannot be its own dead-letter queue");
  i.dead_letter = "orders.>";
  EXPECT_EQ(error(QueueSend{{i}}),
            "dead-letter channel name 'orders.>' has an invalid character (wildcards are for subscriptions only)");
}

TEST(Validate, IdempotencyKeys) {
  Limits limits;
  limits.client_id_bytes_max = 4;
  auto publish = [&](MessageIn m, IdempotencyKey k) { return error(StorePublish{std::move(m), std::move(k)}, limits); };
  MessageIn with_id = message();
  with_id.id = "m-1";

  EXPECT_EQ(publish(message(), IdempotencyKey{"p1", 7, false}), "");
  EXPECT_EQ(publish(with_id, IdempotencyKey{"", 0, true}), "");
  EXPECT_EQ(publish(message(), IdempotencyKey{"", 0, true}), "deduplication by message id needs a message id");
  EXPECT_EQ(publish(with_id, IdempotencyKey{"p1", 7, true}),
            "an idempotency key is a producer id and sequence, or the message id, not both");
  EXPECT_EQ(publish(message(), IdempotencyKey{"p1234", 7, false}), "producer id is over the size limit");
  // A sequence without a producer id would silently not deduplicate.
  EXPECT_EQ(publish(message(), IdempotencyKey{"", 7, false}), "a producer sequence needs a producer id");

  QueueItem i = item();
  i.key = IdempotencyKey{"", 0, true};
  EXPECT_EQ(error(QueueSend{{item(), i}}, limits), "deduplication by message id needs a message id");
}

TEST(Validate, ConfigureRefusesLimitsThatWouldBreakEveryQueue) {
  const StateLimits good = state_limits(Limits{});
  EXPECT_EQ(error(Configure{good}), "");
  auto with = [&](auto change) {
    StateLimits l = good;
    change(l);
    return error(Configure{l});
  };
  EXPECT_EQ(with([](StateLimits& l) { l.queue_messages_max = 0; }), "queue_messages_max must be positive");
  EXPECT_EQ(with([](StateLimits& l) { l.channels_max = 0; }), "channels_max must be positive");
  EXPECT_EQ(with([](StateLimits& l) { l.dedup_window = Duration{-1}; }), "dedup window is negative");
  EXPECT_EQ(with([](StateLimits& l) { l.dedup_window = Duration{}; }), "") << "no deduplication is a choice";
  EXPECT_EQ(with([](StateLimits& l) { l.visibility_default = Duration{}; }), "default visibility must be positive");
  EXPECT_EQ(with([](StateLimits& l) { l.visibility_default = Limits{}.visibility_max + Duration::seconds(1); }),
            "default visibility 43201.000s is over the limit of 43200.000s");
  EXPECT_EQ(with([](StateLimits& l) { l.store_retention.age_max = Duration{-1}; }), "retention age is negative");
}

TEST(Validate, ChannelsOfOtherCommands) {
  EXPECT_EQ(error(QueueReceive{"a..b", 1, {}, ""}), "channel name 'a..b' has an empty level");
  EXPECT_EQ(error(QueuePurge{""}), "channel name is empty");
  EXPECT_EQ(error(QueueResend{1, "x y"}), "channel name 'x y' has an invalid character; levels use A-Z a-z 0-9 _ - /");
  EXPECT_EQ(error(StoreRetention{"s", Retention{Duration{-1}, 0, 0}}), "retention age is negative");
  EXPECT_EQ(error(StoreRetention{"s.*", Retention{}}),
            "channel name 's.*' has an invalid character (wildcards are for subscriptions only)");
  Limits limits;
  limits.client_id_bytes_max = 3;
  EXPECT_EQ(error(QueueReceive{"orders", 1, {}, "abcd"}, limits), "client id is over the size limit");
}

}  // namespace
}  // namespace sluice::broker
