#include "core/broker/commands.h"

#include "core/broker/encoding.h"
#include "core/broker/names.h"
#include "core/common/codec.h"
#include "core/common/overloaded.h"

namespace sluice::broker {
namespace {

// Entry format version: the first byte of every encoded entry.
constexpr std::uint8_t kEntryVersion = 1;

void put_message(Encoder& e, const MessageIn& m) {
  e.str(m.id);
  e.str(m.channel);
  e.str(m.metadata);
  e.str(m.body);
  encoding::put_tags(e, m.tags);
  e.str(m.client_id);
}
MessageIn get_message(Decoder& d) {
  MessageIn m;
  m.id = d.str();
  m.channel = d.str();
  m.metadata = d.str();
  m.body = d.str();
  m.tags = encoding::get_tags(d);
  m.client_id = d.str();
  return m;
}
void put_key(Encoder& e, const IdempotencyKey& k) {
  e.str(k.producer_id);
  e.u64(k.producer_seq);
  e.boolean(k.by_message_id);
}
IdempotencyKey get_key(Decoder& d) {
  IdempotencyKey k;
  k.producer_id = d.str();
  k.producer_seq = d.u64();
  k.by_message_id = d.boolean();
  return k;
}
using encoding::get_retention;
using encoding::put_retention;

Status invalid(std::string message) { return Status(Code::invalid_argument, std::move(message)); }

Status check_duration(const char* what, Duration d, Duration max) {
  if (d.ns < 0) return invalid(std::string(what) + " is negative");
  if (d > max) return invalid(std::string(what) + " " + format_duration(d) + " is over the limit of " + format_duration(max));
  return {};
}

Status check_key(const IdempotencyKey& key, const MessageIn& m, const Limits& limits) {
  if (key.producer_id.size() > limits.client_id_bytes_max) return invalid("producer id is over the size limit");
  if (!key.producer_id.empty() && key.by_message_id) {
    return invalid("an idempotency key is a producer id and sequence, or the message id, not both");
  }
  if (key.by_message_id && m.id.empty()) return invalid("deduplication by message id needs a message id");
  // Without a producer id the key is empty and apply would not deduplicate:
  // refuse rather than let a client believe its retries are safe.
  if (key.producer_id.empty() && key.producer_seq != 0) return invalid("a producer sequence needs a producer id");
  return {};
}

// Configure changes every replica at once: a zero or negative value from a
// mistyped node configuration would refuse every send, or redeliver every
// message at once, cluster-wide.
Status check_state_limits(const StateLimits& l, const Limits& limits) {
  if (l.queue_messages_max == 0) return invalid("queue_messages_max must be positive");
  if (l.channels_max == 0) return invalid("channels_max must be positive");
  if (l.dedup_window.ns < 0) return invalid("dedup window is negative");
  if (l.visibility_default.ns <= 0) return invalid("default visibility must be positive");
  if (Status s = check_duration("default visibility", l.visibility_default, limits.visibility_max); !s.ok()) return s;
  if (l.store_retention.age_max.ns < 0) return invalid("retention age is negative");
  return {};
}

}  // namespace

StateLimits state_limits(const Limits& limits) {
  return StateLimits{limits.queue_messages_max, limits.channels_max, limits.dedup_window, limits.dedup_keys_max,
                     limits.visibility_default, limits.store_retention};
}

const char* command_name(const Command& command) {
  return std::visit(Overloaded{
                        [](const StorePublish&) { return "store-publish"; },
                        [](const QueueSend&) { return "queue-send"; },
                        [](const QueueReceive&) { return "queue-receive"; },
                        [](const QueueAck&) { return "queue-ack"; },
                        [](const QueueReject&) { return "queue-reject"; },
                        [](const QueueExtend&) { return "queue-extend"; },
                        [](const QueueResend&) { return "queue-resend"; },
                        [](const QueuePurge&) { return "queue-purge"; },
                        [](const StoreRetention&) { return "store-retention"; },
                        [](const Configure&) { return "configure"; },
                        [](const Tick&) { return "tick"; },
                        [](const StoreGroupPosition&) { return "store-group-position"; },
                    },
                    command);
}

std::string encode_entry(const Entry& entry) {
  Encoder e;
  e.u8(kEntryVersion);
  e.timestamp(entry.stamp);
  e.u8(static_cast<std::uint8_t>(entry.command.index()));
  std::visit(Overloaded{
                 [&](const StorePublish& c) {
                   put_message(e, c.message);
                   put_key(e, c.key);
                 },
                 [&](const QueueSend& c) {
                   e.u32(static_cast<std::uint32_t>(c.items.size()));
                   for (const QueueItem& i : c.items) {
                     put_message(e, i.message);
                     put_key(e, i.key);
                     e.duration(i.delay);
                     e.duration(i.expiration);
                     e.u32(i.max_receive_count);
                     e.str(i.dead_letter);
                   }
                 },
                 [&](const QueueReceive& c) {
                   e.str(c.channel);
                   e.u32(c.max_messages);
                   e.duration(c.visibility);
                   e.str(c.client_id);
                 },
                 [&](const QueueAck& c) {
                   e.u32(static_cast<std::uint32_t>(c.receipts.size()));
                   for (const std::uint64_t r : c.receipts) e.u64(r);
                 },
                 [&](const QueueReject& c) { e.u64(c.receipt); },
                 [&](const QueueExtend& c) {
                   e.u64(c.receipt);
                   e.duration(c.visibility);
                 },
                 [&](const QueueResend& c) {
                   e.u64(c.receipt);
                   e.str(c.to_channel);
                 },
                 [&](const QueuePurge& c) { e.str(c.channel); },
                 [&](const StoreRetention& c) {
                   e.str(c.channel);
                   put_retention(e, c.retention);
                 },
                 [&](const Configure& c) { encoding::put_state_limits(e, c.limits); },
                 [&](const Tick&) {},
                 [&](const StoreGroupPosition& c) {
                   e.str(c.channel);
                   e.str(c.group);
                   e.u64(c.next_seq);
                 },
             },
             entry.command);
  return e.take();
}

std::optional<Entry> decode_entry(std::string_view bytes) {
  Decoder d(bytes);
  if (d.u8() != kEntryVersion) return std::nullopt;
  Entry entry;
  entry.stamp = d.timestamp();
  switch (d.u8()) {
    case 0: {
      StorePublish c;
      c.message = get_message(d);
      c.key = get_key(d);
      entry.command = std::move(c);
      break;
    }
    case 1: {
      QueueSend c;
      for (std::uint32_t n = d.count(40); n > 0; --n) {
        QueueItem i;
        i.message = get_message(d);
        i.key = get_key(d);
        i.delay = d.duration();
        i.expiration = d.duration();
        i.max_receive_count = d.u32();
        i.dead_letter = d.str();
        c.items.push_back(std::move(i));
      }
      entry.command = std::move(c);
      break;
    }
    case 2: {
      QueueReceive c;
      c.channel = d.str();
      c.max_messages = d.u32();
      c.visibility = d.duration();
      c.client_id = d.str();
      entry.command = std::move(c);
      break;
    }
    case 3: {
      QueueAck c;
      for (std::uint32_t n = d.count(8); n > 0; --n) c.receipts.push_back(d.u64());
      entry.command = std::move(c);
      break;
    }
    case 4: entry.command = QueueReject{d.u64()}; break;
    case 5: {
      QueueExtend c;
      c.receipt = d.u64();
      c.visibility = d.duration();
      entry.command = c;
      break;
    }
    case 6: {
      QueueResend c;
      c.receipt = d.u64();
      c.to_channel = d.str();
      entry.command = std::move(c);
      break;
    }
    case 7: entry.command = QueuePurge{d.str()}; break;
    case 8: {
      StoreRetention c;
      c.channel = d.str();
      c.retention = get_retention(d);
      entry.command = std::move(c);
      break;
    }
    case 9: entry.command = Configure{encoding::get_state_limits(d)}; break;
    case 10: entry.command = Tick{}; break;
    case 11: {
      StoreGroupPosition c;
      c.channel = d.str();
      c.group = d.str();
      c.next_seq = d.u64();
      entry.command = std::move(c);
      break;
    }
    default: return std::nullopt;
  }
  if (!d.done()) return std::nullopt;
  return entry;
}

Status validate_message(const MessageIn& m, const Limits& limits) {
  if (Status s = validate_channel(m.channel); !s.ok()) return s;
  if (m.body.size() > limits.body_bytes_max) {
    return invalid("body is " + std::to_string(m.body.size()) + " bytes; the limit is " +
                   std::to_string(limits.body_bytes_max));
  }
  if (m.metadata.size() > limits.metadata_bytes_max) {
    return invalid("metadata is " + std::to_string(m.metadata.size()) + " bytes; the limit is " +
                   std::to_string(limits.metadata_bytes_max));
  }
  if (m.tags.size() > limits.tags_count_max) {
    return invalid(std::to_string(m.tags.size()) + " tags; the limit is " + std::to_string(limits.tags_count_max));
  }
  for (const auto& [k, v] : m.tags) {
    if (k.empty()) return invalid("a tag has an empty key");
    if (k.size() + v.size() > limits.tag_bytes_max) {
      return invalid("tag '" + k.substr(0, 64) + "' is over the limit of " + std::to_string(limits.tag_bytes_max) +
                     " bytes");
    }
  }
  if (m.id.size() > limits.message_id_bytes_max) return invalid("message id is over the size limit");
  if (m.client_id.size() > limits.client_id_bytes_max) return invalid("client id is over the size limit");
  return {};
}

Status validate(const Command& command, const Limits& limits) {
  return std::visit(
      Overloaded{
          [&](const StorePublish& c) -> Status {
            if (Status s = validate_message(c.message, limits); !s.ok()) return s;
            return check_key(c.key, c.message, limits);
          },
          [&](const QueueSend& c) -> Status {
            if (c.items.empty()) return invalid("a send needs at least one message");
            if (c.items.size() > limits.send_batch_max) {
              return invalid("batch of " + std::to_string(c.items.size()) + " messages; the limit is " +
                             std::to_string(limits.send_batch_max));
            }
            for (const QueueItem& i : c.items) {
              if (Status s = validate_message(i.message, limits); !s.ok()) return s;
              if (Status s = check_key(i.key, i.message, limits); !s.ok()) return s;
              if (Status s = check_duration("delay", i.delay, limits.delay_max); !s.ok()) return s;
              if (Status s = check_duration("expiration", i.expiration, limits.expiration_max); !s.ok()) return s;
              if (i.max_receive_count > limits.receive_count_max) {
                return invalid("max receive count " + std::to_string(i.max_receive_count) + " is over the limit of " +
                               std::to_string(limits.receive_count_max));
              }
              if (!i.dead_letter.empty()) {
                if (Status s = validate_channel(i.dead_letter); !s.ok()) return invalid("dead-letter " + s.message());
                if (i.dead_letter == i.message.channel) return invalid("a queue cannot be its own dead-letter queue");
              }
            }
            return {};
          },
          [&](const QueueReceive& c) -> Status {
            if (Status s = validate_channel(c.channel); !s.ok()) return s;
            if (c.client_id.size() > limits.client_id_bytes_max) return invalid("client id is over the size limit");
            if (c.max_messages == 0) return invalid("receive at least one message");
            if (c.max_messages > limits.receive_batch_max) {
              return invalid("receive of " + std::to_string(c.max_messages) + " messages; the limit is " +
                             std::to_string(limits.receive_batch_max));
            }
            return check_duration("visibility", c.visibility, limits.visibility_max);
          },
          [&](const QueueAck& c) -> Status {
            if (c.receipts.empty()) return invalid("ack needs at least one receipt");
            if (c.receipts.size() > limits.ack_batch_max) return invalid("too many receipts in one ack");
            return {};
          },
          [&](const QueueReject&) -> Status { return {}; },
          [&](const QueueExtend& c) -> Status {
            if (c.visibility.ns <= 0) return invalid("visibility must be positive");
            return check_duration("visibility", c.visibility, limits.visibility_max);
          },
          [&](const QueueResend& c) -> Status { return validate_channel(c.to_channel); },
          [&](const QueuePurge& c) -> Status { return validate_channel(c.channel); },
          [&](const StoreRetention& c) -> Status {
            if (c.retention.age_max.ns < 0) return invalid("retention age is negative");
            return validate_channel(c.channel);
          },
          [&](const Configure& c) -> Status { return check_state_limits(c.limits, limits); },
          [&](const Tick&) -> Status { return {}; },
          [&](const StoreGroupPosition& c) -> Status {
            if (c.group.empty()) return invalid("a group position needs a group name");
            if (Status s = validate_group(c.group); !s.ok()) return s;
            if (c.next_seq == 0) return invalid("a group position starts at sequence 1");
            return validate_channel(c.channel);
          },
      },
      command);
}

}  // namespace sluice::broker
