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
    bit_by_id_.clear();
    for (std::size_t i = 0; i < view_.nodes.size(); ++i) {
      const std::size_t id = view_.nodes[i].value();
      if (id >= bit_by_id_.size()) bit_by_id_.resize(id + 1, 0);
      bit_by_id_[id] = NodeMask{1} << i;
    }
  }
  // Disk faults change with no generation to watch: up-ness every sample.
  sim::observe_up(*cluster_, view_);
  seen_process_generation_ = cluster_->process_generation();
  // Configurations and roles change with the logs: every sample too.
  const std::size_t n = view_.nodes.size();
  auto bit = [this](NodeId v) {
    SLUICE_ASSERT(v.value() < bit_by_id_.size() && bit_by_id_[v.value()] != 0, "every voter is a server");
    return bit_by_id_[v.value()];
  };
  incoming_.assign(n, 0);
  outgoing_.assign(n, 0);
  term_.assign(n, Term(0));
  follows_.assign(n, kNoNode);
  running_ = leaders_ = usable_ = campaigners_ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (cluster_->state(view_.nodes[i]) != sim::ProcessState::running) continue;
    const NodeMask self = NodeMask{1} << i;
    const raft::Node& r = cluster_->node(view_.nodes[i])->raft();
    running_ |= self;
    term_[i] = r.term();
    follows_[i] = r.leader();
    if (r.role() == raft::Role::leader) leaders_ |= self;
    for (NodeId v : r.config().incoming) incoming_[i] |= bit(v);
    for (NodeId v : r.config().outgoing) outgoing_[i] |= bit(v);
    if ((view_.up & self) == 0 || r.poisoned()) continue;
    usable_ |= self;
    if (((incoming_[i] | outgoing_[i]) & self) != 0) campaigners_ |= self;
  }
}

std::vector<NodeMask> LeaderMonitor::connected_majorities() const {
  // Any usable server may vote, even one that holds no configuration yet (a
  // server being added); only campaigners constrain the set.
  SLUICE_ASSERT(std::popcount(usable_) <= 16, "the subset search is bounded to 16 servers");
  std::vector<NodeMask> out;
  for (NodeMask set = usable_; set != 0; set = (set - 1) & usable_) {
    if ((set & campaigners_) == 0 || !view_.clique(set)) continue;
    bool quorum_for_all = true;
    for (std::size_t i = 0; i < view_.nodes.size() && quorum_for_all; ++i) {
      if (((set & campaigners_) >> i & 1) == 0) continue;
      quorum_for_all = majority_of(set, incoming_[i]) && majority_of(set, outgoing_[i]);
    }
    if (quorum_for_all) out.push_back(set);
  }
  return out;
}

bool LeaderMonitor::accepted_leader_exists() const {
  for (std::size_t l = 0; l < view_.nodes.size(); ++l) {
    if ((leaders_ >> l & 1) == 0) continue;
    NodeMask accepts = NodeMask{1} << l;
    for (std::size_t i = 0; i < view_.nodes.size(); ++i) {
      if ((running_ >> i & 1) != 0 && term_[i] == term_[l] && follows_[i] == view_.nodes[l]) {
        accepts |= NodeMask{1} << i;
      }
    }
    if (incoming_[l] != 0 && majority_of(accepts, incoming_[l]) && majority_of(accepts, outgoing_[l])) return true;
  }
  return false;
}

void LeaderMonitor::sample(Timestamp now) {
  next_sample_ = now + kSampleEvery;
  refresh_view(now);
  scratch_.clear();
  scratch_.push_back(usable_);
  scratch_.push_back(campaigners_);
  scratch_.insert(scratch_.end(), view_.reach.begin(), view_.reach.end());
  for (std::size_t i = 0; i < view_.nodes.size(); ++i) {
    if ((usable_ >> i & 1) == 0) continue;
    scratch_.push_back(incoming_[i]);
    scratch_.push_back(outgoing_[i]);
  }
  if (scratch_ != key_) {
    key_.swap(scratch_);
    std::map<NodeMask, Timestamp> since;
    for (NodeMask set : connected_majorities()) {
      auto it = connected_since_.find(set);
      since[set] = it == connected_since_.end() ? now : it->second;
    }
    connected_since_ = std::move(since);
    oldest_since_ = now;
    for (const auto& [set, t] : connected_since_) oldest_since_ = std::min(oldest_since_, t);
  }
  if (accepted_leader_exists()) last_leader_ = now;
  if (connected_since_.empty()) return;
  // The set connected longest waited longest (since a leader, or since it
  // connected, whichever came later).
  const Duration wait = now - std::max(oldest_since_, last_leader_);
  if (wait > longest_wait_) longest_wait_ = wait;
  if (wait <= bound_ || violation_) return;
  for (const auto& [set, since] : connected_since_) {
    if (since != oldest_since_) continue;
    violation_ = "liveness: at " + format_duration(now - Timestamp{0}) + ", no accepted leader for " +
                 format_duration(wait) + " while servers " + members(view_, set) +
                 " were up and connected, a majority of each one's configuration (since " +
                 format_duration(since - Timestamp{0}) + ", last leader at " +
                 format_duration(last_leader_ - Timestamp{0}) + ")";
    break;
  }
}

}  // namespace sluice::raftkv
