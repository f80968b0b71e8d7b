// The connectivity oracle: which servers are up now, and which pairs of them
// reach each other in both directions. Liveness checks ask it whether a
// majority could elect a leader, so "up" and "reach" are defined strictly:
// a server is up only while running (not crashed, not paused) on a disk with
// no injected fault (IO errors, full, or poisoned by an earlier failure:
// such a node is about to stop); a link is open only while no partition
// blocks it and no clog holds it. Loss and latency do not close a link: a
// majority must elect through them.
//
// Servers are numbered by their position in ClusterBase::servers(), so sets
// of them are bit masks.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/cluster.h"

namespace sluice::sim {

using NodeMask = std::uint64_t;
inline constexpr std::size_t kNodeMaskBits = 64;

struct Connectivity {
  std::vector<NodeId> nodes;  // bit i stands for nodes[i]
  NodeMask up = 0;            // running, not paused, healthy disk
  // reach[i]: servers linked with i both ways, i included, whether up or not.
  std::vector<NodeMask> reach;
  // The earliest moment an observed clog ends (links open then with no
  // event to say so); Timestamp{0} if no clog is in force.
  Timestamp next_clog_end{0};

  // Bit of `id`; 0 if it is not a server.
  NodeMask bit(NodeId id) const;
  // Every member of `set` is up and reaches every other both ways.
  bool clique(NodeMask set) const;
};

// Links change only with partitions and clogs (SimNetwork's generation, or
// a clog ending), up-ness with processes and disk faults: a caller that
// samples often refreshes each only when it may have changed.
void observe_links(ClusterBase& cluster, Connectivity& view);
void observe_up(ClusterBase& cluster, Connectivity& view);
Connectivity observe_connectivity(ClusterBase& cluster);

}  // namespace sluice::sim
