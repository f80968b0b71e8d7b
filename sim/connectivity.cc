#include "sim/connectivity.h"

namespace sluice::sim {
namespace {

bool disk_healthy(const SimDisk& disk) {
  const DiskFaults& f = disk.faults();
  return f.read_error == 0.0 && f.write_error == 0.0 && f.sync_error == 0.0 && !f.full && !disk.poisoned();
}

}  // namespace

NodeMask Connectivity::bit(NodeId id) const {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i] == id) return NodeMask{1} << i;
  }
  return 0;
}

bool Connectivity::clique(NodeMask set) const {
  if ((set & up) != set) return false;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if ((set >> i & 1) != 0 && (reach[i] & set) != set) return false;
  }
  return true;
}

void observe_links(ClusterBase& cluster, Connectivity& view) {
  view.nodes = cluster.servers();
  SLUICE_ASSERT(view.nodes.size() <= kNodeMaskBits, "the connectivity oracle handles at most 64 servers");
  const Timestamp now = cluster.scheduler().now();
  const SimNetwork& net = cluster.network();
  view.reach.assign(view.nodes.size(), 0);
  view.next_clog_end = Timestamp{0};
  for (std::size_t i = 0; i < view.nodes.size(); ++i) {
    view.reach[i] |= NodeMask{1} << i;
    for (std::size_t j = i + 1; j < view.nodes.size(); ++j) {
      const NodeId a = view.nodes[i];
      const NodeId b = view.nodes[j];
      for (Timestamp until : {net.clogged_until(a, b), net.clogged_until(b, a)}) {
        if (until > now && (view.next_clog_end == Timestamp{0} || until < view.next_clog_end)) {
          view.next_clog_end = until;
        }
      }
      if (net.link_open(a, b, now) && net.link_open(b, a, now)) {
        view.reach[i] |= NodeMask{1} << j;
        view.reach[j] |= NodeMask{1} << i;
      }
    }
  }
}

void observe_up(ClusterBase& cluster, Connectivity& view) {
  SLUICE_ASSERT(view.nodes == cluster.servers(), "links observed for the same servers");
  view.up = 0;
  for (std::size_t i = 0; i < view.nodes.size(); ++i) {
    if (cluster.state(view.nodes[i]) == ProcessState::running && disk_healthy(cluster.disk(view.nodes[i]))) {
      view.up |= NodeMask{1} << i;
    }
  }
}

Connectivity observe_connectivity(ClusterBase& cluster) {
  Connectivity view;
  observe_links(cluster, view);
  observe_up(cluster, view);
  return view;
}

}  // namespace sluice::sim
