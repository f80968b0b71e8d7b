// rapidcheck generators for every frame the wire carries: each message type,
// each alternative of each variant, with arbitrary bytes in every string
// (NULs and invalid UTF-8 included: the codec carries bytes).
//
// Values are ones the decoder accepts: a Raft append's entries follow its
// prev index and carry a known kind byte, and a Hello speaks this version.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "net/wire/wire.h"
#include "tests/core/broker/generators.h"

namespace rc {

template <class Tag, class Rep>
struct Arbitrary<sluice::Strong<Tag, Rep>> {
  static Gen<sluice::Strong<Tag, Rep>> arbitrary() {
    return gen::construct<sluice::Strong<Tag, Rep>>(gen::arbitrary<Rep>());
  }
};
template <>
struct Arbitrary<sluice::Duration> {
  static Gen<sluice::Duration> arbitrary() { return sluice::broker::testing::gen_duration(); }
};
template <>
struct Arbitrary<sluice::Timestamp> {
  static Gen<sluice::Timestamp> arbitrary() {
    return gen::map(gen::arbitrary<std::int64_t>(), [](std::int64_t ns) { return sluice::Timestamp{ns}; });
  }
};
template <>
struct Arbitrary<sluice::Status> {
  static Gen<sluice::Status> arbitrary() {
    using sluice::Code;
    return gen::construct<sluice::Status>(
        gen::element(Code::ok, Code::invalid_argument, Code::not_found, Code::corruption, Code::io_error,
                     Code::no_space, Code::unavailable, Code::poisoned, Code::timeout, Code::version_mismatch),
        gen::arbitrary<std::string>());
  }
};
template <>
struct Arbitrary<sluice::node::StartFrom> {
  static Gen<sluice::node::StartFrom> arbitrary() {
    using F = sluice::node::StartFrom;
    return gen::element(F::new_only, F::first, F::last, F::sequence, F::time, F::time_delta);
  }
};
template <>
struct Arbitrary<sluice::node::AdminOp> {
  static Gen<sluice::node::AdminOp> arbitrary() {
    return gen::element(sluice::node::AdminOp::transfer_leader, sluice::node::AdminOp::add_voter,
                        sluice::node::AdminOp::remove_voter);
  }
};

template <>
struct Arbitrary<sluice::node::RpcKind> {
  static Gen<sluice::node::RpcKind> arbitrary() {
    return gen::element(sluice::node::RpcKind::command, sluice::node::RpcKind::query);
  }
};
template <>
struct Arbitrary<sluice::broker::Kind> {
  static Gen<sluice::broker::Kind> arbitrary() {
    return gen::element(sluice::broker::Kind::store, sluice::broker::Kind::queue);
  }
};

}  // namespace rc

namespace sluice::wire::testing {

using broker::testing::gen_bytes;
using broker::testing::gen_command;
using broker::testing::gen_message;
using broker::testing::gen_retention;

// Lists of nested messages stay short so that a hundred cases stay fast;
// the codec treats the tenth element like the first.
template <class T>
rc::Gen<std::vector<T>> gen_few(rc::Gen<T> element) {
  return rc::gen::resize(8, rc::gen::container<std::vector<T>>(std::move(element)));
}

// One generator per alternative, in any order; the count must match.
template <class V, class... Gens>
rc::Gen<V> gen_variant(Gens... gens) {
  static_assert(sizeof...(Gens) == std::variant_size_v<V>, "a generator for every alternative");
  return rc::gen::oneOf(rc::gen::cast<V>(std::move(gens))...);
}

inline rc::Gen<broker::Tags> gen_tags() { return rc::gen::container<broker::Tags>(gen_bytes(), gen_bytes()); }

// ---------------------------------------------------------------------------
// Raft

inline rc::Gen<raft::JointConfig> gen_config() {
  return rc::gen::build<raft::JointConfig>(
      rc::gen::set(&raft::JointConfig::incoming), rc::gen::set(&raft::JointConfig::outgoing),
      rc::gen::set(&raft::JointConfig::addresses,
                   rc::gen::container<std::map<NodeId, std::string>>(rc::gen::arbitrary<NodeId>(), gen_bytes())));
}

// Entry data the follower accepts: a known kind byte, and for a
// configuration entry a configuration.
inline rc::Gen<std::string> gen_entry_data() {
  return rc::gen::oneOf(
      rc::gen::map(gen_bytes(), [](std::string p) { return raft::make_entry_data(raft::EntryKind::normal, p); }),
      rc::gen::just(raft::make_entry_data(raft::EntryKind::noop, "")),
      rc::gen::map(gen_config(), [](const raft::JointConfig& c) {
        return raft::make_entry_data(raft::EntryKind::config, raft::encode_config(c));
      }));
}

inline rc::Gen<raft::AppendRequest> gen_append() {
  return rc::gen::exec([] {
    raft::AppendRequest m;
    m.term = *rc::gen::arbitrary<Term>();
    const auto datas = *gen_few(gen_entry_data());
    const auto prev_max = std::numeric_limits<std::uint64_t>::max() - datas.size();
    m.prev_index = LogIndex(*rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(0, 1000),
                                            rc::gen::just(prev_max)));
    m.prev_term = *rc::gen::arbitrary<Term>();
    for (std::size_t i = 0; i < datas.size(); ++i) {
      m.entries.push_back(LogEntry{*rc::gen::arbitrary<Term>(), LogIndex(m.prev_index.value() + 1 + i), datas[i]});
    }
    m.commit = *rc::gen::arbitrary<LogIndex>();
    return m;
  });
}

inline rc::Gen<raft::Message> gen_raft() {
  using namespace raft;
  namespace g = rc::gen;
  return gen_variant<Message>(
      g::build<VoteRequest>(g::set(&VoteRequest::term), g::set(&VoteRequest::last_index),
                            g::set(&VoteRequest::last_term), g::set(&VoteRequest::pre_vote),
                            g::set(&VoteRequest::transfer)),
      g::build<VoteReply>(g::set(&VoteReply::term), g::set(&VoteReply::granted), g::set(&VoteReply::pre_vote)),
      gen_append(),
      g::build<AppendReply>(g::set(&AppendReply::term), g::set(&AppendReply::success), g::set(&AppendReply::index),
                            g::set(&AppendReply::hint), g::set(&AppendReply::hint_term)),
      g::build<Heartbeat>(g::set(&Heartbeat::term), g::set(&Heartbeat::commit), g::set(&Heartbeat::read_round)),
      g::build<HeartbeatReply>(g::set(&HeartbeatReply::term), g::set(&HeartbeatReply::read_round)),
      g::build<TimeoutNow>(g::set(&TimeoutNow::term)),
      g::build<InstallSnapshot>(g::set(&InstallSnapshot::term), g::set(&InstallSnapshot::index),
                                g::set(&InstallSnapshot::snapshot_term), g::set(&InstallSnapshot::offset),
                                g::set(&InstallSnapshot::data, gen_bytes()), g::set(&InstallSnapshot::done),
                                g::set(&InstallSnapshot::config, gen_config())),
      g::build<InstallSnapshotReply>(g::set(&InstallSnapshotReply::term), g::set(&InstallSnapshotReply::index),
                                     g::set(&InstallSnapshotReply::next_offset),
                                     g::set(&InstallSnapshotReply::installed)));
}

// ---------------------------------------------------------------------------
// Broker replies

inline rc::Gen<broker::StoredMessage> gen_stored() {
  using broker::StoredMessage;
  namespace g = rc::gen;
  return g::build<StoredMessage>(
      g::set(&StoredMessage::id, gen_bytes()), g::set(&StoredMessage::channel, gen_bytes()),
      g::set(&StoredMessage::metadata, gen_bytes()), g::set(&StoredMessage::body, gen_bytes()),
      g::set(&StoredMessage::tags, gen_tags()), g::set(&StoredMessage::client_id, gen_bytes()),
      g::set(&StoredMessage::timestamp), g::set(&StoredMessage::seq));
}

inline rc::Gen<broker::Published> gen_published() {
  using broker::Published;
  namespace g = rc::gen;
  return g::build<Published>(g::set(&Published::id, gen_bytes()), g::set(&Published::seq),
                             g::set(&Published::timestamp), g::set(&Published::duplicate));
}

inline rc::Gen<broker::Reply> gen_reply() {
  using namespace broker;
  namespace g = rc::gen;
  return gen_variant<Reply>(
      g::just(Done{}), gen_published(), g::build<SendResult>(g::set(&SendResult::items, gen_few(gen_published()))),
      g::build<ReceiveResult>(g::set(
          &ReceiveResult::deliveries,
          gen_few(g::build<Delivery>(g::set(&Delivery::message, gen_stored()), g::set(&Delivery::receipt),
                                     g::set(&Delivery::receive_count), g::set(&Delivery::delivered_at),
                                     g::set(&Delivery::visible_again_at),
                                     g::set(&Delivery::dead_letter_reason, gen_bytes()),
                                     g::set(&Delivery::dead_letter_from, gen_bytes()))))),
      g::build<AckResult>(g::set(&AckResult::acked), g::set(&AckResult::stale)),
      g::build<Purged>(g::set(&Purged::count)));
}

inline rc::Gen<broker::QueueStats> gen_queue_stats() {
  using broker::QueueStats;
  namespace g = rc::gen;
  return g::build<QueueStats>(g::set(&QueueStats::ready), g::set(&QueueStats::delayed),
                              g::set(&QueueStats::in_flight), g::set(&QueueStats::bytes), g::set(&QueueStats::sent),
                              g::set(&QueueStats::delivered), g::set(&QueueStats::acked),
                              g::set(&QueueStats::rejected), g::set(&QueueStats::expired),
                              g::set(&QueueStats::dead_lettered), g::set(&QueueStats::purged),
                              g::set(&QueueStats::resent));
}

inline rc::Gen<broker::StoreStats> gen_store_stats() {
  using broker::StoreStats;
  namespace g = rc::gen;
  return g::build<StoreStats>(g::set(&StoreStats::first_seq), g::set(&StoreStats::last_seq),
                              g::set(&StoreStats::count), g::set(&StoreStats::bytes), g::set(&StoreStats::published),
                              g::set(&StoreStats::trimmed), g::set(&StoreStats::retention, gen_retention()));
}

// ---------------------------------------------------------------------------
// Client requests and replies

inline rc::Gen<node::RequestBody> gen_request_body() {
  using namespace node;
  namespace g = rc::gen;
  return gen_variant<RequestBody>(
      g::build<Write>(g::set(&Write::command, gen_command()), g::set(&Write::wait)),
      g::build<PublishEvent>(g::set(&PublishEvent::message, gen_message())),
      g::build<SubscribeEvents>(g::set(&SubscribeEvents::sub_id), g::set(&SubscribeEvents::pattern, gen_bytes()),
                                g::set(&SubscribeEvents::group, gen_bytes())),
      g::build<SubscribeStore>(
          g::set(&SubscribeStore::sub_id), g::set(&SubscribeStore::channel, gen_bytes()),
          g::set(&SubscribeStore::group, gen_bytes()),
          g::set(&SubscribeStore::start,
                 g::build<StoreStart>(g::set(&StoreStart::from), g::set(&StoreStart::seq),
                                      g::set(&StoreStart::time), g::set(&StoreStart::delta)))),
      g::build<SubscribeRpc>(g::set(&SubscribeRpc::sub_id), g::set(&SubscribeRpc::kind),
                             g::set(&SubscribeRpc::channel, gen_bytes()), g::set(&SubscribeRpc::group, gen_bytes())),
      g::build<Unsubscribe>(g::set(&Unsubscribe::sub_id)),
      g::build<RpcCall>(g::set(&RpcCall::kind), g::set(&RpcCall::message, gen_message()), g::set(&RpcCall::timeout),
                        g::set(&RpcCall::cache_key, gen_bytes()), g::set(&RpcCall::cache_ttl)),
      g::build<RpcRespond>(g::set(&RpcRespond::rpc_id), g::set(&RpcRespond::executed),
                           g::set(&RpcRespond::error, gen_bytes()), g::set(&RpcRespond::metadata, gen_bytes()),
                           g::set(&RpcRespond::body, gen_bytes()), g::set(&RpcRespond::tags, gen_tags())),
      g::build<Peek>(g::set(&Peek::channel, gen_bytes()), g::set(&Peek::max_messages)),
      g::build<GetStats>(g::set(&GetStats::kind), g::set(&GetStats::channel, gen_bytes())),
      g::build<ListChannels>(g::set(&ListChannels::pattern, gen_bytes())),
      g::build<ClusterAdmin>(g::set(&ClusterAdmin::op), g::set(&ClusterAdmin::node),
                             g::set(&ClusterAdmin::address, gen_bytes())));
}

inline rc::Gen<node::RpcAnswer> gen_rpc_answer() {
  using node::RpcAnswer;
  namespace g = rc::gen;
  return g::build<RpcAnswer>(g::set(&RpcAnswer::executed), g::set(&RpcAnswer::error, gen_bytes()),
                             g::set(&RpcAnswer::metadata, gen_bytes()), g::set(&RpcAnswer::body, gen_bytes()),
                             g::set(&RpcAnswer::tags, gen_tags()), g::set(&RpcAnswer::from_cache));
}

inline rc::Gen<node::ReplyBody> gen_reply_body() {
  using namespace node;
  namespace g = rc::gen;
  return gen_variant<ReplyBody>(
      g::just(std::monostate{}), gen_reply(), gen_rpc_answer(), gen_few(gen_stored()), gen_queue_stats(),
      gen_store_stats(),
      gen_few(g::build<ChannelInfo>(g::set(&ChannelInfo::kind, gen_bytes()), g::set(&ChannelInfo::name, gen_bytes()),
                                    g::set(&ChannelInfo::messages), g::set(&ChannelInfo::in_flight),
                                    g::set(&ChannelInfo::total), g::set(&ChannelInfo::subscribers))),
      g::build<ClusterView>(g::set(&ClusterView::leader), g::set(&ClusterView::voters)));
}

// ---------------------------------------------------------------------------
// Messages and frames

inline rc::Gen<node::Message> gen_node_message() {
  using namespace node;
  namespace g = rc::gen;
  return gen_variant<Message>(
      gen_raft(),
      g::build<ClientRequest>(g::set(&ClientRequest::request_id), g::set(&ClientRequest::body, gen_request_body())),
      g::build<ClientReply>(g::set(&ClientReply::request_id), g::set(&ClientReply::status),
                            g::set(&ClientReply::leader_hint), g::set(&ClientReply::body, gen_reply_body())),
      g::build<EventDelivery>(g::set(&EventDelivery::sub_id), g::set(&EventDelivery::message, gen_stored())),
      g::build<StoreDelivery>(g::set(&StoreDelivery::sub_id), g::set(&StoreDelivery::message, gen_stored())),
      g::build<RpcIncoming>(g::set(&RpcIncoming::sub_id), g::set(&RpcIncoming::rpc_id), g::set(&RpcIncoming::kind),
                            g::set(&RpcIncoming::request, gen_stored())),
      g::build<Forward>(g::set(&Forward::forward_id), g::set(&Forward::command, gen_command())),
      g::build<ForwardReply>(g::set(&ForwardReply::forward_id), g::set(&ForwardReply::status),
                             g::set(&ForwardReply::reply, gen_reply()), g::set(&ForwardReply::leader_hint)),
      g::build<EventFanout>(
          g::set(&EventFanout::event, gen_stored()),
          g::set(&EventFanout::groups,
                 gen_few(g::pair(gen_bytes(), g::arbitrary<NodeId>())))),
      g::build<Registry>(g::set(&Registry::generation), g::set(&Registry::event_groups, gen_few(gen_bytes())),
                         g::set(&Registry::responders, gen_few(gen_bytes())),
                         g::set(&Registry::store_groups,
                                gen_few(g::build<StoreGroupCursor>(
                                    g::set(&StoreGroupCursor::channel, gen_bytes()),
                                    g::set(&StoreGroupCursor::group, gen_bytes()), g::set(&StoreGroupCursor::members),
                                    g::set(&StoreGroupCursor::next_seq))))),
      g::build<RpcForward>(g::set(&RpcForward::rpc_id), g::set(&RpcForward::kind),
                           g::set(&RpcForward::request, gen_stored())),
      g::build<RpcReturn>(g::set(&RpcReturn::rpc_id), g::set(&RpcReturn::status),
                          g::set(&RpcReturn::answer, gen_rpc_answer())),
      g::build<StoreGroupPush>(g::set(&StoreGroupPush::channel, gen_bytes()),
                               g::set(&StoreGroupPush::group, gen_bytes()),
                               g::set(&StoreGroupPush::message, gen_stored())),
      g::build<ReadIndexAsk>(g::set(&ReadIndexAsk::ask_id)),
      g::build<ReadIndexAnswer>(g::set(&ReadIndexAnswer::ask_id), g::set(&ReadIndexAnswer::status),
                                g::set(&ReadIndexAnswer::index), g::set(&ReadIndexAnswer::leader_hint)));
}

inline rc::Gen<Envelope<node::Message>> gen_envelope() {
  using E = Envelope<node::Message>;
  namespace g = rc::gen;
  return g::build<E>(g::set(&E::group), g::set(&E::from), g::set(&E::to), g::set(&E::message, gen_node_message()));
}

inline rc::Gen<Hello> gen_hello() {
  return rc::gen::exec([] {
    Hello hello;
    hello.role = *rc::gen::element(Role::peer, Role::client);
    hello.node = hello.role == Role::peer ? NodeId(*rc::gen::inRange<std::uint64_t>(1, 1u << 20)) : kNoNode;
    hello.cluster = *gen_bytes();
    if (hello.role == Role::peer) hello.storage_id = *rc::gen::arbitrary<std::uint64_t>();
    return hello;
  });
}

inline rc::Gen<Frame> gen_frame() {
  namespace g = rc::gen;
  return gen_variant<Frame>(gen_hello(), g::build<ErrorFrame>(g::set(&ErrorFrame::message, gen_bytes())),
                            gen_envelope());
}

}  // namespace sluice::wire::testing
