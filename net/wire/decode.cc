// Cap'n Proto readers back into the core's structs, one get_*() per schema
// struct. The input is untrusted: every union member and enumerant is
// checked, every list and string is charged to the frame's Budget before it
// is allocated, and a Raft append is checked for what the core asserts on.
#include <limits>

#include "net/wire/convert.h"

namespace sluice::wire::detail {

void Budget::charge(std::size_t count, std::size_t each) {
  if (each != 0 && count > left_bytes_ / each) {
    throw DecodeError{"the frame would decode to more memory than its size allows (" + std::to_string(count) +
                      " elements of " + std::to_string(each) + " bytes)"};
  }
  left_bytes_ -= count * each;
}

namespace {

namespace s = schema;

[[noreturn]] void fail(std::string message) { throw DecodeError{std::move(message)}; }

[[noreturn]] void unknown(const char* what, std::uint16_t value) {
  fail(std::string("unknown ") + what + " " + std::to_string(value) +
       " (a newer protocol? this node speaks version " + std::to_string(kProtocolVersion) + ")");
}

// What a node of a std::map or std::set costs beyond its value (three
// pointers and a colour, rounded up).
constexpr std::size_t kTreeNodeBytes = 32;

std::string get(Budget& budget, capnp::Text::Reader r) {
  budget.charge(r.size(), 1);
  return std::string(r.begin(), r.size());
}

std::string get(Budget& budget, capnp::Data::Reader r) {
  budget.charge(r.size(), 1);
  return std::string(reinterpret_cast<const char*>(r.begin()), r.size());
}

// A vector of `read(element)`, charged before anything is allocated.
template <class T, class List, class Read>
std::vector<T> get_vector(Budget& budget, List list, Read read) {
  budget.charge(list.size(), sizeof(T));
  std::vector<T> out;
  out.reserve(list.size());
  for (auto element : list) out.push_back(read(element));
  return out;
}

std::vector<std::uint64_t> get_u64s(Budget& budget, capnp::List<std::uint64_t>::Reader list) {
  return get_vector<std::uint64_t>(budget, list, [](std::uint64_t v) { return v; });
}

std::vector<std::string> get_texts(Budget& budget, capnp::List<capnp::Text>::Reader list) {
  return get_vector<std::string>(budget, list, [&](capnp::Text::Reader t) { return get(budget, t); });
}

broker::Tags get_tags(Budget& budget, capnp::List<s::Tag>::Reader list) {
  budget.charge(list.size(), sizeof(broker::Tags::value_type) + kTreeNodeBytes);
  broker::Tags tags;
  for (auto tag : list) {
    if (!tags.emplace(get(budget, tag.getKey()), get(budget, tag.getValue())).second) {
      fail("a tag key appears twice in one message");
    }
  }
  return tags;
}

// ---------------------------------------------------------------------------
// Enumerations

Role get(s::Role role) {
  switch (role) {
    case s::Role::PEER: return Role::peer;
    case s::Role::CLIENT: return Role::client;
  }
  unknown("Role", static_cast<std::uint16_t>(role));
}

Code get(s::Code code) {
  switch (code) {
    case s::Code::OK: return Code::ok;
    case s::Code::INVALID_ARGUMENT: return Code::invalid_argument;
    case s::Code::NOT_FOUND: return Code::not_found;
    case s::Code::CORRUPTION: return Code::corruption;
    case s::Code::IO_ERROR: return Code::io_error;
    case s::Code::NO_SPACE: return Code::no_space;
    case s::Code::UNAVAILABLE: return Code::unavailable;
    case s::Code::POISONED: return Code::poisoned;
    case s::Code::TIMEOUT: return Code::timeout;
    case s::Code::VERSION_MISMATCH: return Code::version_mismatch;
  }
  unknown("status Code", static_cast<std::uint16_t>(code));
}

node::StartFrom get(s::StartFrom from) {
  switch (from) {
    case s::StartFrom::NEW_ONLY: return node::StartFrom::new_only;
    case s::StartFrom::FIRST: return node::StartFrom::first;
    case s::StartFrom::LAST: return node::StartFrom::last;
    case s::StartFrom::SEQUENCE: return node::StartFrom::sequence;
    case s::StartFrom::TIME: return node::StartFrom::time;
    case s::StartFrom::TIME_DELTA: return node::StartFrom::time_delta;
  }
  unknown("StartFrom", static_cast<std::uint16_t>(from));
}

node::RpcKind get(s::RpcKind kind) {
  switch (kind) {
    case s::RpcKind::COMMAND: return node::RpcKind::command;
    case s::RpcKind::QUERY: return node::RpcKind::query;
  }
  unknown("RpcKind", static_cast<std::uint16_t>(kind));
}

node::AdminOp get(s::AdminOp op) {
  switch (op) {
    case s::AdminOp::TRANSFER_LEADER: return node::AdminOp::transfer_leader;
    case s::AdminOp::ADD_VOTER: return node::AdminOp::add_voter;
    case s::AdminOp::REMOVE_VOTER: return node::AdminOp::remove_voter;
  }
  unknown("AdminOp", static_cast<std::uint16_t>(op));
}

broker::Kind get(s::Kind kind) {
  switch (kind) {
    case s::Kind::STORE: return broker::Kind::store;
    case s::Kind::QUEUE: return broker::Kind::queue;
  }
  unknown("Kind", static_cast<std::uint16_t>(kind));
}

Status get_status(Budget& budget, s::Status::Reader r) {
  const Code code = get(r.getCode());
  return Status(code, get(budget, r.getMessage()));
}

// ---------------------------------------------------------------------------
// Raft

LogEntry get_entry(Budget& budget, s::LogEntry::Reader r) {
  return LogEntry{Term(r.getTerm()), LogIndex(r.getIndex()), get(budget, r.getData())};
}

raft::VoterSet get_voters(Budget& budget, capnp::List<std::uint64_t>::Reader list) {
  budget.charge(list.size(), sizeof(NodeId) + kTreeNodeBytes);
  raft::VoterSet voters;
  for (std::uint64_t id : list) {
    if (!voters.insert(NodeId(id)).second) fail("node " + std::to_string(id) + " appears twice in a configuration");
  }
  return voters;
}

// The follower appends these entries and asserts that they are contiguous
// and that each has a known kind byte (a configuration entry's payload must
// decode): a peer's bad append must end its connection, not the node.
void check_append(const raft::AppendRequest& m) {
  const std::uint64_t prev = m.prev_index.value();
  if (prev > std::numeric_limits<std::uint64_t>::max() - m.entries.size()) {
    fail("append entries would pass the largest log index");
  }
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    const LogEntry& e = m.entries[i];
    if (e.index.value() != prev + 1 + i) {
      fail("append entry " + std::to_string(i) + " has index " + to_string(e.index) + ", not " +
           std::to_string(prev + 1 + i) + " (entries follow prevIndex without gaps)");
    }
    if (e.data.empty()) fail("log entry " + to_string(e.index) + " has no kind byte");
    const auto kind = static_cast<std::uint8_t>(e.data[0]);
    if (kind > static_cast<std::uint8_t>(raft::EntryKind::config)) {
      fail("log entry " + to_string(e.index) + " has unknown kind " + std::to_string(kind));
    }
    raft::JointConfig config;
    std::size_t used = 0;
    if (kind == static_cast<std::uint8_t>(raft::EntryKind::config) &&
        !raft::decode_config(raft::entry_payload(e), &config, &used)) {
      fail("log entry " + to_string(e.index) + " is a configuration that does not decode");
    }
  }
}

raft::AppendRequest get_append(Budget& budget, s::AppendRequest::Reader r) {
  raft::AppendRequest m{Term(r.getTerm()), LogIndex(r.getPrevIndex()), Term(r.getPrevTerm()), {},
                        LogIndex(r.getCommit())};
  m.entries = get_vector<LogEntry>(budget, r.getEntries(), [&](auto e) { return get_entry(budget, e); });
  check_append(m);
  return m;
}

raft::InstallSnapshot get_install_snapshot(Budget& budget, s::InstallSnapshot::Reader r) {
  raft::InstallSnapshot m{Term(r.getTerm()), LogIndex(r.getIndex()), Term(r.getSnapshotTerm()), r.getOffset(),
                          get(budget, r.getData()), r.getDone(), {}};
  m.config.incoming = get_voters(budget, r.getConfig().getIncoming());
  m.config.outgoing = get_voters(budget, r.getConfig().getOutgoing());
  const auto addresses = r.getConfig().getAddresses();
  budget.charge(addresses.size(), sizeof(std::pair<NodeId, std::string>));
  for (auto a : addresses) m.config.addresses[NodeId(a.getNode())] = get(budget, a.getAddress());
  return m;
}

raft::Message get_raft(Budget& budget, s::RaftMessage::Reader r) {
  switch (r.which()) {
    case s::RaftMessage::VOTE_REQUEST: {
      auto m = r.getVoteRequest();
      return raft::VoteRequest{Term(m.getTerm()), LogIndex(m.getLastIndex()), Term(m.getLastTerm()),
                               m.getPreVote(), m.getTransfer()};
    }
    case s::RaftMessage::VOTE_REPLY: {
      auto m = r.getVoteReply();
      return raft::VoteReply{Term(m.getTerm()), m.getGranted(), m.getPreVote()};
    }
    case s::RaftMessage::APPEND_REQUEST: return get_append(budget, r.getAppendRequest());
    case s::RaftMessage::APPEND_REPLY: {
      auto m = r.getAppendReply();
      return raft::AppendReply{Term(m.getTerm()), m.getSuccess(), LogIndex(m.getIndex()), LogIndex(m.getHint()),
                               Term(m.getHintTerm())};
    }
    case s::RaftMessage::HEARTBEAT: {
      auto m = r.getHeartbeat();
      return raft::Heartbeat{Term(m.getTerm()), LogIndex(m.getCommit()), m.getReadRound()};
    }
    case s::RaftMessage::HEARTBEAT_REPLY: {
      auto m = r.getHeartbeatReply();
      return raft::HeartbeatReply{Term(m.getTerm()), m.getReadRound()};
    }
    case s::RaftMessage::TIMEOUT_NOW: return raft::TimeoutNow{Term(r.getTimeoutNow().getTerm())};
    case s::RaftMessage::INSTALL_SNAPSHOT: return get_install_snapshot(budget, r.getInstallSnapshot());
    case s::RaftMessage::INSTALL_SNAPSHOT_REPLY: {
      auto m = r.getInstallSnapshotReply();
      return raft::InstallSnapshotReply{Term(m.getTerm()), LogIndex(m.getIndex()), m.getNextOffset(),
                                        m.getInstalled()};
    }
  }
  unknown("Raft message", static_cast<std::uint16_t>(r.which()));
}

// ---------------------------------------------------------------------------
// Broker commands

broker::MessageIn get_message_in(Budget& budget, s::MessageIn::Reader r) {
  return broker::MessageIn{get(budget, r.getId()),        get(budget, r.getChannel()),
                           get(budget, r.getMetadata()),  get(budget, r.getBody()),
                           get_tags(budget, r.getTags()), get(budget, r.getClientId())};
}

broker::IdempotencyKey get_key(Budget& budget, s::IdempotencyKey::Reader r) {
  return broker::IdempotencyKey{get(budget, r.getProducerId()), r.getProducerSeq(), r.getByMessageId()};
}

broker::Retention get_retention(s::Retention::Reader r) {
  return broker::Retention{Duration{r.getAgeMaxNs()}, r.getBytesMax(), r.getCountMax()};
}

broker::QueueItem get_item(Budget& budget, s::QueueItem::Reader r) {
  return broker::QueueItem{get_message_in(budget, r.getMessage()), get_key(budget, r.getKey()),
                           Duration{r.getDelayNs()},               Duration{r.getExpirationNs()},
                           r.getMaxReceiveCount(),                 get(budget, r.getDeadLetter())};
}

broker::StateLimits get_state_limits(s::StateLimits::Reader r) {
  return broker::StateLimits{r.getQueueMessagesMax(),         r.getChannelsMax(),
                             Duration{r.getDedupWindowNs()},  r.getDedupKeysMax(),
                             Duration{r.getVisibilityDefaultNs()}, get_retention(r.getStoreRetention())};
}

broker::Command get_command(Budget& budget, s::Command::Reader r) {
  switch (r.which()) {
    case s::Command::STORE_PUBLISH: {
      auto m = r.getStorePublish();
      return broker::StorePublish{get_message_in(budget, m.getMessage()), get_key(budget, m.getKey())};
    }
    case s::Command::QUEUE_SEND:
      return broker::QueueSend{get_vector<broker::QueueItem>(budget, r.getQueueSend().getItems(),
                                                             [&](auto i) { return get_item(budget, i); })};
    case s::Command::QUEUE_RECEIVE: {
      auto m = r.getQueueReceive();
      return broker::QueueReceive{get(budget, m.getChannel()), m.getMaxMessages(), Duration{m.getVisibilityNs()},
                                  get(budget, m.getClientId())};
    }
    case s::Command::QUEUE_ACK: return broker::QueueAck{get_u64s(budget, r.getQueueAck().getReceipts())};
    case s::Command::QUEUE_REJECT: return broker::QueueReject{r.getQueueReject().getReceipt()};
    case s::Command::QUEUE_EXTEND: {
      auto m = r.getQueueExtend();
      return broker::QueueExtend{m.getReceipt(), Duration{m.getVisibilityNs()}};
    }
    case s::Command::QUEUE_RESEND: {
      auto m = r.getQueueResend();
      return broker::QueueResend{m.getReceipt(), get(budget, m.getToChannel())};
    }
    case s::Command::QUEUE_PURGE: return broker::QueuePurge{get(budget, r.getQueuePurge().getChannel())};
    case s::Command::STORE_RETENTION: {
      auto m = r.getStoreRetention();
      return broker::StoreRetention{get(budget, m.getChannel()), get_retention(m.getRetention())};
    }
    case s::Command::CONFIGURE: return broker::Configure{get_state_limits(r.getConfigure().getLimits())};
    case s::Command::TICK: return broker::Tick{};
    case s::Command::STORE_GROUP_POSITION: {
      auto m = r.getStoreGroupPosition();
      return broker::StoreGroupPosition{get(budget, m.getChannel()), get(budget, m.getGroup()), m.getNextSeq()};
    }
  }
  unknown("Command", static_cast<std::uint16_t>(r.which()));
}

// ---------------------------------------------------------------------------
// Broker replies

broker::StoredMessage get_stored(Budget& budget, s::StoredMessage::Reader r) {
  return broker::StoredMessage{get(budget, r.getId()),       get(budget, r.getChannel()),
                               get(budget, r.getMetadata()), get(budget, r.getBody()),
                               get_tags(budget, r.getTags()), get(budget, r.getClientId()),
                               Timestamp{r.getTimestampNs()}, r.getSeq()};
}

std::vector<broker::StoredMessage> get_stored_list(Budget& budget, capnp::List<s::StoredMessage>::Reader list) {
  return get_vector<broker::StoredMessage>(budget, list, [&](auto m) { return get_stored(budget, m); });
}

broker::Published get_published(Budget& budget, s::Published::Reader r) {
  return broker::Published{get(budget, r.getId()), r.getSeq(), Timestamp{r.getTimestampNs()}, r.getDuplicate()};
}

broker::Delivery get_delivery(Budget& budget, s::Delivery::Reader r) {
  return broker::Delivery{get_stored(budget, r.getMessage()),    r.getReceipt(),
                          r.getReceiveCount(),                   Timestamp{r.getDeliveredAtNs()},
                          Timestamp{r.getVisibleAgainAtNs()},    get(budget, r.getDeadLetterReason()),
                          get(budget, r.getDeadLetterFrom())};
}

broker::Reply get_reply(Budget& budget, s::Reply::Reader r) {
  switch (r.which()) {
    case s::Reply::DONE: return broker::Done{};
    case s::Reply::PUBLISHED: return get_published(budget, r.getPublished());
    case s::Reply::SEND_RESULT:
      return broker::SendResult{get_vector<broker::Published>(budget, r.getSendResult().getItems(),
                                                              [&](auto p) { return get_published(budget, p); })};
    case s::Reply::RECEIVE_RESULT:
      return broker::ReceiveResult{get_vector<broker::Delivery>(
          budget, r.getReceiveResult().getDeliveries(), [&](auto d) { return get_delivery(budget, d); })};
    case s::Reply::ACK_RESULT: {
      auto m = r.getAckResult();
      return broker::AckResult{m.getAcked(), get_u64s(budget, m.getStale())};
    }
    case s::Reply::PURGED: return broker::Purged{r.getPurged().getCount()};
  }
  unknown("Reply", static_cast<std::uint16_t>(r.which()));
}

broker::QueueStats get_queue_stats(s::QueueStats::Reader r) {
  return broker::QueueStats{r.getReady(),   r.getDelayed(),  r.getInFlight(),     r.getBytes(),
                            r.getSent(),    r.getDelivered(), r.getAcked(),       r.getRejected(),
                            r.getExpired(), r.getDeadLettered(), r.getPurged(),   r.getResent()};
}

broker::StoreStats get_store_stats(s::StoreStats::Reader r) {
  return broker::StoreStats{r.getFirstSeq(), r.getLastSeq(),   r.getCount(),   r.getBytes(),
                            r.getPublished(), r.getTrimmed(), get_retention(r.getRetention())};
}

// ---------------------------------------------------------------------------
// Client requests

node::RequestBody get_request_body(Budget& budget, s::ClientRequest::Body::Reader r) {
  using B = s::ClientRequest::Body;
  switch (r.which()) {
    case B::WRITE: {
      auto m = r.getWrite();
      return node::Write{get_command(budget, m.getCommand()), Duration{m.getWaitNs()}};
    }
    case B::PUBLISH_EVENT: return node::PublishEvent{get_message_in(budget, r.getPublishEvent().getMessage())};
    case B::SUBSCRIBE_EVENTS: {
      auto m = r.getSubscribeEvents();
      return node::SubscribeEvents{m.getSubId(), get(budget, m.getPattern()), get(budget, m.getGroup())};
    }
    case B::SUBSCRIBE_STORE: {
      auto m = r.getSubscribeStore();
      auto start = m.getStart();
      return node::SubscribeStore{m.getSubId(), get(budget, m.getChannel()), get(budget, m.getGroup()),
                                  node::StoreStart{get(start.getFrom()), start.getSeq(), Timestamp{start.getTimeNs()},
                                                   Duration{start.getDeltaNs()}}};
    }
    case B::SUBSCRIBE_RPC: {
      auto m = r.getSubscribeRpc();
      return node::SubscribeRpc{m.getSubId(), get(m.getKind()), get(budget, m.getChannel()),
                                get(budget, m.getGroup())};
    }
    case B::UNSUBSCRIBE: return node::Unsubscribe{r.getUnsubscribe().getSubId()};
    case B::RPC_CALL: {
      auto m = r.getRpcCall();
      return node::RpcCall{get(m.getKind()), get_message_in(budget, m.getMessage()), Duration{m.getTimeoutNs()},
                           get(budget, m.getCacheKey()), Duration{m.getCacheTtlNs()}};
    }
    case B::RPC_RESPOND: {
      auto m = r.getRpcRespond();
      return node::RpcRespond{m.getRpcId(),                 m.getExecuted(),           get(budget, m.getError()),
                              get(budget, m.getMetadata()), get(budget, m.getBody()),  get_tags(budget, m.getTags())};
    }
    case B::PEEK: {
      auto m = r.getPeek();
      return node::Peek{get(budget, m.getChannel()), m.getMaxMessages()};
    }
    case B::GET_STATS: {
      auto m = r.getGetStats();
      return node::GetStats{get(m.getKind()), get(budget, m.getChannel())};
    }
    case B::LIST_CHANNELS: return node::ListChannels{get(budget, r.getListChannels().getPattern())};
    case B::CLUSTER_ADMIN: {
      auto m = r.getClusterAdmin();
      return node::ClusterAdmin{get(m.getOp()), NodeId(m.getNode()), get(budget, m.getAddress())};
    }
  }
  unknown("ClientRequest body", static_cast<std::uint16_t>(r.which()));
}

// ---------------------------------------------------------------------------
// Replies and pushes to clients

node::RpcAnswer get_rpc_answer(Budget& budget, s::RpcAnswer::Reader r) {
  return node::RpcAnswer{r.getExecuted(),           get(budget, r.getError()),      get(budget, r.getMetadata()),
                         get(budget, r.getBody()),  get_tags(budget, r.getTags()), r.getFromCache()};
}

node::ChannelInfo get_channel_info(Budget& budget, s::ChannelInfo::Reader r) {
  return node::ChannelInfo{get(budget, r.getKind()), get(budget, r.getName()), r.getMessages(),
                           r.getInFlight(),          r.getTotal(),             r.getSubscribers()};
}

node::ReplyBody get_reply_body(Budget& budget, s::ClientReply::Body::Reader r) {
  using B = s::ClientReply::Body;
  switch (r.which()) {
    case B::NONE: return std::monostate{};
    case B::REPLY: return get_reply(budget, r.getReply());
    case B::RPC_ANSWER: return get_rpc_answer(budget, r.getRpcAnswer());
    case B::MESSAGES: return get_stored_list(budget, r.getMessages());
    case B::QUEUE_STATS: return get_queue_stats(r.getQueueStats());
    case B::STORE_STATS: return get_store_stats(r.getStoreStats());
    case B::CHANNELS:
      return get_vector<node::ChannelInfo>(budget, r.getChannels(),
                                           [&](auto c) { return get_channel_info(budget, c); });
    case B::CLUSTER_VIEW: {
      auto m = r.getClusterView();
      return node::ClusterView{NodeId(m.getLeader()),
                               get_vector<NodeId>(budget, m.getVoters(), [](std::uint64_t v) { return NodeId(v); })};
    }
  }
  unknown("ClientReply body", static_cast<std::uint16_t>(r.which()));
}

// ---------------------------------------------------------------------------
// Messages

node::EventFanout get_fanout(Budget& budget, s::EventFanout::Reader r) {
  using Route = std::pair<std::string, NodeId>;
  return node::EventFanout{get_stored(budget, r.getEvent()),
                           get_vector<Route>(budget, r.getGroups(), [&](auto g) {
                             return Route{get(budget, g.getGroup()), NodeId(g.getNode())};
                           })};
}

node::Message get_message(Budget& budget, s::Message::Reader r) {
  switch (r.which()) {
    case s::Message::RAFT: return get_raft(budget, r.getRaft());
    case s::Message::CLIENT_REQUEST: {
      auto m = r.getClientRequest();
      return node::ClientRequest{m.getRequestId(), get_request_body(budget, m.getBody())};
    }
    case s::Message::CLIENT_REPLY: {
      auto m = r.getClientReply();
      return node::ClientReply{m.getRequestId(), get_status(budget, m.getStatus()), NodeId(m.getLeaderHint()),
                               get_reply_body(budget, m.getBody())};
    }
    case s::Message::EVENT_DELIVERY: {
      auto m = r.getEventDelivery();
      return node::EventDelivery{m.getSubId(), get_stored(budget, m.getMessage())};
    }
    case s::Message::STORE_DELIVERY: {
      auto m = r.getStoreDelivery();
      return node::StoreDelivery{m.getSubId(), get_stored(budget, m.getMessage())};
    }
    case s::Message::RPC_INCOMING: {
      auto m = r.getRpcIncoming();
      return node::RpcIncoming{m.getSubId(), m.getRpcId(), get(m.getKind()), get_stored(budget, m.getRequest())};
    }
    case s::Message::FORWARD: {
      auto m = r.getForward();
      return node::Forward{m.getForwardId(), get_command(budget, m.getCommand())};
    }
    case s::Message::FORWARD_REPLY: {
      auto m = r.getForwardReply();
      return node::ForwardReply{m.getForwardId(), get_status(budget, m.getStatus()), get_reply(budget, m.getReply()),
                                NodeId(m.getLeaderHint())};
    }
    case s::Message::EVENT_FANOUT: return get_fanout(budget, r.getEventFanout());
    case s::Message::REGISTRY: {
      auto m = r.getRegistry();
      return node::Registry{m.getGeneration(), get_texts(budget, m.getEventGroups()),
                            get_texts(budget, m.getResponders()),
                            get_vector<node::StoreGroupCursor>(budget, m.getStoreGroups(), [&](auto c) {
                              return node::StoreGroupCursor{get(budget, c.getChannel()), get(budget, c.getGroup()),
                                                            c.getMembers(), c.getNextSeq()};
                            })};
    }
    case s::Message::STORE_GROUP_PUSH: {
      auto m = r.getStoreGroupPush();
      return node::StoreGroupPush{get(budget, m.getChannel()), get(budget, m.getGroup()),
                                  get_stored(budget, m.getMessage())};
    }
    case s::Message::READ_INDEX_ASK: return node::ReadIndexAsk{r.getReadIndexAsk().getAskId()};
    case s::Message::READ_INDEX_ANSWER: {
      auto m = r.getReadIndexAnswer();
      return node::ReadIndexAnswer{m.getAskId(), get_status(budget, m.getStatus()), LogIndex(m.getIndex()),
                                   NodeId(m.getLeaderHint())};
    }
    case s::Message::RPC_FORWARD: {
      auto m = r.getRpcForward();
      return node::RpcForward{m.getRpcId(), get(m.getKind()), get_stored(budget, m.getRequest())};
    }
    case s::Message::RPC_RETURN: {
      auto m = r.getRpcReturn();
      return node::RpcReturn{m.getRpcId(), get_status(budget, m.getStatus()), get_rpc_answer(budget, m.getAnswer())};
    }
  }
  unknown("Message", static_cast<std::uint16_t>(r.which()));
}

Hello get_hello(Budget& budget, s::Hello::Reader r) {
  Hello hello{r.getVersion(), get(r.getRole()), NodeId(r.getNode()), get(budget, r.getCluster()), r.getStorageId()};
  if (hello.version != kProtocolVersion) {
    fail("protocol version " + std::to_string(hello.version) + " is not supported; this node speaks version " +
         std::to_string(kProtocolVersion));
  }
  if (hello.role == Role::peer && hello.node == kNoNode) fail("a peer's Hello must carry its node id");
  return hello;
}

}  // namespace

Frame decode_frame(schema::Frame::Reader in, Budget& budget) {
  switch (in.which()) {
    case s::Frame::HELLO: return get_hello(budget, in.getHello());
    case s::Frame::ERROR: return ErrorFrame{get(budget, in.getError().getMessage())};
    case s::Frame::ENVELOPE: {
      auto e = in.getEnvelope();
      return Envelope<node::Message>{GroupId(e.getGroup()), NodeId(e.getFrom()), NodeId(e.getTo()),
                                     get_message(budget, e.getMessage())};
    }
  }
  unknown("Frame", static_cast<std::uint16_t>(in.which()));
}

}  // namespace sluice::wire::detail
