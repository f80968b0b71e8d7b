// RocksStore against the KvStore contract (tests/storage/kv_contract.h), the
// same suite the simulator's disk runs (tests/sim/sim_disk_contract_test.cc).
//
// Three factories:
//  - RocksPosix: the store as production opens it, on the real filesystem;
//    it cannot simulate a power loss in-process, so the crash test skips
//    (tests/storage/crash_recovery_test.cc kills real processes instead);
//  - RocksPowerLoss: through FaultFs, a crash drops every byte that was
//    not fsynced, and the device can be filled or its fsyncs failed;
//  - RocksTornWal: the same, but each WAL keeps a random part of its
//    unsynced tail, as a real disk may: a prefix of the unsynced batches
//    survives and the next one is torn (the simulator's
//    unsynced_may_survive).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "core/common/random.h"
#include "storage/rocks_store.h"
#include "tests/storage/fault_fs.h"
#include "tests/storage/kv_contract.h"
#include "tests/storage/temp_dir.h"

namespace sluice::kv_contract {
namespace {

using storage::RocksOptions;
using storage::RocksStore;
using testing::FaultFs;
using testing::TempDir;

// A RocksStore in its own temporary directory, removed with the store. The
// KvStore calls pass straight through.
class TempRocksStore final : public KvStore {
 public:
  explicit TempRocksStore(bool fault_fs) {
    if (fault_fs) {
      fs_ = std::make_shared<FaultFs>();
      env_ = FaultFs::make_env(fs_);
    }
    reopen();
  }

  Status write(const WriteBatch& batch, WriteOptions options) override { return store_->write(batch, options); }
  Status sync() override { return store_->sync(); }
  Result<std::optional<std::string>> get(Keyspace space, std::string_view key) override {
    return store_->get(space, key);
  }
  std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin, std::string_view end) override {
    return store_->scan(space, begin, end);
  }
  Result<std::optional<std::string>> last_key(Keyspace space, std::string_view begin,
                                              std::string_view end) override {
    return store_->last_key(space, begin, end);
  }
  Result<std::unique_ptr<KvSnapshot>> snapshot() override { return store_->snapshot(); }

  // Device faults, through FaultFs.
  void set_full(bool full) { fault_fs().set_space_left(full ? std::optional<std::uint64_t>(0) : std::nullopt); }
  void set_syncs_failing(bool failing) { fault_fs().set_fail_syncs(failing); }

  // Power loss while the store is open, then the store as it reopens.
  void power_loss(Rng* tear_rng) {
    SLUICE_ASSERT(fs_ != nullptr, "power loss needs the FaultFs");
    fs_->begin_power_loss();
    store_.reset();
    Status s = fs_->finish_power_loss(tear_rng);
    SLUICE_ASSERT(s.ok(), "applying the power loss");
    reopen();
  }

 private:
  FaultFs& fault_fs() {
    SLUICE_ASSERT(fs_ != nullptr, "device faults need the FaultFs");
    return *fs_;
  }
  void reopen() {
    RocksOptions options;
    options.env = env_.get();
    auto opened = RocksStore::open(dir_.sub("store"), options);
    if (!opened.ok()) ADD_FAILURE() << "open: " << opened.status().to_string();
    SLUICE_ASSERT(opened.ok(), "opening a RocksStore in a fresh directory");
    store_ = std::move(opened).value();
  }

  // Destroyed bottom-up: the store, then the environment, then the files.
  TempDir dir_;
  std::shared_ptr<FaultFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<RocksStore> store_;
};

TempRocksStore* as_temp_rocks(KvStore* store) {
  auto* rocks = dynamic_cast<TempRocksStore*>(store);
  SLUICE_ASSERT(rocks != nullptr, "a RocksDB factory made something else");
  return rocks;
}

struct RocksPosixFactory {
  static std::unique_ptr<KvStore> make() { return std::make_unique<TempRocksStore>(false); }
};

struct RocksFaultHooks {
  static void set_device_full(KvStore& store, bool full) { as_temp_rocks(&store)->set_full(full); }
  static void set_syncs_failing(KvStore& store, bool failing) { as_temp_rocks(&store)->set_syncs_failing(failing); }
};

struct RocksPowerLossFactory : RocksFaultHooks {
  static std::unique_ptr<KvStore> make() { return std::make_unique<TempRocksStore>(true); }
  static std::unique_ptr<KvStore> crash_and_reopen(std::unique_ptr<KvStore> store) {
    as_temp_rocks(store.get())->power_loss(nullptr);
    return store;
  }
};

struct RocksTornWalFactory : RocksFaultHooks {
  static std::unique_ptr<KvStore> make() { return std::make_unique<TempRocksStore>(true); }
  static std::unique_ptr<KvStore> crash_and_reopen(std::unique_ptr<KvStore> store) {
    static Rng rng(44);
    as_temp_rocks(store.get())->power_loss(&rng);
    return store;
  }
};

}  // namespace

using RocksFactories = ::testing::Types<RocksPosixFactory, RocksPowerLossFactory, RocksTornWalFactory>;
INSTANTIATE_TYPED_TEST_SUITE_P(Rocks, KvContractTest, RocksFactories);

}  // namespace sluice::kv_contract
