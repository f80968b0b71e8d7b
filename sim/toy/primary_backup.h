// A deliberately small replication protocol that proves the simulator before
// Raft exists: one fixed primary, backups that follow it.
//
// Mode::correct acknowledges a write only once a majority has it durably,
// counting the primary itself only after its own fsync (the rule Raft uses).
// Mode::naive acknowledges as soon as the primary has the write in memory:
// a crash of the primary before its fsync loses an acknowledged write, and
// the simulator's history checker must catch that.
//
// What this protocol does NOT tolerate, by design: losing or corrupting the
// primary's disk (it is the authority; there is no failover). The fault
// injector is told so and spares the primary those two faults. Raft lifts
// that restriction.
//
// Epochs: every start of the primary takes a new epoch, made durable before
// the primary sends anything in it, so an (index, epoch) pair names one entry
// for ever and backups can spot and truncate conflicting suffixes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/common/hooks.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/node/output.h"
#include "core/storage/log_store.h"

namespace sluice::toy {

struct ClientWrite {
  std::uint64_t request_id = 0;
  std::string value;
};
struct ClientRead {
  std::uint64_t request_id = 0;
};
struct ClientReply {
  std::uint64_t request_id = 0;
  Code code = Code::ok;
  std::vector<std::string> values;  // reads: the committed values, in order
};
struct Append {
  Term epoch;
  LogIndex prev_index;
  Term prev_epoch;
  std::vector<LogEntry> entries;
};
struct AppendReply {
  Term epoch;
  bool ok = false;
  LogIndex index;  // ok: the backup durably holds [1, index]; else: its last index
};

using Message = std::variant<ClientWrite, ClientRead, ClientReply, Append, AppendReply>;
std::string describe(const Message& message);

// Entry data: "client:request:value", so that a duplicated request is
// recognised, also after a restart.
struct Request {
  NodeId client;
  std::uint64_t request_id = 0;
  std::string value;
};
std::string encode_value(NodeId client, std::uint64_t request_id, const std::string& value);
Request decode_value(const std::string& data);

enum class Mode { naive, correct };
const char* mode_name(Mode mode);

struct Options {
  NodeId self;
  NodeId primary;
  std::vector<NodeId> members;  // includes the primary and self
  Mode mode = Mode::correct;
  std::uint64_t retransmit_ticks = 5;
  std::size_t batch_entries_max = 64;
  Hooks hooks;
};

class PrimaryBackupNode {
 public:
  using Message = toy::Message;

  // Recovers from the store. A backup that finds its log unreadable starts
  // empty (the primary will resend); the primary reports the error.
  static Result<std::unique_ptr<PrimaryBackupNode>> open(const Options& options, KvStore& store);

  void step(NodeId from, Message message, Timestamp now);
  void tick(Timestamp now);
  void on_persisted(PersistId id, Status status);
  bool has_output() const { return !out_.empty(); }
  Output<Message> take_output();

  // For checkers and tests.
  bool is_primary() const { return options_.self == options_.primary; }
  bool poisoned() const { return poisoned_; }
  bool recovering() const { return recovering_; }
  Term epoch() const { return epoch_; }
  LogIndex commit() const { return commit_; }
  LogIndex last_index() const { return LogIndex(log_.size()); }
  const std::vector<LogEntry>& log() const { return log_; }

 private:
  explicit PrimaryBackupNode(const Options& options) : options_(options) {}

  struct Peer {
    LogIndex match;  // durably on the backup, as far as we know
    LogIndex next;   // next index to send. Invariant: match < next.
  };

  void on_client_write(NodeId from, const ClientWrite& write);
  void on_client_read(NodeId from, const ClientRead& read);
  void on_append(NodeId from, const Append& append);
  void on_append_reply(NodeId from, const AppendReply& reply);
  void send_append(NodeId to);
  void advance_commit();
  void persist_epoch();
  void send(NodeId to, Message message, bool after_persist);
  Term epoch_at(LogIndex index) const;

  Options options_;
  Term epoch_;
  std::vector<LogEntry> log_;  // log_[i] has index i + 1
  std::vector<std::string> values_;  // primary: decoded log_[i].data, for reads
  LogIndex commit_;
  LogIndex durable_;           // primary: its own log is durable through here
  bool recovering_ = false;    // primary: not serving until backups catch up
  bool epoch_durable_ = true;  // primary: may send in epoch_ only once true
  bool poisoned_ = false;
  std::map<NodeId, Peer> peers_;
  std::map<LogIndex, std::pair<NodeId, std::uint64_t>> waiting_;  // index -> client request
  std::map<NodeId, std::uint64_t> applied_requests_;  // primary: client -> last request
  std::uint64_t ticks_ = 0;

  Output<Message> out_;
  PersistId next_persist_id_ = 1;
  std::map<PersistId, std::pair<LogIndex, bool>> in_flight_;  // id -> (log length, carries epoch)
  bool out_carries_epoch_ = false;
};

}  // namespace sluice::toy
