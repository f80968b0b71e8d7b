// A synchronous harness for Raft nodes, shared by the behaviour tests and
// the transcript tests: outputs are persisted at once (to an in-memory
// SimDisk, synced) and messages delivered in order, unless a test cuts a
// node or a link.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "core/raft/raft.h"
#include "sim/disk.h"

namespace sluice::raft::testing {

class Harness {
 public:
  explicit Harness(int n, Options base = {}) : base_(base) {
    for (int i = 1; i <= n; ++i) voters_.insert(NodeId(static_cast<std::uint64_t>(i)));
    for (NodeId id : voters_) {
      disks_.emplace(id, std::make_unique<sim::SimDisk>(Rng(id.value()), Hooks{}));
      start(id);
    }
  }

  // A new server that will join the group: no configuration of its own.
  void add_joiner(int i) {
    const NodeId id(static_cast<std::uint64_t>(i));
    disks_.emplace(id, std::make_unique<sim::SimDisk>(Rng(id.value()), Hooks{}));
    joiners_.insert(id);
    start(id);
  }

  void start(NodeId id) {
    Options o = base_;
    o.self = id;
    const VoterSet bootstrap = joiners_.count(id) ? VoterSet{} : voters_;
    auto node = Node::open(o, bootstrap, *disks_.at(id), Rng(1000 + id.value() * 7 + restarts_++));
    ASSERT_TRUE(node.ok()) << node.status().to_string();
    nodes_[id] = std::move(node).value();
  }
  // Power loss: unsynced writes are gone (there are none: we sync at once).
  void restart(NodeId id) {
    nodes_.erase(id);
    disks_.at(id)->crash();
    start(id);
  }
  // Down until restart(): messages to it are dropped.
  void crash(NodeId id) {
    nodes_.erase(id);
    disks_.at(id)->crash();
  }
  bool running(NodeId id) const { return nodes_.count(id) != 0; }
  std::vector<NodeId> ids() const {
    std::vector<NodeId> out;
    for (const auto& [id, disk] : disks_) out.push_back(id);
    return out;
  }

  // Observes every message the harness delivers or drops.
  std::function<void(const Envelope<Message>&, bool dropped)> on_message;

  Node& operator[](NodeId id) { return *nodes_.at(id); }
  Node& node(int i) { return *nodes_.at(NodeId(static_cast<std::uint64_t>(i))); }

  void isolate(int i) { cut_.insert(NodeId(static_cast<std::uint64_t>(i))); }
  // Cuts the link between a and b, both ways.
  void cut_link(int a, int b) {
    links_cut_.insert({NodeId(static_cast<std::uint64_t>(a)), NodeId(static_cast<std::uint64_t>(b))});
    links_cut_.insert({NodeId(static_cast<std::uint64_t>(b)), NodeId(static_cast<std::uint64_t>(a))});
  }
  void heal() {
    cut_.clear();
    links_cut_.clear();
  }

  // Carries out every output and delivers every message until quiet.
  void stabilize() {
    for (int round = 0; round < 1000; ++round) {
      bool any = false;
      for (auto& [id, node] : nodes_) {
        while (node->has_output()) {
          any = true;
          carry_out(id, *node);
        }
      }
      while (!queue_.empty()) {
        any = true;
        Envelope<Message> e = std::move(queue_.front());
        queue_.pop_front();
        const bool dropped = cut_.count(e.from) || cut_.count(e.to) || links_cut_.count({e.from, e.to}) ||
                             !nodes_.count(e.to);
        if (on_message) on_message(e, dropped);
        if (dropped) continue;
        nodes_.at(e.to)->step(e.from, e.message);
      }
      if (!any) return;
    }
    FAIL() << "did not stabilize";
  }

  void tick_all(int ticks) {
    for (int t = 0; t < ticks; ++t) {
      for (auto& [id, node] : nodes_) node->tick();
      stabilize();
    }
  }
  // One round: carry out every output and deliver what is queued now.
  void deliver_round() {
    for (auto& [id, node] : nodes_) {
      while (node->has_output()) carry_out(id, *node);
    }
    std::deque<Envelope<Message>> round;
    round.swap(queue_);
    for (auto& e : round) {
      const bool dropped = cut_.count(e.from) || cut_.count(e.to) || links_cut_.count({e.from, e.to}) ||
                           !nodes_.count(e.to);
      if (on_message) on_message(e, dropped);
      if (!dropped) nodes_.at(e.to)->step(e.from, e.message);
    }
  }

  const std::vector<LogEntry>& applied(int i) { return applied_[NodeId(static_cast<std::uint64_t>(i))]; }
  const std::vector<ReadState>& reads(int i) { return reads_[NodeId(static_cast<std::uint64_t>(i))]; }
  const std::vector<Snapshot>& restored(int i) { return restored_[NodeId(static_cast<std::uint64_t>(i))]; }

 private:
  void carry_out(NodeId id, Node& node) {
    RaftOutput out = node.take_output();
    for (auto& e : out.io.send_now) queue_.push_back(std::move(e));
    ASSERT_TRUE(disks_.at(id)->write(out.io.persist, WriteOptions{true}).ok());
    for (auto& e : out.io.send_after_persist) queue_.push_back(std::move(e));
    node.on_persisted(out.io.persist_id, Status());
    for (auto& entry : out.committed) applied_[id].push_back(entry);
    for (auto& read : out.reads) reads_[id].push_back(read);
    if (out.restore) restored_[id].push_back(*out.restore);
  }

  Options base_;
  VoterSet voters_;
  std::map<NodeId, std::unique_ptr<sim::SimDisk>> disks_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::map<NodeId, std::vector<LogEntry>> applied_;
  std::map<NodeId, std::vector<ReadState>> reads_;
  std::map<NodeId, std::vector<Snapshot>> restored_;
  std::deque<Envelope<Message>> queue_;
  std::set<NodeId> cut_;
  std::set<NodeId> joiners_;
  std::set<std::pair<NodeId, NodeId>> links_cut_;
  int restarts_ = 0;
};

inline std::vector<std::string> payloads(const std::vector<LogEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    if (entry_kind(e) == EntryKind::normal) out.emplace_back(entry_payload(e));
  }
  return out;
}

}  // namespace sluice::raft::testing
