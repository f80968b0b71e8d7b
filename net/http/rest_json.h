// The JSON building blocks behind reply_to_json() and the push frames
// (rest.h), shared with the WebSocket frames. Internal to net/http.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/node/broker_messages.h"

namespace sluice::http {

// Ordered: fields go out in the order written, which reads better than
// alphabetical.
using OJson = nlohmann::ordered_json;

// Compact text; bytes that are not UTF-8 become U+FFFD instead of throwing.
std::string dump(const OJson& j);
// "body" if UTF-8, else "body_base64".
void put_body(OJson& o, const std::string& body);
OJson message_json(const broker::StoredMessage& m);
OJson delivery_json(const broker::Delivery& d);
// {"error": {"code", "message", "leader_hint"?}}
OJson error_object(std::string_view code, std::string_view message, NodeId leader_hint);
// The REST body of a reply, and its status through `status`.
OJson reply_json(const node::ClientReply& reply, unsigned* status);

}  // namespace sluice::http
