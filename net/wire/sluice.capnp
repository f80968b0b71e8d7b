# The Sluice wire format: every frame between nodes, and between a node and
# its clients, is one `Frame` (see README.md for the framing around it).
#
# This schema is the contract for clients in any language: every command,
# reply and message is its own struct, and variants are unions, so a
# generated client can build and read all of them without knowing Sluice's
# C++ types. net/wire/wire.cc maps these onto the core's plain structs.
#
# Conventions:
# - Ids, terms and log indexes are UInt64 (0 means "none" for node ids).
# - Times are Int64 nanoseconds: a field ending in `Ns` is a duration, one
#   ending in `AtNs` or `timeNs`/`timestampNs` a point on the cluster's
#   clock (nanoseconds since the Unix epoch on a real server).
# - Text fields carry UTF-8 by convention; message bodies are Data.
# - Defaults equal the C++ defaults, so a client may omit a field it does
#   not care about.
#
# Evolution: add fields with new ordinals only; never renumber, retype or
# remove one. An old reader ignores fields it does not know. A union member
# it does not know is an error (the frame cannot be understood), so new
# union members come with a new protocol version in Hello.

@0xb5eb6946bfad7d94;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("sluice::wire::schema");

# ---------------------------------------------------------------------------
# Frames

struct Frame {
  union {
    hello @0 :Hello;
    error @1 :ErrorFrame;
    envelope @2 :Envelope;
  }
}

enum Role {
  client @0;  # first, so that an empty Hello never claims to be a peer
  peer @1;
}

# The first frame on every connection, in both directions.
struct Hello {
  version @0 :UInt32;   # the sender's protocol version (1 today); 0 is not a version
  role @1 :Role;
  node @2 :UInt64;      # peers: the sender's node id (not 0); clients: 0
  cluster @3 :Text;     # a connection across clusters is refused
  storageId @4 :UInt64; # peers: the sender's data directory, drawn when it was created (0: unknown).
                        # A peer that comes back with another one lost its data, and is refused.
}

# Sent just before the sender closes the connection because of bad input.
struct ErrorFrame {
  message @0 :Text;
}

# Every message carries its Raft group (multi-raft later; 1 today).
struct Envelope {
  group @0 :UInt64 = 1;
  from @1 :UInt64;
  to @2 :UInt64;
  message @3 :Message;
}

struct Message {
  union {
    raft @0 :RaftMessage;
    clientRequest @1 :ClientRequest;
    clientReply @2 :ClientReply;
    eventDelivery @3 :EventDelivery;
    storeDelivery @4 :StoreDelivery;
    rpcIncoming @5 :RpcIncoming;
    forward @6 :Forward;
    forwardReply @7 :ForwardReply;
    eventFanout @8 :EventFanout;
    registry @9 :Registry;
    rpcForward @10 :RpcForward;
    rpcReturn @11 :RpcReturn;
    storeGroupPush @12 :StoreGroupPush;
    readIndexAsk @13 :ReadIndexAsk;
    readIndexAnswer @14 :ReadIndexAnswer;
  }
}

# ---------------------------------------------------------------------------
# Common

enum Code {
  ok @0;
  invalidArgument @1;
  notFound @2;
  corruption @3;
  ioError @4;
  noSpace @5;
  unavailable @6;
  poisoned @7;
  timeout @8;
  versionMismatch @9;
}

struct Status {
  code @0 :Code;
  message @1 :Text;
}

struct Tag {
  key @0 :Text;
  value @1 :Text;
}

# ---------------------------------------------------------------------------
# Raft (between peers)

struct RaftMessage {
  union {
    voteRequest @0 :VoteRequest;
    voteReply @1 :VoteReply;
    appendRequest @2 :AppendRequest;
    appendReply @3 :AppendReply;
    heartbeat @4 :Heartbeat;
    heartbeatReply @5 :HeartbeatReply;
    timeoutNow @6 :TimeoutNow;
    installSnapshot @7 :InstallSnapshot;
    installSnapshotReply @8 :InstallSnapshotReply;
  }
}

struct VoteRequest {
  term @0 :UInt64;      # for a pre-vote: the term the candidate would campaign in
  lastIndex @1 :UInt64;
  lastTerm @2 :UInt64;
  preVote @3 :Bool;
  transfer @4 :Bool;    # sent on TimeoutNow: bypasses the leader lease
}

struct VoteReply {
  term @0 :UInt64;
  granted @1 :Bool;
  preVote @2 :Bool;
}

# A log entry; `data` is one kind byte (0 normal, 1 no-op, 2 configuration)
# and the payload.
struct LogEntry {
  term @0 :UInt64;
  index @1 :UInt64;
  data @2 :Data;
}

# Entries, if any, are at prevIndex + 1, prevIndex + 2, ...
struct AppendRequest {
  term @0 :UInt64;
  prevIndex @1 :UInt64;
  prevTerm @2 :UInt64;
  entries @3 :List(LogEntry);
  commit @4 :UInt64;
}

struct AppendReply {
  term @0 :UInt64;
  success @1 :Bool;
  index @2 :UInt64;     # success: matches through here; failure: the rejected prevIndex
  hint @3 :UInt64;      # failure: the highest index that may match
  hintTerm @4 :UInt64;  # failure: the follower's term at hint
}

struct Heartbeat {
  term @0 :UInt64;
  commit @1 :UInt64;
  readRound @2 :UInt64;
}

struct HeartbeatReply {
  term @0 :UInt64;
  readRound @1 :UInt64;
}

struct TimeoutNow {
  term @0 :UInt64;
}

# A voter's peer address, host:port.
struct MemberAddress {
  node @0 :UInt64;
  address @1 :Text;
}

# During a joint change both halves are set; otherwise only `incoming`.
# `addresses`: of the voters that joined by a membership change (the
# bootstrap voters' are configured on every node).
struct JointConfig {
  incoming @0 :List(UInt64);
  outgoing @1 :List(UInt64);
  addresses @2 :List(MemberAddress);
}

# One chunk of a snapshot taken at (index, snapshotTerm).
struct InstallSnapshot {
  term @0 :UInt64;
  index @1 :UInt64;
  snapshotTerm @2 :UInt64;
  offset @3 :UInt64;    # where `data` starts in the whole snapshot
  data @4 :Data;
  done @5 :Bool;        # the last chunk
  config @6 :JointConfig;
}

struct InstallSnapshotReply {
  term @0 :UInt64;
  index @1 :UInt64;
  nextOffset @2 :UInt64;
  installed @3 :Bool;
}

# ---------------------------------------------------------------------------
# Broker commands: what a write proposes to the replicated log

struct MessageIn {
  id @0 :Text;          # optional; the broker assigns one when empty
  channel @1 :Text;
  metadata @2 :Text;
  body @3 :Data;
  tags @4 :List(Tag);   # keys unique
  clientId @5 :Text;
}

# Exactly-once publish: a producer id with a sequence, or the message id.
struct IdempotencyKey {
  producerId @0 :Text;
  producerSeq @1 :UInt64;
  byMessageId @2 :Bool;
}

struct StorePublish {
  message @0 :MessageIn;
  key @1 :IdempotencyKey;
}

struct QueueItem {
  message @0 :MessageIn;
  key @1 :IdempotencyKey;
  delayNs @2 :Int64;
  expirationNs @3 :Int64;       # 0: never
  maxReceiveCount @4 :UInt32;   # 0: unlimited
  deadLetter @5 :Text;          # empty: drop messages over maxReceiveCount
}

struct QueueSend {
  items @0 :List(QueueItem);    # all or none
}

struct QueueReceive {
  channel @0 :Text;
  maxMessages @1 :UInt32 = 1;
  visibilityNs @2 :Int64;       # 0: the cluster's default
  clientId @3 :Text;
}

struct QueueAck {
  receipts @0 :List(UInt64);
}

struct QueueReject {
  receipt @0 :UInt64;
}

struct QueueExtend {
  receipt @0 :UInt64;
  visibilityNs @1 :Int64;
}

struct QueueResend {
  receipt @0 :UInt64;
  toChannel @1 :Text;
}

struct QueuePurge {
  channel @0 :Text;
}

struct Retention {
  ageMaxNs @0 :Int64;   # 0: keep regardless of age
  bytesMax @1 :UInt64;  # 0: no bound
  countMax @2 :UInt64;  # 0: no bound
}

struct StoreRetention {
  channel @0 :Text;
  retention @1 :Retention;
}

struct StateLimits {
  queueMessagesMax @0 :UInt64;
  channelsMax @1 :UInt64;
  dedupWindowNs @2 :Int64;
  dedupKeysMax @3 :UInt64;
  visibilityDefaultNs @4 :Int64;
  storeRetention @5 :Retention;
}

struct Configure {
  limits @0 :StateLimits;
}

struct Tick {}

struct StoreGroupPosition {
  channel @0 :Text;
  group @1 :Text;
  nextSeq @2 :UInt64;  # the group's next message to hand out
}

struct Command {
  union {
    storePublish @0 :StorePublish;
    queueSend @1 :QueueSend;
    queueReceive @2 :QueueReceive;
    queueAck @3 :QueueAck;
    queueReject @4 :QueueReject;
    queueExtend @5 :QueueExtend;
    queueResend @6 :QueueResend;
    queuePurge @7 :QueuePurge;
    storeRetention @8 :StoreRetention;
    configure @9 :Configure;
    tick @10 :Tick;
    storeGroupPosition @11 :StoreGroupPosition;
  }
}

# ---------------------------------------------------------------------------
# Broker replies and statistics

struct StoredMessage {
  id @0 :Text;
  channel @1 :Text;
  metadata @2 :Text;
  body @3 :Data;
  tags @4 :List(Tag);
  clientId @5 :Text;
  timestampNs @6 :Int64;  # the replicated clock when it was accepted
  seq @7 :UInt64;         # position in its channel from 1; events: 0
}

struct Published {
  id @0 :Text;
  seq @1 :UInt64;
  timestampNs @2 :Int64;
  duplicate @3 :Bool;     # a retry: this is the first attempt's result
}

struct SendResult {
  items @0 :List(Published);
}

struct Delivery {
  message @0 :StoredMessage;
  receipt @1 :UInt64;
  receiveCount @2 :UInt32;
  deliveredAtNs @3 :Int64;
  visibleAgainAtNs @4 :Int64;
  deadLetterReason @5 :Text;
  deadLetterFrom @6 :Text;
}

struct ReceiveResult {
  deliveries @0 :List(Delivery);
}

struct AckResult {
  acked @0 :UInt32;
  stale @1 :List(UInt64);
}

struct Purged {
  count @0 :UInt64;
}

struct Done {}

struct Reply {
  union {
    done @0 :Done;
    published @1 :Published;
    sendResult @2 :SendResult;
    receiveResult @3 :ReceiveResult;
    ackResult @4 :AckResult;
    purged @5 :Purged;
  }
}

struct QueueStats {
  ready @0 :UInt64;
  delayed @1 :UInt64;
  inFlight @2 :UInt64;
  bytes @3 :UInt64;
  sent @4 :UInt64;
  delivered @5 :UInt64;
  acked @6 :UInt64;
  rejected @7 :UInt64;
  expired @8 :UInt64;
  deadLettered @9 :UInt64;
  purged @10 :UInt64;
  resent @11 :UInt64;
}

struct StoreStats {
  firstSeq @0 :UInt64 = 1;  # firstSeq > lastSeq when empty
  lastSeq @1 :UInt64;
  count @2 :UInt64;
  bytes @3 :UInt64;
  published @4 :UInt64;
  trimmed @5 :UInt64;
  retention @6 :Retention;
}

# ---------------------------------------------------------------------------
# Client requests

# A persistent command, committed through Raft. For a queueReceive, `waitNs`
# is how long to wait for a message if none is ready (0: answer at once).
struct Write {
  command @0 :Command;
  waitNs @1 :Int64;
}

struct PublishEvent {
  message @0 :MessageIn;
}

struct SubscribeEvents {
  subId @0 :UInt64;     # chosen by the client, unique per client
  pattern @1 :Text;     # wildcards allowed
  group @2 :Text;       # empty: every event
}

enum StartFrom {
  newOnly @0;
  first @1;
  last @2;
  sequence @3;
  time @4;
  timeDelta @5;
}

struct StoreStart {
  from @0 :StartFrom;
  seq @1 :UInt64;       # sequence: the first to deliver
  timeNs @2 :Int64;     # time: the first message at or after
  deltaNs @3 :Int64;    # timeDelta: messages of the last delta
}

struct SubscribeStore {
  subId @0 :UInt64;
  channel @1 :Text;
  group @2 :Text;
  start @3 :StoreStart;
}

enum RpcKind {
  command @0;
  query @1;
}

struct SubscribeRpc {
  subId @0 :UInt64;
  kind @1 :RpcKind;
  channel @2 :Text;
  group @3 :Text;
}

struct Unsubscribe {
  subId @0 :UInt64;
}

struct RpcCall {
  kind @0 :RpcKind;
  message @1 :MessageIn;
  timeoutNs @2 :Int64;
  cacheKey @3 :Text;    # queries: answer from the cache when fresh
  cacheTtlNs @4 :Int64;
}

# A responder's answer to an RpcIncoming.
struct RpcRespond {
  rpcId @0 :UInt64;
  executed @1 :Bool;
  error @2 :Text;
  metadata @3 :Text;
  body @4 :Data;
  tags @5 :List(Tag);
}

struct Peek {
  channel @0 :Text;
  maxMessages @1 :UInt32 = 10;
}

enum Kind {
  store @0;
  queue @1;
}

struct GetStats {
  kind @0 :Kind = queue;
  channel @1 :Text;
}

struct ListChannels {
  pattern @0 :Text;     # empty: all
}

enum AdminOp {
  transferLeader @0;
  addVoter @1;
  removeVoter @2;
}

# Membership and leadership; only the leader serves it (others answer
# unavailable with a leader hint). The answer is a ClusterView once done:
# the new leader leads, or the new configuration is committed.
struct ClusterAdmin {
  op @0 :AdminOp;
  node @1 :UInt64;
  address @2 :Text;     # addVoter: the new node's peer address, host:port
}

struct ClientRequest {
  requestId @0 :UInt64;  # echoed in the reply; unique per client
  body :union {
    write @1 :Write;
    publishEvent @2 :PublishEvent;
    subscribeEvents @3 :SubscribeEvents;
    subscribeStore @4 :SubscribeStore;
    subscribeRpc @5 :SubscribeRpc;
    unsubscribe @6 :Unsubscribe;
    rpcCall @7 :RpcCall;
    rpcRespond @8 :RpcRespond;
    peek @9 :Peek;
    getStats @10 :GetStats;
    listChannels @11 :ListChannels;
    clusterAdmin @12 :ClusterAdmin;
  }
}

# ---------------------------------------------------------------------------
# Replies and pushes to clients

struct RpcAnswer {
  executed @0 :Bool;
  error @1 :Text;
  metadata @2 :Text;
  body @3 :Data;
  tags @4 :List(Tag);
  fromCache @5 :Bool;
}

struct ChannelInfo {
  kind @0 :Text;        # "events", "events_store", "queues", "commands", "queries"
  name @1 :Text;
  messages @2 :UInt64;  # stored (store), waiting (queue)
  inFlight @3 :UInt64;
  total @4 :UInt64;
  subscribers @5 :UInt64;
}

struct ClusterView {
  leader @0 :UInt64;
  voters @1 :List(UInt64);  # ascending
}

struct ClientReply {
  requestId @0 :UInt64;
  status @1 :Status;
  leaderHint @2 :UInt64;  # unavailable: who leads, if known (0: unknown)
  body :union {
    none @3 :Void;
    reply @4 :Reply;
    rpcAnswer @5 :RpcAnswer;
    messages @6 :List(StoredMessage);
    queueStats @7 :QueueStats;
    storeStats @8 :StoreStats;
    channels @9 :List(ChannelInfo);
    clusterView @10 :ClusterView;
  }
}

struct EventDelivery {
  subId @0 :UInt64;
  message @1 :StoredMessage;  # seq 0: events have no sequence
}

struct StoreDelivery {
  subId @0 :UInt64;
  message @1 :StoredMessage;
}

struct RpcIncoming {
  subId @0 :UInt64;
  rpcId @1 :UInt64;     # answer with RpcRespond{rpcId}
  kind @2 :RpcKind;
  request @3 :StoredMessage;
}

# ---------------------------------------------------------------------------
# Between nodes (besides Raft)

# A follower hands a client's write to the leader.
struct Forward {
  forwardId @0 :UInt64;
  command @1 :Command;
}

struct ForwardReply {
  forwardId @0 :UInt64;
  status @1 :Status;
  reply @2 :Reply;
  leaderHint @3 :UInt64;
}

# For one event group: the node that delivers to it.
struct GroupRoute {
  group @0 :Text;
  node @1 :UInt64;
}

struct EventFanout {
  event @0 :StoredMessage;
  groups @1 :List(GroupRoute);
}

struct StoreGroupCursor {
  channel @0 :Text;
  group @1 :Text;
  members @2 :UInt32;
  nextSeq @3 :UInt64;
}

struct Registry {
  generation @0 :UInt64;
  eventGroups @1 :List(Text);
  responders @2 :List(Text);
  storeGroups @3 :List(StoreGroupCursor);
}

struct StoreGroupPush {
  channel @0 :Text;
  group @1 :Text;
  message @2 :StoredMessage;
}

# A follower asks the leader for a read index before it serves a read.
struct ReadIndexAsk {
  askId @0 :UInt64;
}

struct ReadIndexAnswer {
  askId @0 :UInt64;
  status @1 :Status;     # unavailable: not the leader, or not ready for reads yet
  index @2 :UInt64;      # ok: serve once applied up to here
  leaderHint @3 :UInt64;
}

struct RpcForward {
  rpcId @0 :UInt64;     # the origin's id
  kind @1 :RpcKind;
  request @2 :StoredMessage;
}

struct RpcReturn {
  rpcId @0 :UInt64;     # the origin's id
  status @1 :Status;    # notFound: the responder went away
  answer @2 :RpcAnswer;
}
