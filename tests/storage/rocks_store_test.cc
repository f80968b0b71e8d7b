// RocksStore beyond the shared contract: what it does with a directory that
// is not its own, poisoning after a failed write or fsync, a full device,
// power loss through FaultFs, group commit, corruption of stored bytes,
// checkpoints, and snapshot lifetimes.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/common/bytes.h"
#include "core/common/random.h"
#include "core/storage/log_store.h"
#include "storage/rocks_layout.h"
#include "storage/rocks_store.h"
#include "tests/storage/fault_fs.h"
#include "tests/storage/kv_contract.h"
#include "tests/storage/temp_dir.h"

namespace sluice::storage {
namespace {

namespace fs = std::filesystem;
using kv_contract::Dump;
using kv_contract::dump;
using kv_contract::put_one;
using kv_contract::value_of;
using testing::FaultFs;
using testing::TempDir;

std::unique_ptr<RocksStore> open_ok(const std::string& dir, const RocksOptions& options = {}) {
  auto opened = RocksStore::open(dir, options);
  EXPECT_TRUE(opened.ok()) << opened.status().to_string();
  SLUICE_ASSERT(opened.ok(), "open_ok");
  return std::move(opened).value();
}

Status open_error(const std::string& dir) {
  auto opened = RocksStore::open(dir);
  EXPECT_FALSE(opened.ok()) << dir << " opened";
  return opened.ok() ? Status() : opened.status();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Every file under dir with its content, to prove that nothing changed.
std::map<std::string, std::string> snapshot_tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    out[rel] = e.is_regular_file() ? read_file(e.path().string()) : "<dir>";
  }
  return out;
}

std::vector<std::string> files_with_suffix(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A raw RocksDB handle on a Sluice directory, with its column families, to
// plant what the Sluice API cannot write (another format version, ...).
struct RawDb {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, meta, raft_log, raft_state, state

  explicit RawDb(const std::string& dir, bool create = false) {
    rocksdb::DBOptions options;
    options.create_if_missing = create;
    options.create_missing_column_families = create;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}}};
    for (std::string_view name : layout::kColumnFamilies) cfs.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
    rocksdb::Status s = rocksdb::DB::Open(options, dir, cfs, &handles, &db);
    SLUICE_ASSERT(s.ok(), "raw open of a Sluice directory");
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db->Close().PermitUncheckedError();
    delete db;
  }
  rocksdb::ColumnFamilyHandle* cf(Keyspace space) { return handles[1 + static_cast<std::size_t>(space)]; }
};

// ---------------------------------------------------------------------------
// Opening: what is in the directory decides, and nothing foreign is touched.

TEST(RocksOpen, CreatesInAMissingDirectoryWritesTheFormatVersionAndReopens) {
  TempDir tmp;
  const std::string dir = tmp.sub("a/b/store");
  {
    auto store = open_ok(dir);
    put_one(*store, Keyspace::state, "k", "v");
  }
  {
    auto store = open_ok(dir);
    EXPECT_EQ(value_of(*store, Keyspace::state, "k"), "v");
    EXPECT_TRUE(kv_contract::scan_all(*store, Keyspace::meta).items.empty())
        << "the format version is invisible to users of meta";
  }
  RawDb raw(dir);
  std::string version;
  ASSERT_TRUE(raw.db->Get(rocksdb::ReadOptions(), raw.cf(Keyspace::meta), layout::format_version_key(), &version).ok());
  EXPECT_EQ(version, std::to_string(layout::kFormatVersion));
  std::string user;
  ASSERT_TRUE(raw.db->Get(rocksdb::ReadOptions(), raw.cf(Keyspace::state), layout::user_key("k"), &user).ok());
  EXPECT_EQ(user, "v") << "user keys sit behind the user tag";
}

TEST(RocksOpen, AnEmptyDirectoryOrALoneLostAndFoundIsEmpty) {
  TempDir tmp;
  fs::create_directories(tmp.sub("empty"));
  EXPECT_TRUE(RocksStore::open(tmp.sub("empty")).ok());
  fs::create_directories(tmp.sub("volume/lost+found"));
  EXPECT_TRUE(RocksStore::open(tmp.sub("volume")).ok());
  EXPECT_TRUE(fs::exists(tmp.sub("volume/lost+found")));
}

TEST(RocksOpen, RefusesAPathThatIsAFile) {
  TempDir tmp;
  write_file(tmp.sub("file"), "not a directory");
  Status s = open_error(tmp.sub("file"));
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("not a directory"), std::string::npos) << s.to_string();
  EXPECT_EQ(read_file(tmp.sub("file")), "not a directory");
}

TEST(RocksOpen, RefusesADirectoryOfOtherFilesAndLeavesItAlone) {
  TempDir tmp;
  const std::string dir = tmp.sub("home");
  fs::create_directories(dir + "/photos");
  write_file(dir + "/notes.txt", "remember the milk");
  write_file(dir + "/photos/cat.jpg", std::string(1000, '\x7f'));
  const auto before = snapshot_tree(dir);

  Status s = open_error(dir);
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("is not a Sluice store"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("'notes.txt'"), std::string::npos) << "names what it found: " << s.to_string();
  EXPECT_EQ(snapshot_tree(dir), before) << "nothing created, changed or removed";
}

TEST(RocksOpen, RefusesAForeignRocksDbAndLeavesItAlone) {
  TempDir tmp;
  const std::string dir = tmp.sub("other-db");
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "theirs", "data").ok());
    delete db;
  }
  const auto before = snapshot_tree(dir);
  Status s = open_error(dir);
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("not a Sluice store (column families: default)"), std::string::npos) << s.to_string();
  EXPECT_EQ(snapshot_tree(dir), before) << "the foreign database was not opened for writing";
}

TEST(RocksOpen, RefusesAnotherFormatVersion) {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  {
    auto store = open_ok(dir);
    put_one(*store, Keyspace::state, "k", "v");
  }
  {
    RawDb raw(dir);
    ASSERT_TRUE(raw.db->Put(rocksdb::WriteOptions(), raw.cf(Keyspace::meta), layout::format_version_key(), "2").ok());
  }
  Status s = open_error(dir);
  EXPECT_EQ(s.code(), Code::version_mismatch) << s.to_string();
  EXPECT_NE(s.message().find("format version '2'"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("reads version 1"), std::string::npos) << s.to_string();
  RawDb raw(dir);
  std::string version;
  ASSERT_TRUE(raw.db->Get(rocksdb::ReadOptions(), raw.cf(Keyspace::meta), layout::format_version_key(), &version).ok());
  EXPECT_EQ(version, "2") << "left as found";
}

TEST(RocksOpen, FinishesACreationInterruptedBeforeTheFormatVersion) {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  { RawDb raw(dir, /*create=*/true); }  // column families, no version, no data
  auto store = open_ok(dir);
  put_one(*store, Keyspace::state, "k", "v");
  store.reset();
  RawDb raw(dir);
  std::string version;
  EXPECT_TRUE(raw.db->Get(rocksdb::ReadOptions(), raw.cf(Keyspace::meta), layout::format_version_key(), &version).ok());
}

// RocksDB creates a database with its default column family, then the
// others: a crash in between leaves some of Sluice's, all empty.
TEST(RocksOpen, FinishesACreationInterruptedBeforeTheColumnFamilies) {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, cfs, &handles, &db).ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  auto store = open_ok(dir);
  put_one(*store, Keyspace::raft_state, "k", "v");
  store.reset();
  RawDb raw(dir);  // fails unless every column family now exists
  std::string version;
  EXPECT_TRUE(raw.db->Get(rocksdb::ReadOptions(), raw.cf(Keyspace::meta), layout::format_version_key(), &version).ok());
}

TEST(RocksOpen, AnEmptyForeignDatabaseWithOnlyADefaultColumnFamilyIsAdoptedButOneWithDataIsNot) {
  TempDir tmp;
  for (bool with_data : {false, true}) {
    const std::string dir = tmp.sub(with_data ? "with-data" : "empty");
    {
      rocksdb::Options options;
      options.create_if_missing = true;
      rocksdb::DB* db = nullptr;
      ASSERT_TRUE(rocksdb::DB::Open(options, dir, &db).ok());
      if (with_data) {
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "theirs", "data").ok());
      }
      delete db;
    }
    const auto before = snapshot_tree(dir);
    auto opened = RocksStore::open(dir);
    EXPECT_EQ(opened.ok(), !with_data) << (opened.ok() ? "opened" : opened.status().to_string());
    if (with_data) {
      EXPECT_EQ(snapshot_tree(dir), before) << "looked at without writing a byte";
    }
  }
}

TEST(RocksOpen, DataWithoutAFormatVersionIsCorruption) {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  {
    RawDb raw(dir, /*create=*/true);
    ASSERT_TRUE(raw.db->Put(rocksdb::WriteOptions(), raw.cf(Keyspace::state), layout::user_key("k"), "v").ok());
  }
  Status s = open_error(dir);
  EXPECT_EQ(s.code(), Code::corruption) << s.to_string();
  EXPECT_NE(s.message().find("no format version"), std::string::npos) << s.to_string();
}

TEST(RocksOpen, AGarbageCurrentFileIsReportedAndLeftAlone) {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  fs::create_directories(dir);
  write_file(dir + "/CURRENT", "garbage");
  const auto before = snapshot_tree(dir);
  Status s = open_error(dir);
  EXPECT_TRUE(s.code() == Code::corruption || s.code() == Code::io_error) << s.to_string();
  EXPECT_EQ(snapshot_tree(dir), before);
}

TEST(RocksOpen, ASecondOpenOfTheSameDirectoryFailsOnTheLock) {
  TempDir tmp;
  auto first = open_ok(tmp.sub("store"));
  Status s = open_error(tmp.sub("store"));
  EXPECT_EQ(s.code(), Code::io_error) << s.to_string();
  EXPECT_NE(s.message().find("lock"), std::string::npos) << s.to_string();
  put_one(*first, Keyspace::state, "still", "mine");
}

TEST(RocksStatus, MapsRocksDbCodes) {
  EXPECT_EQ(from_rocks(rocksdb::Status::Corruption("x"), "c").code(), Code::corruption);
  EXPECT_EQ(from_rocks(rocksdb::Status::NoSpace("x"), "c").code(), Code::no_space);
  EXPECT_EQ(from_rocks(rocksdb::Status::IOError("x"), "c").code(), Code::io_error);
  EXPECT_EQ(from_rocks(rocksdb::Status::NotFound("x"), "c").code(), Code::not_found);
  EXPECT_EQ(from_rocks(rocksdb::Status::InvalidArgument("x"), "c").code(), Code::invalid_argument);
  EXPECT_EQ(from_rocks(rocksdb::Status::NotSupported("x"), "c").code(), Code::invalid_argument);
  EXPECT_EQ(from_rocks(rocksdb::Status::TimedOut("x"), "c").code(), Code::timeout);
  EXPECT_EQ(from_rocks(rocksdb::Status::Busy("x"), "c").code(), Code::unavailable);
  EXPECT_EQ(from_rocks(rocksdb::Status::TryAgain("x"), "c").code(), Code::unavailable);
  const Status s = from_rocks(rocksdb::Status::IOError("disk on fire"), "writing");
  EXPECT_EQ(s.message(), "writing: IO error: disk on fire");
}

// ---------------------------------------------------------------------------
// A store on FaultFs, and a model of what it must hold.

class FaultyStore {
 public:
  FaultyStore() : fs_(std::make_shared<FaultFs>()), env_(FaultFs::make_env(fs_)) { reopen(); }
  ~FaultyStore() { store_.reset(); }

  RocksStore& store() { return *store_; }
  FaultFs& fs() { return *fs_; }
  const std::string& dir() const { return dir_; }

  // Writes and, on success, applies to the model.
  void write_ok(const WriteBatch& b, bool sync = true) {
    Status s = store_->write(b, WriteOptions{sync});
    ASSERT_TRUE(s.ok()) << s.to_string();
    apply(model_, b);
  }
  const Dump& model() const { return model_; }
  Dump& model() { return model_; }

  // A clean restart: the process exits and starts again; the page cache
  // keeps what was written.
  void reopen() {
    store_.reset();
    RocksOptions options;
    options.env = env_.get();
    options.statistics = true;
    store_ = open_ok(dir_, options);
  }
  void power_loss(Rng* tear) {
    fs_->begin_power_loss();
    store_.reset();
    ASSERT_TRUE(fs_->finish_power_loss(tear).ok());
    reopen();
  }

  static void apply(Dump& model, const WriteBatch& batch) {
    for (const WriteOp& op : batch.ops()) {
      auto& m = model[static_cast<int>(op.space)];
      switch (op.kind) {
        case WriteOp::Kind::put: m[op.key] = op.value; break;
        case WriteOp::Kind::erase: m.erase(op.key); break;
        case WriteOp::Kind::erase_range: {
          auto first = m.lower_bound(op.key);
          auto last = op.value.empty() ? m.end() : m.lower_bound(op.value);
          if (op.value.empty() || op.key < op.value) m.erase(first, last);
          break;
        }
      }
    }
  }

 private:
  TempDir tmp_;
  std::string dir_ = tmp_.sub("store");
  std::shared_ptr<FaultFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<RocksStore> store_;
  Dump model_;
};

WriteBatch numbered_batch(int n, std::size_t value_bytes = 100) {
  WriteBatch b;
  b.put(Keyspace::state, "k" + std::to_string(1000 + n), std::string(value_bytes, static_cast<char>('a' + n % 26)));
  b.put(Keyspace::meta, "last", std::to_string(n));
  log_store::append(b, GroupId(1), LogEntry{Term(1), LogIndex(static_cast<std::uint64_t>(n)), "e"});
  return b;
}

// ---------------------------------------------------------------------------
// Poisoning.

TEST(RocksPoison, AFullDeviceFailsTheWriteWithNoSpaceAndPoisonsTheStore) {
  FaultyStore f;
  for (int i = 1; i <= 20; ++i) f.write_ok(numbered_batch(i), /*sync=*/i % 3 != 0);
  // Room for less than the next WAL record: its first bytes reach the
  // file, the rest does not.
  f.fs().set_space_left(300);
  WriteBatch big = numbered_batch(21, 4000);
  Status s = f.store().write(big, WriteOptions{true});
  ASSERT_EQ(s.code(), Code::no_space) << s.to_string();
  EXPECT_NE(s.message().find("simulated full device"), std::string::npos) << "says why: " << s.to_string();
  EXPECT_TRUE(f.store().poisoned());
  EXPECT_EQ(f.store().poison_cause(), s);

  // Space comes back; the store still refuses, and says why.
  f.fs().set_space_left(std::nullopt);
  for (Status later : {f.store().write(numbered_batch(22), WriteOptions{true}), f.store().sync(),
                       f.store().flush(), f.store().checkpoint(f.dir() + "-checkpoint")}) {
    EXPECT_EQ(later.code(), Code::poisoned) << later.to_string();
    EXPECT_NE(later.message().find("no_space: "), std::string::npos) << later.to_string();
    EXPECT_NE(later.message().find("simulated full device"), std::string::npos) << later.to_string();
  }
  EXPECT_FALSE(fs::exists(f.dir() + "-checkpoint"));
  // Reads still work and show exactly the acknowledged writes.
  EXPECT_EQ(dump(f.store()), f.model());

  // A restart recovers: the torn record at the WAL's end is dropped.
  f.reopen();
  EXPECT_FALSE(f.store().poisoned());
  EXPECT_EQ(dump(f.store()), f.model());
  auto log = log_store::read(f.store(), GroupId(1), LogIndex(1), LogIndex(100), SIZE_MAX);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ(log->size(), 20u);
  f.write_ok(numbered_batch(21));
  EXPECT_EQ(dump(f.store()), f.model());
}

TEST(RocksPoison, AFullDeviceDuringAFlushPoisonsAndLosesNothing) {
  FaultyStore f;
  for (int i = 1; i <= 50; ++i) f.write_ok(numbered_batch(i, 2000));
  f.fs().set_space_left(10'000);  // less than the SST the flush writes
  Status s = f.store().flush();
  ASSERT_EQ(s.code(), Code::no_space) << s.to_string();
  Status later = f.store().write(numbered_batch(51), WriteOptions{true});
  EXPECT_EQ(later.code(), Code::poisoned) << later.to_string();
  f.fs().set_space_left(std::nullopt);
  f.power_loss(nullptr);
  EXPECT_EQ(dump(f.store()), f.model()) << "every synced batch survives, the half-written SST is not used";
}

TEST(RocksPoison, AFailedFsyncFailsTheWritePoisonsAndKeepsBatchesWhole) {
  FaultyStore f;
  for (int i = 1; i <= 10; ++i) f.write_ok(numbered_batch(i));
  f.fs().set_fail_syncs(true);
  WriteBatch doomed;
  for (const char* part : {"a", "b", "c"}) doomed.put(Keyspace::state, std::string("doomed/") + part, "x");
  Status s = f.store().write(doomed, WriteOptions{true});
  ASSERT_EQ(s.code(), Code::io_error) << s.to_string();
  EXPECT_NE(s.message().find("simulated fsync failure"), std::string::npos) << s.to_string();
  f.fs().set_fail_syncs(false);
  Status later = f.store().write(numbered_batch(11), WriteOptions{true});
  EXPECT_EQ(later.code(), Code::poisoned) << later.to_string();
  EXPECT_NE(later.message().find("simulated fsync failure"), std::string::npos) << later.to_string();
  EXPECT_EQ(f.store().sync().code(), Code::poisoned);

  // After a power loss the doomed batch was never synced: it is gone, and
  // everything acknowledged is there.
  f.power_loss(nullptr);
  EXPECT_EQ(dump(f.store()), f.model());
  f.write_ok(numbered_batch(11));
}

TEST(RocksPoison, AFailedSyncOfUnsyncedWritesPoisons) {
  FaultyStore f;
  f.write_ok(numbered_batch(1));
  f.write_ok(numbered_batch(2), /*sync=*/false);
  f.fs().set_fail_syncs(true);
  Status s = f.store().sync();
  ASSERT_EQ(s.code(), Code::io_error) << s.to_string();
  f.fs().set_fail_syncs(false);
  EXPECT_EQ(f.store().write(numbered_batch(3), WriteOptions{false}).code(), Code::poisoned);
  EXPECT_EQ(dump(f.store()), f.model()) << "reads still work";
}

// ---------------------------------------------------------------------------
// Power loss through FaultFs: the teeth of the contract's crash test.

TEST(RocksPowerLoss, DropsExactlyTheUnsyncedBatches) {
  FaultyStore f;
  for (int i = 1; i <= 10; ++i) f.write_ok(numbered_batch(i));
  const Dump synced = f.model();
  for (int i = 11; i <= 20; ++i) f.write_ok(numbered_batch(i), /*sync=*/false);
  ASSERT_EQ(dump(f.store()), f.model()) << "reads see unsynced writes";
  f.power_loss(nullptr);
  EXPECT_EQ(dump(f.store()), synced);
}

TEST(RocksPowerLoss, ATornWalKeepsAPrefixOfWholeUnsyncedBatches) {
  constexpr int kUnsynced = 5;
  std::vector<int> kept_histogram(kUnsynced + 1, 0);
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    FaultyStore f;
    for (int i = 1; i <= 3; ++i) f.write_ok(numbered_batch(i));
    std::vector<Dump> states{f.model()};
    for (int i = 4; i < 4 + kUnsynced; ++i) {
      f.write_ok(numbered_batch(i, 300), /*sync=*/false);
      states.push_back(f.model());
    }
    Rng tear(seed);
    f.power_loss(&tear);
    const Dump after = dump(f.store());
    int kept = -1;
    for (int j = 0; j <= kUnsynced; ++j) {
      if (after == states[j]) kept = j;
    }
    ASSERT_GE(kept, 0) << "not the synced state plus a prefix of whole unsynced batches";
    ++kept_histogram[kept];
  }
  EXPECT_GT(kept_histogram[0], 0) << "a tear inside the first unsynced batch never happened";
  int middle = 0;
  for (int j = 1; j < kUnsynced; ++j) middle += kept_histogram[j];
  EXPECT_GT(middle, 0) << "no crash kept part of the unsynced batches";
}

// ---------------------------------------------------------------------------
// Group commit.

char thread_state(pid_t tid) {
  const std::string stat = read_file("/proc/self/task/" + std::to_string(tid) + "/stat");
  const std::size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

// While one synced write waits in its fsync, other writers queue up behind
// it; when it finishes, all of them go out in one WAL write and one fsync.
TEST(RocksGroupCommit, WritersQueuedBehindAnFsyncShareTheNextOne) {
  constexpr int kFollowers = 6;
  FaultyStore f;
  f.write_ok(numbered_batch(1));

  std::mutex mu;
  std::condition_variable cv;
  bool hold = true;
  bool leader_in_fsync = false;
  bool release = false;
  f.fs().set_before_wal_sync([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!hold) return;
    hold = false;
    leader_in_fsync = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  const std::uint64_t fs_syncs_before = f.fs().wal_syncs();
  const std::uint64_t rocks_syncs_before = *f.store().wal_syncs();

  std::thread leader([&] { EXPECT_TRUE(f.store().write(numbered_batch(2), WriteOptions{true}).ok()); });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return leader_in_fsync; }));
  }
  std::atomic<pid_t> tids[kFollowers] = {};
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.emplace_back([&, i] {
      WriteBatch b = numbered_batch(3 + i);
      tids[i].store(static_cast<pid_t>(::syscall(SYS_gettid)));
      EXPECT_TRUE(f.store().write(b, WriteOptions{true}).ok());
    });
  }
  // Every follower is asleep inside RocksDB's write queue (twice in a row,
  // a millisecond apart) before the leader's fsync may finish.
  for (int i = 0; i < kFollowers; ++i) {
    int asleep = 0;
    for (int poll = 0; poll < 30'000 && asleep < 2; ++poll) {
      const pid_t tid = tids[i].load();
      asleep = tid != 0 && thread_state(tid) == 'S' ? asleep + 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(asleep, 2) << "follower " << i << " never queued";
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  leader.join();
  for (auto& t : followers) t.join();

  EXPECT_EQ(f.fs().wal_syncs() - fs_syncs_before, 2u)
      << "1 + " << kFollowers << " synced writes: the leader's fsync, then one for all followers";
  EXPECT_EQ(*f.store().wal_syncs() - rocks_syncs_before, 2u) << "RocksDB's WAL_FILE_SYNCED agrees";
  for (int i = 2; i < 3 + kFollowers; ++i) FaultyStore::apply(f.model(), numbered_batch(i));
  f.power_loss(nullptr);
  // The followers' order within their group is RocksDB's choice, so meta
  // "last" may name any of them; everything else is order-free.
  const Dump after = dump(f.store());
  for (Keyspace space : {Keyspace::raft_log, Keyspace::state}) {
    EXPECT_EQ(after[static_cast<int>(space)], f.model()[static_cast<int>(space)]) << "every grouped write is durable";
  }
  const int last = std::stoi(after[static_cast<int>(Keyspace::meta)].at("last"));
  EXPECT_TRUE(last >= 3 && last < 3 + kFollowers) << last;
}

TEST(RocksGroupCommit, ConcurrentSyncedWritersLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kWritesEach = 100;
  FaultyStore f;
  const std::uint64_t syncs_before = f.fs().wal_syncs();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesEach; ++i) {
        WriteBatch b;
        b.put(Keyspace::state, "t" + std::to_string(t) + "/" + std::to_string(1000 + i), "v");
        b.put(Keyspace::meta, "t" + std::to_string(t), std::to_string(i));
        EXPECT_TRUE(f.store().write(b, WriteOptions{true}).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::uint64_t syncs = f.fs().wal_syncs() - syncs_before;
  std::printf("group commit: %d synced writes from %d threads took %llu WAL fsyncs\n", kThreads * kWritesEach,
              kThreads, static_cast<unsigned long long>(syncs));
  EXPECT_LE(syncs, static_cast<std::uint64_t>(kThreads * kWritesEach));
  f.power_loss(nullptr);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(value_of(f.store(), Keyspace::meta, "t" + std::to_string(t)), std::to_string(kWritesEach - 1));
    auto keys = kv_contract::scan_all(f.store(), Keyspace::state, "t" + std::to_string(t) + "/",
                                      "t" + std::to_string(t) + "0");
    EXPECT_EQ(keys.items.size(), static_cast<std::size_t>(kWritesEach));
  }
}

// ---------------------------------------------------------------------------
// Corruption: flipped bytes are reported, never returned as data.

struct Flipped {
  std::string file;
  std::size_t offset;
};

// Flips one bit at offset.
void flip(const std::string& file, std::size_t offset) {
  std::string content = read_file(file);
  SLUICE_ASSERT(offset < content.size(), "flip past the end");
  content[offset] = static_cast<char>(content[offset] ^ 0x10);
  write_file(file, content);
}

// 400 keys with incompressible 100-byte values in the state keyspace and
// 50 log entries, flushed into SST files.
std::map<std::string, std::string> fill_and_flush(const std::string& dir) {
  std::map<std::string, std::string> written;
  auto store = open_ok(dir);
  Rng rng(7);
  WriteBatch b;
  for (int i = 0; i < 400; ++i) {
    std::string value;
    while (value.size() < 100) put_u64_be(value, rng.next_u64());
    value.resize(100);
    const std::string key = "key/" + std::to_string(10000 + i);
    b.put(Keyspace::state, key, value);
    written[key] = value;
  }
  for (std::uint64_t i = 1; i <= 50; ++i) log_store::append(b, GroupId(1), LogEntry{Term(1), LogIndex(i), std::string(64, 'L')});
  EXPECT_TRUE(store->write(b, WriteOptions{true}).ok());
  EXPECT_TRUE(store->flush().ok());
  return written;
}

// Reads every key one by one and by scan; counts corruption reports and
// fails the test on any value that differs from what was written.
int check_never_wrong(RocksStore& store, const std::map<std::string, std::string>& written,
                      const std::string& context) {
  int corrupt = 0;
  for (const auto& [key, value] : written) {
    auto got = store.get(Keyspace::state, key);
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), Code::corruption) << context << ": " << got.status().to_string();
      ++corrupt;
      continue;
    }
    EXPECT_EQ(*got, std::optional<std::string>(value)) << context << ": wrong data returned for " << key;
  }
  auto it = store.scan(Keyspace::state, "", "");
  std::size_t seen = 0;
  for (; it->valid(); it->next(), ++seen) {
    auto w = written.find(std::string(it->key()));
    EXPECT_TRUE(w != written.end() && w->second == it->value()) << context << ": scan returned wrong data";
  }
  if (!it->status().ok()) {
    EXPECT_EQ(it->status().code(), Code::corruption) << context << ": " << it->status().to_string();
    ++corrupt;
  } else {
    EXPECT_EQ(seen, written.size()) << context << ": a clean scan missed keys";
  }
  auto log = log_store::read(store, GroupId(1), LogIndex(1), LogIndex(51), SIZE_MAX);
  if (!log.ok()) {
    EXPECT_EQ(log.status().code(), Code::corruption) << context << ": " << log.status().to_string();
    ++corrupt;
  } else {
    EXPECT_EQ(log->size(), 50u) << context;
  }
  return corrupt;
}

TEST(RocksCorruption, AFlippedBitInAStoredValueIsCorruption) {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  const auto written = fill_and_flush(dir);
  // Find one value's bytes in the SST files and damage them.
  const std::string& victim_key = written.begin()->first;
  const std::string& victim = written.begin()->second;
  std::string sst;
  std::size_t at = std::string::npos;
  for (const auto& file : files_with_suffix(dir, ".sst")) {
    at = read_file(file).find(victim);
    if (at != std::string::npos) {
      sst = file;
      break;
    }
  }
  ASSERT_NE(at, std::string::npos) << "the value is not stored verbatim in any SST";
  flip(sst, at + 50);

  auto opened = RocksStore::open(dir);
  ASSERT_TRUE(opened.ok()) << "a damaged data block is found on read, not at open: " << opened.status().to_string();
  auto got = (*opened)->get(Keyspace::state, victim_key);
  ASSERT_FALSE(got.ok()) << "returned as data";
  EXPECT_EQ(got.status().code(), Code::corruption) << got.status().to_string();
  EXPECT_NE(got.status().message().find("block checksum mismatch"), std::string::npos) << got.status().to_string();
  EXPECT_GT(check_never_wrong(**opened, written, "flipped value"), 0);
}

// Bits flipped anywhere in an SST file: either the open fails with
// corruption, or every read returns the right data or corruption.
TEST(RocksCorruption, RandomFlipsInSstFilesNeverReturnWrongData) {
  TempDir tmp;
  const std::string pristine = tmp.sub("pristine");
  const auto written = fill_and_flush(pristine);
  Rng rng(11);
  int detected = 0;
  constexpr int kFlips = 24;
  for (int n = 0; n < kFlips; ++n) {
    const std::string dir = tmp.sub("copy" + std::to_string(n));
    fs::copy(pristine, dir, fs::copy_options::recursive);
    const auto ssts = files_with_suffix(dir, ".sst");
    ASSERT_FALSE(ssts.empty());
    // The state keyspace's SST is the biggest: most flips land in data.
    std::string file = ssts[0];
    for (const auto& s : ssts) {
      if (fs::file_size(s) > fs::file_size(file)) file = s;
    }
    const std::size_t offset = uniform_below(rng, fs::file_size(file));
    flip(file, offset);
    const std::string context = "flip at " + std::to_string(offset) + " of " + std::to_string(fs::file_size(file));
    auto opened = RocksStore::open(dir);
    if (!opened.ok()) {
      EXPECT_EQ(opened.status().code(), Code::corruption) << context << ": " << opened.status().to_string();
      ++detected;
    } else if (check_never_wrong(**opened, written, context) > 0) {
      ++detected;
    }
    fs::remove_all(dir);
  }
  std::printf("sst corruption: %d of %d random flips detected, none returned as data\n", detected, kFlips);
  // Data blocks are nearly all of the file; a flip in padding or in a
  // field that does not matter may pass unnoticed, harmlessly.
  EXPECT_GE(detected, kFlips * 3 / 4);
}

// Acknowledged data in the WAL with a flipped bit: the store refuses to
// open rather than silently dropping what follows (a torn tail, by
// contrast, is an incomplete last record and is dropped).
TEST(RocksCorruption, AFlippedBitInTheMiddleOfTheWalRefusesTheOpen) {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  {
    auto store = open_ok(dir);
    for (int i = 1; i <= 40; ++i) ASSERT_TRUE(store->write(numbered_batch(i, 500), WriteOptions{true}).ok());
  }
  const auto wals = files_with_suffix(dir, ".log");
  ASSERT_EQ(wals.size(), 1u);
  const std::size_t size = fs::file_size(wals[0]);
  ASSERT_GT(size, 20'000u);
  flip(wals[0], size / 3);
  Status s = open_error(dir);
  EXPECT_EQ(s.code(), Code::corruption) << s.to_string();
}

// ---------------------------------------------------------------------------
// Checkpoints and snapshots.

TEST(RocksCheckpoint, OpensAsAStoreHoldingTheDataOfThatMoment) {
  TempDir tmp;
  auto store = open_ok(tmp.sub("store"));
  Dump model;
  for (int i = 1; i <= 30; ++i) {
    WriteBatch b = numbered_batch(i);
    ASSERT_TRUE(store->write(b, WriteOptions{i % 2 == 0}).ok());
    FaultyStore::apply(model, b);
  }
  ASSERT_TRUE(store->checkpoint(tmp.sub("checkpoint")).ok());
  put_one(*store, Keyspace::state, "after", "x");

  auto copy = open_ok(tmp.sub("checkpoint"));
  EXPECT_EQ(dump(*copy), model);
  put_one(*copy, Keyspace::state, "in-copy", "y");
  EXPECT_EQ(value_of(*store, Keyspace::state, "in-copy"), std::nullopt) << "the copy is independent";

  Status again = store->checkpoint(tmp.sub("checkpoint"));
  EXPECT_EQ(again.code(), Code::invalid_argument) << again.to_string();
  EXPECT_FALSE(store->poisoned()) << "a caller's mistake is not a device failure";
}

TEST(RocksSnapshot, SnapshotsAndIteratorsOutliveTheStoreAndSurviveFlushes) {
  TempDir tmp;
  auto store = open_ok(tmp.sub("store"));
  put_one(*store, Keyspace::state, "a", "old");
  put_one(*store, Keyspace::state, "b", "old");
  auto snap = store->snapshot();
  ASSERT_TRUE(snap.ok());
  auto live_it = store->scan(Keyspace::state, "", "");
  WriteBatch later;
  later.put(Keyspace::state, "a", "new");
  later.erase_range(Keyspace::state, "", "");
  ASSERT_TRUE(store->write(later, WriteOptions{true}).ok());
  ASSERT_TRUE(store->flush().ok());
  auto snap_it = (*snap)->scan(Keyspace::state, "", "");
  store.reset();

  auto a = (*snap)->get(Keyspace::state, "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "old");
  EXPECT_EQ(kv_contract::scan_snapshot(**snap, Keyspace::state),
            (kv_contract::KeyValues{{"a", "old"}, {"b", "old"}}));
  snap->reset();  // the iterator keeps the snapshot alive on its own
  ASSERT_TRUE(snap_it->valid());
  EXPECT_EQ(snap_it->key(), "a");
  snap_it->next();
  EXPECT_EQ(snap_it->key(), "b");
  ASSERT_TRUE(live_it->valid()) << "an iterator sees the store as it was when created";
  EXPECT_EQ(live_it->value(), "old");
}

}  // namespace
}  // namespace sluice::storage
