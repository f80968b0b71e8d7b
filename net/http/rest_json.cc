// Node replies and pushes as JSON (docs/rest.md, "Responses"). Objects keep
// their fields in a fixed, readable order; text that is not UTF-8 never
// makes dump() throw: bodies go out as body_base64, other text with U+FFFD.
#include "net/http/rest_json.h"

#include "core/common/overloaded.h"
#include "net/http/encodings.h"
#include "net/http/rest.h"

namespace sluice::http {

std::string dump(const OJson& j) { return j.dump(-1, ' ', false, OJson::error_handler_t::replace); }

void put_body(OJson& o, const std::string& body) {
  if (valid_utf8(body)) {
    o["body"] = body;
  } else {
    o["body_base64"] = base64_encode(body);
  }
}

OJson tags_json(const broker::Tags& tags) {
  OJson o = OJson::object();
  for (const auto& [k, v] : tags) o[k] = v;
  return o;
}

OJson message_json(const broker::StoredMessage& m) {
  OJson o;
  o["id"] = m.id;
  o["channel"] = m.channel;
  if (m.seq != 0) o["seq"] = m.seq;  // events have none
  o["timestamp"] = format_rfc3339(m.timestamp);
  o["timestamp_ns"] = m.timestamp.ns;
  o["client_id"] = m.client_id;
  o["metadata"] = m.metadata;
  put_body(o, m.body);
  o["tags"] = tags_json(m.tags);
  return o;
}

OJson delivery_json(const broker::Delivery& d) {
  OJson o = message_json(d.message);
  o["receipt"] = d.receipt;
  o["receive_count"] = d.receive_count;
  o["delivered_at"] = format_rfc3339(d.delivered_at);
  o["visible_again_at"] = format_rfc3339(d.visible_again_at);
  if (!d.dead_letter_reason.empty()) o["dead_letter_reason"] = d.dead_letter_reason;
  if (!d.dead_letter_from.empty()) o["dead_letter_from"] = d.dead_letter_from;
  return o;
}

namespace {

OJson published_json(const broker::Published& p) {
  OJson o;
  o["id"] = p.id;
  if (p.seq != 0) o["seq"] = p.seq;
  o["timestamp"] = format_rfc3339(p.timestamp);
  o["timestamp_ns"] = p.timestamp.ns;
  o["duplicate"] = p.duplicate;
  return o;
}

OJson broker_reply_json(const broker::Reply& reply) {
  return std::visit(Overloaded{
                        [](const broker::Done&) { return OJson::object(); },
                        [](const broker::Published& p) { return published_json(p); },
                        [](const broker::SendResult& r) {
                          OJson list = OJson::array();
                          for (const auto& p : r.items) list.push_back(published_json(p));
                          return OJson{{"messages", std::move(list)}};
                        },
                        [](const broker::ReceiveResult& r) {
                          OJson list = OJson::array();
                          for (const auto& d : r.deliveries) list.push_back(delivery_json(d));
                          return OJson{{"messages", std::move(list)}};
                        },
                        [](const broker::AckResult& r) {
                          return OJson{{"acked", r.acked}, {"stale", r.stale}};
                        },
                        [](const broker::Purged& p) { return OJson{{"purged", p.count}}; },
                    },
                    reply);
}

OJson queue_stats_json(const broker::QueueStats& s) {
  return OJson{{"ready", s.ready},         {"delayed", s.delayed},   {"in_flight", s.in_flight},
               {"bytes", s.bytes},         {"sent", s.sent},         {"delivered", s.delivered},
               {"acked", s.acked},         {"rejected", s.rejected}, {"expired", s.expired},
               {"dead_lettered", s.dead_lettered}, {"purged", s.purged}, {"resent", s.resent}};
}

OJson store_stats_json(const broker::StoreStats& s) {
  return OJson{{"first_seq", s.first_seq},
               {"last_seq", s.last_seq},
               {"count", s.count},
               {"bytes", s.bytes},
               {"published", s.published},
               {"trimmed", s.trimmed},
               {"retention",
                {{"age_ms", s.retention.age_max.to_ms()},
                 {"bytes_max", s.retention.bytes_max},
                 {"count_max", s.retention.count_max}}}};
}

OJson rpc_answer_json(const node::RpcAnswer& a) {
  OJson o;
  o["executed"] = a.executed;
  o["error"] = a.error;
  o["metadata"] = a.metadata;
  put_body(o, a.body);
  o["tags"] = tags_json(a.tags);
  o["from_cache"] = a.from_cache;
  return o;
}

OJson reply_body_json(const node::ReplyBody& body) {
  return std::visit(Overloaded{
                        [](const std::monostate&) { return OJson::object(); },
                        [](const broker::Reply& r) { return broker_reply_json(r); },
                        [](const node::RpcAnswer& a) { return rpc_answer_json(a); },
                        [](const std::vector<broker::StoredMessage>& list) {
                          OJson out = OJson::array();
                          for (const auto& m : list) out.push_back(message_json(m));
                          return OJson{{"messages", std::move(out)}};
                        },
                        [](const broker::QueueStats& s) { return queue_stats_json(s); },
                        [](const broker::StoreStats& s) { return store_stats_json(s); },
                        [](const std::vector<node::ChannelInfo>& list) {
                          OJson out = OJson::array();
                          for (const auto& c : list) {
                            out.push_back(OJson{{"kind", c.kind},
                                                {"name", c.name},
                                                {"messages", c.messages},
                                                {"in_flight", c.in_flight},
                                                {"total", c.total},
                                                {"subscribers", c.subscribers}});
                          }
                          return OJson{{"channels", std::move(out)}};
                        },
                        [](const node::ClusterView& v) {
                          OJson voters = OJson::array();
                          for (NodeId id : v.voters) voters.push_back(id.value());
                          return OJson{{"leader", v.leader.value()}, {"voters", std::move(voters)}};
                        },
                    },
                    body);
}

}  // namespace

OJson error_object(std::string_view code, std::string_view message, NodeId leader_hint) {
  OJson e;
  e["code"] = code;
  e["message"] = message;
  if (leader_hint != kNoNode) e["leader_hint"] = leader_hint.value();
  return OJson{{"error", std::move(e)}};
}

OJson reply_json(const node::ClientReply& reply, unsigned* status) {
  if (!reply.status.ok()) {
    *status = http_status(reply.status.code());
    return error_object(code_name(reply.status.code()), reply.status.message(), reply.leader_hint);
  }
  *status = 200;
  return reply_body_json(reply.body);
}

unsigned http_status(Code code) {
  switch (code) {
    case Code::ok: return 200;
    case Code::invalid_argument: return 400;
    case Code::not_found: return 404;
    case Code::timeout: return 504;
    case Code::unavailable: return 503;
    case Code::poisoned: return 503;
    case Code::no_space: return 507;
    case Code::corruption:
    case Code::io_error:
    case Code::version_mismatch: return 500;
  }
  return 500;
}

JsonResponse reply_to_json(const node::ClientReply& reply) {
  JsonResponse r;
  r.body = dump(reply_json(reply, &r.status));
  r.retry = !reply.status.ok() && (reply.status.code() == Code::unavailable || reply.status.code() == Code::poisoned);
  return r;
}

JsonResponse error_to_json(const HttpError& error) {
  return JsonResponse{error.status, dump(error_object(error.code, error.message, kNoNode)), error.status == 503};
}

std::string event_to_json(const node::EventDelivery& d) {
  return dump(OJson{{"type", "event"}, {"message", message_json(d.message)}});
}

std::string store_to_json(const node::StoreDelivery& d) {
  return dump(OJson{{"type", "store"}, {"message", message_json(d.message)}});
}

std::string rpc_incoming_to_json(const node::RpcIncoming& in) {
  // The id is 64 random-based bits: a string, so JavaScript and jq keep every digit.
  return dump(OJson{{"type", "rpc"},
                    {"rpc_id", std::to_string(in.rpc_id)},
                    {"kind", in.kind == node::RpcKind::command ? "command" : "query"},
                    {"message", message_json(in.request)}});
}

}  // namespace sluice::http
