#include "sim/toy/workload.h"

#include <algorithm>
#include <map>
#include <set>

namespace sluice::toy {

std::vector<std::string> check_history(const std::vector<Op>& history) {
  std::vector<std::string> violations;
  std::set<std::string> written;                  // every value any write sent
  std::vector<const Op*> acked;                   // acknowledged writes
  std::vector<const Op*> reads;                   // successful reads
  for (const Op& op : history) {
    if (op.kind == Op::Kind::write) {
      written.insert(op.value);
      if (op.outcome == Op::Outcome::ok) acked.push_back(&op);
    } else if (op.outcome == Op::Outcome::ok) {
      reads.push_back(&op);
    }
  }
  for (const Op* read : reads) {
    std::set<std::string> seen;
    for (const std::string& v : read->read_values) {
      if (!written.count(v)) violations.push_back("unexpected value '" + v + "' in a read");
      if (!seen.insert(v).second) violations.push_back("value '" + v + "' appears twice in a read");
    }
    for (const Op* w : acked) {
      if (w->completed < read->invoked && !seen.count(w->value)) {
        violations.push_back("lost acknowledged write '" + w->value + "' (acked at " +
                             format_duration(w->completed - Timestamp{0}) +
                             ", missing from a read sent at " +
                             format_duration(read->invoked - Timestamp{0}) + ")");
      }
    }
  }
  // Every two successful reads are prefix-comparable (the log never rewrites
  // itself), and a read is at least as long as every read that completed
  // before it was sent (the log never forgets). Checked against the longest
  // read so far, in completion order, which covers every pair.
  std::vector<const Op*> by_completion = reads;
  std::sort(by_completion.begin(), by_completion.end(),
            [](const Op* a, const Op* b) { return a->completed < b->completed; });
  const std::vector<std::string>* longest = nullptr;
  for (const Op* r : by_completion) {
    const auto& x = r->read_values;
    if (longest != nullptr) {
      const std::size_t n = std::min(x.size(), longest->size());
      for (std::size_t i = 0; i < n; ++i) {
        if (x[i] != (*longest)[i]) {
          violations.push_back("two reads disagree at position " + std::to_string(i) + ": '" +
                               x[i] + "' vs '" + (*longest)[i] + "'");
          break;
        }
      }
    }
    if (longest == nullptr || x.size() > longest->size()) longest = &x;
  }
  for (const Op* b : reads) {
    for (const Op* a : reads) {
      if (a->completed < b->invoked && a->read_values.size() > b->read_values.size()) {
        violations.push_back("a read sent at " + format_duration(b->invoked - Timestamp{0}) +
                             " returned " + std::to_string(b->read_values.size()) +
                             " values, fewer than the " + std::to_string(a->read_values.size()) +
                             " of a read that completed before it was sent");
        break;
      }
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
  Op op;
  op.client = c.id;
  op.request_id = c.next_request++;
  op.kind = kind;
  op.value = std::move(value);
  op.invoked = cluster_->scheduler().now();
  const std::size_t index = history_.size();
  history_.push_back(op);
  c.outstanding = index;
  if (kind == Op::Kind::write) {
    cluster_->client_send(c.id, primary_, ClientWrite{op.request_id, op.value});
  } else {
    cluster_->client_send(c.id, primary_, ClientRead{op.request_id});
  }
  cluster_->scheduler().after(options_.request_timeout, [this, index] {
    if (history_[index].outcome == Op::Outcome::pending) finish(index, Op::Outcome::unknown);
  });
}

void Workload::on_reply(NodeId client, const ClientReply& reply) {
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    Client& c = clients_[i];
    if (c.id != client || !c.outstanding) continue;
    Op& op = history_[*c.outstanding];
    if (op.request_id != reply.request_id || op.outcome != Op::Outcome::pending) return;  // late or duplicate
    if (reply.code == Code::ok) op.read_values = reply.values;
    finish(*c.outstanding, reply.code == Code::ok ? Op::Outcome::ok : Op::Outcome::failed);
    return;
  }
}

void Workload::finish(std::size_t op_index, Op::Outcome outcome) {
  Op& op = history_[op_index];
  op.outcome = outcome;
  op.completed = cluster_->scheduler().now();
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

std::uint64_t Workload::acked_writes() const {
  std::uint64_t n = 0;
  for (const Op& op : history_) n += op.kind == Op::Kind::write && op.outcome == Op::Outcome::ok;
  return n;
}

}  // namespace sluice::toy
