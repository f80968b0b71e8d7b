#include "tests/storage/fault_fs.h"

#include <filesystem>
#include <system_error>
#include <utility>

namespace sluice::testing {
namespace {

bool is_wal(const std::string& fname) {
  return fname.size() > 4 && fname.compare(fname.size() - 4, 4, ".log") == 0;
}

// Tracks what is appended and synced through one open file.
class FaultFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultFile(std::unique_ptr<rocksdb::FSWritableFile> target, FaultFs* fs, std::string fname,
            std::uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), fname_(std::move(fname)), size_(size) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& opts,
                           rocksdb::IODebugContext* dbg) override {
    std::uint64_t allowed = 0;
    rocksdb::IOStatus admitted = fs_->admit_append(data.size(), &allowed);
    if (allowed > 0) {
      rocksdb::IOStatus s = target()->Append(rocksdb::Slice(data.data(), allowed), opts, dbg);
      if (!s.ok()) return s;
      size_ += allowed;
      fs_->appended(fname_, size_);
    }
    return admitted;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& opts,
                           const rocksdb::DataVerificationInfo& /*info*/,
                           rocksdb::IODebugContext* dbg) override {
    return Append(data, opts, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, std::uint64_t, const rocksdb::IOOptions&,
                                     rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("FaultFs: positioned appends (direct IO) are not modelled");
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, std::uint64_t, const rocksdb::IOOptions&,
                                     const rocksdb::DataVerificationInfo&,
                                     rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("FaultFs: positioned appends (direct IO) are not modelled");
  }
  rocksdb::IOStatus Truncate(std::uint64_t size, const rocksdb::IOOptions& opts,
                             rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->Truncate(size, opts, dbg);
    if (s.ok()) {
      size_ = size;
      fs_->appended(fname_, size_);
    }
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->before_sync(fname_);
    if (!s.ok()) return s;
    s = target()->Sync(opts, dbg);
    if (s.ok()) fs_->synced(fname_, size_);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->before_sync(fname_);
    if (!s.ok()) return s;
    s = target()->Fsync(opts, dbg);
    if (s.ok()) fs_->synced(fname_, size_);
    return s;
  }

 private:
  FaultFs* fs_;
  std::string fname_;
  std::uint64_t size_;
};

}  // namespace

FaultFs::FaultFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

std::unique_ptr<rocksdb::Env> FaultFs::make_env(const std::shared_ptr<FaultFs>& fs) {
  return rocksdb::NewCompositeEnv(fs);
}

void FaultFs::set_space_left(std::optional<std::uint64_t> bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_left_ = bytes;
}

void FaultFs::set_fail_syncs(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_syncs_ = fail;
}

void FaultFs::set_before_wal_sync(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  before_wal_sync_ = std::move(hook);
}

std::uint64_t FaultFs::wal_syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wal_syncs_;
}

void FaultFs::begin_power_loss() {
  std::lock_guard<std::mutex> lock(mu_);
  powered_off_ = true;
}

Status FaultFs::finish_power_loss(Rng* tear_rng) {
  std::lock_guard<std::mutex> lock(mu_);
  SLUICE_ASSERT(powered_off_, "finish_power_loss without begin_power_loss");
  Status result;
  for (const auto& [name, tracked] : files_) {
    std::error_code ec;
    const std::uint64_t on_disk = std::filesystem::file_size(name, ec);
    if (ec) continue;  // deleted since
    std::uint64_t keep = tracked.synced;
    if (tear_rng != nullptr && is_wal(name) && tracked.size > tracked.synced) {
      keep += uniform_below(*tear_rng, tracked.size - tracked.synced + 1);
    }
    if (on_disk > keep) {
      std::filesystem::resize_file(name, keep, ec);
      if (ec && result.ok()) result = Status(Code::io_error, "cutting " + name + ": " + ec.message());
    }
  }
  files_.clear();
  powered_off_ = false;
  return result;
}

rocksdb::IOStatus FaultFs::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                                           rocksdb::IODebugContext* dbg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (powered_off_) return rocksdb::IOStatus::IOError("FaultFs: simulated power loss");
  }
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOStatus s = target()->NewWritableFile(fname, opts, &file, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_[fname] = Tracked{};
  }
  *result = std::make_unique<FaultFile>(std::move(file), this, fname, 0);
  return s;
}

rocksdb::IOStatus FaultFs::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                                              rocksdb::IODebugContext* dbg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (powered_off_) return rocksdb::IOStatus::IOError("FaultFs: simulated power loss");
  }
  std::uint64_t size = 0;
  rocksdb::IOStatus s = target()->GetFileSize(fname, rocksdb::IOOptions(), &size, dbg);
  if (!s.ok() && !s.IsNotFound() && !s.IsPathNotFound()) return s;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  s = target()->ReopenWritableFile(fname, opts, &file, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // What was there before is taken as durable: it was not written by us.
    if (!files_.count(fname)) files_[fname] = Tracked{size, size};
  }
  *result = std::make_unique<FaultFile>(std::move(file), this, fname, size);
  return s;
}

rocksdb::IOStatus FaultFs::ReuseWritableFile(const std::string&, const std::string&,
                                             const rocksdb::FileOptions&,
                                             std::unique_ptr<rocksdb::FSWritableFile>*,
                                             rocksdb::IODebugContext*) {
  return rocksdb::IOStatus::NotSupported("FaultFs: WAL recycling is not modelled");
}

rocksdb::IOStatus FaultFs::RenameFile(const std::string& src, const std::string& target_name,
                                      const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (powered_off_) return rocksdb::IOStatus::IOError("FaultFs: simulated power loss");
  }
  rocksdb::IOStatus s = target()->RenameFile(src, target_name, opts, dbg);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(src);
  if (it != files_.end()) {
    files_[target_name] = it->second;
    files_.erase(src);
  } else {
    files_.erase(target_name);
  }
  return s;
}

rocksdb::IOStatus FaultFs::DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                                      rocksdb::IODebugContext* dbg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (powered_off_) return rocksdb::IOStatus::IOError("FaultFs: simulated power loss");
  }
  rocksdb::IOStatus s = target()->DeleteFile(fname, opts, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(fname);
  }
  return s;
}

rocksdb::IOStatus FaultFs::admit_append(std::uint64_t n, std::uint64_t* allowed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (powered_off_) {
    *allowed = 0;
    return rocksdb::IOStatus::IOError("FaultFs: simulated power loss");
  }
  if (!space_left_.has_value() || *space_left_ >= n) {
    *allowed = n;
    if (space_left_.has_value()) *space_left_ -= n;
    return rocksdb::IOStatus::OK();
  }
  *allowed = *space_left_;
  *space_left_ = 0;
  return rocksdb::IOStatus::NoSpace("FaultFs: simulated full device");
}

void FaultFs::appended(const std::string& fname, std::uint64_t new_size) {
  std::lock_guard<std::mutex> lock(mu_);
  Tracked& t = files_[fname];
  t.size = new_size;
  if (t.synced > new_size) t.synced = new_size;
}

rocksdb::IOStatus FaultFs::before_sync(const std::string& fname) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (powered_off_) return rocksdb::IOStatus::IOError("FaultFs: simulated power loss");
    if (fail_syncs_) return rocksdb::IOStatus::IOError("FaultFs: simulated fsync failure on " + fname);
    if (!is_wal(fname)) return rocksdb::IOStatus::OK();
    ++wal_syncs_;
    hook = before_wal_sync_;
  }
  if (hook) hook();
  return rocksdb::IOStatus::OK();
}

void FaultFs::synced(const std::string& fname, std::uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(fname);
  if (it != files_.end()) it->second.synced = size;
}

}  // namespace sluice::testing
