// The ordered key-value storage contract (DESIGN section 5).
//
// Everything Sluice persists goes through this one interface: the Raft log
// and hard state (through the typed view in log_store.h) and the broker
// state machine. storage/ implements it on RocksDB, one column family per
// Keyspace; sim/ implements it in memory with faults. One contract test suite
// runs against both, so the model cannot drift from the real thing.
//
// Semantics both implementations share:
//  - A WriteBatch is atomic: after any crash, all of it or none of it.
//  - After a crash only synced writes are guaranteed. A write with sync=true,
//    or a sync() that returned ok, makes it and every earlier write durable.
//    Unsynced writes may survive a crash, or not; callers never count on it.
//  - Reads see every earlier write, synced or not.
//  - A checksum mismatch is reported as Code::corruption, never returned as
//    data.
//  - A failed write changes nothing. A failed sync leaves durability of the
//    unsynced writes unknown; callers treat it as fatal (poison).
//  - A full device fails writes with Code::no_space and changes nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace sluice {

// Independent ordered keyspaces (RocksDB column families).
enum class Keyspace : std::uint8_t {
  meta = 0,        // format version, node identity
  raft_log = 1,    // log entries keyed by (group, index)
  raft_state = 2,  // hard state per group
  state = 3,       // the broker state machine, with its applied index
};
inline constexpr int kKeyspaceCount = 4;
const char* keyspace_name(Keyspace ks);

struct WriteOp {
  enum class Kind : std::uint8_t { put, erase, erase_range };
  Kind kind;
  Keyspace space;
  std::string key;
  std::string value;  // the value for put; the exclusive end key for erase_range
};

// A group of writes applied atomically, in order.
class WriteBatch {
 public:
  void put(Keyspace space, std::string_view key, std::string_view value);
  void erase(Keyspace space, std::string_view key);
  // Erases every key in [begin, end); an empty end means to the end of the
  // keyspace.
  void erase_range(Keyspace space, std::string_view begin, std::string_view end);
  // Appends every op of other after ours.
  void append(const WriteBatch& other);

  const std::vector<WriteOp>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  std::size_t size_bytes() const { return bytes_; }

 private:
  std::vector<WriteOp> ops_;
  std::size_t bytes_ = 0;
};

struct WriteOptions {
  bool sync = true;  // durable before write() returns; the only safe default
};

// Iterates keys in [begin, end) in ascending byte order. After the last key
// valid() is false; status() tells whether iteration ended cleanly or hit
// corruption or an IO error (then the current entry is not to be used).
class KvIterator {
 public:
  virtual ~KvIterator() = default;
  virtual bool valid() const = 0;
  virtual void next() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

// A consistent read-only view of the whole store at one moment.
class KvSnapshot {
 public:
  virtual ~KvSnapshot() = default;
  virtual Result<std::optional<std::string>> get(Keyspace space, std::string_view key) const = 0;
  virtual std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin,
                                           std::string_view end) const = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual Status write(const WriteBatch& batch, WriteOptions options) = 0;
  virtual Status sync() = 0;
  virtual Result<std::optional<std::string>> get(Keyspace space, std::string_view key) = 0;
  // An empty end means "to the end of the keyspace".
  virtual std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin,
                                           std::string_view end) = 0;
  // The greatest key in [begin, end), if any (RocksDB: SeekForPrev).
  virtual Result<std::optional<std::string>> last_key(Keyspace space, std::string_view begin,
                                                      std::string_view end) = 0;
  virtual Result<std::unique_ptr<KvSnapshot>> snapshot() = 0;
};

}  // namespace sluice
