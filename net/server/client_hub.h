// How client front ends (the framed client port, the HTTP/WebSocket
// gateway) reach the node. sluiced implements it on the node's loop; every
// call below happens on that one thread, so nothing here locks.
//
// A front end opens one client per connection (HTTP: one per request, or
// per WebSocket), submits ClientRequests under that client's id, and gets
// every message the node addresses to the client (ClientReply,
// EventDelivery, StoreDelivery, RpcIncoming) through its sink, in order.
#pragma once

#include "core/node/broker_messages.h"

namespace sluice::net {

class ClientSink {
 public:
  virtual ~ClientSink() = default;
  // A message the node sent to this client. Called on the node's loop.
  virtual void deliver(const node::Message& message) = 0;
};

class ClientHub {
 public:
  virtual ~ClientHub() = default;
  // A new client id, never a peer's id and never reused by this process.
  // `sink` must stay alive until disconnect(id) returns.
  virtual NodeId connect(ClientSink* sink) = 0;
  // Hands a request to the node. Replies come through the sink.
  virtual void submit(NodeId client, node::ClientRequest request) = 0;
  // The connection closed: its subscriptions and waits end, and nothing
  // more is delivered to its sink.
  virtual void disconnect(NodeId client) = 0;
};

}  // namespace sluice::net
