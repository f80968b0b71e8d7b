// A RocksDB FileSystem that wraps the real one and injects the faults the
// storage tests need, without special mounts or privileges:
//
//  - a full device: a byte budget for appends; the append that crosses it
//    writes the part that fits (as write(2) does) and fails with NoSpace;
//  - failing fsyncs: Sync/Fsync return an IOError and sync nothing;
//  - power loss: begin_power_loss() fails every later write and sync (the
//    machine is off); once the database is closed, finish_power_loss() cuts
//    each file written through this FileSystem back to what was last
//    synced, optionally keeping a random part of a WAL's unsynced tail (a
//    torn write). Like the simulator's disk, and like LevelDB's
//    FaultInjectionTestEnv, it models lost page-cache data, not lost
//    directory entries: creations, renames and deletions are durable at
//    once;
//  - a hook before every WAL sync, and a count of WAL syncs, for the group
//    commit test.
//
// Thread safe: RocksDB calls it from its background threads.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/common/random.h"
#include "core/common/status.h"

namespace sluice::testing {

class FaultFs final : public rocksdb::FileSystemWrapper {
 public:
  FaultFs();
  static const char* kClassName() { return "SluiceFaultFs"; }
  const char* Name() const override { return kClassName(); }

  // An Env over this FileSystem, for RocksOptions::env. *this must outlive it.
  static std::unique_ptr<rocksdb::Env> make_env(const std::shared_ptr<FaultFs>& fs);

  // nullopt: unlimited.
  void set_space_left(std::optional<std::uint64_t> bytes);
  void set_fail_syncs(bool fail);
  // Runs before each WAL sync, outside the FileSystem's lock.
  void set_before_wal_sync(std::function<void()> hook);
  std::uint64_t wal_syncs() const;

  void begin_power_loss();
  // Precondition: every database on these files is closed. Applies the
  // loss and powers the machine back on. With tear_rng, each WAL keeps a
  // random number of its unsynced bytes.
  Status finish_power_loss(Rng* tear_rng);

  // --- FileSystem overrides
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target,
                               const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;

  // --- Called by the file wrapper.
  struct Tracked {
    std::uint64_t size = 0;
    std::uint64_t synced = 0;
  };
  // How many of `n` bytes fit; failure status if not all (or powered off).
  rocksdb::IOStatus admit_append(std::uint64_t n, std::uint64_t* allowed);
  void appended(const std::string& fname, std::uint64_t new_size);
  rocksdb::IOStatus before_sync(const std::string& fname);
  void synced(const std::string& fname, std::uint64_t size);

 private:
  mutable std::mutex mu_;
  std::map<std::string, Tracked> files_;
  std::optional<std::uint64_t> space_left_;
  bool fail_syncs_ = false;
  bool powered_off_ = false;
  std::uint64_t wal_syncs_ = 0;
  std::function<void()> before_wal_sync_;
};

}  // namespace sluice::testing
