#include "sim/toy/primary_backup.h"

#include "core/common/overloaded.h"

#include <algorithm>
#include <functional>

namespace sluice::toy {
std::string encode_value(NodeId client, std::uint64_t request_id, const std::string& value) {
  return std::to_string(client.value()) + ":" + std::to_string(request_id) + ":" + value;
}

Request decode_value(const std::string& data) {
  const auto a = data.find(':');
  const auto b = data.find(':', a + 1);
  SLUICE_ASSERT(a != std::string::npos && b != std::string::npos, "entry data is client:request:value");
  return Request{NodeId(std::stoull(data.substr(0, a))), std::stoull(data.substr(a + 1, b - a - 1)),
                 data.substr(b + 1)};
}

const char* mode_name(Mode mode) { return mode == Mode::naive ? "naive" : "correct"; }

std::string describe(const Message& message) {
  return std::visit(
      Overloaded{
          [](const ClientWrite& m) { return "write#" + std::to_string(m.request_id); },
          [](const ClientRead& m) { return "read#" + std::to_string(m.request_id); },
          [](const ClientReply& m) {
            return "reply#" + std::to_string(m.request_id) + ":" + code_name(m.code);
          },
          [](const Append& m) {
            return "append e=" + to_string(m.epoch) + " prev=" + to_string(m.prev_index) +
                   " n=" + std::to_string(m.entries.size());
          },
          [](const AppendReply& m) {
            return std::string("ack e=") + to_string(m.epoch) + (m.ok ? " ok " : " no ") +
                   to_string(m.index);
          },
      },
      message);
}

Result<std::unique_ptr<PrimaryBackupNode>> PrimaryBackupNode::open(const Options& options,
                                                                   KvStore& store) {
  SLUICE_ASSERT(options.members.size() >= 1, "a group has members");
  std::unique_ptr<PrimaryBackupNode> node(new PrimaryBackupNode(options));
  const bool primary = node->is_primary();
  Status failure;
  auto hard_state = log_store::load_hard_state(store, kDefaultGroup);
  if (!hard_state.ok()) {
    failure = hard_state.status();
  } else {
    if (hard_state->has_value()) node->epoch_ = (*hard_state)->term;
    auto bounds = log_store::bounds(store, kDefaultGroup);
    if (!bounds.ok()) {
      failure = bounds.status();
    } else if (bounds->has_value()) {
      const LogBounds b = **bounds;
      auto entries = log_store::read(store, kDefaultGroup, b.first, b.last.next(), SIZE_MAX);
      if (!entries.ok()) {
        failure = entries.status();
      } else if (b.first != LogIndex(1)) {
        failure = Status(Code::corruption, "log does not start at index 1");
      } else {
        node->log_ = std::move(entries).value();
      }
    }
  }
  if (!failure.ok()) {
    if (primary) return failure;
    // A backup can always be rebuilt from the primary: start empty, and
    // clear what is on disk so stale entries never come back.
    node->log_.clear();
    log_store::truncate_suffix(node->out_.persist, kDefaultGroup, LogIndex(1));
  }
  for (NodeId member : options.members) {
    if (member != options.self) node->peers_[member] = Peer{LogIndex(0), node->last_index().next()};
  }
  if (primary) {
    CODE_PROBE(options.hooks, !node->log_.empty(), toy_primary_recovered_log);
    for (const LogEntry& entry : node->log_) {
      const Request r = decode_value(entry.data);
      std::uint64_t& last = node->applied_requests_[r.client];
      if (r.request_id > last) last = r.request_id;
      node->values_.push_back(r.value);
    }
    node->durable_ = node->last_index();
    node->recovering_ = options.mode == Mode::correct;
    node->epoch_ = node->epoch_.next();
    node->persist_epoch();
  }
  return node;
}

void PrimaryBackupNode::persist_epoch() {
  log_store::save_hard_state(out_.persist, kDefaultGroup, HardState{epoch_, kNoNode, LogIndex(0)});
  if (is_primary()) {
    epoch_durable_ = false;
    out_carries_epoch_ = true;
  }
}

Term PrimaryBackupNode::epoch_at(LogIndex index) const {
  SLUICE_ASSERT(index.value() >= 1 && index <= last_index(), "epoch_at outside the log");
  return log_[index.value() - 1].term;
}

void PrimaryBackupNode::send(NodeId to, Message message, bool after_persist) {
  auto& queue = after_persist ? out_.send_after_persist : out_.send_now;
  queue.push_back(Envelope<Message>{kDefaultGroup, options_.self, to, std::move(message)});
}

void PrimaryBackupNode::step(NodeId from, Message message, Timestamp /*now*/) {
  if (poisoned_) return;  // a poisoned node serves nothing
  std::visit(Overloaded{
                 [&](const ClientWrite& m) { on_client_write(from, m); },
                 [&](const ClientRead& m) { on_client_read(from, m); },
                 [&](const ClientReply&) {},  // servers do not take replies
                 [&](const Append& m) { on_append(from, m); },
                 [&](const AppendReply& m) { on_append_reply(from, m); },
             },
             message);
}

void PrimaryBackupNode::on_client_write(NodeId from, const ClientWrite& write) {
  if (!is_primary() || (recovering_ && options_.mode == Mode::correct)) {
    CODE_PROBE(options_.hooks, is_primary(), toy_request_rejected_while_recovering);
    send(from, ClientReply{write.request_id, Code::unavailable, {}}, false);
    return;
  }
  // The network may deliver a request twice: apply each (client, request)
  // once. The table is rebuilt from the log on restart.
  std::uint64_t& last_request = applied_requests_[from];
  if (write.request_id <= last_request) {
    CODE_PROBE(options_.hooks, true, toy_duplicate_request_ignored);
    return;  // the first copy's reply stands
  }
  last_request = write.request_id;
  const LogEntry entry{epoch_, last_index().next(), encode_value(from, write.request_id, write.value)};
  log_.push_back(entry);
  values_.push_back(write.value);
  log_store::append(out_.persist, kDefaultGroup, entry);
  if (options_.mode == Mode::naive) {
    // THE BUG this mode exists for: acknowledged before anyone has it on disk.
    commit_ = last_index();
    send(from, ClientReply{write.request_id, Code::ok, {}}, false);
  } else {
    waiting_[entry.index] = {from, write.request_id};
  }
  if (epoch_durable_) {
    for (auto& [peer, state] : peers_) send_append(peer);
  }
}

void PrimaryBackupNode::on_client_read(NodeId from, const ClientRead& read) {
  if (!is_primary() || (recovering_ && options_.mode == Mode::correct)) {
    CODE_PROBE(options_.hooks, is_primary(), toy_request_rejected_while_recovering);
    send(from, ClientReply{read.request_id, Code::unavailable, {}}, false);
    return;
  }
  ClientReply reply{read.request_id, Code::ok, {}};
  SLUICE_ASSERT(values_.size() == log_.size(), "the primary's value cache follows its log");
  reply.values.assign(values_.begin(), values_.begin() + static_cast<std::ptrdiff_t>(commit_.value()));
  send(from, std::move(reply), false);
}

void PrimaryBackupNode::on_append(NodeId from, const Append& append) {
  if (is_primary()) return;
  if (append.epoch < epoch_) {
    CODE_PROBE(options_.hooks, true, toy_stale_epoch_rejected);
    send(from, AppendReply{epoch_, false, last_index()}, false);
    return;
  }
  if (append.epoch > epoch_) {
    epoch_ = append.epoch;
    persist_epoch();
  }
  if (append.prev_index > last_index() ||
      (append.prev_index.value() > 0 && epoch_at(append.prev_index) != append.prev_epoch)) {
    const LogIndex hint = append.prev_index > last_index()
                              ? last_index()
                              : LogIndex(append.prev_index.value() - 1);
    send(from, AppendReply{epoch_, false, hint}, true);
    return;
  }
  CODE_PROBE(options_.hooks, log_.empty() && !append.entries.empty() && epoch_.value() > 1,
             toy_backup_resynced_from_empty);
  for (const LogEntry& entry : append.entries) {
    if (entry.index <= last_index()) {
      if (epoch_at(entry.index) == entry.term) continue;  // already have this very entry
      CODE_PROBE(options_.hooks, true, toy_backup_truncated_conflict);
      log_store::truncate_suffix(out_.persist, kDefaultGroup, entry.index);
      log_.resize(entry.index.value() - 1);
    }
    SLUICE_ASSERT(entry.index == last_index().next(), "appends are contiguous");
    log_.push_back(entry);
    log_store::append(out_.persist, kDefaultGroup, entry);
  }
  const LogIndex match(append.prev_index.value() + append.entries.size());
  // Durable before acknowledged: the reply waits for this output's persist.
  send(from, AppendReply{epoch_, true, match}, true);
}

void PrimaryBackupNode::on_append_reply(NodeId from, const AppendReply& reply) {
  if (!is_primary()) return;
  auto it = peers_.find(from);
  if (it == peers_.end()) return;
  if (reply.epoch > epoch_) {
    // Someone saw a newer epoch than ours: our epoch record was lost. Take a
    // newer one and catch up again before serving.
    epoch_ = reply.epoch.next();
    recovering_ = options_.mode == Mode::correct;
    persist_epoch();
    return;
  }
  if (reply.epoch < epoch_) return;  // from an earlier epoch: stale
  Peer& peer = it->second;
  if (reply.ok) {
    peer.match = std::max(peer.match, reply.index);
    peer.next = std::max(peer.next, peer.match.next());
    advance_commit();
    if (peer.next <= last_index()) send_append(from);
  } else {
    peer.match = std::min(peer.match, reply.index);
    peer.next = std::max(peer.match.next(), std::min(peer.next, reply.index.next()));
    send_append(from);
  }
}

void PrimaryBackupNode::send_append(NodeId to) {
  if (!epoch_durable_) return;  // nothing leaves in an epoch that may be forgotten
  Peer& peer = peers_.at(to);
  // Resending everything is legal (backups skip entries they have) and
  // exercises the skip path and large messages.
  if (BUGGIFY(options_.hooks, "toy.resend_from_start")) peer.next = LogIndex(1);
  const LogIndex prev(peer.next.value() - 1);
  Append append{epoch_, prev, prev.value() > 0 ? epoch_at(prev) : Term(0), {}};
  std::size_t batch = options_.batch_entries_max;
  if (BUGGIFY(options_.hooks, "toy.append_one_entry_at_a_time")) batch = 1;
  for (LogIndex i = peer.next; i <= last_index() && append.entries.size() < batch; i = i.next()) {
    append.entries.push_back(log_[i.value() - 1]);
  }
  peer.next = LogIndex(prev.value() + append.entries.size() + 1);
  send(to, std::move(append), false);  // parallel with our own fsync (thesis 10.2.1)
}

void PrimaryBackupNode::advance_commit() {
  if (options_.mode == Mode::naive) return;
  std::vector<LogIndex> durable_on;
  durable_on.push_back(durable_);
  for (const auto& [id, peer] : peers_) durable_on.push_back(peer.match);
  std::sort(durable_on.begin(), durable_on.end(), std::greater<>());
  const std::size_t majority = options_.members.size() / 2 + 1;
  // The primary is the authority after a restart: what it lost, everyone
  // loses. So its own fsync is part of every commit, besides a majority.
  CODE_PROBE(options_.hooks, durable_on[majority - 1] > durable_ && durable_on[majority - 1] > commit_,
             toy_commit_held_for_primary_fsync);
  const LogIndex candidate = std::min(durable_on[majority - 1], durable_);
  if (candidate > commit_) commit_ = candidate;
  while (!waiting_.empty() && waiting_.begin()->first <= commit_) {
    const auto [client, request_id] = waiting_.begin()->second;
    send(client, ClientReply{request_id, Code::ok, {}}, false);
    waiting_.erase(waiting_.begin());
  }
  if (recovering_ && epoch_durable_ && commit_ >= last_index()) recovering_ = false;
}

void PrimaryBackupNode::on_persisted(PersistId id, Status status) {
  if (poisoned_) return;
  auto it = in_flight_.find(id);
  SLUICE_ASSERT(it != in_flight_.end(), "completion of an unknown persist");
  SLUICE_ASSERT(it == in_flight_.begin(), "persists complete in order");
  const auto [length, carried_epoch] = it->second;
  in_flight_.erase(it);
  if (!status.ok()) {
    // We cannot know what reached the disk: stop serving rather than guess.
    CODE_PROBE(options_.hooks, true, toy_node_poisoned);
    poisoned_ = true;
    out_ = {};
    return;
  }
  if (!is_primary()) return;
  if (length > durable_) durable_ = length;
  if (carried_epoch) {
    epoch_durable_ = true;
    for (auto& [peer, state] : peers_) {
      state.next = state.match.next();
      send_append(peer);
    }
  }
  advance_commit();
}

void PrimaryBackupNode::tick(Timestamp /*now*/) {
  if (poisoned_) return;
  ++ticks_;
  if (!is_primary() || !epoch_durable_ || ticks_ % options_.retransmit_ticks != 0) return;
  // A late timer is legal: retransmission must not be needed for safety.
  if (BUGGIFY(options_.hooks, "toy.skip_retransmit_round")) return;
  // Resend from the last acknowledged point: covers lost appends and lost
  // acks, and doubles as the heartbeat that finds wiped backups.
  for (auto& [peer, state] : peers_) {
    state.next = state.match.next();
    send_append(peer);
  }
}

Output<Message> PrimaryBackupNode::take_output() {
  Output<Message> out = std::move(out_);
  out_ = {};
  if (out.needs_persist()) {
    out.persist_id = next_persist_id_++;
    in_flight_[out.persist_id] = {last_index(), out_carries_epoch_};
    out_carries_epoch_ = false;
  }
  return out;
}

}  // namespace sluice::toy
