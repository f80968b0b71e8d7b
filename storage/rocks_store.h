// The KvStore contract (core/storage/kv_store.h) on RocksDB.
//
// One column family per Keyspace (layout in rocks_layout.h). Every write is
// one rocksdb::WriteBatch; with sync=true it returns only after the WAL is
// fsynced. Concurrent writers are grouped into one WAL write and one fsync
// by RocksDB's write thread (group commit): call write() from several
// threads and they share fsyncs, with no extra latency for a lone writer.
//
// Durability settings (not options, on purpose): the WAL is always on,
// recovery refuses a WAL with a bad record anywhere but an incomplete last
// record (kTolerateCorruptedTailRecords: a torn tail after a crash is
// dropped, a flipped byte in acknowledged data is Code::corruption), and
// block checksums are verified on every read.
//
// Poisoning: the first failed write, sync or flush poisons the store. From
// then on every write(), sync(), flush() and checkpoint() returns
// Code::poisoned with the original error in its message; reads still work.
// The store does not retry: a failed fsync leaves the device's contents
// unknown, and the node must restart and recover from what is on disk.
//
// Thread safety: every method may be called from any thread concurrently.
// Snapshots and iterators keep the underlying database open: they may
// outlive the RocksStore, and the directory stays locked until the last
// of them is gone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "core/storage/kv_store.h"

namespace rocksdb {
class Env;
class Status;
}  // namespace rocksdb

namespace sluice::storage {

struct RocksOptions {
  // All file access goes through this environment; nullptr is RocksDB's
  // default (POSIX). Not owned: it must outlive the store and everything
  // the store hands out. Tests pass one that injects faults.
  rocksdb::Env* env = nullptr;
  // Memtable size per column family before it is flushed to an SST file.
  std::size_t write_buffer_bytes = 64u << 20;
  // Count RocksDB tickers (WAL syncs, ...) for wal_syncs(); costs a little.
  bool statistics = false;
};

// RocksDB's status as a Sluice status: Corruption -> corruption, NoSpace ->
// no_space, IOError -> io_error, NotFound -> not_found, InvalidArgument and
// NotSupported -> invalid_argument, Busy/TryAgain/Incomplete/Aborted/
// ShutdownInProgress -> unavailable, TimedOut -> timeout. The message is
// `context: <RocksDB's message>`.
Status from_rocks(const rocksdb::Status& status, std::string_view context);

class RocksStore final : public KvStore {
 public:
  // Opens the Sluice store in `dir`, or creates one if `dir` is missing or
  // empty (a lone lost+found counts as empty). Refuses, touching nothing:
  //  - a path that is not a directory, or a directory holding other files
  //    and no store: Code::invalid_argument;
  //  - a RocksDB database whose column families are not Sluice's:
  //    Code::invalid_argument;
  //  - a Sluice store of another format version: Code::version_mismatch;
  //  - damaged data (CURRENT, MANIFEST, WAL): Code::corruption.
  // A store whose creation was interrupted (some of the column families or
  // the format version missing, every keyspace empty) is finished, not
  // refused; a database that may be foreign is inspected read-only first.
  static Result<std::unique_ptr<RocksStore>> open(const std::string& dir,
                                                  const RocksOptions& options = {});

  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;
  ~RocksStore() override;

  Status write(const WriteBatch& batch, WriteOptions options) override;
  Status sync() override;
  Result<std::optional<std::string>> get(Keyspace space, std::string_view key) override;
  std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin,
                                   std::string_view end) override;
  Result<std::optional<std::string>> last_key(Keyspace space, std::string_view begin,
                                              std::string_view end) override;
  // A RocksDB snapshot: a sequence number, free to take, pinning the data
  // it sees until released.
  Result<std::unique_ptr<KvSnapshot>> snapshot() override;

  // A consistent copy of the whole store in `dir` (which must not exist),
  // made with rocksdb::Checkpoint: memtables are flushed, SST files are
  // hard-linked when `dir` is on the same filesystem (cheap) and copied
  // otherwise. The copy opens with RocksStore::open. For shipping a
  // snapshot as files, or a backup; SnapshotChunker streams a KvSnapshot
  // instead.
  Status checkpoint(const std::string& dir);

  // Writes every memtable into SST files and waits. Not needed for
  // durability (the WAL gives that); tests use it to put data into SSTs.
  Status flush();

  // Ok while healthy; otherwise the failure that poisoned the store.
  Status poison_cause() const;
  bool poisoned() const { return poisoned_.load(std::memory_order_acquire); }

  // WAL fsyncs so far (RocksDB's WAL_FILE_SYNCED ticker); nullopt unless
  // RocksOptions::statistics was set.
  std::optional<std::uint64_t> wal_syncs() const;

  const std::string& dir() const;

  struct Engine;  // the open database, shared with snapshots and iterators

 private:
  explicit RocksStore(std::shared_ptr<Engine> engine);
  Status refuse_if_poisoned() const;
  // Records the first failure; later ones keep the first cause.
  void poison(const Status& cause);

  std::shared_ptr<Engine> engine_;
  std::atomic<bool> poisoned_{false};
  mutable std::mutex poison_mu_;
  Status poison_cause_;  // guarded by poison_mu_
};

}  // namespace sluice::storage
