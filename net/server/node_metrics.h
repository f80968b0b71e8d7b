// sluiced's /metrics: the node's Raft and broker state, its storage
// latencies and its connections, on a metrics::Registry.
//
// Values that live in the node (term, indexes, per-channel depths) are read
// by a collector at scrape time, on the loop thread that renders; storage
// latencies are observed after each storage round. Everything here runs on
// the node's loop. Names (all prefixed sluice_):
//
//   raft_term, raft_commit_index, raft_applied_index, raft_last_index,
//   raft_snapshot_index, raft_snapshots_installed_total,
//   raft_leader (the leader's id, 0 if unknown), raft_is_leader, node_poisoned,
//   raft_proposals_total (client writes this node took), client_requests_total,
//   storage_append_seconds, storage_fsync_seconds (histograms, one
//   observation per group-commit round), storage_batches_per_round,
//   storage_persists_in_flight,
//   client_connections (the framed port), http_connections, http_websockets,
//   http_requests_total, http_responses_4xx_total, http_responses_5xx_total,
//   peer_connected{peer},
//   peer_frames_sent_total, peer_frames_dropped_total, peer_frames_received_total,
//   queue_messages{channel,state=ready|delayed|in_flight}, queue_sent_total{channel},
//   queue_acked_total{channel}, queue_dead_lettered_total{channel},
//   store_messages{channel}, store_bytes{channel}, store_published_total{channel}.
#pragma once

#include <functional>
#include <string>

#include "net/metrics/metrics.h"
#include "net/server/storage_thread.h"

namespace sluice::net {

class Server;

class NodeMetrics {
 public:
  // `registry` and `server` must outlive this object; the registry's
  // collector refers to both.
  NodeMetrics(metrics::Registry& registry, Server& server);
  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;

  void on_storage_round(const StorageRound& round);

 private:
  void collect();
  // Counters mirror totals kept elsewhere: add what grew since the last look.
  static void advance(metrics::Counter& counter, double total);

  metrics::Registry& registry_;
  Server& server_;
  metrics::Histogram& append_seconds_;
  metrics::Histogram& fsync_seconds_;
  metrics::Histogram& batches_per_round_;
};

}  // namespace sluice::net
