#include "sim/raftkv/leader_monitor.h"

#include <bit>

namespace sluice::raftkv {
namespace {

using sim::NodeMask;

// `set` holds a majority of `voters` (an empty half places no constraint).
bool majority_of(NodeMask set, NodeMask voters) {
  return voters == 0 || 2 * std::popcount(set & voters) > std::popcount(voters);
}

std::string members(const sim::Connectivity& view, NodeMask set) {
  std::string out;
  for (std::size_t i = 0; i < view.nodes.size(); ++i) {
    if ((set >> i & 1) == 0) continue;
    if (!out.empty()) out += ",";
    out += to_string(view.nodes[i]);
  }
  return "{" + out + "}";
}

}  // namespace

void LeaderMonitor::after_event() {
  const Timestamp now = cluster_->scheduler().now();
  const bool clog_ended = view_.next_clog_end != Timestamp{0} && now >= view_.next_clog_end;
  if (now < next_sample_ && !clog_ended && cluster_->process_generation() == seen_process_generation_ &&
      cluster_->network().topology_generation() == seen_topology_generation_) {
    return;
  }
  sample(now);
}

void LeaderMonitor::refresh_view(Timestamp now) {
  const bool clog_ended = view_.next_clog_end != Timestamp{0} && now >= view_.next_clog_end;
  if (clog_ended || cluster_->network().topology_generation() != seen_topology_generation_ ||
      view_.nodes.size() != cluster_->servers().size()) {
    sim::observe_links(*cluster_, view_);
    seen_topology_generation_ = cluster_->network().topology_generation();
  }
  // Disk faults change with no generation to watch: up-ness every sample.
  sim::observe_up(*cluster_, view_);
  seen_process_generation_ = cluster_->process_generation();
  // Configurations change with the logs: every sample too.
  const std::size_t n = view_.nodes.size();
  incoming_.assign(n, 0);
  outgoing_.assign(n, 0);
  usable_ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if ((view_.up >> i & 1) == 0) continue;
    const KvNode* node = cluster_->node(view_.nodes[i]);
    if (node == nullptr || node->poisoned()) continue;
    usable_ |= NodeMask{1} << i;
    if (!node->raft().config().is_voter(view_.nodes[i])) continue;
    for (NodeId v : node->raft().config().incoming) {
      SLUICE_ASSERT(view_.bit(v) != 0, "every voter is a server of the cluster");
      incoming_[i] |= view_.bit(v);
    }
    for (NodeId v : node->raft().config().outgoing) {
      SLUICE_ASSERT(view_.bit(v) != 0, "every voter is a server of the cluster");
      outgoing_[i] |= view_.bit(v);
    }
  }
}

std::vector<NodeMask> LeaderMonitor::connected_majorities() const {
  NodeMask campaigners = 0;
  for (std::size_t i = 0; i < view_.nodes.size(); ++i) {
    if (incoming_[i] != 0) campaigners |= NodeMask{1} << i;
  }
  // Any up server may vote, even one that holds no configuration yet (a
  // server being added); only campaigners constrain the set.
  const NodeMask voters = view_.up & usable_;
  SLUICE_ASSERT(std::popcount(voters) <= 16, "the subset search is bounded to 16 servers");
  std::vector<NodeMask> out;
  for (NodeMask set = voters; set != 0; set = (set - 1) & voters) {
    if ((set & campaigners) == 0 || !view_.clique(set)) continue;
    bool quorum_for_all = true;
    for (std::size_t i = 0; i < view_.nodes.size() && quorum_for_all; ++i) {
      if (((set & campaigners) >> i & 1) == 0) continue;
      quorum_for_all = majority_of(set, incoming_[i]) && majority_of(set, outgoing_[i]);
    }
    if (quorum_for_all) out.push_back(set);
  }
  return out;
}

bool LeaderMonitor::accepted_leader_exists() {
  for (NodeId id : cluster_->servers()) {
    if (cluster_->state(id) != sim::ProcessState::running) continue;
    const raft::Node& leader = cluster_->node(id)->raft();
    if (leader.role() != raft::Role::leader) continue;
    std::map<NodeId, bool> accepts;
    for (NodeId other : cluster_->servers()) {
      if (cluster_->state(other) != sim::ProcessState::running) continue;
      const raft::Node& r = cluster_->node(other)->raft();
      if (other == id || (r.term() == leader.term() && r.leader() == id)) accepts[other] = true;
    }
    if (raft::joint_vote(leader.config(), accepts) == raft::VoteResult::won) return true;
  }
  return false;
}

void LeaderMonitor::sample(Timestamp now) {
  next_sample_ = now + kSampleEvery;
  refresh_view(now);
  std::vector<NodeMask> key = {view_.up & usable_};
  key.insert(key.end(), view_.reach.begin(), view_.reach.end());
  key.insert(key.end(), incoming_.begin(), incoming_.end());
  key.insert(key.end(), outgoing_.begin(), outgoing_.end());
  if (key != last_key_) {
    last_key_ = std::move(key);
    std::map<NodeMask, Timestamp> since;
    for (NodeMask set : connected_majorities()) {
      auto it = connected_since_.find(set);
      since[set] = it == connected_since_.end() ? now : it->second;
    }
    connected_since_ = std::move(since);
  }
  if (accepted_leader_exists()) last_leader_ = now;
  for (const auto& [set, since] : connected_since_) {
    const Timestamp start = std::max(since, last_leader_);
    const Duration wait = now - start;
    if (wait > longest_wait_) longest_wait_ = wait;
    if (wait > bound_ && !violation_) {
      violation_ = "liveness: at " + format_duration(now - Timestamp{0}) + ", no accepted leader for " +
                   format_duration(wait) + " while servers " +
                   members(view_, set) + " were up and connected, a majority of each one's configuration (since " +
                   format_duration(since - Timestamp{0}) + ", last leader at " +
                   format_duration(last_leader_ - Timestamp{0}) + ")";
    }
  }
}

}  // namespace sluice::raftkv
