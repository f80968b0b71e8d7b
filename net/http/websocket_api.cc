#include "net/http/websocket_api.h"

#include "net/http/json_fields.h"
#include "net/http/rest_json.h"

namespace sluice::http {
namespace {

using namespace detail;  // NOLINT: the parsing helpers this file shares with rest_parse.cc

constexpr std::size_t kGroupBytesMax = 256;

std::string group_of(const Query& q) {
  std::string g = q.get("group").value_or("");
  if (g.size() > kGroupBytesMax) fail("query parameter 'group' is over " + std::to_string(kGroupBytesMax) + " bytes");
  if (g.find('\n') != std::string::npos) fail("query parameter 'group' cannot hold a newline");
  return g;
}

// from=new|first|last|seq:N|time:T|delta:D (T: RFC 3339 or ns since the
// epoch; D: a duration with its unit, "90s", "5m", "1500ms").
node::StoreStart start_of(const std::string& from) {
  node::StoreStart s;
  auto bad = [&]() {
    fail("query parameter 'from' is " + quote(from) + "; use new, first, last, seq:N, time:T or delta:D");
  };
  if (from.empty() || from == "new") return s;
  if (from == "first") {
    s.from = node::StartFrom::first;
  } else if (from == "last") {
    s.from = node::StartFrom::last;
  } else if (from.starts_with("seq:")) {
    s.from = node::StartFrom::sequence;
    const auto n = parse_u64(std::string_view(from).substr(4));
    if (!n) bad();
    s.seq = *n;
    if (s.seq == 0) fail("sequences start at 1 (from=seq:1 is the first message)");
  } else if (from.starts_with("time:")) {
    s.from = node::StartFrom::time;
    const std::string t = from.substr(5);
    if (auto ts = parse_rfc3339(t)) {
      s.time = *ts;
    } else {
      const auto ns = parse_u64(t);
      if (!ns || *ns > static_cast<std::uint64_t>(INT64_MAX)) bad();
      s.time = Timestamp{static_cast<std::int64_t>(*ns)};
    }
  } else if (from.starts_with("delta:")) {
    s.from = node::StartFrom::time_delta;
    const std::string d = from.substr(6);
    // A bare number would be seconds to parse_duration; make the unit explicit.
    if (d.empty() || (d.back() >= '0' && d.back() <= '9') || !parse_duration(d, &s.delta)) {
      fail("from=delta:D needs a duration with its unit, like delta:90s, delta:5m or delta:1500ms");
    }
  } else {
    bad();
  }
  return s;
}

WsSpec spec_of(const RestOptions& options, std::string_view target) {
  const auto t = split_target(target);
  if (!t) fail("the request target is not a path with well-formed %-escapes");
  const auto& seg = t->segments;
  WsSpec spec;
  if (seg.size() == 4 && seg[0] == "v1" && seg[1] == "ws" && seg[2] == "events") {
    const Query q(t->query, {"group"});
    spec.kind = StreamKind::events;
    spec.channel = seg[3];
    check_pattern(spec.channel);
    spec.group = group_of(q);
  } else if (seg.size() == 4 && seg[0] == "v1" && seg[1] == "ws" && seg[2] == "store") {
    const Query q(t->query, {"from", "group"});
    spec.kind = StreamKind::store;
    spec.channel = seg[3];
    check_channel(spec.channel);
    spec.start = start_of(q.get("from").value_or(""));
    spec.group = group_of(q);
  } else if (seg.size() == 4 && seg[0] == "v1" && seg[1] == "ws" && seg[2] == "queues") {
    const Query q(t->query, {"prefetch", "visibility_ms", "client_id"});
    spec.kind = StreamKind::queue;
    spec.channel = seg[3];
    check_channel(spec.channel);
    const std::uint64_t prefetch = q.u64("prefetch").value_or(1);
    if (prefetch == 0 || prefetch > options.limits.receive_batch_max) {
      fail("query parameter 'prefetch' must be 1 to " + std::to_string(options.limits.receive_batch_max));
    }
    spec.prefetch = static_cast<std::uint32_t>(prefetch);
    const std::uint64_t vis = q.u64("visibility_ms").value_or(0);
    if (vis > static_cast<std::uint64_t>(options.limits.visibility_max.to_ms())) {
      fail("query parameter 'visibility_ms' is " + std::to_string(vis) + "; the limit is " +
           std::to_string(options.limits.visibility_max.to_ms()) + " ms");
    }
    spec.visibility = Duration::millis(static_cast<std::int64_t>(vis));
    spec.client_id = q.get("client_id").value_or("");
    if (spec.client_id.size() > options.limits.client_id_bytes_max) fail("client id is over the size limit");
  } else if (seg.size() == 5 && seg[0] == "v1" && seg[1] == "ws" && seg[2] == "rpc" &&
             (seg[3] == "commands" || seg[3] == "queries")) {
    const Query q(t->query, {"group"});
    spec.kind = StreamKind::rpc;
    spec.rpc_kind = seg[3] == "commands" ? node::RpcKind::command : node::RpcKind::query;
    spec.channel = seg[4];
    check_channel(spec.channel);
    spec.group = group_of(q);
  } else {
    fail(HttpError{404, "not_found",
                   "no WebSocket stream at " + quote(target.substr(0, target.find('?'))) +
                       "; see docs/rest.md (a channel name holding '/' is written %2F in a path)",
                   ""});
  }
  return spec;
}

// {"ack": 5} or {"ack": [5, 6]}
std::vector<std::uint64_t> receipts_of(const Fields& f, std::string_view op) {
  const Json* v = f.raw(op);
  if (v != nullptr && v->is_number_unsigned()) return {v->get<std::uint64_t>()};
  if (v != nullptr && v->is_array()) return *f.u64_array(op);
  fail(f.name(op) + " must be a receipt or an array of receipts");
}

void queue_frame(const RestOptions& options, const Fields& f, WsFrame& out) {
  const auto& lim = options.limits;
  if (f.has("ack")) {
    broker::QueueAck ack{receipts_of(f, "ack")};
    if (ack.receipts.empty()) fail(f.name("ack") + " is empty");
    if (ack.receipts.size() > lim.ack_batch_max) {
      fail(std::to_string(ack.receipts.size()) + " receipts; the limit is " + std::to_string(lim.ack_batch_max));
    }
    out.answers = ack.receipts;
    out.request = node::Write{std::move(ack), {}};
  } else if (f.has("reject")) {
    const std::uint64_t r = f.u64_required("reject");
    out.answers = {r};
    out.request = node::Write{broker::QueueReject{r}, {}};
  } else if (f.has("extend")) {
    const std::uint64_t r = f.u64_required("extend");
    const auto vis = f.millis("visibility_ms", lim.visibility_max);
    if (!vis || vis->ns <= 0) fail(f.name("visibility_ms") + " is required and must be positive");
    out.request = node::Write{broker::QueueExtend{r, *vis}, {}};
  } else if (f.has("resend")) {
    const std::uint64_t r = f.u64_required("resend");
    const std::string to = f.str_required("to");
    check_channel(to, "field 'to': ");
    out.answers = {r};
    out.request = node::Write{broker::QueueResend{r, to}, {}};
  } else {
    fail("a queue stream takes {\"ack\": R}, {\"reject\": R}, {\"extend\": R, \"visibility_ms\": V} or "
         "{\"resend\": R, \"to\": C}");
  }
}

void parse_frame(const RestOptions& options, const WsSpec& spec, std::string_view text, WsFrame& out) {
  const Json j = parse_object(text, "the frame");
  if (const auto it = j.find("ref"); it != j.end() && !it->is_null()) {
    if (!it->is_string() && !it->is_number_unsigned()) fail("field 'ref' must be a string or a non-negative integer");
    if (it->is_string() && it->get_ref<const std::string&>().size() > 256) fail("field 'ref' is over 256 bytes");
    out.ref = it->dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  switch (spec.kind) {
    case StreamKind::queue: {
      const int ops = static_cast<int>(j.contains("ack")) + static_cast<int>(j.contains("reject")) +
                      static_cast<int>(j.contains("extend")) + static_cast<int>(j.contains("resend"));
      if (ops > 1) fail("one of ack, reject, extend or resend per frame");
      const Fields f(j, {"ref", "ack", "reject", "extend", "resend", "visibility_ms", "to"});
      if (f.has("visibility_ms") && !f.has("extend")) fail("field 'visibility_ms' goes with extend");
      if (f.has("to") && !f.has("resend")) fail("field 'to' goes with resend");
      queue_frame(options, f, out);
      return;
    }
    case StreamKind::rpc: {
      const Fields f(j, {"ref", "respond", "executed", "error", "metadata", "body", "body_base64", "tags"});
      out.request = rpc_respond(options, f, "respond");
      return;
    }
    case StreamKind::events:
    case StreamKind::store: fail("this stream only sends; it takes no frames");
  }
}

}  // namespace

HttpResult<WsSpec> parse_ws_target(const RestOptions& options, std::string_view target) {
  try {
    return spec_of(options, target);
  } catch (const Reject& r) {
    return r.error;
  }
}

std::optional<node::RequestBody> subscribe_request(const WsSpec& spec, std::uint64_t sub_id) {
  switch (spec.kind) {
    case StreamKind::events: return node::SubscribeEvents{sub_id, spec.channel, spec.group};
    case StreamKind::store: return node::SubscribeStore{sub_id, spec.channel, spec.group, spec.start};
    case StreamKind::rpc: return node::SubscribeRpc{sub_id, spec.rpc_kind, spec.channel, spec.group};
    case StreamKind::queue: return std::nullopt;
  }
  return std::nullopt;
}

node::Write queue_receive(const WsSpec& spec, std::uint32_t max, Duration wait) {
  SLUICE_ASSERT(spec.kind == StreamKind::queue, "a receive belongs to a queue stream");
  SLUICE_ASSERT(max >= 1 && max <= spec.prefetch, "a stream asks for at most its prefetch");
  return node::Write{broker::QueueReceive{spec.channel, max, spec.visibility, spec.client_id}, wait};
}

WsFrame parse_ws_frame(const RestOptions& options, const WsSpec& spec, std::string_view text) {
  WsFrame out;
  try {
    parse_frame(options, spec, text, out);
  } catch (const Reject& r) {
    out.error = r.error;
    out.answers.clear();
  }
  return out;
}

namespace {

OJson with_ref(OJson frame, const std::string& ref) {
  if (!ref.empty()) frame["ref"] = OJson::parse(ref);  // our own dump of a string or number
  return frame;
}

const char* kind_name(StreamKind k) {
  switch (k) {
    case StreamKind::events: return "events";
    case StreamKind::store: return "store";
    case StreamKind::queue: return "queue";
    case StreamKind::rpc: return "rpc";
  }
  return "?";
}

}  // namespace

std::string ws_subscribed_frame(const WsSpec& spec) {
  return dump(OJson{{"type", "subscribed"}, {"stream", kind_name(spec.kind)}, {"channel", spec.channel}});
}

std::string ws_reply_frame(const std::string& ref, const node::ClientReply& reply) {
  unsigned status = 0;
  OJson body = reply_json(reply, &status);
  OJson frame = with_ref(OJson{{"type", "reply"}}, ref);
  frame["status"] = status;
  if (reply.status.ok()) {
    frame["result"] = std::move(body);
  } else {
    frame["error"] = std::move(body["error"]);
  }
  return dump(frame);
}

std::string ws_error_frame(const std::string& ref, const HttpError& error) {
  OJson frame = with_ref(OJson{{"type", "reply"}}, ref);
  frame["status"] = error.status;
  frame["error"] = error_object(error.code, error.message, kNoNode)["error"];
  return dump(frame);
}

std::string ws_stream_error_frame(const Status& status) {
  return dump(OJson{{"type", "error"}, {"error", error_object(code_name(status.code()), status.message(), kNoNode)["error"]}});
}

std::string ws_queue_frame(const broker::Delivery& delivery) {
  return dump(OJson{{"type", "queue"}, {"message", delivery_json(delivery)}});
}

}  // namespace sluice::http
