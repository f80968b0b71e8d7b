#include "sim/toy/workload.h"

#include <algorithm>
#include <map>
#include <set>

namespace sluice::toy {

std::size_t History::invoke(NodeId client, std::uint64_t request_id, Op::Kind kind,
                            std::string value, Timestamp now) {
  Op op;
  op.client = client;
  op.request_id = request_id;
  op.kind = kind;
  op.value = std::move(value);
  op.invoked = now;
  ops_.push_back(std::move(op));
  return ops_.size() - 1;
}

void History::complete(std::size_t index, Op::Outcome outcome, Timestamp now,
                       const std::vector<std::string>* read_values) {
  Op& op = ops_[index];
  SLUICE_ASSERT(op.outcome == Op::Outcome::pending, "an operation completes once");
  op.outcome = outcome;
  op.completed = now;
  if (op.kind != Op::Kind::read || outcome != Op::Outcome::ok) return;
  SLUICE_ASSERT(read_values != nullptr, "a successful read has values");
  const auto& v = *read_values;
  const std::size_t common = std::min(v.size(), reference_.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (v[i] != reference_[i]) {
      op.read_diverged = true;
      op.read_values = v;
      return;
    }
  }
  op.read_length = v.size();
  if (v.size() > reference_.size()) reference_.insert(reference_.end(), v.begin() + common, v.end());
}

std::uint64_t History::acked_writes() const {
  std::uint64_t n = 0;
  for (const Op& op : ops_) n += op.kind == Op::Kind::write && op.outcome == Op::Outcome::ok;
  return n;
}

std::vector<std::string> History::check() const {
  std::vector<std::string> violations;
  std::set<std::string> written;
  for (const Op& op : ops_) {
    if (op.kind == Op::Kind::write) written.insert(op.value);
  }
  // (2) on the reference log: every agreeing read is a prefix of it.
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < reference_.size(); ++i) {
    const std::string& v = reference_[i];
    if (!written.count(v)) violations.push_back("unexpected value '" + v + "' in a read");
    if (!position.emplace(v, i).second) violations.push_back("value '" + v + "' appears twice in a read");
  }
  std::vector<const Op*> acked, reads;
  for (const Op& op : ops_) {
    if (op.outcome != Op::Outcome::ok) continue;
    if (op.kind == Op::Kind::write) {
      acked.push_back(&op);
    } else if (op.read_diverged) {
      violations.push_back("a read sent at " + format_duration(op.invoked - Timestamp{0}) +
                           " disagrees with other reads (" + std::to_string(op.read_values.size()) +
                           " values vs a log of " + std::to_string(reference_.size()) + ")");
    } else {
      reads.push_back(&op);
    }
  }
  // (1) and (3): sweep reads in the order they were sent, taking in the
  // writes acknowledged and the reads completed before each was sent.
  auto by_completion = [](const Op* a, const Op* b) { return a->completed < b->completed; };
  std::sort(acked.begin(), acked.end(), by_completion);
  std::vector<const Op*> completed_reads = reads;
  std::sort(completed_reads.begin(), completed_reads.end(), by_completion);
  std::vector<const Op*> by_invocation = reads;
  std::sort(by_invocation.begin(), by_invocation.end(),
            [](const Op* a, const Op* b) { return a->invoked < b->invoked; });
  std::size_t next_write = 0, next_read = 0;
  std::size_t needed = 0;            // a read must hold positions [0, needed)
  const Op* needed_by = nullptr;     // the write that sets `needed`
  std::size_t longest_before = 0;    // longest read completed so far
  std::set<std::string> reported;
  for (const Op* r : by_invocation) {
    for (; next_write < acked.size() && acked[next_write]->completed < r->invoked; ++next_write) {
      const Op* w = acked[next_write];
      auto it = position.find(w->value);
      if (it == position.end()) {
        if (reported.insert(w->value).second) {
          violations.push_back("lost acknowledged write '" + w->value + "' (acked at " +
                               format_duration(w->completed - Timestamp{0}) +
                               ", missing from a read sent at " +
                               format_duration(r->invoked - Timestamp{0}) + ")");
        }
      } else if (it->second + 1 > needed) {
        needed = it->second + 1;
        needed_by = w;
      }
    }
    for (; next_read < completed_reads.size() && completed_reads[next_read]->completed < r->invoked; ++next_read) {
      longest_before = std::max(longest_before, completed_reads[next_read]->read_length);
    }
    if (r->read_length < needed && reported.insert(needed_by->value).second) {
      violations.push_back("lost acknowledged write '" + needed_by->value + "' (acked at " +
                           format_duration(needed_by->completed - Timestamp{0}) +
                           ", missing from a read sent at " +
                           format_duration(r->invoked - Timestamp{0}) + ")");
    }
    if (r->read_length < longest_before) {
      violations.push_back("a read sent at " + format_duration(r->invoked - Timestamp{0}) +
                           " returned " + std::to_string(r->read_length) +
                           " values, fewer than the " + std::to_string(longest_before) +
                           " of a read that completed before it was sent");
    }
  }
  return violations;
}

Workload::Workload(sim::SimCluster<PrimaryBackupNode>* cluster, Rng rng, WorkloadOptions options,
                   NodeId primary)
    : cluster_(cluster), rng_(rng), options_(options), primary_(primary) {
  for (int i = 0; i <= options_.clients; ++i) {
    // The last client is reserved for the liveness probe.
    Client c;
    c.id = NodeId(kFirstClientId + static_cast<std::uint64_t>(i));
    c.probe = i == options_.clients;
    clients_.push_back(c);
  }
}

void Workload::start(Timestamp stop) {
  stop_ = stop;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (clients_[i].probe) continue;
    const Duration delay{static_cast<std::int64_t>(uniform_below(rng_, options_.think_max.ns + 1))};
    cluster_->scheduler().after(delay, [this, i] { issue(i); });
  }
}

void Workload::issue(std::size_t client_index) {
  Client& c = clients_[client_index];
  if (c.outstanding || cluster_->scheduler().now() >= stop_) return;
  if (chance(rng_, options_.read_share)) {
    send(client_index, Op::Kind::read, "");
  } else {
    send(client_index, Op::Kind::write,
         "c" + std::to_string(c.id.value() - kFirstClientId) + "-" + std::to_string(++c.written));
  }
}

void Workload::send(std::size_t client_index, Op::Kind kind, std::string value) {
  Client& c = clients_[client_index];
  const std::uint64_t request_id = c.next_request++;
  if (kind == Op::Kind::write) {
    cluster_->client_send(c.id, primary_, ClientWrite{request_id, value});
  } else {
    cluster_->client_send(c.id, primary_, ClientRead{request_id});
  }
  const std::size_t index =
      history_.invoke(c.id, request_id, kind, std::move(value), cluster_->scheduler().now());
  c.outstanding = index;
  cluster_->scheduler().after(options_.request_timeout, [this, index] {
    if (history_.ops()[index].outcome == Op::Outcome::pending) finish(index, Op::Outcome::unknown);
  });
}

void Workload::on_reply(NodeId client, const ClientReply& reply) {
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    Client& c = clients_[i];
    if (c.id != client || !c.outstanding) continue;
    const Op& op = history_.ops()[*c.outstanding];
    if (op.request_id != reply.request_id || op.outcome != Op::Outcome::pending) return;  // late or duplicate
    finish(*c.outstanding, reply.code == Code::ok ? Op::Outcome::ok : Op::Outcome::failed, &reply.values);
    return;
  }
}

void Workload::finish(std::size_t op_index, Op::Outcome outcome,
                      const std::vector<std::string>* read_values) {
  history_.complete(op_index, outcome, cluster_->scheduler().now(), read_values);
  const Op& op = history_.ops()[op_index];
  std::size_t client_index = 0;
  while (clients_[client_index].id != op.client) ++client_index;
  Client& c = clients_[client_index];
  c.outstanding.reset();
  if (c.probe) {
    const bool ok = outcome == Op::Outcome::ok;
    if (ok && probe_stage_ == 1) probe_stage_ = 2;
    else if (ok && probe_stage_ == 2) probe_stage_ = 3;
    if (probe_stage_ == 3) {
      *probe_done_ = true;
      return;
    }
    // Retry after a short pause, as a real client would.
    cluster_->scheduler().after(Duration::millis(20), [this, client_index] {
      send(client_index, probe_stage_ == 1 ? Op::Kind::write : Op::Kind::read,
           probe_stage_ == 1 ? "probe-" + std::to_string(clients_[client_index].next_request) : "");
    });
    return;
  }
  const Duration think{static_cast<std::int64_t>(uniform_below(rng_, options_.think_max.ns + 1))};
  cluster_->scheduler().after(think, [this, client_index] { issue(client_index); });
}

void Workload::start_final_probe(bool* done) {
  probe_done_ = done;
  probe_stage_ = 1;
  const std::size_t index = clients_.size() - 1;
  send(index, Op::Kind::write, "probe-" + std::to_string(clients_[index].next_request));
}

}  // namespace sluice::toy
