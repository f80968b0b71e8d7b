// Scenario tests of BrokerNode itself: a small cluster of nodes on a
// perfect, instant network with in-memory disks, driven by the production
// drive() function. The swarm covers the node under faults; these pin its
// behaviour one sentence at a time (forwarding, parked receives, store start
// options, event groups, RPC routing, retried subscribes).
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "tests/core/node/harness.h"

namespace sluice::node {
namespace {

using namespace test_harness;

TEST(BrokerNode, AFollowerForwardsAWriteAndRelaysTheAnswer) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId follower = follower_of(leader, 3);
  EXPECT_TRUE(h.call(kAlice, follower, send("jobs", "one")).status.ok());
  // Every replica applies it; a consumer on the leader gets it.
  const auto got = deliveries(h.call(kBob, leader, receive("jobs")));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.body, "one");
  EXPECT_EQ(got[0].receive_count, 1u);
}

// Reads go through ReadIndex: a follower's read waits until it has applied
// what the leader had committed when the read began.
TEST(BrokerNode, AFollowerReadSeesEveryWriteAcknowledgedBeforeIt) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId follower = follower_of(leader, 3);
  h.down(follower);  // it misses the writes: its state is behind
  for (int i = 1; i <= 3; ++i) {
    const ClientReply w = h.call(kAlice, leader, Write{broker::StorePublish{msg("log", "m" + std::to_string(i)), {}}, {}});
    ASSERT_TRUE(w.status.ok()) << w.status.to_string();
  }
  h.up(follower);
  // Asked before it has heard from the leader again, the follower must not
  // answer from its stale state (which has no channel 'log' at all).
  const ClientReply r = h.call(kBob, follower, GetStats{broker::Kind::store, "log"});
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_EQ(std::get<broker::StoreStats>(r.body).last_seq, 3u);
}

TEST(BrokerNode, AReadWithNoLeaderAnswersUnavailableAfterTheReadTimeout) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId follower = follower_of(leader, 3);
  for (int i = 1; i <= 3; ++i) {
    if (NodeId(i) != follower) h.down(NodeId(i));
  }
  const Timestamp asked = h.now();
  const ClientReply r = h.call(kBob, follower, ListChannels{});
  EXPECT_EQ(r.status.code(), Code::unavailable);
  EXPECT_EQ(r.status.message(), "no leader confirmed a read point within 2.000s; try again");
  EXPECT_GE(h.now() - asked, Duration::seconds(2));
  // Bad input is still refused at once.
  EXPECT_EQ(h.call(kBob, follower, Peek{"bad..name", 1}).status.code(), Code::invalid_argument);
}

TEST(BrokerNode, AReceiveWithAWaitIsParkedUntilAMessageArrives) {
  Harness h(1);
  const NodeId leader = h.elect();
  const std::uint64_t rid = h.request(kBob, leader, receive("jobs", Duration::seconds(5)));
  h.tick();
  EXPECT_TRUE(h.take<ClientReply>(kBob).empty()) << "answered before any message was sent";
  EXPECT_TRUE(h.call(kAlice, leader, send("jobs", "late")).status.ok());
  auto r = h.reply(kBob, rid);
  ASSERT_TRUE(r.has_value());
  const auto got = deliveries(*r);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.body, "late");
}

TEST(BrokerNode, AParkedReceiveAnswersEmptyWhenItsWaitRunsOut) {
  Harness h(1);
  const NodeId leader = h.elect();
  const Timestamp asked = h.now();
  const std::uint64_t rid = h.request(kBob, leader, receive("jobs", Duration::millis(300)));
  auto r = h.reply(kBob, rid);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(deliveries(*r).empty());
  EXPECT_GE(h.now() - asked, Duration::millis(300));
}

TEST(BrokerNode, AnAckOfAnEarlierReceiptCannotAckALaterRedelivery) {
  Harness h(1);
  const NodeId leader = h.elect();
  ASSERT_TRUE(h.call(kAlice, leader, send("jobs", "x")).status.ok());
  const auto first = deliveries(h.call(kBob, leader, receive("jobs")));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(h.call(kBob, leader, Write{broker::QueueReject{first[0].receipt}, {}}).status.ok());
  const auto second = deliveries(h.call(kBob, leader, receive("jobs")));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].receive_count, 2u);
  const ClientReply late = h.call(kBob, leader, Write{broker::QueueAck{{first[0].receipt}}, {}});
  ASSERT_TRUE(late.status.ok());
  const auto& result = std::get<broker::AckResult>(std::get<broker::Reply>(late.body));
  EXPECT_EQ(result.stale, std::vector<std::uint64_t>{first[0].receipt});
  // The redelivery is still in flight, not acknowledged.
  EXPECT_EQ(h.node(leader).state().queue_stats("jobs").value_or(broker::QueueStats{}).in_flight, 1u);
}

StoreStart start(StartFrom from, std::uint64_t seq = 0, Duration delta = {}) {
  StoreStart s;
  s.from = from;
  s.seq = seq;
  s.delta = delta;
  return s;
}

class StoreStarts : public ::testing::Test {
 protected:
  void SetUp() override {
    leader_ = h_.elect();
    for (const char* body : {"a", "b", "c"}) {
      ASSERT_TRUE(h_.call(kAlice, leader_, Write{broker::StorePublish{msg("log", body), {}}, {}}).status.ok());
    }
  }
  std::vector<std::string> bodies_from(StoreStart start) {
    const ClientReply r = h_.call(kBob, leader_, SubscribeStore{next_sub_, "log", "", start});
    EXPECT_TRUE(r.status.ok()) << r.status.to_string();
    h_.tick();
    std::vector<std::string> out;
    for (const auto& d : h_.take<StoreDelivery>(kBob)) {
      if (d.sub_id == next_sub_) out.push_back(d.message.body + std::to_string(d.message.seq));
    }
    ++next_sub_;
    return out;
  }
  Harness h_{1};
  NodeId leader_;
  std::uint64_t next_sub_ = 1;
};

TEST_F(StoreStarts, EachStartOptionBeginsWhereItSays) {
  using V = std::vector<std::string>;
  EXPECT_EQ(bodies_from(start(StartFrom::first)), (V{"a1", "b2", "c3"}));
  EXPECT_EQ(bodies_from(start(StartFrom::last)), (V{"c3"}));
  EXPECT_EQ(bodies_from(start(StartFrom::sequence, 2)), (V{"b2", "c3"}));
  EXPECT_EQ(bodies_from(start(StartFrom::new_only)), V{});
  EXPECT_EQ(bodies_from(start(StartFrom::time)), (V{"a1", "b2", "c3"}));
  EXPECT_EQ(bodies_from(start(StartFrom::time_delta, 0, Duration::seconds(3600))), (V{"a1", "b2", "c3"}));
}

TEST_F(StoreStarts, ANewOnlySubscriberGetsWhatIsPublishedAfterIt) {
  EXPECT_TRUE(bodies_from(start(StartFrom::new_only)).empty());
  ASSERT_TRUE(h_.call(kAlice, leader_, Write{broker::StorePublish{msg("log", "d"), {}}, {}}).status.ok());
  h_.tick();
  const auto got = h_.take<StoreDelivery>(kBob);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.seq, 4u);
}

// A start by time delivers nothing stamped before it, also when the time
// lies ahead: what is published before then is skipped, not delivered.
TEST_F(StoreStarts, AStartByATimeAheadSkipsWhatIsStampedBeforeIt) {
  const Timestamp ahead = h_.now() + Duration::seconds(1);
  StoreStart at = start(StartFrom::time);
  at.time = ahead;
  EXPECT_TRUE(bodies_from(at).empty());
  ASSERT_TRUE(h_.call(kAlice, leader_, Write{broker::StorePublish{msg("log", "early"), {}}, {}}).status.ok());
  while (h_.now() < ahead) h_.tick(Duration::millis(50));
  ASSERT_TRUE(h_.call(kAlice, leader_, Write{broker::StorePublish{msg("log", "late"), {}}, {}}).status.ok());
  h_.tick();
  const auto got = h_.take<StoreDelivery>(kBob);
  ASSERT_EQ(got.size(), 1u) << "'early' is stamped before the start";
  EXPECT_EQ(got[0].message.body, "late");
  EXPECT_EQ(got[0].message.seq, 5u);
  EXPECT_GE(got[0].message.timestamp, ahead);
}

TEST(BrokerNode, ARetriedSubscribeIsAnsweredAgainAndAnIdInUseIsRefused) {
  Harness h(1);
  const NodeId leader = h.elect();
  EXPECT_TRUE(h.call(kBob, leader, SubscribeEvents{7, "ev.>", ""}).status.ok());
  // The same subscription again (its first answer was lost): ok, and still one.
  EXPECT_TRUE(h.call(kBob, leader, SubscribeEvents{7, "ev.>", ""}).status.ok());
  // The same id for something else: refused, whatever the kind.
  EXPECT_EQ(h.call(kBob, leader, SubscribeEvents{7, "other.>", ""}).status.code(), Code::invalid_argument);
  EXPECT_EQ(h.call(kBob, leader, SubscribeStore{7, "log", "", start(StartFrom::first)}).status.code(), Code::invalid_argument);
  EXPECT_EQ(h.call(kBob, leader, SubscribeRpc{7, RpcKind::query, "q", ""}).status.code(), Code::invalid_argument);
  EXPECT_TRUE(h.call(kAlice, leader, PublishEvent{msg("ev.a", "hello")}).status.ok());
  h.tick();
  const auto got = h.take<EventDelivery>(kBob);
  ASSERT_EQ(got.size(), 1u) << "a retried subscribe must not deliver twice";
  EXPECT_EQ(got[0].message.body, "hello");
}

TEST(BrokerNode, EventsReachMatchingSubscribersOnEveryNodeAndOneMemberPerGroup) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId other = follower_of(leader, 3);
  ASSERT_TRUE(h.call(kBob, leader, SubscribeEvents{1, "ev.*", ""}).status.ok());
  ASSERT_TRUE(h.call(kCarol, other, SubscribeEvents{1, "ev.>", "workers"}).status.ok());
  ASSERT_TRUE(h.call(NodeId(103), leader, SubscribeEvents{1, "ev.>", "workers"}).status.ok());
  for (int i = 0; i < 50; ++i) h.tick(Duration::millis(50));  // registries spread
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(h.call(kAlice, other, PublishEvent{msg("ev.a", "e" + std::to_string(i))}).status.ok());
  }
  ASSERT_TRUE(h.call(kAlice, other, PublishEvent{msg("nope.a", "x")}).status.ok());
  h.tick();
  EXPECT_EQ(h.take<EventDelivery>(kBob).size(), 10u);
  const std::size_t carol = h.take<EventDelivery>(kCarol).size();
  const std::size_t dave = h.take<EventDelivery>(NodeId(103)).size();
  EXPECT_EQ(carol + dave, 10u) << "each event to exactly one member of the group";
}

// Events store groups: members on several nodes share one stream.
class StoreGroups : public ::testing::Test {
 protected:
  void SetUp() override { h_.elect(); }
  void subscribe(NodeId client, NodeId at, StartFrom from = StartFrom::first) {
    ASSERT_TRUE(h_.call(client, at, SubscribeStore{1, "log", "workers", start(from)}).status.ok());
    for (int i = 0; i < 40; ++i) h_.tick(Duration::millis(50));  // registries spread
  }
  void publish(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(h_.call(kAlice, NodeId(2), Write{broker::StorePublish{msg("log", "m" + std::to_string(next_++)), {}}, {}})
                      .status.ok());
    }
    for (int i = 0; i < 5; ++i) h_.tick();
  }
  // Sequences each client got, taken from its inbox.
  std::vector<std::uint64_t> got(NodeId client) {
    std::vector<std::uint64_t> out;
    for (const auto& d : h_.take<StoreDelivery>(client)) out.push_back(d.message.seq);
    return out;
  }
  Harness h_{3};
  int next_ = 1;
};

std::vector<std::uint64_t> seqs(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = from; s <= to; ++s) out.push_back(s);
  return out;
}

std::vector<std::uint64_t> merged(std::vector<std::uint64_t> a, const std::vector<std::uint64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  return a;
}

TEST_F(StoreGroups, MembersOnDifferentNodesShareTheStreamOneMemberPerMessage) {
  subscribe(kCarol, NodeId(1));
  subscribe(kBob, NodeId(3));
  publish(20);
  const auto carol = got(kCarol);
  const auto bob = got(kBob);
  EXPECT_EQ(merged(carol, bob), seqs(1, 20)) << "each message to exactly one member";
  EXPECT_EQ(carol.size(), 10u) << "round robin over the members of every node";
  EXPECT_EQ(bob.size(), 10u);
  EXPECT_TRUE(std::is_sorted(carol.begin(), carol.end()));
  EXPECT_TRUE(std::is_sorted(bob.begin(), bob.end()));
}

TEST_F(StoreGroups, WhenTheServingNodesMembersLeaveAnotherNodeGoesOnWithoutGapOrRepeat) {
  subscribe(kCarol, NodeId(1));  // node 1 has the lowest id: it serves the group
  subscribe(kBob, NodeId(3));
  publish(10);
  const auto before = merged(got(kCarol), got(kBob));
  EXPECT_EQ(before, seqs(1, 10));
  h_.node(NodeId(1)).disconnect(kCarol);
  h_.tick();
  publish(10);
  EXPECT_TRUE(got(kBob).empty()) << "the successor waits for the handoff (store_group_handoff) first";
  for (int i = 0; i < 25; ++i) h_.tick();  // 250 ms
  EXPECT_TRUE(got(kCarol).empty());
  EXPECT_EQ(got(kBob), seqs(11, 20));
}

TEST_F(StoreGroups, AMemberJoiningAGroupStartsWhereTheGroupStands) {
  subscribe(kCarol, NodeId(2));
  publish(5);
  EXPECT_EQ(got(kCarol), seqs(1, 5));
  subscribe(kBob, NodeId(3), StartFrom::first);  // "first" places only a new group
  publish(4);
  EXPECT_EQ(merged(got(kCarol), got(kBob)), seqs(6, 9));
}

TEST_F(StoreGroups, AGroupWhoseMembersAllLeftGoesOnFromItsCommittedPosition) {
  subscribe(kCarol, NodeId(3));
  publish(3);
  EXPECT_EQ(got(kCarol), seqs(1, 3));
  h_.node(NodeId(3)).disconnect(kCarol);
  for (int i = 0; i < 100; ++i) h_.tick(Duration::millis(50));  // past registry_expiry (3 s): no node remembers it
  subscribe(kBob, NodeId(1), StartFrom::first);
  publish(2);
  EXPECT_EQ(got(kBob), seqs(4, 5)) << "the committed position places the group, not the start option";
}

TEST_F(StoreGroups, AGroupGoesOnFromItsCommittedPositionAfterEveryNodeRestarts) {
  subscribe(kCarol, NodeId(3));
  publish(3);
  EXPECT_EQ(got(kCarol), seqs(1, 3));
  for (int i = 0; i < 30; ++i) h_.tick(Duration::millis(50));  // past store_group_commit_interval (1 s)
  for (int i = 1; i <= 3; ++i) h_.restart(NodeId(i));
  h_.elect();
  subscribe(kBob, NodeId(2), StartFrom::first);
  publish(2);
  EXPECT_EQ(got(kBob), seqs(4, 5));
}

TEST_F(StoreGroups, AGroupNameOver256BytesIsRefused) {
  const auto r = h_.call(kCarol, NodeId(1), SubscribeStore{1, "log", std::string(257, 'g'), start(StartFrom::first)});
  EXPECT_EQ(r.status.code(), Code::invalid_argument);
  EXPECT_EQ(r.status.message(), "group name is 257 bytes; the limit is 256");
  EXPECT_TRUE(h_.call(kCarol, NodeId(1), SubscribeStore{1, "log", std::string(256, 'g'), start(StartFrom::first)})
                  .status.ok());
}

TEST_F(StoreGroups, AGroupThatNeverMovedIsPlacedByItsStartOption) {
  subscribe(kCarol, NodeId(3), StartFrom::new_only);
  h_.node(NodeId(3)).disconnect(kCarol);
  for (int i = 0; i < 100; ++i) h_.tick(Duration::millis(50));
  publish(2);
  subscribe(kBob, NodeId(1), StartFrom::first);
  EXPECT_EQ(got(kBob), seqs(1, 2)) << "nothing was committed for the group: it is new again";
}

TEST(BrokerNode, ACommandIsRoutedToAResponderOnAnotherNodeAndItsAnswerReturns) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId other = follower_of(leader, 3);
  ASSERT_TRUE(h.call(kCarol, other, SubscribeRpc{1, RpcKind::command, "ops.restart", ""}).status.ok());
  for (int i = 0; i < 50; ++i) h.tick(Duration::millis(50));
  const std::uint64_t rid =
      h.request(kAlice, leader, RpcCall{RpcKind::command, msg("ops.restart", "now"), Duration::seconds(5), "", {}});
  h.tick();
  const auto incoming = h.take<RpcIncoming>(kCarol);
  ASSERT_EQ(incoming.size(), 1u);
  EXPECT_EQ(incoming[0].request.body, "now");
  EXPECT_TRUE(h.call(kCarol, other, RpcRespond{incoming[0].rpc_id, true, "", "", "", {}}).status.ok());
  auto r = h.reply(kAlice, rid);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->status.ok()) << r->status.to_string();
  EXPECT_TRUE(std::get<RpcAnswer>(r->body).executed);
}

TEST(BrokerNode, ACommandNobodyAnswersTimesOut) {
  Harness h(1);
  const NodeId leader = h.elect();
  ASSERT_TRUE(h.call(kCarol, leader, SubscribeRpc{1, RpcKind::command, "ops", ""}).status.ok());
  const Timestamp asked = h.now();
  const std::uint64_t rid =
      h.request(kAlice, leader, RpcCall{RpcKind::command, msg("ops", "x"), Duration::millis(500), "", {}});
  auto r = h.reply(kAlice, rid);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status.code(), Code::timeout);
  EXPECT_GE(h.now() - asked, Duration::millis(500));
}

TEST(BrokerNode, AFreshQueryAnswerIsServedFromTheCache) {
  Harness h(1);
  const NodeId leader = h.elect();
  ASSERT_TRUE(h.call(kCarol, leader, SubscribeRpc{1, RpcKind::query, "price", ""}).status.ok());
  const RpcCall q{RpcKind::query, msg("price", "apple"), Duration::seconds(5), "apple", Duration::seconds(60)};
  const std::uint64_t rid = h.request(kAlice, leader, q);
  const auto incoming = h.take<RpcIncoming>(kCarol);
  ASSERT_EQ(incoming.size(), 1u);
  ASSERT_TRUE(h.call(kCarol, leader, RpcRespond{incoming[0].rpc_id, true, "", "", "3", {}}).status.ok());
  auto first = h.reply(kAlice, rid);
  ASSERT_TRUE(first.has_value() && first->status.ok());
  EXPECT_FALSE(std::get<RpcAnswer>(first->body).from_cache);
  const ClientReply second = h.call(kAlice, leader, q);
  ASSERT_TRUE(second.status.ok());
  EXPECT_TRUE(std::get<RpcAnswer>(second.body).from_cache);
  EXPECT_EQ(std::get<RpcAnswer>(second.body).body, "3");
  EXPECT_TRUE(h.take<RpcIncoming>(kCarol).empty()) << "a cached answer must not reach the responder";
}

TEST(BrokerNode, ADisconnectedClientsSubscriptionsEnd) {
  Harness h(1);
  const NodeId leader = h.elect();
  ASSERT_TRUE(h.call(kBob, leader, SubscribeEvents{1, "ev.>", ""}).status.ok());
  h.node(leader).disconnect(kBob);
  ASSERT_TRUE(h.call(kAlice, leader, PublishEvent{msg("ev.a", "x")}).status.ok());
  h.tick();
  EXPECT_TRUE(h.take<EventDelivery>(kBob).empty());
}

TEST(BrokerNode, OpenRefusesLimitsTheReplicatedStateWouldRefuse) {
  MemKv store;
  BrokerOptions o;
  o.raft.self = NodeId(1);
  o.limits.queue_messages_max = 0;
  auto opened = BrokerNode::open(o, raft::VoterSet{NodeId(1)}, store, Rng(1));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::invalid_argument);
  EXPECT_NE(opened.status().message().find("queue_messages_max"), std::string::npos) << opened.status().to_string();
}

// ---------------------------------------------------------------------------
// Cluster changes (ClusterAdmin, broker_admin.cc)

ClusterAdmin admin(AdminOp op, int node, std::string address = "") {
  return ClusterAdmin{op, NodeId(static_cast<std::uint64_t>(node)), std::move(address)};
}

ClusterView view_of(const ClientReply& r) {
  EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  const auto* v = std::get_if<ClusterView>(&r.body);
  EXPECT_NE(v, nullptr) << "not a ClusterView";
  return v != nullptr ? *v : ClusterView{};
}

std::vector<NodeId> ids(std::initializer_list<int> list) {
  std::vector<NodeId> out;
  for (int i : list) out.push_back(NodeId(static_cast<std::uint64_t>(i)));
  return out;
}

TEST(BrokerNodeAdmin, TransferLeaderAnswersOnceTheTargetLeads) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId target = follower_of(leader, 3);
  const ClusterView v = view_of(h.call(kAlice, leader, admin(AdminOp::transfer_leader, target.value())));
  EXPECT_EQ(v.leader, target);
  EXPECT_EQ(v.voters, ids({1, 2, 3}));
  EXPECT_EQ(h.node(target).raft().role(), raft::Role::leader);
  // Writes go on through the new leader.
  EXPECT_TRUE(h.call(kAlice, leader, send("jobs", "after")).status.ok());
}

TEST(BrokerNodeAdmin, TransferLeaderErrorsSayWhatIsWrong) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId follower = follower_of(leader, 3);
  // A follower points at the leader.
  const ClientReply at_follower = h.call(kAlice, follower, admin(AdminOp::transfer_leader, follower.value()));
  EXPECT_EQ(at_follower.status.code(), Code::unavailable);
  EXPECT_EQ(at_follower.leader_hint, leader);
  const ClientReply unknown = h.call(kAlice, leader, admin(AdminOp::transfer_leader, 9));
  EXPECT_EQ(unknown.status.code(), Code::invalid_argument);
  EXPECT_NE(unknown.status.message().find("not a voter"), std::string::npos) << unknown.status.to_string();
  EXPECT_EQ(h.call(kAlice, leader, admin(AdminOp::transfer_leader, 0)).status.code(), Code::invalid_argument);
  // To the leader itself: nothing to do.
  EXPECT_EQ(view_of(h.call(kAlice, leader, admin(AdminOp::transfer_leader, leader.value()))).leader, leader);
}

TEST(BrokerNodeAdmin, RemoveAFollowerAnswersOnceTheFinalConfigurationCommits) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId gone = follower_of(leader, 3);
  const ClusterView v = view_of(h.call(kAlice, leader, admin(AdminOp::remove_voter, gone.value())));
  EXPECT_EQ(v.voters.size(), 2u);
  EXPECT_EQ(std::count(v.voters.begin(), v.voters.end(), gone), 0);
  EXPECT_FALSE(h.node(leader).raft().config().joint());
  EXPECT_TRUE(h.node(leader).raft().config_committed());
  EXPECT_TRUE(h.call(kAlice, leader, send("jobs", "after")).status.ok());
  // Removing it again: it is not a voter any more.
  EXPECT_EQ(h.call(kAlice, leader, admin(AdminOp::remove_voter, gone.value())).status.code(), Code::not_found);
}

TEST(BrokerNodeAdmin, RemovingTheLeaderWorksAndAnotherTakesOver) {
  Harness h(3);
  const NodeId leader = h.elect();
  EXPECT_TRUE(h.call(kAlice, leader, send("jobs", "before")).status.ok());
  const ClusterView v = view_of(h.call(kAlice, leader, admin(AdminOp::remove_voter, leader.value())));
  EXPECT_EQ(std::count(v.voters.begin(), v.voters.end(), leader), 0);
  EXPECT_NE(h.node(leader).raft().role(), raft::Role::leader);
  const NodeId survivor = follower_of(leader, 3);
  NodeId next = kNoNode;
  for (int i = 0; i < 2000 && next == kNoNode; ++i) {
    h.tick();
    if (h.node(survivor).raft().leader() != kNoNode && h.node(survivor).raft().leader() != leader) {
      next = h.node(survivor).raft().leader();
    }
  }
  ASSERT_NE(next, kNoNode) << "no new leader among the remaining voters";
  EXPECT_TRUE(h.call(kAlice, next, send("jobs", "after")).status.ok());
  const ClientReply stats = h.call(kAlice, next, GetStats{broker::Kind::queue, "jobs"});
  ASSERT_TRUE(stats.status.ok());
  EXPECT_EQ(std::get<broker::QueueStats>(stats.body).ready, 2u);
}

TEST(BrokerNodeAdmin, TheLastVoterCannotBeRemoved) {
  Harness h(1);
  const NodeId leader = h.elect();
  const ClientReply r = h.call(kAlice, leader, admin(AdminOp::remove_voter, leader.value()));
  EXPECT_EQ(r.status.code(), Code::invalid_argument);
  EXPECT_NE(r.status.message().find("last voter"), std::string::npos) << r.status.to_string();
}

TEST(BrokerNodeAdmin, AnAddedNodeStartedEmptyCatchesUpAndServes) {
  Harness h(3);
  const NodeId leader = h.elect();
  ASSERT_TRUE(h.call(kAlice, leader, send("jobs", "one")).status.ok());
  ASSERT_TRUE(h.call(kAlice, leader, send("jobs", "two")).status.ok());
  h.join(NodeId(4));
  EXPECT_EQ(h.node(NodeId(4)).raft().config().all_voters().size(), 0u);
  // Bad requests first: no address, or one that is not host:port.
  EXPECT_EQ(h.call(kAlice, leader, admin(AdminOp::add_voter, 4)).status.code(), Code::invalid_argument);
  EXPECT_EQ(h.call(kAlice, leader, admin(AdminOp::add_voter, 4, "host:99999")).status.code(),
            Code::invalid_argument);
  EXPECT_EQ(h.call(kAlice, leader, admin(AdminOp::add_voter, leader.value(), "h:1")).status.code(),
            Code::invalid_argument);
  const ClusterView v = view_of(h.call(kAlice, leader, admin(AdminOp::add_voter, 4, "node-4:50031")));
  EXPECT_EQ(v.voters, ids({1, 2, 3, 4}));
  for (int i = 0; i < 20; ++i) h.tick();
  const ClientReply stats = h.call(kAlice, NodeId(4), GetStats{broker::Kind::queue, "jobs"});
  ASSERT_TRUE(stats.status.ok()) << stats.status.to_string();
  EXPECT_EQ(std::get<broker::QueueStats>(stats.body).ready, 2u);
  // It is a voter like the others: it can lead.
  EXPECT_EQ(view_of(h.call(kAlice, leader, admin(AdminOp::transfer_leader, 4))).leader, NodeId(4));
}

// The log is compacted without a copy of the state (it is in the store);
// the leader serializes the state only for a node that needs it.
TEST(BrokerNodeAdmin, ANodeAddedAfterCompactionGetsTheStateAsASnapshot) {
  Harness h(3, /*compact_every=*/10);
  const NodeId leader = h.elect();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(h.call(kAlice, leader, send("jobs", "m" + std::to_string(i))).status.ok());
  h.tick();
  EXPECT_GE(h.node(leader).raft().snapshot_index().value(), 20u) << "compacted, keeping the newest half interval";
  EXPECT_LT(h.node(leader).raft().snapshot_index(), h.node(leader).raft().applied()) << "a tail stays in the log";
  EXPECT_FALSE(h.node(leader).raft().sending_snapshot());
  h.join(NodeId(4));
  ASSERT_TRUE(h.call(kAlice, leader, admin(AdminOp::add_voter, 4, "node-4:50031")).status.ok());
  for (int i = 0; i < 20; ++i) h.tick();
  EXPECT_EQ(h.node(NodeId(4)).raft().snapshots_installed(), 1u);
  EXPECT_FALSE(h.node(leader).raft().sending_snapshot());
  const ClientReply stats = h.call(kAlice, NodeId(4), GetStats{broker::Kind::queue, "jobs"});
  ASSERT_TRUE(stats.status.ok()) << stats.status.to_string();
  EXPECT_EQ(std::get<broker::QueueStats>(stats.body).ready, 30u);
}

TEST(BrokerNodeAdmin, OneChangeAtATime) {
  Harness h(3);
  const NodeId leader = h.elect();
  const NodeId a = follower_of(leader, 3);
  const std::uint64_t first = h.request(kAlice, leader, admin(AdminOp::remove_voter, a.value()));
  // Asked before the first was answered (done is noticed on a tick): the
  // node is busy with it, and says so; the client library asks again.
  const ClientReply second = h.call(kBob, leader, admin(AdminOp::transfer_leader, a.value()));
  EXPECT_EQ(second.status.code(), Code::unavailable) << second.status.to_string();
  EXPECT_NE(second.status.message().find("under way"), std::string::npos) << second.status.to_string();
  auto done = h.reply(kAlice, first);
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->status.ok()) << done->status.to_string();
}

}  // namespace
}  // namespace sluice::node
