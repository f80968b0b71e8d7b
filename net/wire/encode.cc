// The core's structs onto Cap'n Proto builders, one put() per schema struct.
// Every field is written, so encoding is deterministic and decode(encode(x))
// gives x back.
#include <limits>
#include <type_traits>

#include "core/common/overloaded.h"
#include "net/wire/convert.h"
#include "net/wire/field_count.h"

namespace sluice::wire::detail {
namespace {

// Every field of every struct below is written by name; a field added to a
// core struct must be added to sluice.capnp, put() and decode.cc, and then
// counted here. Likewise every alternative of every variant.
#define SLUICE_WIRE_FIELDS(T, n) \
  static_assert(field_count<T>() == (n), #T " changed: carry the change in sluice.capnp, encode.cc and decode.cc")
#define SLUICE_WIRE_ALTERNATIVES(V, n) \
  static_assert(std::variant_size_v<V> == (n), #V " changed: carry the change in sluice.capnp, encode.cc and decode.cc")

SLUICE_WIRE_FIELDS(Hello, 5);
SLUICE_WIRE_FIELDS(ErrorFrame, 1);
SLUICE_WIRE_FIELDS(Envelope<node::Message>, 4);
SLUICE_WIRE_ALTERNATIVES(Frame, 3);

SLUICE_WIRE_FIELDS(LogEntry, 3);
SLUICE_WIRE_FIELDS(raft::JointConfig, 3);
SLUICE_WIRE_FIELDS(raft::VoteRequest, 5);
SLUICE_WIRE_FIELDS(raft::VoteReply, 3);
SLUICE_WIRE_FIELDS(raft::AppendRequest, 5);
SLUICE_WIRE_FIELDS(raft::AppendReply, 5);
SLUICE_WIRE_FIELDS(raft::Heartbeat, 3);
SLUICE_WIRE_FIELDS(raft::HeartbeatReply, 2);
SLUICE_WIRE_FIELDS(raft::TimeoutNow, 1);
SLUICE_WIRE_FIELDS(raft::InstallSnapshot, 7);
SLUICE_WIRE_FIELDS(raft::InstallSnapshotReply, 4);
SLUICE_WIRE_ALTERNATIVES(raft::Message, 9);

SLUICE_WIRE_FIELDS(broker::MessageIn, 6);
SLUICE_WIRE_FIELDS(broker::IdempotencyKey, 3);
SLUICE_WIRE_FIELDS(broker::StorePublish, 2);
SLUICE_WIRE_FIELDS(broker::QueueItem, 6);
SLUICE_WIRE_FIELDS(broker::QueueSend, 1);
SLUICE_WIRE_FIELDS(broker::QueueReceive, 4);
SLUICE_WIRE_FIELDS(broker::QueueAck, 1);
SLUICE_WIRE_FIELDS(broker::QueueReject, 1);
SLUICE_WIRE_FIELDS(broker::QueueExtend, 2);
SLUICE_WIRE_FIELDS(broker::QueueResend, 2);
SLUICE_WIRE_FIELDS(broker::QueuePurge, 1);
SLUICE_WIRE_FIELDS(broker::Retention, 3);
SLUICE_WIRE_FIELDS(broker::StoreRetention, 2);
SLUICE_WIRE_FIELDS(broker::StateLimits, 6);
SLUICE_WIRE_FIELDS(broker::Configure, 1);
SLUICE_WIRE_FIELDS(broker::Tick, 0);
SLUICE_WIRE_FIELDS(broker::StoreGroupPosition, 3);
SLUICE_WIRE_ALTERNATIVES(broker::Command, 12);

SLUICE_WIRE_FIELDS(broker::StoredMessage, 8);
SLUICE_WIRE_FIELDS(broker::Published, 4);
SLUICE_WIRE_FIELDS(broker::SendResult, 1);
SLUICE_WIRE_FIELDS(broker::Delivery, 7);
SLUICE_WIRE_FIELDS(broker::ReceiveResult, 1);
SLUICE_WIRE_FIELDS(broker::AckResult, 2);
SLUICE_WIRE_FIELDS(broker::Purged, 1);
SLUICE_WIRE_FIELDS(broker::Done, 0);
SLUICE_WIRE_ALTERNATIVES(broker::Reply, 6);
SLUICE_WIRE_FIELDS(broker::QueueStats, 12);
SLUICE_WIRE_FIELDS(broker::StoreStats, 7);

SLUICE_WIRE_FIELDS(node::Write, 2);
SLUICE_WIRE_FIELDS(node::PublishEvent, 1);
SLUICE_WIRE_FIELDS(node::SubscribeEvents, 3);
SLUICE_WIRE_FIELDS(node::StoreStart, 4);
SLUICE_WIRE_FIELDS(node::SubscribeStore, 4);
SLUICE_WIRE_FIELDS(node::SubscribeRpc, 4);
SLUICE_WIRE_FIELDS(node::Unsubscribe, 1);
SLUICE_WIRE_FIELDS(node::RpcCall, 5);
SLUICE_WIRE_FIELDS(node::RpcRespond, 6);
SLUICE_WIRE_FIELDS(node::Peek, 2);
SLUICE_WIRE_FIELDS(node::GetStats, 2);
SLUICE_WIRE_FIELDS(node::ListChannels, 1);
SLUICE_WIRE_FIELDS(node::ClusterAdmin, 3);
SLUICE_WIRE_ALTERNATIVES(node::RequestBody, 12);
SLUICE_WIRE_FIELDS(node::ClientRequest, 2);
SLUICE_WIRE_FIELDS(node::RpcAnswer, 6);
SLUICE_WIRE_FIELDS(node::ChannelInfo, 6);
SLUICE_WIRE_FIELDS(node::ClusterView, 2);
SLUICE_WIRE_ALTERNATIVES(node::ReplyBody, 8);
SLUICE_WIRE_FIELDS(node::ClientReply, 4);
SLUICE_WIRE_FIELDS(node::EventDelivery, 2);
SLUICE_WIRE_FIELDS(node::StoreDelivery, 2);
SLUICE_WIRE_FIELDS(node::RpcIncoming, 4);
SLUICE_WIRE_FIELDS(node::Forward, 2);
SLUICE_WIRE_FIELDS(node::ForwardReply, 4);
SLUICE_WIRE_FIELDS(node::EventFanout, 2);
SLUICE_WIRE_FIELDS(node::StoreGroupCursor, 4);
SLUICE_WIRE_FIELDS(node::Registry, 4);
SLUICE_WIRE_FIELDS(node::StoreGroupPush, 3);
SLUICE_WIRE_FIELDS(node::ReadIndexAsk, 1);
SLUICE_WIRE_FIELDS(node::ReadIndexAnswer, 4);
SLUICE_WIRE_FIELDS(node::RpcForward, 3);
SLUICE_WIRE_FIELDS(node::RpcReturn, 3);
SLUICE_WIRE_ALTERNATIVES(node::Message, 15);

#undef SLUICE_WIRE_FIELDS
#undef SLUICE_WIRE_ALTERNATIVES

namespace s = schema;

// Cap'n Proto lists hold fewer than 2^29 elements; frames are far smaller
// (Limits::frame_bytes_max), so a longer list is a sender's bug.
unsigned count(std::size_t n) {
  SLUICE_ASSERT(n < (1u << 29), "a list too long for any frame");
  return static_cast<unsigned>(n);
}

capnp::Text::Reader text(const std::string& s) {
  // std::string's data() is NUL-terminated, as Text::Reader wants.
  return {s.data(), s.size()};
}

capnp::Data::Reader data(const std::string& s) {
  return {reinterpret_cast<const capnp::byte*>(s.data()), s.size()};
}

// ---------------------------------------------------------------------------
// Enumerations: exhaustive switches, so a new value fails to compile here
// (-Wswitch) until the schema has it.

s::Role to_wire(Role role) {
  switch (role) {
    case Role::peer: return s::Role::PEER;
    case Role::client: return s::Role::CLIENT;
  }
  assert_fail("role", __FILE__, __LINE__, "a Role outside the enumeration");
}

s::Code to_wire(Code code) {
  switch (code) {
    case Code::ok: return s::Code::OK;
    case Code::invalid_argument: return s::Code::INVALID_ARGUMENT;
    case Code::not_found: return s::Code::NOT_FOUND;
    case Code::corruption: return s::Code::CORRUPTION;
    case Code::io_error: return s::Code::IO_ERROR;
    case Code::no_space: return s::Code::NO_SPACE;
    case Code::unavailable: return s::Code::UNAVAILABLE;
    case Code::poisoned: return s::Code::POISONED;
    case Code::timeout: return s::Code::TIMEOUT;
    case Code::version_mismatch: return s::Code::VERSION_MISMATCH;
  }
  assert_fail("code", __FILE__, __LINE__, "a Code outside the enumeration");
}

s::StartFrom to_wire(node::StartFrom from) {
  switch (from) {
    case node::StartFrom::new_only: return s::StartFrom::NEW_ONLY;
    case node::StartFrom::first: return s::StartFrom::FIRST;
    case node::StartFrom::last: return s::StartFrom::LAST;
    case node::StartFrom::sequence: return s::StartFrom::SEQUENCE;
    case node::StartFrom::time: return s::StartFrom::TIME;
    case node::StartFrom::time_delta: return s::StartFrom::TIME_DELTA;
  }
  assert_fail("from", __FILE__, __LINE__, "a StartFrom outside the enumeration");
}

s::RpcKind to_wire(node::RpcKind kind) {
  switch (kind) {
    case node::RpcKind::command: return s::RpcKind::COMMAND;
    case node::RpcKind::query: return s::RpcKind::QUERY;
  }
  assert_fail("kind", __FILE__, __LINE__, "an RpcKind outside the enumeration");
}

s::AdminOp to_wire(node::AdminOp op) {
  switch (op) {
    case node::AdminOp::transfer_leader: return s::AdminOp::TRANSFER_LEADER;
    case node::AdminOp::add_voter: return s::AdminOp::ADD_VOTER;
    case node::AdminOp::remove_voter: return s::AdminOp::REMOVE_VOTER;
  }
  assert_fail("op", __FILE__, __LINE__, "an AdminOp outside the enumeration");
}

s::Kind to_wire(broker::Kind kind) {
  switch (kind) {
    case broker::Kind::store: return s::Kind::STORE;
    case broker::Kind::queue: return s::Kind::QUEUE;
  }
  assert_fail("kind", __FILE__, __LINE__, "a broker Kind outside the enumeration");
}

// ---------------------------------------------------------------------------
// Shared pieces

void put(s::Status::Builder b, const Status& m) {
  b.setCode(to_wire(m.code()));
  b.setMessage(text(m.message()));
}

void put(capnp::List<s::Tag>::Builder b, const broker::Tags& tags) {
  unsigned i = 0;
  for (const auto& [key, value] : tags) {
    b[i].setKey(text(key));
    b[i].setValue(text(value));
    ++i;
  }
}

template <class T>
void put_u64s(capnp::List<std::uint64_t>::Builder b, const T& values) {
  unsigned i = 0;
  for (const auto& v : values) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, NodeId>) {
      b.set(i++, v.value());
    } else {
      b.set(i++, v);
    }
  }
}

// ---------------------------------------------------------------------------
// Raft

void put(s::LogEntry::Builder b, const LogEntry& m) {
  b.setTerm(m.term.value());
  b.setIndex(m.index.value());
  b.setData(data(m.data));
}

void put(s::JointConfig::Builder b, const raft::JointConfig& m) {
  put_u64s(b.initIncoming(count(m.incoming.size())), m.incoming);
  put_u64s(b.initOutgoing(count(m.outgoing.size())), m.outgoing);
  if (m.addresses.empty()) return;  // the common case: bootstrap voters only
  auto addresses = b.initAddresses(count(m.addresses.size()));
  unsigned i = 0;
  for (const auto& [id, address] : m.addresses) {
    addresses[i].setNode(id.value());
    addresses[i].setAddress(text(address));
    ++i;
  }
}

void put(s::RaftMessage::Builder b, const raft::Message& message) {
  std::visit(Overloaded{
                 [&](const raft::VoteRequest& m) {
                   auto o = b.initVoteRequest();
                   o.setTerm(m.term.value());
                   o.setLastIndex(m.last_index.value());
                   o.setLastTerm(m.last_term.value());
                   o.setPreVote(m.pre_vote);
                   o.setTransfer(m.transfer);
                 },
                 [&](const raft::VoteReply& m) {
                   auto o = b.initVoteReply();
                   o.setTerm(m.term.value());
                   o.setGranted(m.granted);
                   o.setPreVote(m.pre_vote);
                 },
                 [&](const raft::AppendRequest& m) {
                   auto o = b.initAppendRequest();
                   o.setTerm(m.term.value());
                   o.setPrevIndex(m.prev_index.value());
                   o.setPrevTerm(m.prev_term.value());
                   auto entries = o.initEntries(count(m.entries.size()));
                   for (unsigned i = 0; i < entries.size(); ++i) put(entries[i], m.entries[i]);
                   o.setCommit(m.commit.value());
                 },
                 [&](const raft::AppendReply& m) {
                   auto o = b.initAppendReply();
                   o.setTerm(m.term.value());
                   o.setSuccess(m.success);
                   o.setIndex(m.index.value());
                   o.setHint(m.hint.value());
                   o.setHintTerm(m.hint_term.value());
                 },
                 [&](const raft::Heartbeat& m) {
                   auto o = b.initHeartbeat();
                   o.setTerm(m.term.value());
                   o.setCommit(m.commit.value());
                   o.setReadRound(m.read_round);
                 },
                 [&](const raft::HeartbeatReply& m) {
                   auto o = b.initHeartbeatReply();
                   o.setTerm(m.term.value());
                   o.setReadRound(m.read_round);
                 },
                 [&](const raft::TimeoutNow& m) { b.initTimeoutNow().setTerm(m.term.value()); },
                 [&](const raft::InstallSnapshot& m) {
                   auto o = b.initInstallSnapshot();
                   o.setTerm(m.term.value());
                   o.setIndex(m.index.value());
                   o.setSnapshotTerm(m.snapshot_term.value());
                   o.setOffset(m.offset);
                   o.setData(data(m.data));
                   o.setDone(m.done);
                   put(o.initConfig(), m.config);
                 },
                 [&](const raft::InstallSnapshotReply& m) {
                   auto o = b.initInstallSnapshotReply();
                   o.setTerm(m.term.value());
                   o.setIndex(m.index.value());
                   o.setNextOffset(m.next_offset);
                   o.setInstalled(m.installed);
                 },
             },
             message);
}

// ---------------------------------------------------------------------------
// Broker commands

void put(s::MessageIn::Builder b, const broker::MessageIn& m) {
  b.setId(text(m.id));
  b.setChannel(text(m.channel));
  b.setMetadata(text(m.metadata));
  b.setBody(data(m.body));
  put(b.initTags(count(m.tags.size())), m.tags);
  b.setClientId(text(m.client_id));
}

void put(s::IdempotencyKey::Builder b, const broker::IdempotencyKey& m) {
  b.setProducerId(text(m.producer_id));
  b.setProducerSeq(m.producer_seq);
  b.setByMessageId(m.by_message_id);
}

void put(s::Retention::Builder b, const broker::Retention& m) {
  b.setAgeMaxNs(m.age_max.ns);
  b.setBytesMax(m.bytes_max);
  b.setCountMax(m.count_max);
}

void put(s::QueueItem::Builder b, const broker::QueueItem& m) {
  put(b.initMessage(), m.message);
  put(b.initKey(), m.key);
  b.setDelayNs(m.delay.ns);
  b.setExpirationNs(m.expiration.ns);
  b.setMaxReceiveCount(m.max_receive_count);
  b.setDeadLetter(text(m.dead_letter));
}

void put(s::StateLimits::Builder b, const broker::StateLimits& m) {
  b.setQueueMessagesMax(m.queue_messages_max);
  b.setChannelsMax(m.channels_max);
  b.setDedupWindowNs(m.dedup_window.ns);
  b.setDedupKeysMax(m.dedup_keys_max);
  b.setVisibilityDefaultNs(m.visibility_default.ns);
  put(b.initStoreRetention(), m.store_retention);
}

void put(s::Command::Builder b, const broker::Command& command) {
  std::visit(Overloaded{
                 [&](const broker::StorePublish& m) {
                   auto o = b.initStorePublish();
                   put(o.initMessage(), m.message);
                   put(o.initKey(), m.key);
                 },
                 [&](const broker::QueueSend& m) {
                   auto items = b.initQueueSend().initItems(count(m.items.size()));
                   for (unsigned i = 0; i < items.size(); ++i) put(items[i], m.items[i]);
                 },
                 [&](const broker::QueueReceive& m) {
                   auto o = b.initQueueReceive();
                   o.setChannel(text(m.channel));
                   o.setMaxMessages(m.max_messages);
                   o.setVisibilityNs(m.visibility.ns);
                   o.setClientId(text(m.client_id));
                 },
                 [&](const broker::QueueAck& m) {
                   put_u64s(b.initQueueAck().initReceipts(count(m.receipts.size())), m.receipts);
                 },
                 [&](const broker::QueueReject& m) { b.initQueueReject().setReceipt(m.receipt); },
                 [&](const broker::QueueExtend& m) {
                   auto o = b.initQueueExtend();
                   o.setReceipt(m.receipt);
                   o.setVisibilityNs(m.visibility.ns);
                 },
                 [&](const broker::QueueResend& m) {
                   auto o = b.initQueueResend();
                   o.setReceipt(m.receipt);
                   o.setToChannel(text(m.to_channel));
                 },
                 [&](const broker::QueuePurge& m) { b.initQueuePurge().setChannel(text(m.channel)); },
                 [&](const broker::StoreRetention& m) {
                   auto o = b.initStoreRetention();
                   o.setChannel(text(m.channel));
                   put(o.initRetention(), m.retention);
                 },
                 [&](const broker::Configure& m) { put(b.initConfigure().initLimits(), m.limits); },
                 [&](const broker::Tick&) { b.initTick(); },
                 [&](const broker::StoreGroupPosition& m) {
                   auto o = b.initStoreGroupPosition();
                   o.setChannel(text(m.channel));
                   o.setGroup(text(m.group));
                   o.setNextSeq(m.next_seq);
                 },
             },
             command);
}

// ---------------------------------------------------------------------------
// Broker replies

void put(s::StoredMessage::Builder b, const broker::StoredMessage& m) {
  b.setId(text(m.id));
  b.setChannel(text(m.channel));
  b.setMetadata(text(m.metadata));
  b.setBody(data(m.body));
  put(b.initTags(count(m.tags.size())), m.tags);
  b.setClientId(text(m.client_id));
  b.setTimestampNs(m.timestamp.ns);
  b.setSeq(m.seq);
}

void put(s::Published::Builder b, const broker::Published& m) {
  b.setId(text(m.id));
  b.setSeq(m.seq);
  b.setTimestampNs(m.timestamp.ns);
  b.setDuplicate(m.duplicate);
}

void put(s::Delivery::Builder b, const broker::Delivery& m) {
  put(b.initMessage(), m.message);
  b.setReceipt(m.receipt);
  b.setReceiveCount(m.receive_count);
  b.setDeliveredAtNs(m.delivered_at.ns);
  b.setVisibleAgainAtNs(m.visible_again_at.ns);
  b.setDeadLetterReason(text(m.dead_letter_reason));
  b.setDeadLetterFrom(text(m.dead_letter_from));
}

void put(s::Reply::Builder b, const broker::Reply& reply) {
  std::visit(Overloaded{
                 [&](const broker::Done&) { b.initDone(); },
                 [&](const broker::Published& m) { put(b.initPublished(), m); },
                 [&](const broker::SendResult& m) {
                   auto items = b.initSendResult().initItems(count(m.items.size()));
                   for (unsigned i = 0; i < items.size(); ++i) put(items[i], m.items[i]);
                 },
                 [&](const broker::ReceiveResult& m) {
                   auto list = b.initReceiveResult().initDeliveries(count(m.deliveries.size()));
                   for (unsigned i = 0; i < list.size(); ++i) put(list[i], m.deliveries[i]);
                 },
                 [&](const broker::AckResult& m) {
                   auto o = b.initAckResult();
                   o.setAcked(m.acked);
                   put_u64s(o.initStale(count(m.stale.size())), m.stale);
                 },
                 [&](const broker::Purged& m) { b.initPurged().setCount(m.count); },
             },
             reply);
}

void put(s::QueueStats::Builder b, const broker::QueueStats& m) {
  b.setReady(m.ready);
  b.setDelayed(m.delayed);
  b.setInFlight(m.in_flight);
  b.setBytes(m.bytes);
  b.setSent(m.sent);
  b.setDelivered(m.delivered);
  b.setAcked(m.acked);
  b.setRejected(m.rejected);
  b.setExpired(m.expired);
  b.setDeadLettered(m.dead_lettered);
  b.setPurged(m.purged);
  b.setResent(m.resent);
}

void put(s::StoreStats::Builder b, const broker::StoreStats& m) {
  b.setFirstSeq(m.first_seq);
  b.setLastSeq(m.last_seq);
  b.setCount(m.count);
  b.setBytes(m.bytes);
  b.setPublished(m.published);
  b.setTrimmed(m.trimmed);
  put(b.initRetention(), m.retention);
}

// ---------------------------------------------------------------------------
// Client requests

void put(s::StoreStart::Builder b, const node::StoreStart& m) {
  b.setFrom(to_wire(m.from));
  b.setSeq(m.seq);
  b.setTimeNs(m.time.ns);
  b.setDeltaNs(m.delta.ns);
}

void put(s::ClientRequest::Builder b, const node::ClientRequest& request) {
  b.setRequestId(request.request_id);
  auto body = b.initBody();
  std::visit(Overloaded{
                 [&](const node::Write& m) {
                   auto o = body.initWrite();
                   put(o.initCommand(), m.command);
                   o.setWaitNs(m.wait.ns);
                 },
                 [&](const node::PublishEvent& m) { put(body.initPublishEvent().initMessage(), m.message); },
                 [&](const node::SubscribeEvents& m) {
                   auto o = body.initSubscribeEvents();
                   o.setSubId(m.sub_id);
                   o.setPattern(text(m.pattern));
                   o.setGroup(text(m.group));
                 },
                 [&](const node::SubscribeStore& m) {
                   auto o = body.initSubscribeStore();
                   o.setSubId(m.sub_id);
                   o.setChannel(text(m.channel));
                   o.setGroup(text(m.group));
                   put(o.initStart(), m.start);
                 },
                 [&](const node::SubscribeRpc& m) {
                   auto o = body.initSubscribeRpc();
                   o.setSubId(m.sub_id);
                   o.setKind(to_wire(m.kind));
                   o.setChannel(text(m.channel));
                   o.setGroup(text(m.group));
                 },
                 [&](const node::Unsubscribe& m) { body.initUnsubscribe().setSubId(m.sub_id); },
                 [&](const node::RpcCall& m) {
                   auto o = body.initRpcCall();
                   o.setKind(to_wire(m.kind));
                   put(o.initMessage(), m.message);
                   o.setTimeoutNs(m.timeout.ns);
                   o.setCacheKey(text(m.cache_key));
                   o.setCacheTtlNs(m.cache_ttl.ns);
                 },
                 [&](const node::RpcRespond& m) {
                   auto o = body.initRpcRespond();
                   o.setRpcId(m.rpc_id);
                   o.setExecuted(m.executed);
                   o.setError(text(m.error));
                   o.setMetadata(text(m.metadata));
                   o.setBody(data(m.body));
                   put(o.initTags(count(m.tags.size())), m.tags);
                 },
                 [&](const node::Peek& m) {
                   auto o = body.initPeek();
                   o.setChannel(text(m.channel));
                   o.setMaxMessages(m.max_messages);
                 },
                 [&](const node::GetStats& m) {
                   auto o = body.initGetStats();
                   o.setKind(to_wire(m.kind));
                   o.setChannel(text(m.channel));
                 },
                 [&](const node::ListChannels& m) { body.initListChannels().setPattern(text(m.pattern)); },
                 [&](const node::ClusterAdmin& m) {
                   auto o = body.initClusterAdmin();
                   o.setOp(to_wire(m.op));
                   o.setNode(m.node.value());
                   o.setAddress(text(m.address));
                 },
             },
             request.body);
}

// ---------------------------------------------------------------------------
// Replies and pushes to clients

void put(s::RpcAnswer::Builder b, const node::RpcAnswer& m) {
  b.setExecuted(m.executed);
  b.setError(text(m.error));
  b.setMetadata(text(m.metadata));
  b.setBody(data(m.body));
  put(b.initTags(count(m.tags.size())), m.tags);
  b.setFromCache(m.from_cache);
}

void put(s::ChannelInfo::Builder b, const node::ChannelInfo& m) {
  b.setKind(text(m.kind));
  b.setName(text(m.name));
  b.setMessages(m.messages);
  b.setInFlight(m.in_flight);
  b.setTotal(m.total);
  b.setSubscribers(m.subscribers);
}

void put(s::ClientReply::Builder b, const node::ClientReply& reply) {
  b.setRequestId(reply.request_id);
  put(b.initStatus(), reply.status);
  b.setLeaderHint(reply.leader_hint.value());
  auto body = b.initBody();
  std::visit(Overloaded{
                 [&](const std::monostate&) { body.setNone(); },
                 [&](const broker::Reply& m) { put(body.initReply(), m); },
                 [&](const node::RpcAnswer& m) { put(body.initRpcAnswer(), m); },
                 [&](const std::vector<broker::StoredMessage>& m) {
                   auto list = body.initMessages(count(m.size()));
                   for (unsigned i = 0; i < list.size(); ++i) put(list[i], m[i]);
                 },
                 [&](const broker::QueueStats& m) { put(body.initQueueStats(), m); },
                 [&](const broker::StoreStats& m) { put(body.initStoreStats(), m); },
                 [&](const std::vector<node::ChannelInfo>& m) {
                   auto list = body.initChannels(count(m.size()));
                   for (unsigned i = 0; i < list.size(); ++i) put(list[i], m[i]);
                 },
                 [&](const node::ClusterView& m) {
                   auto o = body.initClusterView();
                   o.setLeader(m.leader.value());
                   auto voters = o.initVoters(count(m.voters.size()));
                   for (unsigned i = 0; i < voters.size(); ++i) voters.set(i, m.voters[i].value());
                 },
             },
             reply.body);
}

// ---------------------------------------------------------------------------
// Messages

void put(s::Message::Builder b, const node::Message& message) {
  std::visit(Overloaded{
                 [&](const raft::Message& m) { put(b.initRaft(), m); },
                 [&](const node::ClientRequest& m) { put(b.initClientRequest(), m); },
                 [&](const node::ClientReply& m) { put(b.initClientReply(), m); },
                 [&](const node::EventDelivery& m) {
                   auto o = b.initEventDelivery();
                   o.setSubId(m.sub_id);
                   put(o.initMessage(), m.message);
                 },
                 [&](const node::StoreDelivery& m) {
                   auto o = b.initStoreDelivery();
                   o.setSubId(m.sub_id);
                   put(o.initMessage(), m.message);
                 },
                 [&](const node::RpcIncoming& m) {
                   auto o = b.initRpcIncoming();
                   o.setSubId(m.sub_id);
                   o.setRpcId(m.rpc_id);
                   o.setKind(to_wire(m.kind));
                   put(o.initRequest(), m.request);
                 },
                 [&](const node::Forward& m) {
                   auto o = b.initForward();
                   o.setForwardId(m.forward_id);
                   put(o.initCommand(), m.command);
                 },
                 [&](const node::ForwardReply& m) {
                   auto o = b.initForwardReply();
                   o.setForwardId(m.forward_id);
                   put(o.initStatus(), m.status);
                   put(o.initReply(), m.reply);
                   o.setLeaderHint(m.leader_hint.value());
                 },
                 [&](const node::EventFanout& m) {
                   auto o = b.initEventFanout();
                   put(o.initEvent(), m.event);
                   auto groups = o.initGroups(count(m.groups.size()));
                   for (unsigned i = 0; i < groups.size(); ++i) {
                     groups[i].setGroup(text(m.groups[i].first));
                     groups[i].setNode(m.groups[i].second.value());
                   }
                 },
                 [&](const node::Registry& m) {
                   auto o = b.initRegistry();
                   o.setGeneration(m.generation);
                   auto groups = o.initEventGroups(count(m.event_groups.size()));
                   for (unsigned i = 0; i < groups.size(); ++i) groups.set(i, text(m.event_groups[i]));
                   auto responders = o.initResponders(count(m.responders.size()));
                   for (unsigned i = 0; i < responders.size(); ++i) responders.set(i, text(m.responders[i]));
                   auto stores = o.initStoreGroups(count(m.store_groups.size()));
                   for (unsigned i = 0; i < stores.size(); ++i) {
                     const node::StoreGroupCursor& c = m.store_groups[i];
                     stores[i].setChannel(text(c.channel));
                     stores[i].setGroup(text(c.group));
                     stores[i].setMembers(c.members);
                     stores[i].setNextSeq(c.next_seq);
                   }
                 },
                 [&](const node::StoreGroupPush& m) {
                   auto o = b.initStoreGroupPush();
                   o.setChannel(text(m.channel));
                   o.setGroup(text(m.group));
                   put(o.initMessage(), m.message);
                 },
                 [&](const node::ReadIndexAsk& m) { b.initReadIndexAsk().setAskId(m.ask_id); },
                 [&](const node::ReadIndexAnswer& m) {
                   auto o = b.initReadIndexAnswer();
                   o.setAskId(m.ask_id);
                   put(o.initStatus(), m.status);
                   o.setIndex(m.index.value());
                   o.setLeaderHint(m.leader_hint.value());
                 },
                 [&](const node::RpcForward& m) {
                   auto o = b.initRpcForward();
                   o.setRpcId(m.rpc_id);
                   o.setKind(to_wire(m.kind));
                   put(o.initRequest(), m.request);
                 },
                 [&](const node::RpcReturn& m) {
                   auto o = b.initRpcReturn();
                   o.setRpcId(m.rpc_id);
                   put(o.initStatus(), m.status);
                   put(o.initAnswer(), m.answer);
                 },
             },
             message);
}

}  // namespace

void encode_frame(const Frame& frame, schema::Frame::Builder out) {
  std::visit(Overloaded{
                 [&](const Hello& m) {
                   auto o = out.initHello();
                   o.setVersion(m.version);
                   o.setRole(to_wire(m.role));
                   o.setNode(m.node.value());
                   o.setCluster(text(m.cluster));
                   o.setStorageId(m.storage_id);
                 },
                 [&](const ErrorFrame& m) { out.initError().setMessage(text(m.message)); },
                 [&](const Envelope<node::Message>& m) {
                   auto o = out.initEnvelope();
                   o.setGroup(m.group.value());
                   o.setFrom(m.from.value());
                   o.setTo(m.to.value());
                   put(o.initMessage(), m.message);
                 },
             },
             frame);
}

}  // namespace sluice::wire::detail
