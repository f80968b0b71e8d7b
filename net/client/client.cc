#include "net/client/client.h"

#include <algorithm>
#include <random>
#include <thread>

#include "net/client/connection.h"

namespace sluice::client {

namespace {

// Pushes kept while a request waits; beyond this the oldest are dropped
// (events are at most once; a store subscription re-reads after a gap only
// on reconnect, so a caller that never polls while requesting must not
// subscribe to a busy store channel).
constexpr std::size_t kPushesMax = 100'000;
constexpr std::chrono::milliseconds kBackoffMin{50};
constexpr std::chrono::milliseconds kBackoffMax{1000};
static_assert(kBackoffMin < kBackoffMax);
// Unavailable answers without a leader hint before a request tries another
// node: an election on loopback takes a few hundred milliseconds, and the
// backoff doubles from 50 ms, so this waits out about one.
constexpr int kUnavailableBeforeMoving = 4;

std::string random_producer_id() {
  std::random_device device;
  std::uniform_int_distribution<std::uint64_t> any;
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t bits = any(device);
  std::string id = "client-";
  for (int i = 0; i < 16; ++i, bits >>= 4) id += kHex[bits & 0xf];
  return id;
}

template <class T>
Result<T> reply_as(Result<node::ClientReply> reply, const char* what) {
  if (!reply.ok()) return reply.status();
  if (auto* value = std::get_if<T>(&reply->body)) return std::move(*value);
  return Status(Code::invalid_argument, std::string("the node answered ") + what + " with an unexpected reply");
}

template <class T>
Result<T> broker_reply_as(Result<broker::Reply> reply, const char* what) {
  if (!reply.ok()) return reply.status();
  if (auto* value = std::get_if<T>(&*reply)) return std::move(*value);
  return Status(Code::invalid_argument, std::string("the node answered ") + what + " with an unexpected reply");
}

void sleep_until_at_most(std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds pause) {
  const auto until = std::min(deadline, std::chrono::steady_clock::now() + pause);
  std::this_thread::sleep_until(until);
}

}  // namespace

Result<std::vector<std::string>> parse_servers(const std::string& list) {
  std::vector<std::string> servers;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string entry = list.substr(start, comma - start);
    const auto colon = entry.rfind(':');
    if (entry.empty() || colon == std::string::npos || colon == 0 || colon + 1 == entry.size() ||
        entry.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return Status(Code::invalid_argument, "server '" + entry + "' is not host:port (in '" + list + "')");
    }
    servers.push_back(entry);
    start = comma + 1;
  }
  return servers;
}

Client::Client(Options options) : options_(std::move(options)) {
  SLUICE_ASSERT(!options_.servers.empty(), "a Client needs at least one server");
  if (options_.producer_id.empty()) options_.producer_id = random_producer_id();
}

Client::~Client() = default;

const std::string& Client::address() const { return options_.servers[cursor_]; }

Status Client::connect() {
  if (connection_) return {};
  return connect_any(Clock::now() + options_.request_timeout);
}

void Client::disconnect() {
  connection_.reset();
  node_ = kNoNode;
}

void Client::move_on(NodeId leader_hint) {
  auto known = known_nodes_.find(leader_hint);
  if (leader_hint != kNoNode && known != known_nodes_.end()) {
    cursor_ = known->second;
  } else {
    cursor_ = (cursor_ + 1) % options_.servers.size();
  }
}

Status Client::connect_to(std::size_t index, Clock::time_point deadline) {
  auto connection = std::make_unique<Connection>();
  const std::string& address = options_.servers[index];
  if (Status s = connection->open(address, deadline); !s.ok()) return s;
  const wire::Hello hello{wire::kProtocolVersion, wire::Role::client, kNoNode, options_.cluster};
  if (Status s = connection->send(wire::Frame(hello), deadline); !s.ok()) return s;
  auto answer = connection->receive(deadline);
  if (!answer.ok()) return Status(Code::unavailable, address + " did not answer the handshake: " + answer.status().message());
  if (auto* error = std::get_if<wire::ErrorFrame>(&*answer)) {
    return Status(Code::unavailable, address + " refused the connection: " + error->message);
  }
  auto* theirs = std::get_if<wire::Hello>(&*answer);
  if (theirs == nullptr) return Status(Code::unavailable, address + " did not start with a Hello");
  node_ = theirs->node;
  known_nodes_[theirs->node] = index;
  connection_ = std::move(connection);
  return {};
}

Status Client::connect_any(Clock::time_point deadline) {
  Status last(Code::unavailable, "no server was tried");
  int tried_any = 0;
  auto backoff = kBackoffMin;
  for (;;) {
    for (std::size_t tried = 0; tried < options_.servers.size(); ++tried) {
      const auto attempt_deadline = std::min(deadline, Clock::now() + options_.connect_timeout);
      Status attempt = connect_to(cursor_, attempt_deadline);
      if (attempt.ok()) attempt = resubscribe(deadline);
      if (attempt.ok()) return {};
      // An attempt cut short by the overall deadline says less than the
      // error before it ("connection refused"); keep that one.
      const bool cut_short = attempt_deadline == deadline && Clock::now() >= deadline;
      if (!cut_short || tried_any == 0) last = attempt;
      ++tried_any;
      disconnect();
      if (attempt.code() != Code::unavailable && attempt.code() != Code::timeout) return attempt;
      cursor_ = (cursor_ + 1) % options_.servers.size();
      if (Clock::now() >= deadline) break;
    }
    if (Clock::now() >= deadline) break;
    sleep_until_at_most(deadline, backoff);
    backoff = std::min(backoff * 2, kBackoffMax);
  }
  return Status(Code::unavailable, "no server answered in time (last: " + last.message() + ")");
}

node::RequestBody Client::resume_request(const Subscription& sub) const {
  node::RequestBody request = sub.request;
  if (auto* store = std::get_if<node::SubscribeStore>(&request); store != nullptr && sub.resume_by_seq) {
    store->start = node::StoreStart{node::StartFrom::sequence, sub.last_seq + 1, {}, {}};
  }
  return request;
}

Status Client::resubscribe(Clock::time_point deadline) {
  for (const auto& [id, sub] : subs_) {
    auto reply = exchange(resume_request(sub), deadline);
    if (!reply.ok()) return reply.status();
    if (!reply->status.ok()) return reply->status;
  }
  return {};
}

Result<node::ClientReply> Client::exchange(const node::RequestBody& body, Clock::time_point deadline) {
  SLUICE_ASSERT(connection_ != nullptr, "exchange needs a connection");
  const std::uint64_t id = next_request_id_++;
  const wire::Frame frame(Envelope<node::Message>{kDefaultGroup, kNoNode, kNoNode,
                                                  node::Message(node::ClientRequest{id, body})});
  if (Status s = connection_->send(frame, deadline); !s.ok()) return s;
  for (;;) {
    auto received = connection_->receive(deadline);
    if (!received.ok()) return received.status();
    if (auto* error = std::get_if<wire::ErrorFrame>(&*received)) {
      return Status(Code::unavailable, "the node closed the connection: " + error->message);
    }
    auto* envelope = std::get_if<Envelope<node::Message>>(&*received);
    if (envelope == nullptr) continue;  // a second Hello is the node's bug; nothing to act on
    if (auto* reply = std::get_if<node::ClientReply>(&envelope->message)) {
      if (reply->request_id == id) return std::move(*reply);
      continue;  // an answer to a request given up on earlier
    }
    if (pushes_.size() >= kPushesMax) pushes_.pop_front();
    pushes_.push_back(std::move(envelope->message));
  }
}

Result<node::ClientReply> Client::request(const node::RequestBody& body, std::chrono::milliseconds extra) {
  const auto deadline = Clock::now() + options_.request_timeout + extra;
  const bool once = std::holds_alternative<node::RpcCall>(body);
  const bool admin = std::holds_alternative<node::ClusterAdmin>(body);
  auto backoff = kBackoffMin;
  int unavailable_in_a_row = 0;
  Status last(Code::unavailable, "not sent");
  while (Clock::now() < deadline) {
    if (!connection_) {
      if (Status s = connect_any(deadline); !s.ok()) return s;
    }
    auto reply = exchange(body, deadline);
    if (!reply.ok()) {
      if (reply.status().code() == Code::timeout) {
        return Status(Code::timeout, "no reply within the deadline (" + reply.status().message() + ")");
      }
      last = reply.status();
      disconnect();
      move_on(kNoNode);
      if (once) {
        return Status(Code::unavailable, "the connection broke during an rpc call, which is not retried (a command "
                                         "may have run): " + last.message());
      }
      continue;
    }
    // A node answers `timeout` when the leader it forwarded a write to went
    // away: the write may or may not have happened. Publishes and sends
    // carry their idempotency key, reads change nothing and an ack or
    // reject is safe to repeat, so all but an rpc call are asked again. A
    // cluster change answers timeout after it started, when asking again
    // would only be refused ("already a voter"): that is returned.
    const bool retry =
        reply->status.code() == Code::unavailable || (reply->status.code() == Code::timeout && !once && !admin);
    if (!retry) {
      if (!reply->status.ok()) return reply->status;
      return reply;
    }
    // This node cannot serve. With a hint, go to the leader (or, if we do
    // not know its address yet, to the next server: its Hello tells us who
    // it is). Without one an election is probably under way: ask the same
    // node again a few times, then try another, in case this one is cut off.
    last = reply->status;
    const NodeId hint = reply->leader_hint;
    ++unavailable_in_a_row;
    if ((hint != kNoNode && hint != node_) || unavailable_in_a_row >= kUnavailableBeforeMoving) {
      unavailable_in_a_row = 0;
      disconnect();
      move_on(hint);
    }
    sleep_until_at_most(deadline, backoff);
    backoff = std::min(backoff * 2, kBackoffMax);
  }
  return Status(Code::unavailable, "the cluster did not serve the request in time (last: " + last.message() + ")");
}

Result<broker::Reply> Client::write(broker::Command command, std::chrono::milliseconds extra, Duration wait) {
  return reply_as<broker::Reply>(request(node::Write{std::move(command), wait}, extra), "a write");
}

Status Client::publish_event(broker::MessageIn message) {
  if (message.client_id.empty()) message.client_id = options_.client_id;
  auto reply = request(node::PublishEvent{std::move(message)});
  return reply.ok() ? Status{} : reply.status();
}

Result<broker::Published> Client::publish_store(broker::MessageIn message) {
  if (message.client_id.empty()) message.client_id = options_.client_id;
  broker::StorePublish publish{std::move(message), {options_.producer_id, next_producer_seq_++, false}};
  return broker_reply_as<broker::Published>(write(std::move(publish)), "a store publish");
}

Result<broker::SendResult> Client::send_queue(std::vector<broker::QueueItem> items) {
  for (auto& item : items) {
    if (item.message.client_id.empty()) item.message.client_id = options_.client_id;
    if (item.key.empty()) item.key = {options_.producer_id, next_producer_seq_++, false};
  }
  return broker_reply_as<broker::SendResult>(write(broker::QueueSend{std::move(items)}), "a queue send");
}

Result<broker::ReceiveResult> Client::receive(broker::QueueReceive receive, Duration wait) {
  if (receive.client_id.empty()) receive.client_id = options_.client_id;
  const auto extra = std::chrono::milliseconds(wait.to_ms());
  return broker_reply_as<broker::ReceiveResult>(write(std::move(receive), extra, wait), "a queue receive");
}

Result<broker::AckResult> Client::ack(std::vector<std::uint64_t> receipts) {
  return broker_reply_as<broker::AckResult>(write(broker::QueueAck{std::move(receipts)}), "a queue ack");
}

Status Client::reject(std::uint64_t receipt) {
  auto reply = write(broker::QueueReject{receipt});
  return reply.ok() ? Status{} : reply.status();
}

Result<std::uint64_t> Client::purge(const std::string& channel) {
  auto purged = broker_reply_as<broker::Purged>(write(broker::QueuePurge{channel}), "a queue purge");
  if (!purged.ok()) return purged.status();
  return purged->count;
}

Result<std::vector<broker::StoredMessage>> Client::peek(const std::string& channel, std::uint32_t max_messages) {
  return reply_as<std::vector<broker::StoredMessage>>(request(node::Peek{channel, max_messages}), "a peek");
}

Result<broker::QueueStats> Client::queue_stats(const std::string& channel) {
  return reply_as<broker::QueueStats>(request(node::GetStats{broker::Kind::queue, channel}), "queue stats");
}

Result<broker::StoreStats> Client::store_stats(const std::string& channel) {
  return reply_as<broker::StoreStats>(request(node::GetStats{broker::Kind::store, channel}), "store stats");
}

Result<std::vector<node::ChannelInfo>> Client::list_channels(const std::string& pattern) {
  return reply_as<std::vector<node::ChannelInfo>>(request(node::ListChannels{pattern}), "a channel list");
}

Result<node::RpcAnswer> Client::call(node::RpcCall call) {
  if (call.message.client_id.empty()) call.message.client_id = options_.client_id;
  const auto extra = std::chrono::milliseconds(call.timeout.to_ms());
  return reply_as<node::RpcAnswer>(request(call, extra), "an rpc call");
}

Result<node::ClusterView> Client::cluster_admin(node::ClusterAdmin admin) {
  return reply_as<node::ClusterView>(request(admin), "a cluster change");
}

Result<std::uint64_t> Client::subscribe_events(const std::string& pattern, const std::string& group,
                                               MessageHandler handler) {
  const std::uint64_t id = next_sub_id_++;
  node::RequestBody body = node::SubscribeEvents{id, pattern, group};
  auto reply = request(body);
  if (!reply.ok()) return reply.status();
  subs_[id] = Subscription{std::move(body), std::move(handler), {}, 0, false};
  return id;
}

Result<std::uint64_t> Client::subscribe_store(const std::string& channel, const std::string& group,
                                              node::StoreStart start, MessageHandler handler) {
  // From `new`, what "new" means is fixed now: a reconnect before the
  // first message must not skip what was published while disconnected.
  std::uint64_t before = 0;
  if (start.from == node::StartFrom::new_only) {
    auto stats = store_stats(channel);
    if (stats.ok()) {
      before = stats->last_seq;
    } else if (stats.status().code() != Code::not_found) {
      return stats.status();
    }
  }
  const std::uint64_t id = next_sub_id_++;
  node::RequestBody body = node::SubscribeStore{id, channel, group, start};
  auto reply = request(body);
  if (!reply.ok()) return reply.status();
  const bool from_new = start.from == node::StartFrom::new_only;
  subs_[id] = Subscription{std::move(body), std::move(handler), {}, before, from_new};
  return id;
}

Result<std::uint64_t> Client::subscribe_rpc(node::RpcKind kind, const std::string& channel, const std::string& group,
                                            RpcHandler handler) {
  const std::uint64_t id = next_sub_id_++;
  node::RequestBody body = node::SubscribeRpc{id, kind, channel, group};
  auto reply = request(body);
  if (!reply.ok()) return reply.status();
  subs_[id] = Subscription{std::move(body), {}, std::move(handler), 0, false};
  return id;
}

Status Client::unsubscribe(std::uint64_t sub_id) {
  if (subs_.erase(sub_id) == 0) return {Code::not_found, "no subscription " + std::to_string(sub_id)};
  if (!connection_) return {};  // the next connection will not make it again
  auto reply = request(node::Unsubscribe{sub_id});
  return reply.ok() ? Status{} : reply.status();
}

void Client::dispatch(node::Message push) {
  if (auto* event = std::get_if<node::EventDelivery>(&push)) {
    auto sub = subs_.find(event->sub_id);
    if (sub != subs_.end() && sub->second.on_message) sub->second.on_message(event->message);
  } else if (auto* stored = std::get_if<node::StoreDelivery>(&push)) {
    auto sub = subs_.find(stored->sub_id);
    if (sub == subs_.end() || !sub->second.on_message) return;
    // After a reconnect the node starts again at last_seq + 1; anything at
    // or below it was delivered already (a push queued before the break).
    if (stored->message.seq <= sub->second.last_seq) return;
    sub->second.last_seq = stored->message.seq;
    sub->second.resume_by_seq = true;
    sub->second.on_message(stored->message);
  } else if (auto* incoming = std::get_if<node::RpcIncoming>(&push)) {
    auto sub = subs_.find(incoming->sub_id);
    if (sub == subs_.end() || !sub->second.on_rpc) return;
    node::RpcRespond answer = sub->second.on_rpc(incoming->kind, incoming->request);
    answer.rpc_id = incoming->rpc_id;
    // A caller that gave up makes the node answer not_found; the caller
    // already has its timeout, so there is nobody left to tell.
    auto ignored = request(answer);
    (void)ignored;
  }
}

Status Client::poll(std::chrono::milliseconds budget) {
  const auto end = Clock::now() + budget;
  stopped_ = false;
  while (!stopped_) {
    while (!pushes_.empty() && !stopped_) {
      node::Message push = std::move(pushes_.front());
      pushes_.pop_front();
      dispatch(std::move(push));
    }
    if (stopped_ || Clock::now() >= end) break;
    if (!connection_) {
      if (Status s = connect_any(Clock::now() + options_.request_timeout); !s.ok()) return s;
    }
    auto received = connection_->receive(end);
    if (!received.ok()) {
      if (received.status().code() == Code::timeout) break;
      disconnect();
      move_on(kNoNode);
      continue;
    }
    if (std::holds_alternative<wire::ErrorFrame>(*received)) {
      disconnect();
      move_on(kNoNode);
      continue;
    }
    auto* envelope = std::get_if<Envelope<node::Message>>(&*received);
    if (envelope == nullptr || std::holds_alternative<node::ClientReply>(envelope->message)) continue;
    pushes_.push_back(std::move(envelope->message));
  }
  return {};
}

}  // namespace sluice::client
