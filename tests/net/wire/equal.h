// operator== for the message structs that do not define one (Raft's and the
// node's), so round-trip tests can compare decoded values with the
// originals, std::variant and std::vector included.
//
// Each compares the fields it names, and a static_assert checks that it
// names all of them: a field added to a struct fails this build until it is
// compared. If the core ever defaults these operators itself, delete the
// matching lines here.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include "core/node/broker_messages.h"
#include "core/node/output.h"
#include "net/wire/field_count.h"
#include "net/wire/wire.h"

#define SLUICE_TEST_EQ(T, ...)                                                                    \
  inline bool operator==(const T& x, const T& y) {                                                \
    auto fields = [](const T& m) { return std::tie(__VA_ARGS__); };                               \
    static_assert(std::tuple_size_v<decltype(fields(x))> == ::sluice::wire::field_count<T>(),     \
                  "compare every field of " #T);                                                  \
    return fields(x) == fields(y);                                                                \
  }

namespace sluice::raft {
SLUICE_TEST_EQ(VoteRequest, m.term, m.last_index, m.last_term, m.pre_vote, m.transfer)
SLUICE_TEST_EQ(VoteReply, m.term, m.granted, m.pre_vote)
SLUICE_TEST_EQ(AppendRequest, m.term, m.prev_index, m.prev_term, m.entries, m.commit)
SLUICE_TEST_EQ(AppendReply, m.term, m.success, m.index, m.hint, m.hint_term)
SLUICE_TEST_EQ(Heartbeat, m.term, m.commit, m.read_round)
SLUICE_TEST_EQ(HeartbeatReply, m.term, m.read_round)
SLUICE_TEST_EQ(TimeoutNow, m.term)
SLUICE_TEST_EQ(InstallSnapshot, m.term, m.index, m.snapshot_term, m.offset, m.data, m.done, m.config)
SLUICE_TEST_EQ(InstallSnapshotReply, m.term, m.index, m.next_offset, m.installed)
}  // namespace sluice::raft

namespace sluice::node {
SLUICE_TEST_EQ(Write, m.command, m.wait)
SLUICE_TEST_EQ(PublishEvent, m.message)
SLUICE_TEST_EQ(SubscribeEvents, m.sub_id, m.pattern, m.group)
SLUICE_TEST_EQ(StoreStart, m.from, m.seq, m.time, m.delta)
SLUICE_TEST_EQ(SubscribeStore, m.sub_id, m.channel, m.group, m.start)
SLUICE_TEST_EQ(SubscribeRpc, m.sub_id, m.kind, m.channel, m.group)
SLUICE_TEST_EQ(Unsubscribe, m.sub_id)
SLUICE_TEST_EQ(RpcCall, m.kind, m.message, m.timeout, m.cache_key, m.cache_ttl)
SLUICE_TEST_EQ(RpcRespond, m.rpc_id, m.executed, m.error, m.metadata, m.body, m.tags)
SLUICE_TEST_EQ(Peek, m.channel, m.max_messages)
SLUICE_TEST_EQ(GetStats, m.kind, m.channel)
SLUICE_TEST_EQ(ListChannels, m.pattern)
SLUICE_TEST_EQ(ClusterAdmin, m.op, m.node, m.address)
SLUICE_TEST_EQ(ClusterView, m.leader, m.voters)
SLUICE_TEST_EQ(ClientRequest, m.request_id, m.body)
SLUICE_TEST_EQ(RpcAnswer, m.executed, m.error, m.metadata, m.body, m.tags, m.from_cache)
SLUICE_TEST_EQ(ChannelInfo, m.kind, m.name, m.messages, m.in_flight, m.total, m.subscribers)
SLUICE_TEST_EQ(ClientReply, m.request_id, m.status, m.leader_hint, m.body)
SLUICE_TEST_EQ(EventDelivery, m.sub_id, m.message)
SLUICE_TEST_EQ(StoreDelivery, m.sub_id, m.message)
SLUICE_TEST_EQ(RpcIncoming, m.sub_id, m.rpc_id, m.kind, m.request)
SLUICE_TEST_EQ(Forward, m.forward_id, m.command)
SLUICE_TEST_EQ(ForwardReply, m.forward_id, m.status, m.reply, m.leader_hint)
SLUICE_TEST_EQ(EventFanout, m.event, m.groups)
SLUICE_TEST_EQ(Registry, m.generation, m.event_groups, m.responders, m.store_groups)
SLUICE_TEST_EQ(StoreGroupPush, m.channel, m.group, m.message)
SLUICE_TEST_EQ(ReadIndexAsk, m.ask_id)
SLUICE_TEST_EQ(ReadIndexAnswer, m.ask_id, m.status, m.index, m.leader_hint)
SLUICE_TEST_EQ(RpcForward, m.rpc_id, m.kind, m.request)
SLUICE_TEST_EQ(RpcReturn, m.rpc_id, m.status, m.answer)
}  // namespace sluice::node

namespace sluice {
SLUICE_TEST_EQ(Envelope<node::Message>, m.group, m.from, m.to, m.message)
}  // namespace sluice

namespace sluice::wire {
SLUICE_TEST_EQ(Hello, m.version, m.role, m.node, m.cluster, m.storage_id)
SLUICE_TEST_EQ(ErrorFrame, m.message)
}  // namespace sluice::wire

#undef SLUICE_TEST_EQ
