// Text forms of the broker's replies and reads, for comparing two states (or
// a state and the model) with a readable failure. Every field that a client
// can observe is printed; errors print their code only, since the model
// does not word its messages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/broker/state.h"
#include "core/common/overloaded.h"

namespace sluice::broker::testing {

inline std::string show(Timestamp t) { return std::to_string(t.ns / 1'000'000) + "ms"; }

inline std::string show(const StoredMessage& m) {
  std::string s = "{" + m.channel + "#" + std::to_string(m.seq) + " id=" + m.id + " body=" + m.body;
  if (!m.metadata.empty()) s += " md=" + m.metadata;
  for (const auto& [k, v] : m.tags) s += " tag:" + k + "=" + v;
  if (!m.client_id.empty()) s += " client=" + m.client_id;
  return s + " at=" + show(m.timestamp) + "}";
}
inline std::string show(const std::vector<StoredMessage>& ms) {
  std::string s = "[";
  for (const StoredMessage& m : ms) s += show(m);
  return s + "]";
}
inline std::string show(const Published& p) {
  return "published{" + p.id + " seq=" + std::to_string(p.seq) + " at=" + show(p.timestamp) +
         (p.duplicate ? " duplicate" : "") + "}";
}
inline std::string show(const Delivery& d) {
  std::string s = "delivery{" + show(d.message) + " receipt=" + std::to_string(d.receipt) +
                  " count=" + std::to_string(d.receive_count) + " at=" + show(d.delivered_at) +
                  " until=" + show(d.visible_again_at);
  if (!d.dead_letter_reason.empty()) s += " reason=" + d.dead_letter_reason + " from=" + d.dead_letter_from;
  return s + "}";
}
inline std::string show(const Reply& r) {
  return std::visit(Overloaded{
                        [](const Done&) -> std::string { return "done"; },
                        [](const Published& p) { return show(p); },
                        [](const SendResult& s) {
                          std::string out = "sent[";
                          for (const Published& p : s.items) out += show(p);
                          return out + "]";
                        },
                        [](const ReceiveResult& rr) {
                          std::string out = "received[";
                          for (const Delivery& d : rr.deliveries) out += show(d);
                          return out + "]";
                        },
                        [](const AckResult& a) {
                          std::string out = "acked " + std::to_string(a.acked) + " stale[";
                          for (const std::uint64_t s : a.stale) out += std::to_string(s) + " ";
                          return out + "]";
                        },
                        [](const Purged& p) { return "purged " + std::to_string(p.count); },
                    },
                    r);
}
inline std::string show(const Result<Reply>& r) {
  return r.ok() ? show(*r) : std::string("error ") + code_name(r.status().code());
}
inline std::string show(const QueueStats& s) {
  std::string out;
  for (const auto& [name, v] :
       {std::pair("ready", s.ready), {"delayed", s.delayed}, {"in_flight", s.in_flight}, {"bytes", s.bytes},
        {"sent", s.sent}, {"delivered", s.delivered}, {"acked", s.acked}, {"rejected", s.rejected},
        {"expired", s.expired}, {"dead_lettered", s.dead_lettered}, {"purged", s.purged}, {"resent", s.resent}}) {
    out += std::string(name) + "=" + std::to_string(v) + " ";
  }
  return out;
}
inline std::string show(const StoreStats& s) {
  std::string out;
  for (const auto& [name, v] : {std::pair("first", s.first_seq), {"last", s.last_seq}, {"count", s.count},
                                {"bytes", s.bytes}, {"published", s.published}, {"trimmed", s.trimmed},
                                {"keep_bytes", s.retention.bytes_max}, {"keep_count", s.retention.count_max}}) {
    out += std::string(name) + "=" + std::to_string(v) + " ";
  }
  return out + "keep_age=" + std::to_string(s.retention.age_max.ns);
}
template <class T>
std::string show(const std::optional<T>& v) {
  return v ? show(*v) : "none";
}

}  // namespace sluice::broker::testing
