#include "sim/network.h"

#include <string>

namespace sluice::sim {

SimNetwork::SimNetwork(Scheduler* scheduler, Trace* trace, Rng rng, Hooks hooks)
    : scheduler_(scheduler), trace_(trace), rng_(rng), hooks_(hooks) {}

const LinkConfig& SimNetwork::link(NodeId from, NodeId to) const {
  auto it = links_.find({from, to});
  return it == links_.end() ? default_link_ : it->second;
}

void SimNetwork::send(NodeId from, NodeId to, std::string_view what, Deliver deliver) {
  ++stats_.sent;
  const Timestamp now = scheduler_->now();
  if (is_blocked(from, to)) {
    ++stats_.dropped_partition;
    trace_->event(now, "net.drop").u("from", from.value()).u("to", to.value()).s("msg", what).s("why", "partition");
    return;
  }
  const LinkConfig& config = link(from, to);
  if (chance(rng_, config.loss)) {
    ++stats_.dropped_loss;
    trace_->event(now, "net.drop").u("from", from.value()).u("to", to.value()).s("msg", what).s("why", "loss");
    return;
  }
  trace_->event(now, "net.send").u("from", from.value()).u("to", to.value()).s("msg", what);
  schedule_delivery(from, to, what, deliver, false);
  if (chance(rng_, config.duplicate)) {
    ++stats_.duplicated;
    CODE_PROBE(hooks_, true, sim_message_duplicated);
    schedule_delivery(from, to, what, deliver, true);
  }
}

void SimNetwork::schedule_delivery(NodeId from, NodeId to, std::string_view what,
                                   const Deliver& deliver, bool duplicate) {
  const LinkConfig& config = link(from, to);
  const Timestamp now = scheduler_->now();
  Timestamp arrival = now + config.latency.sample(rng_);
  const auto key = std::make_pair(from, to);
  if (auto clog = clogged_until_.find(key); clog != clogged_until_.end() && clog->second > arrival) {
    arrival = clog->second;
  }
  Timestamp& floor = last_arrival_[key];
  if (chance(rng_, config.reorder)) {
    if (arrival < floor) {
      ++stats_.reordered;
      CODE_PROBE(hooks_, true, sim_message_reordered);
    }
  } else if (arrival < floor) {
    arrival = floor;  // FIFO on the link: no overtaking unless reordering
  }
  if (arrival > floor) floor = arrival;
  scheduler_->at(arrival, [this, from, to, deliver, duplicate, name = std::string(what)] {
    if (is_blocked(from, to)) {
      ++stats_.dropped_partition;
      trace_->event(scheduler_->now(), "net.drop").u("from", from.value()).u("to", to.value())
          .s("msg", name).s("why", "partition-in-flight");
      return;
    }
    ++stats_.delivered;
    trace_->event(scheduler_->now(), "net.deliver").u("from", from.value()).u("to", to.value())
        .s("msg", name).u("dup", duplicate ? 1 : 0);
    deliver();
  });
}

void SimNetwork::partition(const std::vector<NodeId>& a, const std::vector<NodeId>& b) {
  for (NodeId x : a) {
    for (NodeId y : b) {
      if (x == y) continue;
      block(x, y);
      block(y, x);
    }
  }
  trace_->event(scheduler_->now(), "net.partition").u("side_a", a.size()).u("side_b", b.size());
}

void SimNetwork::isolate(NodeId n, const std::vector<NodeId>& others) {
  partition({n}, others);
}

void SimNetwork::majorities_ring(const std::vector<NodeId>& ring) {
  const std::size_t n = ring.size();
  if (n == 3) {
    // Symmetric windows cannot differ on 3 nodes (every pair is adjacent):
    // each node hears only its predecessor, so each sees a different
    // majority of two.
    for (std::size_t i = 0; i < n; ++i) block(ring[(i + 1) % n], ring[i]);
    trace_->event(scheduler_->now(), "net.majorities_ring").u("nodes", n);
    return;
  }
  const std::size_t reach = n / 2;  // neighbours on each side within a majority window
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      const std::size_t d = i > j ? i - j : j - i;
      const std::size_t ring_distance = d < n - d ? d : n - d;
      // A window of size floor(n/2)+1 centred on i holds ring distance <=
      // (floor(n/2)) / 2 on each side (rounded so the window is a majority).
      if (ring_distance > (reach + 1) / 2) block(ring[i], ring[j]);
    }
  }
  trace_->event(scheduler_->now(), "net.majorities_ring").u("nodes", n);
}

Timestamp SimNetwork::clogged_until(NodeId from, NodeId to) const {
  auto it = clogged_until_.find({from, to});
  return it == clogged_until_.end() ? Timestamp{0} : it->second;
}

void SimNetwork::clog(NodeId from, NodeId to, Timestamp until) {
  Timestamp& t = clogged_until_[{from, to}];
  if (until > t) t = until;
  ++generation_;
  trace_->event(scheduler_->now(), "net.clog").u("from", from.value()).u("to", to.value()).i("until", until.ns);
}

void SimNetwork::heal() {
  blocked_.clear();
  clogged_until_.clear();
  ++generation_;
  trace_->event(scheduler_->now(), "net.heal");
}

}  // namespace sluice::sim
