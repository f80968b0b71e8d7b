// The simulated network: per-link latency, loss, duplication, reordering,
// clogging and partitions (symmetric, asymmetric, isolate-one,
// majority/minority, majorities-ring), and healing.
//
// Messages travel as closures: the network decides whether, when and how
// often to run a message's `deliver`, and the cluster's closure hands it to
// the receiving process (which drops it if crashed, defers it if paused).
// A link is open only if it is open both when a message is sent and when it
// would arrive: a partition also cuts messages already in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/hooks.h"
#include "core/common/random.h"
#include "core/common/types.h"
#include "sim/latency.h"
#include "sim/scheduler.h"
#include "sim/trace.h"

namespace sluice::sim {

struct LinkConfig {
  LatencyDist latency = {Duration::micros(100), Duration::micros(300), Duration::millis(2),
                         Duration::millis(10)};
  double loss = 0.0;       // probability a message is dropped
  double duplicate = 0.0;  // probability a message is delivered twice
  double reorder = 0.0;    // probability a message may overtake earlier ones
};

struct NetworkStats {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_partition = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
};

class SimNetwork {
 public:
  using Deliver = std::function<void()>;

  SimNetwork(Scheduler* scheduler, Trace* trace, Rng rng, Hooks hooks);

  void set_default_link(const LinkConfig& config) { default_link_ = config; }
  const LinkConfig& default_link() const { return default_link_; }
  void set_link(NodeId from, NodeId to, const LinkConfig& config) { links_[{from, to}] = config; }
  void clear_link_overrides() { links_.clear(); }

  // `what` names the message in the trace.
  void send(NodeId from, NodeId to, std::string_view what, Deliver deliver);

  // Partitions. Every call adds blocked directions; heal() removes them all.
  void block(NodeId from, NodeId to) {
    blocked_.insert({from, to});
    ++generation_;
  }
  void unblock(NodeId from, NodeId to) {
    blocked_.erase({from, to});
    ++generation_;
  }
  bool is_blocked(NodeId from, NodeId to) const { return blocked_.count({from, to}) != 0; }
  // Some link is cut, in at least one direction.
  bool partitioned() const { return !blocked_.empty(); }
  // Timestamp{0} when the link is not clogged.
  Timestamp clogged_until(NodeId from, NodeId to) const;
  // A message sent now would travel at once: neither blocked nor held by a
  // clog (loss, being chance, does not close a link).
  bool link_open(NodeId from, NodeId to, Timestamp now) const {
    return !is_blocked(from, to) && clogged_until(from, to) <= now;
  }
  // Bumped by every change to partitions and clogs, so that observers
  // (the connectivity oracle) recompute only when something changed.
  std::uint64_t topology_generation() const { return generation_; }
  // Nothing crosses between a and b, in either direction.
  void partition(const std::vector<NodeId>& a, const std::vector<NodeId>& b);
  // n hears nothing from and reaches none of `others`.
  void isolate(NodeId n, const std::vector<NodeId>& others);
  // Each node reaches the majority centred on it in `ring` order, and no two
  // nodes see the same majority (Jepsen's majorities-ring). On 3 nodes the
  // ring is one-way: each node hears only from its predecessor.
  void majorities_ring(const std::vector<NodeId>& ring);
  // Messages on the link wait until `until` before they travel.
  void clog(NodeId from, NodeId to, Timestamp until);
  void heal();

  const NetworkStats& stats() const { return stats_; }

 private:
  const LinkConfig& link(NodeId from, NodeId to) const;
  void schedule_delivery(NodeId from, NodeId to, std::string_view what, const Deliver& deliver,
                         bool duplicate);

  Scheduler* scheduler_;
  Trace* trace_;
  Rng rng_;
  Hooks hooks_;
  LinkConfig default_link_;
  std::map<std::pair<NodeId, NodeId>, LinkConfig> links_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::map<std::pair<NodeId, NodeId>, Timestamp> clogged_until_;
  std::map<std::pair<NodeId, NodeId>, Timestamp> last_arrival_;  // FIFO floor per link
  NetworkStats stats_;
  std::uint64_t generation_ = 0;
};

}  // namespace sluice::sim
