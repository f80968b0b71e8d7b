#include "net/server/node_metrics.h"

#include "net/server/server.h"

namespace sluice::net {
namespace {

double seconds(Duration d) { return static_cast<double>(d.ns) / 1e9; }

}  // namespace

NodeMetrics::NodeMetrics(metrics::Registry& registry, Server& server)
    : registry_(registry),
      server_(server),
      append_seconds_(registry.histogram("sluice_storage_append_seconds",
                                         "Time to write one group-commit round's batches to RocksDB, before the fsync",
                                         metrics::latency_buckets_seconds())),
      fsync_seconds_(registry.histogram("sluice_storage_fsync_seconds", "Time of one group-commit round's WAL fsync",
                                        metrics::latency_buckets_seconds())),
      batches_per_round_(registry.histogram("sluice_storage_batches_per_round",
                                            "Write batches made durable by one fsync (group commit)",
                                            metrics::exponential_buckets(1, 2, 10))) {
  registry_.on_collect([this] { collect(); });
}

void NodeMetrics::on_storage_round(const StorageRound& round) {
  append_seconds_.observe(seconds(round.write));
  if (round.sync > Duration{}) fsync_seconds_.observe(seconds(round.sync));
  batches_per_round_.observe(static_cast<double>(round.batches));
}

void NodeMetrics::advance(metrics::Counter& counter, double total) {
  if (total > counter.value()) counter.inc(total - counter.value());
}

void NodeMetrics::collect() {
  auto& r = registry_;
  const NodeStatus s = server_.host().status();
  r.gauge("sluice_raft_term", "Current Raft term").set(static_cast<double>(s.term.value()));
  r.gauge("sluice_raft_commit_index", "Highest log index known committed").set(static_cast<double>(s.commit.value()));
  r.gauge("sluice_raft_applied_index", "Highest log index applied to the broker state")
      .set(static_cast<double>(s.applied.value()));
  r.gauge("sluice_raft_last_index", "Last index in this node's log").set(static_cast<double>(s.last_index.value()));
  r.gauge("sluice_raft_snapshot_index", "Index the log is compacted up to (the latest snapshot's)")
      .set(static_cast<double>(s.snapshot_index.value()));
  advance(r.counter("sluice_raft_snapshots_installed_total",
                    "Snapshots received from a leader and installed (InstallSnapshot) since the process started"),
          static_cast<double>(s.snapshots_installed));
  r.gauge("sluice_raft_leader", "Id of the leader this node knows, 0 if none").set(static_cast<double>(s.leader.value()));
  r.gauge("sluice_raft_is_leader", "1 if this node leads").set(s.role == raft::Role::leader ? 1 : 0);
  r.gauge("sluice_node_poisoned", "1 if a failed write stopped this node").set(s.poisoned ? 1 : 0);
  advance(r.counter("sluice_raft_proposals_total", "Client writes this node took (proposed, or forwarded to the leader)"),
          static_cast<double>(s.writes_submitted));
  advance(r.counter("sluice_client_requests_total", "Client requests this node took, all kinds"),
          static_cast<double>(s.requests_submitted));
  r.gauge("sluice_storage_persists_in_flight", "Write batches handed to the storage thread and not yet durable")
      .set(static_cast<double>(s.persists_in_flight));
  r.gauge("sluice_client_connections", "Open connections on the framed client port")
      .set(static_cast<double>(server_.clients().connections()));

  const PeerStats peers = server_.peers().stats();
  advance(r.counter("sluice_peer_frames_sent_total", "Frames queued to peers"), static_cast<double>(peers.frames_sent));
  advance(r.counter("sluice_peer_frames_dropped_total", "Frames to peers dropped (queue full, or no link)"),
          static_cast<double>(peers.frames_dropped));
  advance(r.counter("sluice_peer_frames_received_total", "Frames received from peers"),
          static_cast<double>(peers.frames_received));
  for (const auto& [id, address] : server_.peer_addresses()) {
    if (id == s.id) continue;
    r.gauge("sluice_peer_connected", "1 if the link to this peer is up", {{"peer", to_string(id)}})
        .set(server_.peers().connected(id) ? 1 : 0);
  }

  const http::GatewayStats http = server_.gateway().stats();
  r.gauge("sluice_http_connections", "Open HTTP and WebSocket connections").set(static_cast<double>(http.connections_open));
  r.gauge("sluice_http_websockets", "Open WebSocket connections").set(static_cast<double>(http.websockets_open));
  advance(r.counter("sluice_http_requests_total", "HTTP responses sent"), static_cast<double>(http.requests));
  advance(r.counter("sluice_http_responses_4xx_total", "HTTP responses with a 4xx status"),
          static_cast<double>(http.responses_4xx));
  advance(r.counter("sluice_http_responses_5xx_total", "HTTP responses with a 5xx status"),
          static_cast<double>(http.responses_5xx));

  const broker::BrokerState& state = server_.host().node().state();
  for (const std::string& channel : state.channels(broker::Kind::queue)) {
    const auto q = state.queue_stats(channel);
    if (!q) continue;
    const char* help = "Messages in a queue, by state";
    r.gauge("sluice_queue_messages", help, {{"channel", channel}, {"state", "ready"}}).set(static_cast<double>(q->ready));
    r.gauge("sluice_queue_messages", help, {{"channel", channel}, {"state", "delayed"}})
        .set(static_cast<double>(q->delayed));
    r.gauge("sluice_queue_messages", help, {{"channel", channel}, {"state", "in_flight"}})
        .set(static_cast<double>(q->in_flight));
    advance(r.counter("sluice_queue_sent_total", "Messages sent to a queue", {{"channel", channel}}),
            static_cast<double>(q->sent));
    advance(r.counter("sluice_queue_acked_total", "Messages acknowledged in a queue", {{"channel", channel}}),
            static_cast<double>(q->acked));
    advance(r.counter("sluice_queue_dead_lettered_total", "Messages moved to a dead-letter queue or dropped",
                      {{"channel", channel}}),
            static_cast<double>(q->dead_lettered));
  }
  for (const std::string& channel : state.channels(broker::Kind::store)) {
    const auto st = state.store_stats(channel);
    if (!st) continue;
    r.gauge("sluice_store_messages", "Messages retained in an events store channel", {{"channel", channel}})
        .set(static_cast<double>(st->count));
    r.gauge("sluice_store_bytes", "Bytes retained in an events store channel", {{"channel", channel}})
        .set(static_cast<double>(st->bytes));
    advance(r.counter("sluice_store_published_total", "Messages published to an events store channel",
                      {{"channel", channel}}),
            static_cast<double>(st->published));
  }
}

}  // namespace sluice::net
