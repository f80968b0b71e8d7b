// A replicated key-value store on core/raft: the simulator's workload for
// proving Raft before the broker exists. Puts go through the log; gets go
// through the log too, or through ReadIndex (a heartbeat round confirms the
// leader, then the read is served once applied through the read index).
// Either way every answer must be linearizable. A client session table
// makes a retried put apply once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>

#include "core/common/time.h"
#include "core/raft/raft.h"

namespace sluice::raftkv {

struct KvRequest {
  std::uint64_t request_id = 0;
  bool put = false;
  std::string key;
  std::string value;  // puts
};
struct KvReply {
  std::uint64_t request_id = 0;
  Code code = Code::ok;
  std::string value;  // gets: the value, empty if absent
  bool found = false;
  NodeId leader_hint = kNoNode;  // not the leader: who is, if known
};

using Message = std::variant<raft::Message, KvRequest, KvReply>;
std::string describe(const Message& message);

class KvNode {
 public:
  using Message = raftkv::Message;

  enum class Reads { through_log, read_index };

  // compact_every: take a snapshot (and compact the log) after this many
  // applied entries; 0 never.
  static Result<std::unique_ptr<KvNode>> open(const raft::Options& options, const raft::VoterSet& voters,
                                              KvStore& store, Rng rng, Reads reads = Reads::read_index,
                                              std::uint64_t compact_every = 0);

  void step(NodeId from, Message message, Timestamp now);
  void tick(Timestamp now);
  void on_persisted(PersistId id, Status status) { raft_->on_persisted(id, status); }
  bool has_output() const { return raft_->has_output() || !out_.empty(); }
  Output<Message> take_output();

  raft::Node& raft() { return *raft_; }
  const raft::Node& raft() const { return *raft_; }
  bool poisoned() const { return raft_->poisoned(); }
  LogIndex applied() const { return applied_; }
  // Hash chain over applied entries: chain(i) = H(chain(i-1), term, data).
  std::uint64_t applied_chain() const { return chain_; }
  const std::map<std::string, std::string>& data() const { return data_; }

 private:
  KvNode(std::unique_ptr<raft::Node> raft, Reads reads, std::uint64_t compact_every)
      : raft_(std::move(raft)), reads_(reads), compact_every_(compact_every) {}
  std::string encode_state() const;
  void restore(const raft::Snapshot& snapshot);
  void on_request(NodeId client, const KvRequest& request);
  void apply(const LogEntry& entry, Output<Message>& out);
  void serve_reads(Output<Message>& out);

  std::unique_ptr<raft::Node> raft_;
  Reads reads_;
  std::uint64_t compact_every_;
  struct PendingGet {
    NodeId client;
    std::uint64_t request_id;
    std::string key;
    LogIndex index;  // set once the read is confirmed
  };
  std::map<std::uint64_t, PendingGet> gets_;  // ReadIndex id -> get
  std::uint64_t next_read_id_ = 1;
  std::map<std::string, std::string> data_;
  struct Session {
    std::uint64_t last_request = 0;
    KvReply last_reply;
  };
  std::map<NodeId, Session> sessions_;
  std::map<LogIndex, std::pair<NodeId, std::uint64_t>> waiting_;  // proposals we owe a reply
  LogIndex applied_;
  std::uint64_t chain_ = 0;
  Output<Message> out_;
};

}  // namespace sluice::raftkv
