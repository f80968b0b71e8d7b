#include "storage/rocks_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "storage/rocks_layout.h"

namespace sluice::storage {

// The open database. Snapshots and iterators share it, so it closes when
// the last of them and the store are gone.
struct RocksStore::Engine {
  std::string dir;
  rocksdb::DB* db = nullptr;
  // [0] is RocksDB's default column family; [1 + keyspace] the keyspaces.
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::shared_ptr<rocksdb::Statistics> statistics;

  rocksdb::ColumnFamilyHandle* cf(Keyspace space) const {
    return handles[1 + static_cast<std::size_t>(space)];
  }

  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine() {
    if (db == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      // Only fails for a handle of another database: a bug.
      SLUICE_ASSERT(db->DestroyColumnFamilyHandle(h).ok(), "destroying a column family handle");
    }
    // Everything acknowledged is in the WAL or in synced SSTs already, so
    // an error while closing loses nothing that was promised; the next
    // open recovers from the files.
    db->Close().PermitUncheckedError();
    delete db;
  }
};

namespace {

namespace fs = std::filesystem;

constexpr std::array<Keyspace, kKeyspaceCount> kSpaces = {Keyspace::meta, Keyspace::raft_log,
                                                          Keyspace::raft_state, Keyspace::state};

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

rocksdb::ColumnFamilyOptions column_family_options(const RocksOptions& options) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  cf.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions table;
  // Point reads of state keys skip SSTs that cannot hold the key.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.checksum = rocksdb::kCRC32c;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

rocksdb::DBOptions db_options(const RocksOptions& options,
                              const std::shared_ptr<rocksdb::Statistics>& statistics) {
  rocksdb::DBOptions db;
  if (options.env != nullptr) db.env = options.env;
  db.statistics = statistics;
  db.paranoid_checks = true;
  // A torn last record (a crash mid-write) is dropped; any other bad
  // record refuses the open instead of silently cutting the log short,
  // which could forget an acknowledged vote or entry.
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // track_and_verify_wals_in_manifest stays off (RocksDB's default): in the
  // 7.x line it has reported size mismatches that were not there
  // (facebook/rocksdb#10185, #12467) and missed a deleted WAL (#10080). A
  // false corruption would keep a healthy node from starting; WAL record
  // checksums and the recovery mode above are the protection we rely on.
  db.max_background_jobs = 2;
  db.keep_log_file_num = 4;
  db.max_log_file_size = 8u << 20;
  return db;
}

std::vector<rocksdb::ColumnFamilyDescriptor> descriptors(const RocksOptions& options) {
  std::vector<rocksdb::ColumnFamilyDescriptor> out;
  out.emplace_back(rocksdb::kDefaultColumnFamilyName, column_family_options(options));
  for (std::string_view name : layout::kColumnFamilies) {
    out.emplace_back(std::string(name), column_family_options(options));
  }
  return out;
}

// The state of a directory we are asked to open.
enum class DirKind { absent_or_empty, has_store_files };

Result<DirKind> inspect(const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status(Code::io_error, "cannot inspect " + dir + ": " + ec.message());
  }
  if (!fs::exists(st)) return DirKind::absent_or_empty;
  if (!fs::is_directory(st)) {
    return Status(Code::invalid_argument, dir + " exists and is not a directory");
  }
  std::vector<std::string> names;
  bool has_current = false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "lost+found") continue;  // a fresh filesystem's root, e.g. a volume
    has_current = has_current || name == "CURRENT";
    names.push_back(name);
  }
  if (ec) return Status(Code::io_error, "cannot list " + dir + ": " + ec.message());
  if (names.empty()) return DirKind::absent_or_empty;
  if (!has_current) {
    std::sort(names.begin(), names.end());
    std::string sample;
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) sample += (i ? ", '" : "'") + names[i] + "'";
    return Status(Code::invalid_argument,
                  dir + " is not a Sluice store: it holds " + std::to_string(names.size()) +
                      " other entries (" + sample + (names.size() > 3 ? ", ..." : "") +
                      ") and no RocksDB CURRENT file; refusing to create a store among them");
  }
  return DirKind::has_store_files;
}

// Logs nothing. For looking into a directory that may not be ours: RocksDB
// would otherwise create or rotate its LOG file there.
class SilentLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// Whether every listed column family is empty, read without writing a byte
// (read-only open, no info log).
Result<bool> all_empty_read_only(const std::string& dir, rocksdb::DBOptions db,
                                 const std::vector<std::string>& names) {
  db.info_log = std::make_shared<SilentLogger>();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& name : names) cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db, dir, cfs, &handles, &raw);
  if (!s.ok()) return from_rocks(s, "reading " + dir);
  std::unique_ptr<rocksdb::DB> ro(raw);
  Result<bool> empty = true;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    std::unique_ptr<rocksdb::Iterator> it(ro->NewIterator(rocksdb::ReadOptions(), h));
    it->SeekToFirst();
    if (!it->status().ok()) {
      empty = from_rocks(it->status(), "reading " + dir);
    } else if (empty.ok() && it->Valid()) {
      empty = false;
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) ro->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  return empty;
}

// Checks that an existing RocksDB database is a Sluice store before opening
// it for writing, so that a foreign database is never modified. One with
// only some of Sluice's column families, all of them empty, is a creation
// that died before RocksDB had made the rest (RocksDB creates a database
// with its default column family first): *finish_creation is set.
Status check_column_families(const std::string& dir, const rocksdb::DBOptions& db, bool* finish_creation) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db, dir, &names);
  if (!s.ok()) return from_rocks(s, "reading the column families of " + dir);
  std::vector<std::string> expected = {rocksdb::kDefaultColumnFamilyName};
  for (std::string_view name : layout::kColumnFamilies) expected.emplace_back(name);
  std::sort(names.begin(), names.end());
  std::sort(expected.begin(), expected.end());
  if (names == expected) return {};
  if (std::includes(expected.begin(), expected.end(), names.begin(), names.end())) {
    auto empty = all_empty_read_only(dir, db, names);
    if (!empty.ok()) return empty.status();
    if (*empty) {
      *finish_creation = true;
      return {};
    }
  }
  std::string listed;
  for (const auto& n : names) listed += (listed.empty() ? "" : ", ") + n;
  return Status(Code::invalid_argument, dir +
                                            " holds a RocksDB database that is not a Sluice store "
                                            "(column families: " + listed + ")");
}

Result<std::shared_ptr<RocksStore::Engine>> open_engine(const std::string& dir,
                                                        const RocksOptions& options, bool create) {
  auto engine = std::make_shared<RocksStore::Engine>();
  engine->dir = dir;
  if (options.statistics) engine->statistics = rocksdb::CreateDBStatistics();
  rocksdb::DBOptions db = db_options(options, engine->statistics);
  if (create) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status(Code::io_error, "cannot create " + dir + ": " + ec.message());
    db.create_if_missing = true;
    db.create_missing_column_families = true;
    db.error_if_exists = true;
  } else {
    bool finish_creation = false;
    if (Status s = check_column_families(dir, db, &finish_creation); !s.ok()) return s;
    db.create_missing_column_families = finish_creation;
  }
  rocksdb::Status s = rocksdb::DB::Open(db, dir, descriptors(options), &engine->handles, &engine->db);
  if (!s.ok()) return from_rocks(s, "opening " + dir);
  SLUICE_ASSERT(engine->handles.size() == 1 + kKeyspaceCount, "one handle per column family");
  return engine;
}

Status write_format_version(RocksStore::Engine& engine) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = engine.db->Put(wo, engine.cf(Keyspace::meta), layout::format_version_key(),
                                     std::to_string(layout::kFormatVersion));
  if (!s.ok()) return from_rocks(s, "writing the format version in " + engine.dir);
  return {};
}

bool every_keyspace_empty(RocksStore::Engine& engine, Status& error) {
  for (Keyspace space : kSpaces) {
    std::unique_ptr<rocksdb::Iterator> it(engine.db->NewIterator(rocksdb::ReadOptions(), engine.cf(space)));
    it->SeekToFirst();
    if (!it->status().ok()) {
      error = from_rocks(it->status(), "reading " + engine.dir);
      return false;
    }
    if (it->Valid()) return false;
  }
  return true;
}

Status check_format_version(RocksStore::Engine& engine) {
  std::string value;
  rocksdb::Status s = engine.db->Get(rocksdb::ReadOptions(), engine.cf(Keyspace::meta),
                                     layout::format_version_key(), &value);
  if (s.IsNotFound()) {
    Status error;
    if (every_keyspace_empty(engine, error)) {
      // The process died between creating the database and writing the
      // version: nothing was ever stored, so finishing is safe.
      return write_format_version(engine);
    }
    if (!error.ok()) return error;
    return Status(Code::corruption, engine.dir + " holds Sluice column families with data but no "
                                                 "format version record");
  }
  if (!s.ok()) return from_rocks(s, "reading the format version of " + engine.dir);
  const std::string expected = std::to_string(layout::kFormatVersion);
  if (value != expected) {
    return Status(Code::version_mismatch, engine.dir + " holds a Sluice store of format version '" +
                                              value + "'; this build reads version " + expected +
                                              " only");
  }
  return {};
}

// Iterates [begin, end) of one keyspace, optionally at a snapshot. Holds
// what the RocksDB iterator depends on: the engine, the snapshot and the
// bound keys (RocksDB keeps pointers to them).
class RocksIterator final : public KvIterator {
 public:
  RocksIterator(std::shared_ptr<RocksStore::Engine> engine, std::shared_ptr<const void> snapshot_hold,
                const rocksdb::Snapshot* snapshot, Keyspace space, std::string_view begin,
                std::string_view end)
      : engine_(std::move(engine)),
        snapshot_hold_(std::move(snapshot_hold)),
        lower_(layout::user_key(begin)),
        upper_(end.empty() ? std::string(layout::kUserEnd) : layout::user_key(end)),
        lower_slice_(lower_),
        upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    ro.verify_checksums = true;
    ro.snapshot = snapshot;
    ro.iterate_lower_bound = &lower_slice_;
    ro.iterate_upper_bound = &upper_slice_;
    it_.reset(engine_->db->NewIterator(ro, engine_->cf(space)));
    it_->Seek(lower_slice_);
  }

  bool valid() const override { return it_->Valid(); }
  void next() override {
    SLUICE_ASSERT(it_->Valid(), "next() on an iterator that is not valid");
    it_->Next();
  }
  std::string_view key() const override {
    const rocksdb::Slice k = it_->key();
    SLUICE_ASSERT(k.size() >= 1 && k[0] == layout::kUserTag, "a scan reached a key outside the user range");
    return std::string_view(k.data() + 1, k.size() - 1);
  }
  std::string_view value() const override {
    const rocksdb::Slice v = it_->value();
    return std::string_view(v.data(), v.size());
  }
  Status status() const override {
    if (it_->status().ok()) return {};
    return from_rocks(it_->status(), "scanning");
  }

  // The greatest key in the bounds, for last_key().
  void seek_to_last() { it_->SeekToLast(); }

 private:
  // Declaration order is destruction order reversed: the RocksDB iterator
  // goes first, the engine last.
  std::shared_ptr<RocksStore::Engine> engine_;
  std::shared_ptr<const void> snapshot_hold_;
  std::string lower_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

Result<std::optional<std::string>> get_at(const RocksStore::Engine& engine, const rocksdb::Snapshot* snapshot,
                                          Keyspace space, std::string_view key) {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.snapshot = snapshot;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = engine.db->Get(ro, engine.cf(space), layout::user_key(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_rocks(s, std::string("reading ") + keyspace_name(space));
  return std::optional<std::string>(value.ToString());
}

// A RocksDB snapshot, released when the last user (the KvSnapshot or one of
// its iterators) lets go.
struct SnapshotHold {
  std::shared_ptr<RocksStore::Engine> engine;
  const rocksdb::Snapshot* snapshot;
  SnapshotHold(std::shared_ptr<RocksStore::Engine> e, const rocksdb::Snapshot* s)
      : engine(std::move(e)), snapshot(s) {}
  SnapshotHold(const SnapshotHold&) = delete;
  SnapshotHold& operator=(const SnapshotHold&) = delete;
  ~SnapshotHold() { engine->db->ReleaseSnapshot(snapshot); }
};

class RocksSnapshot final : public KvSnapshot {
 public:
  explicit RocksSnapshot(std::shared_ptr<const SnapshotHold> hold) : hold_(std::move(hold)) {}
  Result<std::optional<std::string>> get(Keyspace space, std::string_view key) const override {
    return get_at(*hold_->engine, hold_->snapshot, space, key);
  }
  std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin,
                                   std::string_view end) const override {
    return std::make_unique<RocksIterator>(hold_->engine, hold_, hold_->snapshot, space, begin, end);
  }

 private:
  std::shared_ptr<const SnapshotHold> hold_;
};

// Translates a WriteBatch. Fails only for a key or value RocksDB cannot
// hold (over 4 GiB): the caller's error, nothing written.
Status translate(const RocksStore::Engine& engine, const WriteBatch& batch, rocksdb::WriteBatch& out) {
  for (const WriteOp& op : batch.ops()) {
    rocksdb::ColumnFamilyHandle* cf = engine.cf(op.space);
    const std::string key = layout::user_key(op.key);
    rocksdb::Status s;
    switch (op.kind) {
      case WriteOp::Kind::put:
        s = out.Put(cf, key, slice(op.value));
        break;
      case WriteOp::Kind::erase:
        s = out.Delete(cf, key);
        break;
      case WriteOp::Kind::erase_range:
        if (op.value.empty()) {
          s = out.DeleteRange(cf, key, slice(layout::kUserEnd));
        } else if (op.key < op.value) {
          s = out.DeleteRange(cf, key, layout::user_key(op.value));
        }
        // else: an empty range erases nothing (RocksDB would reject it).
        break;
    }
    if (!s.ok()) return from_rocks(s, "building a write batch");
  }
  return {};
}

bool is_device_failure(Code code) {
  return code == Code::io_error || code == Code::no_space || code == Code::corruption;
}

}  // namespace

Status from_rocks(const rocksdb::Status& status, std::string_view context) {
  SLUICE_ASSERT(!status.ok(), "from_rocks of an ok status");
  const std::string message = std::string(context) + ": " + status.ToString();
  if (status.IsCorruption()) return Status(Code::corruption, message);
  if (status.IsNoSpace()) return Status(Code::no_space, message);
  if (status.IsIOError()) return Status(Code::io_error, message);
  if (status.IsNotFound()) return Status(Code::not_found, message);
  if (status.IsInvalidArgument() || status.IsNotSupported()) return Status(Code::invalid_argument, message);
  if (status.IsTimedOut()) return Status(Code::timeout, message);
  if (status.IsBusy() || status.IsTryAgain() || status.IsIncomplete() || status.IsAborted() ||
      status.IsShutdownInProgress()) {
    return Status(Code::unavailable, message);
  }
  return Status(Code::io_error, message);
}

Result<std::unique_ptr<RocksStore>> RocksStore::open(const std::string& dir, const RocksOptions& options) {
  auto kind = inspect(dir);
  if (!kind.ok()) return kind.status();
  const bool create = *kind == DirKind::absent_or_empty;
  auto engine = open_engine(dir, options, create);
  if (!engine.ok()) return engine.status();
  Status s = create ? write_format_version(**engine) : check_format_version(**engine);
  if (!s.ok()) return s;
  return std::unique_ptr<RocksStore>(new RocksStore(std::move(engine).value()));
}

RocksStore::RocksStore(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {}

RocksStore::~RocksStore() = default;

const std::string& RocksStore::dir() const { return engine_->dir; }

Status RocksStore::poison_cause() const {
  std::lock_guard<std::mutex> lock(poison_mu_);
  return poison_cause_;
}

Status RocksStore::refuse_if_poisoned() const {
  if (!poisoned()) return {};
  return Status(Code::poisoned, "store " + engine_->dir +
                                    " refuses writes after an earlier failure: " +
                                    poison_cause().to_string());
}

void RocksStore::poison(const Status& cause) {
  SLUICE_ASSERT(!cause.ok(), "poisoned by an ok status");
  std::lock_guard<std::mutex> lock(poison_mu_);
  if (poison_cause_.ok()) poison_cause_ = cause;
  poisoned_.store(true, std::memory_order_release);
}

Status RocksStore::write(const WriteBatch& batch, WriteOptions options) {
  if (Status s = refuse_if_poisoned(); !s.ok()) return s;
  rocksdb::WriteBatch rocks_batch;
  if (Status s = translate(*engine_, batch, rocks_batch); !s.ok()) return s;
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  rocksdb::Status s = engine_->db->Write(wo, &rocks_batch);
  if (s.ok()) return {};
  // The WAL may now hold part of a record, or all of it unsynced: only a
  // restart's recovery knows what is on the device.
  Status failed = from_rocks(s, "write to " + engine_->dir);
  poison(failed);
  return failed;
}

Status RocksStore::sync() {
  if (Status s = refuse_if_poisoned(); !s.ok()) return s;
  rocksdb::Status s = engine_->db->SyncWAL();
  if (s.ok()) return {};
  Status failed = from_rocks(s, "syncing the WAL of " + engine_->dir);
  poison(failed);
  return failed;
}

Result<std::optional<std::string>> RocksStore::get(Keyspace space, std::string_view key) {
  return get_at(*engine_, nullptr, space, key);
}

std::unique_ptr<KvIterator> RocksStore::scan(Keyspace space, std::string_view begin, std::string_view end) {
  return std::make_unique<RocksIterator>(engine_, nullptr, nullptr, space, begin, end);
}

Result<std::optional<std::string>> RocksStore::last_key(Keyspace space, std::string_view begin,
                                                        std::string_view end) {
  // SeekToLast honours both bounds: the greatest key < end and >= begin.
  RocksIterator it(engine_, nullptr, nullptr, space, begin, end);
  it.seek_to_last();
  if (!it.valid()) {
    if (Status s = it.status(); !s.ok()) return s;
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::string(it.key()));
}

Result<std::unique_ptr<KvSnapshot>> RocksStore::snapshot() {
  const rocksdb::Snapshot* snap = engine_->db->GetSnapshot();
  SLUICE_ASSERT(snap != nullptr, "RocksDB gives snapshots unless inplace updates are on");
  auto hold = std::make_shared<const SnapshotHold>(engine_, snap);
  return std::unique_ptr<KvSnapshot>(std::make_unique<RocksSnapshot>(std::move(hold)));
}

Status RocksStore::checkpoint(const std::string& dir) {
  if (Status s = refuse_if_poisoned(); !s.ok()) return s;
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(engine_->db, &raw);
  if (!s.ok()) return from_rocks(s, "preparing a checkpoint of " + engine_->dir);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: always flush first, so the copy needs no WAL.
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (s.ok()) return {};
  Status failed = from_rocks(s, "checkpoint of " + engine_->dir + " into " + dir);
  // A full or failing device broke the flush of our own memtables.
  if (is_device_failure(failed.code())) poison(failed);
  return failed;
}

Status RocksStore::flush() {
  if (Status s = refuse_if_poisoned(); !s.ok()) return s;
  rocksdb::FlushOptions fo;
  fo.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(engine_->handles.begin() + 1, engine_->handles.end());
  rocksdb::Status s = engine_->db->Flush(fo, cfs);
  if (s.ok()) return {};
  Status failed = from_rocks(s, "flushing " + engine_->dir);
  poison(failed);
  return failed;
}

std::optional<std::uint64_t> RocksStore::wal_syncs() const {
  if (!engine_->statistics) return std::nullopt;
  return engine_->statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED);
}

}  // namespace sluice::storage
