// The workload of the crash-recovery tests, shared by the writer child
// (crash_writer.cc) and the checking parent (crash_recovery_test.cc).
//
// Batch `id` (1, 2, 3, ...) is a pure function of its id, and touches every
// keyspace at once, so that a partly applied batch is visible as a mismatch:
//  - meta "head" = id;
//  - state: 1 to 8 parts "batch/<id>/<j>", 1 byte to 16 KiB each, and an
//    erase of batch id - kLive's parts (a range erase);
//  - raft_log: the entry at index id, and a prefix truncation through
//    id - kLive;
//  - raft_state: a hard state with commit = id.
// So after batches 1..head the store holds exactly the puts of batches
// head - kLive + 1 .. head: expected_dump(head).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "core/common/bytes.h"
#include "core/common/random.h"
#include "core/common/types.h"
#include "core/storage/kv_store.h"
#include "core/storage/log_store.h"

namespace sluice::crash_model {

inline constexpr std::uint64_t kLive = 16;
inline constexpr GroupId kGroup{1};
inline constexpr std::uint64_t kPartsMax = 8;
inline constexpr std::uint64_t kPartBytesMax = 16 * 1024;

using Dump = std::array<std::map<std::string, std::string>, kKeyspaceCount>;

inline std::uint64_t mix(std::uint64_t id, std::uint64_t j) {
  std::uint64_t state = id * 0x9e3779b97f4a7c15ULL + j;
  return splitmix64(state);
}

inline std::string padded(std::uint64_t id) {
  std::string digits = std::to_string(id);
  return std::string(20 - digits.size(), '0') + digits;
}
inline std::string parts_begin(std::uint64_t id) { return "batch/" + padded(id) + "/"; }
inline std::string parts_end(std::uint64_t id) { return "batch/" + padded(id) + "0"; }  // '0' follows '/'

inline std::uint64_t parts(std::uint64_t id) { return 1 + mix(id, 0) % kPartsMax; }

inline std::string part_value(std::uint64_t id, std::uint64_t j) {
  Rng rng(mix(id, j + 1));
  const std::uint64_t size = 1 + rng.next_u64() % kPartBytesMax;
  std::string value;
  value.reserve(size + 8);
  while (value.size() < size) put_u64_be(value, rng.next_u64());
  value.resize(size);
  return value;
}

inline std::string head_value(std::uint64_t id) {
  std::string v;
  put_u64_be(v, id);
  return v;
}

inline WriteBatch batch(std::uint64_t id) {
  WriteBatch b;
  b.put(Keyspace::meta, "head", head_value(id));
  for (std::uint64_t j = 0; j < parts(id); ++j) {
    b.put(Keyspace::state, parts_begin(id) + std::to_string(j), part_value(id, j));
  }
  const Term term(1 + id / 100);
  log_store::append(b, kGroup, LogEntry{term, LogIndex(id), "entry-" + std::to_string(id)});
  log_store::save_hard_state(b, kGroup, HardState{term, NodeId(1 + id % 3), LogIndex(id)});
  if (id > kLive) {
    b.erase_range(Keyspace::state, parts_begin(id - kLive), parts_end(id - kLive));
    log_store::truncate_prefix(b, kGroup, LogIndex(id - kLive));
  }
  return b;
}

// What the store holds after batches 1..head, all applied whole.
inline Dump expected_dump(std::uint64_t head) {
  Dump out;
  const std::uint64_t first = head > kLive ? head - kLive + 1 : 1;
  for (std::uint64_t id = first; id <= head; ++id) {
    const WriteBatch b = batch(id);  // named: ops() refers into it
    for (const WriteOp& op : b.ops()) {
      if (op.kind == WriteOp::Kind::put) out[static_cast<int>(op.space)][op.key] = op.value;
    }
  }
  return out;
}

}  // namespace sluice::crash_model
