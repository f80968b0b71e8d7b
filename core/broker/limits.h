// The broker's limits: every request is checked against them, and one over a
// limit gets invalid_argument naming the limit. All but the id lengths are
// sluiced settings (net/server/limit_settings.cc maps flags, SLUICE_*
// variables and YAML keys onto this struct); the defaults are documented in
// docs/broker.md and are what a user gets without configuring anything.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/common/time.h"

namespace sluice::broker {

struct Retention {
  Duration age_max{};             // 0: keep regardless of age
  std::uint64_t bytes_max = 0;    // body + metadata bytes; 0: no bound
  std::uint64_t count_max = 0;    // messages; 0: no bound
  friend bool operator==(const Retention&, const Retention&) = default;
};

// Fixed bounds (not configuration: apply depends on them, and the
// replicated StateLimits do not carry them).
inline constexpr std::size_t kStoreGroupsPerChannelMax = 1000;  // committed group positions per channel

struct Limits {
  // Message shape.
  std::size_t body_bytes_max = 1 << 20;       // 1 MiB
  std::size_t metadata_bytes_max = 16 << 10;  // 16 KiB
  std::size_t tags_count_max = 32;
  std::size_t tag_bytes_max = 1024;           // key plus value, per tag
  std::size_t client_id_bytes_max = 256;
  std::size_t message_id_bytes_max = 256;
  // Batches.
  std::size_t send_batch_max = 1000;          // messages in one queue send
  std::size_t receive_batch_max = 1000;       // messages in one receive
  std::size_t ack_batch_max = 1000;           // receipts in one ack
  // Waits and timers.
  Duration wait_max = Duration::seconds(60);              // receive wait, RPC timeout
  Duration visibility_default = Duration::seconds(30);
  Duration visibility_max = Duration::seconds(12 * 3600);
  Duration delay_max = Duration::seconds(7 * 24 * 3600);
  Duration expiration_max = Duration::seconds(14 * 24 * 3600);
  std::uint32_t receive_count_max = 1000;     // the largest max receive count a send may ask for
  // Capacity: a full queue refuses sends rather than growing without bound.
  std::uint64_t queue_messages_max = 1'000'000;  // per queue channel
  std::size_t channels_max = 10'000;             // per kind
  // Exactly-once publish: keys are remembered this long (and at most this
  // many; under more load the oldest go first, which shortens the window).
  Duration dedup_window = Duration::seconds(120);
  std::size_t dedup_keys_max = 1'000'000;
  // Events store retention when a channel sets none.
  Retention store_retention{Duration{}, 1ull << 30, 0};  // 1 GiB per channel
  // Queries: cached answers live at most this long.
  Duration query_cache_ttl_max = Duration::seconds(3600);
};

}  // namespace sluice::broker
