// Simulated clients for all five patterns on a broker cluster, and the
// checkers of their histories (issue 4, item 10).
//
// Client connections are modelled as TCP is: the links between a client and
// a node never lose, duplicate or reorder (faults still partition nodes
// from each other, and crash or pause them); a crash or restart of the node
// a client is connected to breaks the "connection", and the client notices
// and reconnects elsewhere, as a real client library does.
//
// Writes retry on refusals and silence, with their idempotency keys, until
// a give-up deadline; their outcome is then unknown and the checkers allow
// either.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/node/broker_node.h"
#include "sim/cluster.h"

namespace sluice::sim::brokersim {

using Cluster = SimCluster<node::BrokerNode>;

struct WorkloadOptions {
  int producers = 2;          // queue senders
  int consumers = 2;          // queue receivers
  int publishers = 1;         // events store
  int store_subscribers = 2;
  int store_group_members = 2;  // members of one group per store channel, on whichever nodes
  int event_publishers = 1;
  int event_subscribers = 2;
  int rpc_callers = 1;
  int rpc_responders = 1;
  int readers = 1;            // events store stats, from whichever node
  bool time_starts = true;    // store subscribers may start by time or time delta
  Duration think_max = Duration::millis(50);
  Duration attempt_timeout = Duration::millis(500);
  Duration give_up = Duration::seconds(4);
};

class Workload {
 public:
  static constexpr std::uint64_t kFirstClientId = 1000;

  Workload(Cluster* cluster, Rng rng, WorkloadOptions options);
  ~Workload();

  // Clients start now; writers stop at `stop`, readers go on.
  void start(Timestamp stop);
  void on_message(NodeId client, NodeId from, std::uint64_t sent, node::Message message);
  // Liveness: true once every queue is empty (consumers drained it) and
  // every store subscriber has caught up with every acknowledged publish.
  bool drained() const;
  std::string drain_status() const;
  // The history checkers; `final_state` is a replica that applied
  // everything (the leader after the liveness phase).
  std::vector<std::string> check(const broker::BrokerState& final_state) const;
  std::uint64_t operations() const;
  std::uint64_t acknowledged() const;

  struct Client;   // workload.cc
  struct History;  // workload.cc

 private:
  Cluster* cluster_;
  Rng rng_;
  WorkloadOptions options_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::unique_ptr<History> history_;
};

}  // namespace sluice::sim::brokersim
