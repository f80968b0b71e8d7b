// rapidcheck generators for the broker's replicated commands
// (core/broker/commands.h), shared by the codec and state tests.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/broker/commands.h"

namespace sluice::broker::testing {

// Any bytes: the codec must carry what it is given, valid or not.
inline rc::Gen<std::string> gen_bytes() { return rc::gen::arbitrary<std::string>(); }
inline rc::Gen<Duration> gen_duration() {
  return rc::gen::map(rc::gen::arbitrary<std::int64_t>(), [](std::int64_t ns) { return Duration{ns}; });
}
inline rc::Gen<Retention> gen_retention() {
  return rc::gen::build<Retention>(rc::gen::set(&Retention::age_max, gen_duration()),
                                   rc::gen::set(&Retention::bytes_max), rc::gen::set(&Retention::count_max));
}
inline rc::Gen<MessageIn> gen_message() {
  return rc::gen::build<MessageIn>(
      rc::gen::set(&MessageIn::id, gen_bytes()), rc::gen::set(&MessageIn::channel, gen_bytes()),
      rc::gen::set(&MessageIn::metadata, gen_bytes()), rc::gen::set(&MessageIn::body, gen_bytes()),
      rc::gen::set(&MessageIn::tags, rc::gen::container<Tags>(gen_bytes(), gen_bytes())),
      rc::gen::set(&MessageIn::client_id, gen_bytes()));
}
inline rc::Gen<IdempotencyKey> gen_key() {
  return rc::gen::build<IdempotencyKey>(rc::gen::set(&IdempotencyKey::producer_id, gen_bytes()),
                                        rc::gen::set(&IdempotencyKey::producer_seq),
                                        rc::gen::set(&IdempotencyKey::by_message_id));
}
inline rc::Gen<QueueItem> gen_item() {
  return rc::gen::build<QueueItem>(
      rc::gen::set(&QueueItem::message, gen_message()), rc::gen::set(&QueueItem::key, gen_key()),
      rc::gen::set(&QueueItem::delay, gen_duration()), rc::gen::set(&QueueItem::expiration, gen_duration()),
      rc::gen::set(&QueueItem::max_receive_count), rc::gen::set(&QueueItem::dead_letter, gen_bytes()));
}
inline rc::Gen<StateLimits> gen_state_limits() {
  return rc::gen::build<StateLimits>(
      rc::gen::set(&StateLimits::queue_messages_max), rc::gen::set(&StateLimits::channels_max),
      rc::gen::set(&StateLimits::dedup_window, gen_duration()), rc::gen::set(&StateLimits::dedup_keys_max),
      rc::gen::set(&StateLimits::visibility_default, gen_duration()),
      rc::gen::set(&StateLimits::store_retention, gen_retention()));
}

// One generator per alternative of Command, in the variant's order.
inline rc::Gen<Command> gen_command() {
  using rc::gen::cast;
  using rc::gen::map;
  return rc::gen::oneOf(
      map(rc::gen::tuple(gen_message(), gen_key()),
          [](const auto& t) { return Command{StorePublish{std::get<0>(t), std::get<1>(t)}}; }),
      map(rc::gen::container<std::vector<QueueItem>>(gen_item()),
          [](std::vector<QueueItem> items) { return Command{QueueSend{std::move(items)}}; }),
      map(rc::gen::tuple(gen_bytes(), rc::gen::arbitrary<std::uint32_t>(), gen_duration(), gen_bytes()),
          [](const auto& t) {
            return Command{QueueReceive{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)}};
          }),
      map(rc::gen::arbitrary<std::vector<std::uint64_t>>(),
          [](std::vector<std::uint64_t> r) { return Command{QueueAck{std::move(r)}}; }),
      map(rc::gen::arbitrary<std::uint64_t>(), [](std::uint64_t r) { return Command{QueueReject{r}}; }),
      map(rc::gen::tuple(rc::gen::arbitrary<std::uint64_t>(), gen_duration()),
          [](const auto& t) { return Command{QueueExtend{std::get<0>(t), std::get<1>(t)}}; }),
      map(rc::gen::tuple(rc::gen::arbitrary<std::uint64_t>(), gen_bytes()),
          [](const auto& t) { return Command{QueueResend{std::get<0>(t), std::get<1>(t)}}; }),
      map(gen_bytes(), [](std::string c) { return Command{QueuePurge{std::move(c)}}; }),
      map(rc::gen::tuple(gen_bytes(), gen_retention()),
          [](const auto& t) { return Command{StoreRetention{std::get<0>(t), std::get<1>(t)}}; }),
      map(gen_state_limits(), [](const StateLimits& l) { return Command{Configure{l}}; }),
      rc::gen::just(Command{Tick{}}),
      map(rc::gen::tuple(gen_bytes(), gen_bytes(), rc::gen::arbitrary<std::uint64_t>()), [](const auto& t) {
        return Command{StoreGroupPosition{std::get<0>(t), std::get<1>(t), std::get<2>(t)}};
      }));
}

inline rc::Gen<Entry> gen_entry() {
  return rc::gen::map(rc::gen::tuple(rc::gen::arbitrary<std::int64_t>(), gen_command()), [](const auto& t) {
    return Entry{Timestamp{std::get<0>(t)}, std::get<1>(t)};
  });
}

}  // namespace sluice::broker::testing
