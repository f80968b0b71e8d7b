#include "sim/raftkv/kv_node.h"

#include "core/common/bytes.h"
#include "core/common/random.h"

namespace sluice::raftkv {
namespace {

// Command payload: client (8) | request (8) | put (1) | key length (4) | key | value.
std::string encode_command(NodeId client, const KvRequest& r) {
  std::string out;
  put_u64_be(out, client.value());
  put_u64_be(out, r.request_id);
  out.push_back(r.put ? 1 : 0);
  put_u32_be(out, static_cast<std::uint32_t>(r.key.size()));
  out += r.key;
  out += r.value;
  return out;
}

struct Command {
  NodeId client;
  KvRequest request;
};

Command decode_command(std::string_view payload) {
  SLUICE_ASSERT(payload.size() >= 21, "kv command too short");
  Command c;
  c.client = NodeId(get_u64_be(payload, 0));
  c.request.request_id = get_u64_be(payload, 8);
  c.request.put = payload[16] != 0;
  const std::uint32_t key_size = get_u32_be(payload, 17);
  SLUICE_ASSERT(payload.size() >= 21 + std::size_t{key_size}, "kv command key overruns");
  c.request.key = std::string(payload.substr(21, key_size));
  c.request.value = std::string(payload.substr(21 + key_size));
  return c;
}

}  // namespace

void KvNode::serve_reads(Output<Message>& out) {
  // A confirmed read is answered once the state machine has applied through
  // its read index; unconfirmed reads of a deposed leader are dropped (the
  // client retries elsewhere).
  const bool leader = raft_->role() == raft::Role::leader;
  for (auto it = gets_.begin(); it != gets_.end();) {
    const PendingGet& g = it->second;
    if (g.index.value() == 0) {
      it = leader ? std::next(it) : gets_.erase(it);
      continue;
    }
    if (g.index > applied_) {
      ++it;
      continue;
    }
    KvReply reply{g.request_id, Code::ok, "", false, kNoNode};
    if (auto v = data_.find(g.key); v != data_.end()) {
      reply.value = v->second;
      reply.found = true;
    }
    out.send_after_persist.push_back({kDefaultGroup, raft_->id(), g.client, reply});
    it = gets_.erase(it);
  }
}

std::string describe(const Message& message) {
  if (const auto* m = std::get_if<raft::Message>(&message)) return raft::describe(*m);
  if (const auto* r = std::get_if<KvRequest>(&message)) {
    return (r->put ? "put#" : "get#") + std::to_string(r->request_id) + " " + r->key;
  }
  const auto& reply = std::get<KvReply>(message);
  return "kv-reply#" + std::to_string(reply.request_id) + " " + code_name(reply.code);
}

Result<std::unique_ptr<KvNode>> KvNode::open(const raft::Options& options, const raft::VoterSet& voters,
                                             KvStore& store, Rng rng, Reads reads, std::uint64_t compact_every) {
  auto raft = raft::Node::open(options, voters, store, rng);
  if (!raft.ok()) return raft.status();
  return std::unique_ptr<KvNode>(new KvNode(std::move(raft).value(), reads, compact_every));
}

// Snapshot layout: applied index (8) | hash chain (8) | pairs, then
// sessions; strings as length (4) + bytes.
std::string KvNode::encode_state() const {
  std::string out;
  put_u64_be(out, applied_.value());
  put_u64_be(out, chain_);
  auto put_string = [&out](const std::string& s) {
    put_u32_be(out, static_cast<std::uint32_t>(s.size()));
    out += s;
  };
  put_u32_be(out, static_cast<std::uint32_t>(data_.size()));
  for (const auto& [k, v] : data_) {
    put_string(k);
    put_string(v);
  }
  put_u32_be(out, static_cast<std::uint32_t>(sessions_.size()));
  for (const auto& [client, session] : sessions_) {
    put_u64_be(out, client.value());
    put_u64_be(out, session.last_request);
    put_u64_be(out, session.last_reply.request_id);
    out.push_back(session.last_reply.found ? 1 : 0);
    put_string(session.last_reply.value);
  }
  return out;
}

void KvNode::restore(const raft::Snapshot& snapshot) {
  const std::string_view in = snapshot.data;
  std::size_t pos = 0;
  auto need = [&](std::size_t n) { SLUICE_ASSERT(in.size() - pos >= n, "kv snapshot truncated"); };
  auto u64 = [&] { need(8); const auto v = get_u64_be(in, pos); pos += 8; return v; };
  auto u32 = [&] { need(4); const auto v = get_u32_be(in, pos); pos += 4; return v; };
  auto str = [&] { const std::uint32_t n = u32(); need(n); std::string s(in.substr(pos, n)); pos += n; return s; };
  const LogIndex index(u64());
  SLUICE_ASSERT(index == snapshot.index, "kv snapshot taken at another index");
  applied_ = index;
  chain_ = u64();
  data_.clear();
  for (std::uint32_t n = u32(); n > 0; --n) {
    std::string k = str();
    data_[k] = str();
  }
  sessions_.clear();
  for (std::uint32_t n = u32(); n > 0; --n) {
    Session& s = sessions_[NodeId(u64())];
    s.last_request = u64();
    s.last_reply.request_id = u64();
    need(1);
    s.last_reply.found = in[pos++] != 0;
    s.last_reply.value = str();
  }
  SLUICE_ASSERT(pos == in.size(), "kv snapshot has trailing bytes");
  // Proposals we were owed an answer for are settled or lost: clients retry.
  waiting_.erase(waiting_.begin(), waiting_.upper_bound(index));
}

void KvNode::step(NodeId from, Message message, Timestamp /*now*/) {
  if (auto* m = std::get_if<raft::Message>(&message)) {
    raft_->step(from, *m);
  } else if (auto* r = std::get_if<KvRequest>(&message)) {
    on_request(from, *r);
  }
}

void KvNode::tick(Timestamp /*now*/) { raft_->tick(); }

void KvNode::on_request(NodeId client, const KvRequest& request) {
  auto reject = [&](Code code, NodeId hint) {
    out_.send_now.push_back({kDefaultGroup, raft_->id(), client, KvReply{request.request_id, code, "", false, hint}});
  };
  if (raft_->poisoned()) return;
  if (!request.put && reads_ == Reads::read_index) {
    const std::uint64_t id = next_read_id_++;
    const Status s = raft_->read_index(id);
    if (!s.ok()) {
      reject(s.code(), raft_->leader());
      return;
    }
    gets_[id] = PendingGet{client, request.request_id, request.key, LogIndex(0)};
    return;
  }
  auto index = raft_->propose(encode_command(client, request));
  if (!index.ok()) {
    reject(index.status().code(), raft_->leader());
    return;
  }
  waiting_[*index] = {client, request.request_id};
}

void KvNode::apply(const LogEntry& entry, Output<Message>& out) {
  SLUICE_ASSERT(entry.index == applied_.next(), "entries apply in order");
  applied_ = entry.index;
  const std::uint64_t term = entry.term.value();
  chain_ = fnv1a64(&term, sizeof term, chain_);
  chain_ = fnv1a64(entry.data.data(), entry.data.size(), chain_);
  std::optional<std::pair<NodeId, std::uint64_t>> owed;
  if (auto it = waiting_.find(entry.index); it != waiting_.end()) {
    owed = it->second;
    waiting_.erase(it);
  }
  if (raft::entry_kind(entry) != raft::EntryKind::normal) return;
  const Command c = decode_command(raft::entry_payload(entry));
  Session& session = sessions_[c.client];
  KvReply reply{c.request.request_id, Code::ok, "", false, kNoNode};
  if (c.request.request_id <= session.last_request) {
    // A retry of something already applied: answer as the first time.
    reply = session.last_reply;
  } else {
    if (c.request.put) {
      data_[c.request.key] = c.request.value;
    } else if (auto it = data_.find(c.request.key); it != data_.end()) {
      reply.value = it->second;
      reply.found = true;
    }
    session.last_request = c.request.request_id;
    session.last_reply = reply;
  }
  // Answer only what we proposed, and only if the log kept our proposal.
  if (owed && owed->first == c.client && owed->second == c.request.request_id) {
    out.send_after_persist.push_back({kDefaultGroup, raft_->id(), c.client, reply});
  }
}

Output<Message> KvNode::take_output() {
  raft::RaftOutput r = raft_->take_output();
  Output<Message> out = std::move(out_);
  out_ = {};
  absorb(out, std::move(r.io));
  if (r.restore) restore(*r.restore);
  for (const LogEntry& entry : r.committed) apply(entry, out);
  if (compact_every_ != 0 && applied_.value() >= raft_->snapshot_index().value() + compact_every_) {
    const Status s = raft_->compact(applied_, encode_state());
    SLUICE_ASSERT(s.ok(), "compaction at the applied index cannot fail");
    // The snapshot rides in this node's NEXT output; nothing to merge now.
  }
  for (const raft::ReadState& read : r.reads) {
    auto it = gets_.find(read.id);
    SLUICE_ASSERT(it != gets_.end(), "a confirmed read we did not ask for");
    it->second.index = read.index;
  }
  serve_reads(out);
  // A proposal whose index was taken by another leader's entry will never
  // be answered by us: drop it (the client times out: outcome unknown).
  while (!waiting_.empty() && waiting_.begin()->first <= applied_) waiting_.erase(waiting_.begin());
  return out;
}

}  // namespace sluice::raftkv
