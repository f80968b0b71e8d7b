// Model-based property (issue 4, item 9) for the two patterns that live in
// the nodes rather than in the replicated state: events, and commands and
// queries. Random sequences of subscribes, retried subscribes, unsubscribes,
// disconnects, publishes, calls (answered or left to time out, queries
// cached or not) and ticks run against a cluster of 1 to 3 BrokerNodes
// (tests/core/node/harness.h) and against the reference model below; after
// every step each client must have got exactly what the model says.
//
// The model, one sentence per rule:
// - a subscription id is free per client across kinds; the same id with the
//   same parameters is a retry and answers ok; unsubscribing an unknown id
//   is not_found; a closed connection ends every subscription it had;
// - an event reaches every matching subscription without a group once, and
//   exactly one member of each matching (pattern, group), on any node;
// - a call reaches exactly one responder subscribed to its kind and channel
//   on any node, or answers not_found when there is none; the caller gets
//   the responder's answer, or timeout once its timeout has passed;
// - a query answer with a cache key and a TTL is served by the node that
//   took the call, from its cache, until the TTL has passed.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdio>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/broker/names.h"
#include "tests/core/node/harness.h"

namespace sluice::node {
namespace {

using namespace test_harness;

const std::vector<std::string> kChannels = {"a.x", "a.y", "b.x"};
const std::vector<std::string> kPatterns = {"a.x", "a.*", "*.x", ">", "a.>", "b.x"};
const std::vector<std::string> kGroups = {"", "", "g1", "g1", "g2"};
constexpr int kClients = 4;             // ids 100..103
constexpr std::uint64_t kSubIds = 3;    // per client: 1..3, shared by both kinds

// A value in [lo, hi), drawn over the whole range: rapidcheck scales
// inRange with the case's size, which would keep early cases to the first
// few kinds of step.
template <class T = int>
T pick(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}

NodeId client_id(int i) { return NodeId(100 + static_cast<std::uint64_t>(i)); }

struct Model {
  struct EventSub {
    std::string pattern;
    std::string group;
  };
  struct RpcSub {
    RpcKind kind;
    std::string channel;
    std::string group;
  };
  struct Client {
    NodeId home;  // the node its connection is to
    std::map<std::uint64_t, EventSub> events;
    std::map<std::uint64_t, RpcSub> rpcs;
    bool in_use(std::uint64_t id) const { return events.contains(id) || rpcs.contains(id); }
  };
  using CacheKey = std::pair<std::string, std::string>;  // channel, cache key
  struct Cached {
    Timestamp expires;
    std::string body;
  };
  std::map<NodeId, Client> clients;
  std::map<NodeId, std::map<CacheKey, Cached>> cache;  // per node that took the call

  bool has_responder(RpcKind kind, const std::string& channel) const {
    for (const auto& [id, c] : clients) {
      for (const auto& [sub, r] : c.rpcs) {
        if (r.kind == kind && r.channel == channel) return true;
      }
    }
    return false;
  }
};

// One run: a cluster, a model, and the steps between them.
class ModelRun {
 public:
  explicit ModelRun(int nodes) : nodes_(nodes), h_(nodes) {
    h_.elect();
    for (int i = 0; i < kClients; ++i) model_.clients[client_id(i)].home = any_node();
  }

  void step() {
    switch (pick(0, 15)) {
      case 0: case 1: subscribe_events(); break;
      case 2: case 3: subscribe_rpc(); break;
      case 4: unsubscribe(); break;
      case 5: reconnect(); break;
      case 6: case 7: case 8: publish(); break;
      case 9: case 10: case 11: call(); break;
      case 12: repeat_query(); break;
      default: tick(); break;
    }
  }

  std::set<std::string> seen;

 private:
  NodeId any_node() { return NodeId(static_cast<std::uint64_t>(pick(1, nodes_ + 1))); }
  NodeId any_client() { return client_id(pick(0, kClients)); }
  std::uint64_t any_sub_id() { return pick<std::uint64_t>(1, kSubIds + 1); }
  template <class T>
  const T& any(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(pick<std::size_t>(0, v.size()))];
  }
  RpcKind any_kind() { return *rc::gen::element(RpcKind::command, RpcKind::query); }

  // Nothing but what the step expects is pushed to any client.
  void expect_quiet(const char* after) {
    for (const auto& [id, c] : model_.clients) {
      RC_ASSERT(h_.take<EventDelivery>(id).empty());
      RC_ASSERT(h_.take<RpcIncoming>(id).empty());
    }
    RC_LOG() << "  quiet after " << after << "\n";
  }

  // The answer a subscribe or unsubscribe must get: ok, or this code.
  void expect_status(const ClientReply& r, Code want) {
    RC_LOG() << "  -> " << r.status.to_string() << "\n";
    RC_ASSERT(r.status.code() == want);
    if (want != Code::ok) seen.insert(std::string("subscribe refused ") + code_name(want));
  }

  void subscribe_events() {
    NodeId c = any_client();
    SubscribeEvents s{any_sub_id(), any(kPatterns), any(kGroups)};
    // Groups on few patterns, so that groups have several members.
    if (!s.group.empty()) s.pattern = *rc::gen::element<std::string>("a.*", ">");
    // Now and then the same subscribe again, as a client whose answer was lost.
    if (last_subscribe_ && pick(0, 4) == 0) std::tie(c, s) = *last_subscribe_;
    last_subscribe_ = {c, s};
    Model::Client& mc = model_.clients.at(c);
    RC_LOG() << "client " << to_string(c) << " at " << to_string(mc.home) << ": subscribe events #" << s.sub_id
             << " " << s.pattern << " group '" << s.group << "'\n";
    Code want = Code::ok;
    if (auto it = mc.events.find(s.sub_id); it != mc.events.end()) {
      const bool same = it->second.pattern == s.pattern && it->second.group == s.group;
      want = same ? Code::ok : Code::invalid_argument;
      if (same) seen.insert("retried subscribe");
    } else if (mc.in_use(s.sub_id)) {
      want = Code::invalid_argument;
    }
    expect_status(h_.call(c, mc.home, s), want);
    if (want == Code::ok) mc.events[s.sub_id] = Model::EventSub{s.pattern, s.group};
    expect_quiet("subscribe");
  }

  void subscribe_rpc() {
    const NodeId c = any_client();
    Model::Client& mc = model_.clients.at(c);
    const SubscribeRpc s{any_sub_id(), any_kind(), any(kChannels), any(kGroups)};
    RC_LOG() << "client " << to_string(c) << " at " << to_string(mc.home) << ": subscribe " << rpc_kind_name(s.kind)
             << " #" << s.sub_id << " " << s.channel << " group '" << s.group << "'\n";
    Code want = Code::ok;
    if (auto it = mc.rpcs.find(s.sub_id); it != mc.rpcs.end()) {
      const bool same = it->second.kind == s.kind && it->second.channel == s.channel && it->second.group == s.group;
      want = same ? Code::ok : Code::invalid_argument;
    } else if (mc.in_use(s.sub_id)) {
      want = Code::invalid_argument;
    }
    expect_status(h_.call(c, mc.home, s), want);
    if (want == Code::ok) mc.rpcs[s.sub_id] = Model::RpcSub{s.kind, s.channel, s.group};
    expect_quiet("subscribe");
  }

  void unsubscribe() {
    const NodeId c = any_client();
    Model::Client& mc = model_.clients.at(c);
    const std::uint64_t id = any_sub_id();
    RC_LOG() << "client " << to_string(c) << ": unsubscribe #" << id << "\n";
    const Code want = mc.in_use(id) ? Code::ok : Code::not_found;
    expect_status(h_.call(c, mc.home, Unsubscribe{id}), want);
    mc.events.erase(id);
    mc.rpcs.erase(id);
    expect_quiet("unsubscribe");
  }

  void reconnect() {
    const NodeId c = any_client();
    Model::Client& mc = model_.clients.at(c);
    const NodeId to = any_node();
    RC_LOG() << "client " << to_string(c) << ": connection to " << to_string(mc.home) << " closes; now at "
             << to_string(to) << "\n";
    h_.disconnect(c, mc.home);
    if (!mc.events.empty() || !mc.rpcs.empty()) seen.insert("a connection with subscriptions closed");
    mc = Model::Client{to, {}, {}};
    expect_quiet("reconnect");
  }

  void publish() {
    const NodeId c = any_client();
    const NodeId at = any_node();
    const std::string channel = any(kChannels);
    const std::string body = "e" + std::to_string(next_body_++);
    RC_LOG() << "client " << to_string(c) << " at " << to_string(at) << ": publish event " << channel << " '" << body
             << "'\n";
    const ClientReply r = h_.call(c, at, PublishEvent{msg(channel, body)});
    RC_ASSERT(r.status.ok());
    // What each subscription got, by client and id.
    std::map<std::pair<NodeId, std::uint64_t>, int> got;
    for (const auto& [id, mc] : model_.clients) {
      for (const EventDelivery& d : h_.take<EventDelivery>(id)) {
        RC_LOG() << "  -> client " << to_string(id) << " #" << d.sub_id << "\n";
        RC_ASSERT(d.message.body == body);
        RC_ASSERT(d.message.channel == channel);
        got[{id, d.sub_id}]++;
      }
    }
    // What the model says: every matching subscription without a group
    // once; one member of each matching (pattern, group).
    std::map<std::pair<std::string, std::string>, int> group_got;
    std::map<std::pair<std::string, std::string>, int> group_members;
    std::map<std::pair<std::string, std::string>, std::set<NodeId>> group_nodes;
    for (const auto& [id, mc] : model_.clients) {
      for (const auto& [sub, e] : mc.events) {
        const int n = got[{id, sub}];
        got.erase({id, sub});
        if (!broker::matches(e.pattern, channel)) {
          RC_ASSERT(n == 0);
        } else if (e.group.empty()) {
          RC_ASSERT(n == 1);
        } else {
          RC_ASSERT(n <= 1);
          group_got[{e.pattern, e.group}] += n;
          group_members[{e.pattern, e.group}]++;
          group_nodes[{e.pattern, e.group}].insert(mc.home);
        }
      }
    }
    for (const auto& [key, members] : group_members) {
      RC_ASSERT(group_got[key] == 1);
      if (members > 1) seen.insert("an event shared by a group of several");
      if (group_nodes[key].size() > 1) seen.insert("an event shared by a group on several nodes");
    }
    for (const auto& [key, n] : got) RC_ASSERT(n == 0);  // nothing to an id that holds no events subscription
    if (!group_members.empty()) seen.insert("an event to a group");
    expect_quiet("publish");
  }

  void call() {
    const RpcKind kind = any_kind();
    RpcCall rpc{kind, msg(any(kChannels), ""), Duration::millis(pick(50, 300)), "", {}};
    if (kind == RpcKind::query && pick(0, 2) == 0) {
      rpc.cache_key = *rc::gen::element<std::string>("k1", "k2");
      rpc.cache_ttl = Duration::millis(pick(0, 400));
    }
    call(any_client(), any_node(), std::move(rpc));
  }

  // The last query with a cache key again, from the same node: what caching
  // is for.
  void repeat_query() {
    if (!last_cached_query_) return;
    auto [c, at, rpc] = *last_cached_query_;
    // Before or after the cached answer's TTL (0-400 ms) runs out.
    const int ticks = pick(0, 50);
    RC_LOG() << "tick x" << ticks << ", then the last cached query again\n";
    for (int i = 0; i < ticks; ++i) h_.tick();
    expect_quiet("ticks");
    const auto cached = model_.cache[at].find({rpc.message.channel, rpc.cache_key});
    if (cached != model_.cache[at].end() && cached->second.expires <= h_.now()) {
      seen.insert("a query repeated after its cached answer expired");
    }
    call(c, at, std::move(rpc));
  }

  void call(NodeId c, NodeId at, RpcCall rpc) {
    const RpcKind kind = rpc.kind;
    const std::string channel = rpc.message.channel;
    rpc.message.body = "r" + std::to_string(next_body_++);
    if (!rpc.cache_key.empty()) last_cached_query_ = {c, at, rpc};
    const bool answer = pick(0, 4) != 0;
    RC_LOG() << "client " << to_string(c) << " at " << to_string(at) << ": " << rpc_kind_name(kind) << " " << channel
             << " '" << rpc.message.body << "' timeout " << format_duration(rpc.timeout) << " cache '" << rpc.cache_key
             << "' ttl " << format_duration(rpc.cache_ttl) << (answer ? "" : ", left unanswered") << "\n";
    const Timestamp began = h_.now();
    const std::uint64_t rid = h_.request(c, at, rpc);

    if (!rpc.cache_key.empty()) {
      auto& cache = model_.cache[at];
      auto hit = cache.find({channel, rpc.cache_key});
      if (hit != cache.end() && hit->second.expires > h_.now()) {
        const auto r = h_.reply(c, rid, 0);
        RC_ASSERT(r.has_value());
        RC_ASSERT(r->status.ok());
        const auto* a = std::get_if<RpcAnswer>(&r->body);
        RC_ASSERT(a != nullptr);
        RC_ASSERT(a->from_cache);
        RC_ASSERT(a->body == hit->second.body);
        seen.insert("a query answered from the cache");
        expect_quiet("a cached query");
        return;
      }
    }
    if (!model_.has_responder(kind, channel)) {
      const auto r = h_.reply(c, rid, 0);
      RC_ASSERT(r.has_value());
      RC_ASSERT(r->status.code() == Code::not_found);
      seen.insert("a call nobody could answer");
      expect_quiet("a call without responders");
      return;
    }
    // Exactly one responder subscribed to the kind and channel got it.
    std::vector<std::pair<NodeId, RpcIncoming>> incoming;
    for (const auto& [id, mc] : model_.clients) {
      for (RpcIncoming& in : h_.take<RpcIncoming>(id)) incoming.emplace_back(id, std::move(in));
    }
    RC_ASSERT(incoming.size() == 1u);
    const auto& [responder, in] = incoming.front();
    const Model::Client& mr = model_.clients.at(responder);
    const auto sub = mr.rpcs.find(in.sub_id);
    RC_ASSERT(sub != mr.rpcs.end());
    RC_ASSERT(sub->second.kind == kind);
    RC_ASSERT(sub->second.channel == channel);
    RC_ASSERT(in.request.body == rpc.message.body);
    RC_LOG() << "  -> responder " << to_string(responder) << " #" << in.sub_id << " at " << to_string(mr.home) << "\n";
    if (mr.home != at) seen.insert("a call served on another node");

    if (!answer) {
      const auto r = h_.reply(c, rid);
      RC_ASSERT(r.has_value());
      RC_ASSERT(r->status.code() == Code::timeout);
      RC_ASSERT(h_.now() >= began + rpc.timeout);
      seen.insert("a call timed out");
      expect_quiet("a call that timed out");
      return;
    }
    const std::string answer_body = "answer to " + in.request.body;
    RpcRespond respond{in.rpc_id, true, "", "", answer_body, {}};
    RC_ASSERT(h_.call(responder, mr.home, respond).status.ok());
    const auto r = h_.reply(c, rid, 0);
    RC_ASSERT(r.has_value());
    RC_ASSERT(r->status.ok());
    const auto* a = std::get_if<RpcAnswer>(&r->body);
    RC_ASSERT(a != nullptr);
    RC_ASSERT(!a->from_cache);
    RC_ASSERT(a->body == answer_body);
    RC_ASSERT(a->executed);
    if (!rpc.cache_key.empty() && rpc.cache_ttl.ns > 0) {
      model_.cache[at][{channel, rpc.cache_key}] = Model::Cached{h_.now() + rpc.cache_ttl, answer_body};
    }
    seen.insert(kind == RpcKind::query ? "a query answered" : "a command answered");
    expect_quiet("an answered call");
  }

  void tick() {
    const int n = pick(1, 60);
    RC_LOG() << "tick x" << n << "\n";
    for (int i = 0; i < n; ++i) h_.tick();
    expect_quiet("ticks");
  }

  int nodes_;
  Harness h_;
  Model model_;
  std::uint64_t next_body_ = 1;
  std::optional<std::tuple<NodeId, NodeId, RpcCall>> last_cached_query_;
  std::optional<std::pair<NodeId, SubscribeEvents>> last_subscribe_;
};

TEST(PubSubModel, EventsCommandsAndQueriesAgreeWithTheReferenceModel) {
  std::map<std::string, int> coverage;
  long total_steps = 0;
  EXPECT_TRUE(rc::check("events, commands and queries agree with the reference model", [&] {
    const int nodes = *rc::gen::element(1, 2, 3, 3);
    ModelRun run(nodes);
    const int steps = pick(1, 120);
    for (int i = 0; i < steps; ++i) run.step();
    run.seen.insert(std::to_string(nodes) + " node(s)");
    total_steps += steps;
    for (const std::string& s : run.seen) coverage[s]++;
  }));
  for (const char* thing : {"retried subscribe", "subscribe refused invalid_argument", "subscribe refused not_found",
                            "a connection with subscriptions closed", "an event to a group",
                            "an event shared by a group of several", "an event shared by a group on several nodes",
                            "a query answered from the cache",
                            "a query repeated after its cached answer expired",
                            "a call nobody could answer", "a call served on another node", "a call timed out",
                            "a query answered", "a command answered"}) {
    EXPECT_GE(coverage[thing], 1) << "the workload never reaches: " << thing;
  }
  for (const auto& [thing, cases] : coverage) std::printf("  %3d cases: %s\n", cases, thing.c_str());
  std::printf("  %ld steps in all\n", total_steps);
}

}  // namespace
}  // namespace sluice::node
