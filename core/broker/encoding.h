// The encodings that commands (log entries) and state records share, so a
// field is written one way wherever it is stored. Private to core/broker
// (and its tests).
#pragma once

#include <string>

#include "core/broker/commands.h"
#include "core/common/bytes.h"
#include "core/common/codec.h"

namespace sluice::broker::encoding {

inline void put_tags(Encoder& e, const Tags& tags) {
  e.u32(static_cast<std::uint32_t>(tags.size()));
  for (const auto& [k, v] : tags) {
    e.str(k);
    e.str(v);
  }
}
inline Tags get_tags(Decoder& d) {
  Tags tags;
  for (std::uint32_t n = d.count(8); n > 0; --n) {
    std::string k = d.str();
    tags[std::move(k)] = d.str();
  }
  return tags;
}

inline void put_retention(Encoder& e, const Retention& r) {
  e.duration(r.age_max);
  e.u64(r.bytes_max);
  e.u64(r.count_max);
}
inline Retention get_retention(Decoder& d) {
  Retention r;
  r.age_max = d.duration();
  r.bytes_max = d.u64();
  r.count_max = d.u64();
  return r;
}

inline void put_state_limits(Encoder& e, const StateLimits& l) {
  e.u64(l.queue_messages_max);
  e.u64(l.channels_max);
  e.duration(l.dedup_window);
  e.u64(l.dedup_keys_max);
  e.duration(l.visibility_default);
  put_retention(e, l.store_retention);
}
inline StateLimits get_state_limits(Decoder& d) {
  StateLimits l;
  l.queue_messages_max = d.u64();
  l.channels_max = d.u64();
  l.dedup_window = d.duration();
  l.dedup_keys_max = d.u64();
  l.visibility_default = d.duration();
  l.store_retention = get_retention(d);
  return l;
}

// The key of a queue ('Q') or events store ('S') message record: records
// sort by channel, then sequence (names never hold '\0').
inline std::string message_key(char prefix, const std::string& channel, std::uint64_t seq) {
  std::string k(1, prefix);
  k += channel;
  k.push_back('\0');
  put_u64_be(k, seq);
  return k;
}

}  // namespace sluice::broker::encoding
