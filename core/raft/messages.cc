#include "core/raft/messages.h"

#include "core/common/overloaded.h"

#include "core/common/bytes.h"
#include "core/common/status.h"

namespace sluice::raft {
Term message_term(const Message& message) {
  return std::visit([](const auto& m) { return m.term; }, message);
}

std::string describe(const Message& message) {
  return std::visit(
      Overloaded{
          [](const VoteRequest& m) {
            return std::string(m.pre_vote ? "prevote" : "vote") + " t=" + to_string(m.term) +
                   " last=" + to_string(m.last_index) + "/" + to_string(m.last_term) + (m.transfer ? " transfer" : "");
          },
          [](const VoteReply& m) {
            return std::string(m.pre_vote ? "prevote-reply" : "vote-reply") + " t=" + to_string(m.term) +
                   (m.granted ? " yes" : " no");
          },
          [](const AppendRequest& m) {
            return "app t=" + to_string(m.term) + " prev=" + to_string(m.prev_index) + "/" + to_string(m.prev_term) +
                   " n=" + std::to_string(m.entries.size()) + " commit=" + to_string(m.commit);
          },
          [](const AppendReply& m) {
            return "app-reply t=" + to_string(m.term) + (m.success ? " ok " : " reject ") + to_string(m.index) +
                   (m.success ? "" : " hint=" + to_string(m.hint));
          },
          [](const Heartbeat& m) {
            return "hb t=" + to_string(m.term) + " commit=" + to_string(m.commit) +
                   (m.read_round ? " round=" + std::to_string(m.read_round) : "");
          },
          [](const HeartbeatReply& m) {
            return "hb-reply t=" + to_string(m.term) + (m.read_round ? " round=" + std::to_string(m.read_round) : "");
          },
          [](const TimeoutNow& m) { return "timeout-now t=" + to_string(m.term); },
          [](const InstallSnapshot& m) {
            return "snap t=" + to_string(m.term) + " at=" + to_string(m.index) + "/" + to_string(m.snapshot_term) +
                   " off=" + std::to_string(m.offset) + " n=" + std::to_string(m.data.size()) + (m.done ? " done" : "");
          },
          [](const InstallSnapshotReply& m) {
            return "snap-reply t=" + to_string(m.term) + " at=" + to_string(m.index) +
                   " next=" + std::to_string(m.next_offset) + (m.installed ? " installed" : "");
          },
      },
      message);
}

std::string make_entry_data(EntryKind kind, std::string_view payload) {
  std::string data;
  data.reserve(1 + payload.size());
  data.push_back(static_cast<char>(kind));
  data.append(payload);
  return data;
}

EntryKind entry_kind(const LogEntry& entry) {
  SLUICE_ASSERT(!entry.data.empty(), "a raft entry has a kind byte");
  const auto kind = static_cast<std::uint8_t>(entry.data[0]);
  SLUICE_ASSERT(kind <= static_cast<std::uint8_t>(EntryKind::config), "unknown raft entry kind");
  return static_cast<EntryKind>(kind);
}

std::string_view entry_payload(const LogEntry& entry) {
  return std::string_view(entry.data).substr(1);
}

}  // namespace sluice::raft

namespace sluice::raft {

// [u32 incoming count][u64 ids][u32 outgoing count][u64 ids], then, only
// if the top bit of the incoming count is set, the addresses:
// [u32 count]([u64 id][u32 length][bytes])... A configuration without
// addresses encodes as it did before they existed, so stored logs and
// snapshots read the same.
constexpr std::uint32_t kHasAddresses = 0x8000'0000U;

std::string encode_config(const JointConfig& config) {
  std::string out;
  for (const VoterSet* set : {&config.incoming, &config.outgoing}) {
    SLUICE_ASSERT(set->size() < kHasAddresses, "a voter set fits its count");
    std::uint32_t n = static_cast<std::uint32_t>(set->size());
    if (set == &config.incoming && !config.addresses.empty()) n |= kHasAddresses;
    put_u32_be(out, n);
    for (NodeId id : *set) put_u64_be(out, id.value());
  }
  if (config.addresses.empty()) return out;
  put_u32_be(out, static_cast<std::uint32_t>(config.addresses.size()));
  for (const auto& [id, address] : config.addresses) {
    put_u64_be(out, id.value());
    put_u32_be(out, static_cast<std::uint32_t>(address.size()));
    out += address;
  }
  return out;
}

bool decode_config(std::string_view in, JointConfig* out, std::size_t* consumed) {
  std::size_t pos = 0;
  JointConfig c;
  bool has_addresses = false;
  for (VoterSet* set : {&c.incoming, &c.outgoing}) {
    if (in.size() - pos < 4) return false;
    std::uint32_t n = get_u32_be(in, pos);
    pos += 4;
    if (set == &c.incoming) {
      has_addresses = (n & kHasAddresses) != 0;
      n &= ~kHasAddresses;
    }
    if ((in.size() - pos) / 8 < n) return false;
    for (std::uint32_t i = 0; i < n; ++i, pos += 8) set->insert(NodeId(get_u64_be(in, pos)));
  }
  if (has_addresses) {
    if (in.size() - pos < 4) return false;
    const std::uint32_t n = get_u32_be(in, pos);
    pos += 4;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (in.size() - pos < 12) return false;
      const NodeId id(get_u64_be(in, pos));
      const std::uint32_t length = get_u32_be(in, pos + 8);
      pos += 12;
      if (in.size() - pos < length) return false;
      c.addresses[id] = std::string(in.substr(pos, length));
      pos += length;
    }
  }
  *out = std::move(c);
  *consumed = pos;
  return true;
}

}  // namespace sluice::raft
