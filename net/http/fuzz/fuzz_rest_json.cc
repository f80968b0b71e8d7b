// libFuzzer target for the HTTP API's parsing (issue 6, item 1): arbitrary
// bytes split into method, target and body go through parse_request,
// parse_ws_target and parse_ws_frame; whatever parses is answered through
// reply_to_json and the push renderers with the input's own bytes in every
// text field. Nothing may crash, leak, hang or trip a sanitizer, and every
// refusal must be a well-formed HTTP error.
//
// Input: METHOD '\n' TARGET '\n' BODY (missing parts are empty).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/overloaded.h"
#include "net/http/rest.h"
#include "net/http/websocket_api.h"

namespace {

using namespace sluice;        // NOLINT: a fuzz target's one file
using namespace sluice::http;  // NOLINT

void check_error(const HttpError& e) {
  SLUICE_ASSERT(e.status >= 400 && e.status < 600, "an HttpError is a 4xx or 5xx");
  SLUICE_ASSERT(!e.code.empty() && !e.message.empty(), "an HttpError says what and why");
  SLUICE_ASSERT((e.status == 405) == !e.allow.empty(), "Allow comes with 405 and only with it");
  const JsonResponse r = error_to_json(e);
  SLUICE_ASSERT(r.status == e.status && r.body.starts_with("{\"error\":"), "errors render as an error object");
}

broker::StoredMessage stored(const broker::MessageIn& m, std::uint64_t seq) {
  return broker::StoredMessage{m.id, m.channel, m.metadata, m.body, m.tags, m.client_id, Timestamp{-1}, seq};
}

// A reply for the request, built from its own bytes, rendered.
void answer(const node::ClientRequest& request, std::string_view noise) {
  const std::string text(noise);
  node::ReplyBody body = std::visit(
      Overloaded{
          [&](const node::PublishEvent& p) -> node::ReplyBody {
            (void)event_to_json(node::EventDelivery{1, stored(p.message, 0)});
            return broker::Reply{broker::Published{p.message.id, 0, Timestamp{INT64_MIN}, false}};
          },
          [&](const node::Write& w) -> node::ReplyBody {
            if (const auto* s = std::get_if<broker::StorePublish>(&w.command)) {
              (void)store_to_json(node::StoreDelivery{1, stored(s->message, 1)});
              return broker::Reply{broker::Published{s->message.id, 1, Timestamp{INT64_MAX}, true}};
            }
            if (const auto* q = std::get_if<broker::QueueSend>(&w.command)) {
              broker::ReceiveResult got;
              for (const auto& item : q->items) {
                got.deliveries.push_back(broker::Delivery{stored(item.message, 7), 9, 1, Timestamp{0}, Timestamp{1},
                                                          item.dead_letter, item.message.channel});
              }
              return broker::Reply{got};
            }
            return broker::Reply{broker::AckResult{1, {2, 3}}};
          },
          [&](const node::RpcCall& c) -> node::ReplyBody {
            (void)rpc_incoming_to_json(node::RpcIncoming{1, UINT64_MAX, c.kind, stored(c.message, 0)});
            return node::RpcAnswer{false, text, c.message.metadata, c.message.body, c.message.tags, true};
          },
          [&](const node::RpcRespond& r) -> node::ReplyBody {
            return node::RpcAnswer{r.executed, r.error, r.metadata, r.body, r.tags, false};
          },
          [&](const node::ListChannels& l) -> node::ReplyBody {
            return std::vector<node::ChannelInfo>{{"queues", l.pattern, 1, 2, 3, 4}};
          },
          [&](const auto&) -> node::ReplyBody { return broker::QueueStats{}; },
      },
      request.body);
  (void)reply_to_json(node::ClientReply{request.request_id, {}, kNoNode, std::move(body)});
  (void)reply_to_json(node::ClientReply{request.request_id, Status(Code::unavailable, text), NodeId(3), {}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t a = in.find('\n');
  const std::string_view method = in.substr(0, a);
  const std::string_view rest = a == std::string_view::npos ? std::string_view{} : in.substr(a + 1);
  const std::size_t b = rest.find('\n');
  const std::string_view target = rest.substr(0, b);
  const std::string_view body = b == std::string_view::npos ? std::string_view{} : rest.substr(b + 1);

  RestOptions options;
  options.body_bytes_max = 1 << 16;  // also reach the 413 path
  auto parsed = parse_request(options, method, target, body);
  if (parsed.ok()) {
    answer(parsed.value(), body);
  } else {
    check_error(parsed.error());
  }

  auto spec = parse_ws_target(options, target);
  if (!spec.ok()) {
    check_error(spec.error());
    return 0;
  }
  (void)subscribe_request(spec.value(), 1);
  (void)ws_subscribed_frame(spec.value());
  const WsFrame frame = parse_ws_frame(options, spec.value(), body);
  if (frame.error) {
    check_error(*frame.error);
    (void)ws_error_frame(frame.ref, *frame.error);
  } else {
    (void)ws_reply_frame(frame.ref, node::ClientReply{2, Status(Code::not_found, std::string(body)), kNoNode, {}});
  }
  return 0;
}
