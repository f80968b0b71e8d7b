#include "net/server/limit_settings.h"

#include <charconv>

#include "core/broker/commands.h"
#include "core/common/time.h"

namespace sluice::net {
namespace {

using Unit = LimitSetting::Unit;

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;
constexpr std::uint64_t kGiB = 1024 * kMiB;
constexpr std::uint64_t kSecond = 1'000'000'000;
constexpr std::uint64_t kHour = 3600 * kSecond;
constexpr std::uint64_t kDay = 24 * kHour;

// The largest message a node may be configured to take, body, metadata and
// tags together. One message is one Raft proposal at least, and Raft admits
// at most 16 MiB of uncommitted bytes (raft::Options) and frames carry at
// most 64 MiB (wire::Limits): half the admission bound leaves room for the
// rest of a batch and for the other writers.
constexpr std::uint64_t kMessageBytesMax = 8 * kMiB;

Duration ns(std::uint64_t v) { return Duration{static_cast<std::int64_t>(v)}; }
std::uint64_t ns_of(Duration d) { return static_cast<std::uint64_t>(d.ns); }

}  // namespace

const std::vector<LimitSetting>& limit_settings() {
  using L = broker::Limits;
  static const std::vector<LimitSetting> table = {
      {"body-bytes-max", "SLUICE_BODY_BYTES_MAX", Unit::bytes, 1, kMessageBytesMax,
       [](const L& l) -> std::uint64_t { return l.body_bytes_max; },
       [](L& l, std::uint64_t v) { l.body_bytes_max = v; }, "largest message body"},
      {"metadata-bytes-max", "SLUICE_METADATA_BYTES_MAX", Unit::bytes, 0, kMiB,
       [](const L& l) -> std::uint64_t { return l.metadata_bytes_max; },
       [](L& l, std::uint64_t v) { l.metadata_bytes_max = v; }, "largest message metadata"},
      {"tags-max", "SLUICE_TAGS_MAX", Unit::count, 0, 1024,
       [](const L& l) -> std::uint64_t { return l.tags_count_max; },
       [](L& l, std::uint64_t v) { l.tags_count_max = v; }, "tags per message"},
      {"tag-bytes-max", "SLUICE_TAG_BYTES_MAX", Unit::bytes, 1, 64 * kKiB,
       [](const L& l) -> std::uint64_t { return l.tag_bytes_max; },
       [](L& l, std::uint64_t v) { l.tag_bytes_max = v; }, "key plus value of one tag"},
      {"send-batch-max", "SLUICE_SEND_BATCH_MAX", Unit::count, 1, 10'000,
       [](const L& l) -> std::uint64_t { return l.send_batch_max; },
       [](L& l, std::uint64_t v) { l.send_batch_max = v; }, "messages in one queue send"},
      {"receive-batch-max", "SLUICE_RECEIVE_BATCH_MAX", Unit::count, 1, 10'000,
       [](const L& l) -> std::uint64_t { return l.receive_batch_max; },
       [](L& l, std::uint64_t v) { l.receive_batch_max = v; }, "messages in one queue receive or peek"},
      {"ack-batch-max", "SLUICE_ACK_BATCH_MAX", Unit::count, 1, 10'000,
       [](const L& l) -> std::uint64_t { return l.ack_batch_max; },
       [](L& l, std::uint64_t v) { l.ack_batch_max = v; }, "receipts in one ack"},
      {"wait-max", "SLUICE_WAIT_MAX", Unit::duration, 1'000'000, kHour,
       [](const L& l) { return ns_of(l.wait_max); }, [](L& l, std::uint64_t v) { l.wait_max = ns(v); },
       "longest receive wait and RPC timeout"},
      {"visibility-default", "SLUICE_VISIBILITY_DEFAULT", Unit::duration, 1'000'000, 7 * kDay,
       [](const L& l) { return ns_of(l.visibility_default); },
       [](L& l, std::uint64_t v) { l.visibility_default = ns(v); },
       "visibility timeout of a receive that names none"},
      {"visibility-max", "SLUICE_VISIBILITY_MAX", Unit::duration, 1'000'000, 7 * kDay,
       [](const L& l) { return ns_of(l.visibility_max); }, [](L& l, std::uint64_t v) { l.visibility_max = ns(v); },
       "longest visibility timeout a receive or extend may ask for"},
      {"delay-max", "SLUICE_DELAY_MAX", Unit::duration, 0, 365 * kDay,
       [](const L& l) { return ns_of(l.delay_max); }, [](L& l, std::uint64_t v) { l.delay_max = ns(v); },
       "longest queue message delay"},
      {"expiration-max", "SLUICE_EXPIRATION_MAX", Unit::duration, 0, 365 * kDay,
       [](const L& l) { return ns_of(l.expiration_max); }, [](L& l, std::uint64_t v) { l.expiration_max = ns(v); },
       "longest queue message expiration"},
      {"receive-count-max", "SLUICE_RECEIVE_COUNT_MAX", Unit::count, 1, 1'000'000,
       [](const L& l) -> std::uint64_t { return l.receive_count_max; },
       [](L& l, std::uint64_t v) { l.receive_count_max = static_cast<std::uint32_t>(v); },
       "largest max receive count a send may ask for"},
      {"queue-messages-max", "SLUICE_QUEUE_MESSAGES_MAX", Unit::count, 1, 1'000'000'000,
       [](const L& l) { return l.queue_messages_max; }, [](L& l, std::uint64_t v) { l.queue_messages_max = v; },
       "messages per queue; a full queue refuses sends"},
      {"channels-max", "SLUICE_CHANNELS_MAX", Unit::count, 1, 1'000'000,
       [](const L& l) -> std::uint64_t { return l.channels_max; },
       [](L& l, std::uint64_t v) { l.channels_max = v; }, "queues, and events store channels, each"},
      {"dedup-window", "SLUICE_DEDUP_WINDOW", Unit::duration, 0, 7 * kDay,
       [](const L& l) { return ns_of(l.dedup_window); }, [](L& l, std::uint64_t v) { l.dedup_window = ns(v); },
       "how long idempotency keys are remembered; 0 turns deduplication off"},
      {"dedup-keys-max", "SLUICE_DEDUP_KEYS_MAX", Unit::count, 0, 100'000'000,
       [](const L& l) -> std::uint64_t { return l.dedup_keys_max; },
       [](L& l, std::uint64_t v) { l.dedup_keys_max = v; },
       "idempotency keys remembered; beyond, the oldest go first"},
      {"store-retention-bytes", "SLUICE_STORE_RETENTION_BYTES", Unit::bytes, 0, 1024 * kGiB,
       [](const L& l) { return l.store_retention.bytes_max; },
       [](L& l, std::uint64_t v) { l.store_retention.bytes_max = v; },
       "events store bytes kept per channel that sets no retention; 0: no bound"},
      {"store-retention-age", "SLUICE_STORE_RETENTION_AGE", Unit::duration, 0, 3650 * kDay,
       [](const L& l) { return ns_of(l.store_retention.age_max); },
       [](L& l, std::uint64_t v) { l.store_retention.age_max = ns(v); },
       "events store message age kept, likewise; 0: no bound"},
      {"store-retention-count", "SLUICE_STORE_RETENTION_COUNT", Unit::count, 0, 1'000'000'000'000,
       [](const L& l) { return l.store_retention.count_max; },
       [](L& l, std::uint64_t v) { l.store_retention.count_max = v; },
       "events store messages kept, likewise; 0: no bound"},
      {"query-cache-ttl-max", "SLUICE_QUERY_CACHE_TTL_MAX", Unit::duration, 0, 7 * kDay,
       [](const L& l) { return ns_of(l.query_cache_ttl_max); },
       [](L& l, std::uint64_t v) { l.query_cache_ttl_max = ns(v); }, "longest a query answer may be cached"},
  };
  return table;
}

Result<std::uint64_t> parse_limit(const LimitSetting& setting, const std::string& text, const std::string& source) {
  const auto bad = [&](const std::string& expected) {
    return Status(Code::invalid_argument, source + ": '" + text + "' is not " + expected + " from " +
                                              format_limit(setting, setting.lo) + " to " +
                                              format_limit(setting, setting.hi));
  };
  std::uint64_t value = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) {
    switch (setting.unit) {
      case Unit::count: return bad("a whole number");
      case Unit::bytes: return bad("a size (1048576, 64KiB, 1MiB, 1GiB)");
      case Unit::duration: return bad("a duration (500ms, 30s, 2m, 12h, 7d)");
    }
  }
  const std::string suffix(ptr, end);
  std::uint64_t scale = 1;
  switch (setting.unit) {
    case Unit::count:
      if (!suffix.empty()) return bad("a whole number");
      break;
    case Unit::bytes:
      if (suffix == "KiB") scale = kKiB;
      else if (suffix == "MiB") scale = kMiB;
      else if (suffix == "GiB") scale = kGiB;
      else if (!suffix.empty()) return bad("a size (1048576, 64KiB, 1MiB, 1GiB)");
      break;
    case Unit::duration: {
      Duration d;
      if (!parse_duration(text, &d)) return bad("a duration (500ms, 30s, 2m, 12h, 7d)");
      value = ns_of(d);
      break;
    }
  }
  if (value > setting.hi / scale) return bad(setting.unit == Unit::count ? "a whole number" : "a value");
  value *= scale;
  if (value < setting.lo || value > setting.hi) return bad(setting.unit == Unit::count ? "a whole number" : "a value");
  return value;
}

std::string format_limit(const LimitSetting& setting, std::uint64_t value) {
  struct Step {
    std::uint64_t size;
    const char* name;
  };
  auto largest = [value](std::initializer_list<Step> steps, const char* plain) {
    for (const Step& s : steps) {
      if (value != 0 && value % s.size == 0) return std::to_string(value / s.size) + s.name;
    }
    return std::to_string(value) + plain;
  };
  switch (setting.unit) {
    case Unit::count: return std::to_string(value);
    case Unit::bytes: return largest({{kGiB, "GiB"}, {kMiB, "MiB"}, {kKiB, "KiB"}}, "");
    case Unit::duration:
      if (value == 0) return "0";
      return largest({{kDay, "d"}, {kHour, "h"}, {60 * kSecond, "m"}, {kSecond, "s"}, {1'000'000, "ms"}}, "ns");
  }
  return std::to_string(value);
}

bool is_replicated(const LimitSetting& setting) {
  const broker::Limits defaults;
  broker::Limits changed = defaults;
  setting.set(changed, setting.get(defaults) + 1);
  return !(broker::state_limits(changed) == broker::state_limits(defaults));
}

Status check_limits(const broker::Limits& l) {
  if (l.visibility_default > l.visibility_max) {
    return Status(Code::invalid_argument, "visibility-default (" + format_duration(l.visibility_default) +
                                              ") is over visibility-max (" + format_duration(l.visibility_max) + ")");
  }
  const std::uint64_t message = l.body_bytes_max + l.metadata_bytes_max + l.tags_count_max * l.tag_bytes_max;
  if (message > kMessageBytesMax) {
    return Status(Code::invalid_argument,
                  "body-bytes-max + metadata-bytes-max + tags-max * tag-bytes-max is " + std::to_string(message) +
                      " bytes, over the 8 MiB a message may take (a message is one Raft proposal)");
  }
  return {};
}

}  // namespace sluice::net
