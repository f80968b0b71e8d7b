#include "sim/raftkv/workload.h"

namespace sluice::raftkv {

Workload::Workload(sim::SimCluster<KvNode>* cluster, Rng rng, WorkloadOptions options)
    : cluster_(cluster), rng_(rng), options_(options) {
  for (int i = 0; i <= options_.clients; ++i) {
    Client c;
    c.id = NodeId(kFirstClientId + static_cast<std::uint64_t>(i));
    c.target = pick(rng_, cluster_->servers());
    c.probe = i == options_.clients;  // the last client is the liveness probe
    c.sticky = !c.probe && i < options_.sticky_clients;
    clients_.push_back(c);
  }
}

void Workload::start(Timestamp stop) {
  stop_ = stop;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (!clients_[i].probe) cluster_->scheduler().after(Duration::millis(1), [this, i] { issue(i); });
  }
}

void Workload::issue(std::size_t ci) {
  Client& c = clients_[ci];
  if (c.outstanding || cluster_->scheduler().now() >= stop_) return;
  const std::string key = "k" + std::to_string(uniform_below(rng_, static_cast<std::uint64_t>(options_.keys)));
  if (chance(rng_, options_.get_share)) {
    send(ci, false, key, "");
  } else {
    send(ci, true, key, "c" + std::to_string(c.id.value() - kFirstClientId) + "-" + std::to_string(++c.writes));
  }
}

void Workload::send(std::size_t ci, bool put, std::string key, std::string value) {
  Client& c = clients_[ci];
  check::KvOp op;
  op.client = c.id.value();
  op.key = std::move(key);
  op.put = put;
  op.value = std::move(value);
  op.call = cluster_->scheduler().now().ns;
  history_.push_back(op);
  const std::size_t index = history_.size() - 1;
  c.outstanding = index;
  c.outstanding_request = c.next_request++;
  c.attempts = 0;
  attempt(ci, 1);
  const std::uint64_t request = c.outstanding_request;
  cluster_->scheduler().after(options_.request_timeout, [this, ci, index, request] {
    Client& cl = clients_[ci];
    if (cl.outstanding != index || cl.outstanding_request != request) return;
    // Gave up: the outcome is unknown (op.ret stays empty).
    ++unknown_;
    if (!cl.sticky) cl.target = pick(rng_, cluster_->servers());
    resolve(ci, false);
  });
}

// Sends (or resends) the outstanding request, same id, to the current target.
void Workload::attempt(std::size_t ci, std::uint32_t number) {
  Client& c = clients_[ci];
  if (!c.outstanding || c.attempts >= number) return;  // answered, or already retried
  c.attempts = number;
  const check::KvOp& op = history_[*c.outstanding];
  cluster_->client_send(c.id, c.target, KvRequest{c.outstanding_request, op.put, op.key, op.put ? op.value : ""});
  const std::uint64_t request = c.outstanding_request;
  cluster_->scheduler().after(options_.attempt_timeout, [this, ci, request, number] {
    Client& cl = clients_[ci];
    if (!cl.outstanding || cl.outstanding_request != request || cl.attempts != number) return;
    if (!cl.sticky) cl.target = pick(rng_, cluster_->servers());  // silence: try someone else
    attempt(ci, number + 1);
  });
}

void Workload::on_reply(NodeId client, NodeId /*from*/, const KvReply& reply) {
  const std::size_t ci = client.value() - kFirstClientId;
  if (ci >= clients_.size()) return;
  Client& c = clients_[ci];
  if (!c.outstanding || reply.request_id != c.outstanding_request) return;  // late or duplicate
  if (reply.code != Code::ok) {
    // Refused: this copy was not proposed, but another may have been. Retry
    // the same request id after a short pause, at the leader if named.
    c.target = reply.leader_hint != kNoNode ? reply.leader_hint : pick(rng_, cluster_->servers());
    const std::uint32_t next = c.attempts + 1;
    const std::uint64_t request = c.outstanding_request;
    cluster_->scheduler().after(Duration::millis(10), [this, ci, next, request] {
      if (clients_[ci].outstanding_request == request) attempt(ci, next);
    });
    return;
  }
  check::KvOp& op = history_[*c.outstanding];
  op.ret = cluster_->scheduler().now().ns;
  if (!op.put) {
    op.found = reply.found;
    op.value = reply.value;
  }
  ++completed_;
  resolve(ci, true);
}

void Workload::resolve(std::size_t ci, bool succeeded) {
  Client& c = clients_[ci];
  c.outstanding.reset();
  if (c.probe) {
    if (succeeded && probe_stage_ == 1) probe_stage_ = 2;
    else if (succeeded && probe_stage_ == 2) probe_stage_ = 3;
    if (probe_stage_ == 3) {
      *probe_done_ = true;
      return;
    }
    cluster_->scheduler().after(Duration::millis(20), [this, ci] {
      if (probe_stage_ == 1) send(ci, true, "probe", "p" + std::to_string(clients_[ci].next_request));
      else send(ci, false, "probe", "");
    });
    return;
  }
  const Duration think{static_cast<std::int64_t>(uniform_below(rng_, options_.think_max.ns + 1))};
  cluster_->scheduler().after(think, [this, ci] { issue(ci); });
}

void Workload::start_final_probe(bool* done) {
  probe_done_ = done;
  probe_stage_ = 1;
  const std::size_t ci = clients_.size() - 1;
  send(ci, true, "probe", "p" + std::to_string(clients_[ci].next_request));
}

}  // namespace sluice::raftkv
