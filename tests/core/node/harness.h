// A small cluster of BrokerNodes for tests: a perfect, instant network and
// in-memory disks, driven by the production drive() function. Nodes can be
// taken down, restarted from their store, or joined empty; clients are ids
// whose inboxes collect what nodes send them.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/node/broker_node.h"
#include "core/node/driver.h"
#include "tests/core/broker/mem_kv.h"

namespace sluice::node::test_harness {

using broker::testing::MemKv;

class Harness {
 public:
  explicit Harness(int nodes, std::uint64_t compact_every = 0) : compact_every_(compact_every) {
    for (int i = 1; i <= nodes; ++i) voters_.insert(NodeId(i));
    for (NodeId id : voters_) add_empty(id, voters_, 1000);
  }

  BrokerNode& node(NodeId id) { return *slots_.at(id).node; }

  // Stops a node and opens it again from what its store holds: everything
  // it kept only in memory is gone.
  void restart(NodeId id) {
    slots_.at(id).node.reset();
    open(id, voters_, 2000);
  }

  // Starts an empty node that bootstraps nothing: it waits for a leader
  // that added it to bring the configuration (sluiced --join).
  void join(NodeId id) { add_empty(id, raft::VoterSet{}, 1000); }

  std::vector<Message>& inbox(NodeId client) { return inboxes_[client]; }
  Timestamp now() const { return now_; }

  // Ticks until a leader is known to every node; returns it.
  NodeId elect() {
    for (int i = 0; i < 2000; ++i) {
      tick();
      NodeId leader = slots_.begin()->second.node->raft().leader();
      bool agreed = leader != kNoNode;
      for (auto& [id, slot] : slots_) agreed = agreed && slot.node->raft().leader() == leader;
      if (agreed) return leader;
    }
    ADD_FAILURE() << "no leader after 2000 ticks";
    return kNoNode;
  }

  // A node that is down is not ticked, and what is sent to it is lost.
  void down(NodeId id) { down_.insert(id); }
  void up(NodeId id) { down_.erase(id); }

  void tick(Duration step = Duration::millis(10)) {
    now_ = now_ + step;
    for (auto& [id, slot] : slots_) {
      if (down_.contains(id)) continue;
      slot.node->tick(now_);
      drive(*slot.node, *slot.env);
    }
    settle();
  }

  // The client's connection to `at` closes: what it had there ends.
  void disconnect(NodeId client, NodeId at) {
    BrokerNode& n = node(at);
    n.disconnect(client);
    drive(n, *slots_.at(at).env);
    settle();
  }

  // A client request to `at`; returns the request id.
  std::uint64_t request(NodeId client, NodeId at, RequestBody body) {
    const std::uint64_t rid = next_request_++;
    BrokerNode& n = node(at);
    n.step(client, ClientRequest{rid, std::move(body)}, now_);
    drive(n, *slots_.at(at).env);
    settle();
    return rid;
  }

  // The reply to request `rid`, ticking until it comes (bounded).
  std::optional<ClientReply> reply(NodeId client, std::uint64_t rid, int ticks_max = 500) {
    for (int i = 0; i <= ticks_max; ++i) {
      auto& box = inbox(client);
      for (auto it = box.begin(); it != box.end(); ++it) {
        if (auto* r = std::get_if<ClientReply>(&*it); r != nullptr && r->request_id == rid) {
          ClientReply out = *r;
          box.erase(it);
          return out;
        }
      }
      tick();
    }
    return std::nullopt;
  }

  ClientReply call(NodeId client, NodeId at, RequestBody body) {
    const std::uint64_t rid = request(client, at, std::move(body));
    auto r = reply(client, rid);
    EXPECT_TRUE(r.has_value()) << "no reply to request " << rid;
    return r.value_or(ClientReply{rid, Status(Code::timeout, "test: no reply"), kNoNode, {}});
  }

  // Pushes of type T delivered to the client so far, removed from its inbox.
  template <class T>
  std::vector<T> take(NodeId client) {
    std::vector<T> out;
    auto& box = inbox(client);
    for (auto it = box.begin(); it != box.end();) {
      if (auto* p = std::get_if<T>(&*it)) {
        out.push_back(*p);
        it = box.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

 private:
  struct Env final : Environment<Message> {
    Env(Harness* h, NodeId self) : h_(h), self_(self) {}
    void send(Envelope<Message> e) override { h_->wire_.push_back(std::move(e)); }
    void persist(WriteBatch batch, std::function<void(Status)> done) override {
      Status s = h_->slots_.at(self_).store->write(batch, {});
      h_->completions_.push_back([done = std::move(done), s]() mutable { done(s); });
    }
    Harness* h_;
    NodeId self_;
  };
  struct Slot {
    std::unique_ptr<MemKv> store;
    std::unique_ptr<Env> env;
    std::unique_ptr<BrokerNode> node;
  };

  void add_empty(NodeId id, const raft::VoterSet& voters, std::uint64_t seed_base) {
    auto& slot = slots_[id];
    slot.store = std::make_unique<MemKv>();
    slot.env = std::make_unique<Env>(this, id);
    open(id, voters, seed_base);
  }
  // Opens node `id` on its slot's store (seeded seed_base + id).
  void open(NodeId id, const raft::VoterSet& voters, std::uint64_t seed_base) {
    auto& slot = slots_.at(id);
    BrokerOptions o;
    o.raft.self = id;
    o.compact_every = compact_every_;
    auto opened = BrokerNode::open(o, voters, *slot.store, Rng(seed_base + id.value()));
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    slot.node = std::move(opened.value());
  }

  // Delivers everything in flight and completes every persist, in order.
  void settle() {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      if (!completions_.empty()) {
        auto done = std::move(completions_.front());
        completions_.pop_front();
        done();
      } else if (!wire_.empty()) {
        Envelope<Message> e = std::move(wire_.front());
        wire_.pop_front();
        if (down_.contains(e.to) || down_.contains(e.from)) continue;
        if (auto it = slots_.find(e.to); it != slots_.end()) {
          it->second.node->step(e.from, std::move(e.message), now_);
          drive(*it->second.node, *it->second.env);
        } else {
          inboxes_[e.to].push_back(std::move(e.message));
        }
      } else {
        return;
      }
    }
    FAIL() << "the cluster did not settle";
  }

  std::uint64_t compact_every_;
  raft::VoterSet voters_;
  std::set<NodeId> down_;
  std::map<NodeId, Slot> slots_;
  std::deque<Envelope<Message>> wire_;
  std::deque<std::function<void()>> completions_;
  std::map<NodeId, std::vector<Message>> inboxes_;
  Timestamp now_;
  std::uint64_t next_request_ = 1;
};

inline const NodeId kAlice(100);
inline const NodeId kBob(101);
inline const NodeId kCarol(102);

inline broker::MessageIn msg(std::string channel, std::string body) {
  broker::MessageIn m;
  m.channel = std::move(channel);
  m.body = std::move(body);
  return m;
}

inline Write send(std::string channel, std::string body) {
  broker::QueueSend s;
  s.items.push_back(broker::QueueItem{msg(std::move(channel), std::move(body)), {}, {}, {}, 0, ""});
  return Write{s, {}};
}

inline Write receive(std::string channel, Duration wait = {}, std::uint32_t max = 10) {
  broker::QueueReceive r;
  r.channel = std::move(channel);
  r.max_messages = max;
  r.visibility = Duration::seconds(30);
  return Write{r, wait};
}

inline std::vector<broker::Delivery> deliveries(const ClientReply& r) {
  EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  const auto* reply = std::get_if<broker::Reply>(&r.body);
  const auto* got = reply ? std::get_if<broker::ReceiveResult>(reply) : nullptr;
  return got ? got->deliveries : std::vector<broker::Delivery>{};
}

inline NodeId follower_of(NodeId leader, int nodes) {
  for (int i = 1; i <= nodes; ++i) {
    if (NodeId(i) != leader) return NodeId(i);
  }
  return kNoNode;
}
}  // namespace sluice::node::test_harness
