#include "sim/disk.h"

#include "core/common/bytes.h"
#include "core/common/crc32c.h"

namespace sluice::sim {
namespace {

// Iterates a copy of the matching range: simple, and a consistent view.
class VectorIterator final : public KvIterator {
 public:
  struct Item {
    std::string key;
    std::string value;
    Status status;  // non-ok: this item is corrupt and iteration stops here
  };
  explicit VectorIterator(std::vector<Item> items) : items_(std::move(items)) { settle(); }
  bool valid() const override { return pos_ < items_.size() && status_.ok(); }
  void next() override {
    ++pos_;
    settle();
  }
  std::string_view key() const override { return items_[pos_].key; }
  std::string_view value() const override { return items_[pos_].value; }
  Status status() const override { return status_; }

 private:
  void settle() {
    if (pos_ < items_.size() && !items_[pos_].status.ok()) status_ = items_[pos_].status;
  }
  std::vector<Item> items_;
  std::size_t pos_ = 0;
  Status status_;
};

auto range_begin(const std::map<std::string, SimDisk::Stored, std::less<>>& m, std::string_view begin) {
  return m.lower_bound(begin);
}
bool before_end(const std::string& key, std::string_view end) { return end.empty() || key < end; }

std::vector<VectorIterator::Item> collect(const SimDisk::Image& image, Keyspace space,
                                          std::string_view begin, std::string_view end) {
  std::vector<VectorIterator::Item> items;
  const auto& m = image[static_cast<int>(space)];
  for (auto it = range_begin(m, begin); it != m.end() && before_end(it->first, end); ++it) {
    Status status;
    if (crc32c(it->second.value) != it->second.crc) {
      status = Status(Code::corruption, "checksum mismatch in " + std::string(keyspace_name(space)));
    }
    items.push_back({it->first, it->second.value, status});
  }
  return items;
}

class ImageSnapshot final : public KvSnapshot {
 public:
  explicit ImageSnapshot(SimDisk::Image image) : image_(std::move(image)) {}
  Result<std::optional<std::string>> get(Keyspace space, std::string_view key) const override {
    const auto& m = image_[static_cast<int>(space)];
    auto it = m.find(key);
    if (it == m.end()) return std::optional<std::string>();
    if (crc32c(it->second.value) != it->second.crc) return Status(Code::corruption, "checksum mismatch");
    return std::optional<std::string>(it->second.value);
  }
  std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin,
                                   std::string_view end) const override {
    return std::make_unique<VectorIterator>(collect(image_, space, begin, end));
  }

 private:
  SimDisk::Image image_;
};

}  // namespace

void SimDisk::apply(Image& image, const WriteBatch& batch) {
  for (const WriteOp& op : batch.ops()) {
    auto& m = image[static_cast<int>(op.space)];
    switch (op.kind) {
      case WriteOp::Kind::put:
        m.insert_or_assign(op.key, Stored{op.value, crc32c(op.value)});
        break;
      case WriteOp::Kind::erase:
        if (auto it = m.find(op.key); it != m.end()) m.erase(it);
        break;
      case WriteOp::Kind::erase_range: {
        auto first = m.lower_bound(op.key);
        auto last = op.value.empty() ? m.end() : m.lower_bound(op.value);
        if (op.value.empty() || op.key < op.value) m.erase(first, last);
        break;
      }
    }
  }
}

Status SimDisk::check(Keyspace space, const Stored& stored) {
  if (crc32c(stored.value) == stored.crc) return {};
  ++stats_.corruptions_detected;
  CODE_PROBE(hooks_, true, sim_corruption_detected);
  return Status(Code::corruption, "checksum mismatch in " + std::string(keyspace_name(space)));
}

Status SimDisk::refuse_if_poisoned() const {
  if (poison_.ok()) return {};
  return Status(Code::poisoned, "simulated disk refuses writes after an earlier failure: " + poison_.to_string());
}

Status SimDisk::fail(Status failure) {
  SLUICE_ASSERT(!failure.ok(), "poisoned by an ok status");
  if (poison_.ok()) poison_ = failure;
  return failure;
}

Status SimDisk::write(const WriteBatch& batch, WriteOptions options) {
  if (Status s = refuse_if_poisoned(); !s.ok()) return s;
  if (faults_.full) {
    CODE_PROBE(hooks_, true, sim_disk_full_rejected_write);
    return fail(Status(Code::no_space, "simulated disk is full"));
  }
  if (chance(rng_, faults_.write_error)) {
    ++stats_.io_errors;
    CODE_PROBE(hooks_, true, sim_io_error_injected);
    return fail(Status(Code::io_error, "simulated write error"));
  }
  ++stats_.writes;
  apply(visible_, batch);
  unsynced_.push_back(batch);
  return options.sync ? sync() : Status();
}

Status SimDisk::sync() {
  if (Status s = refuse_if_poisoned(); !s.ok()) return s;
  if (chance(rng_, faults_.sync_error)) {
    ++stats_.io_errors;
    CODE_PROBE(hooks_, true, sim_io_error_injected);
    return fail(Status(Code::io_error, "simulated fsync error"));
  }
  ++stats_.syncs;
  for (const WriteBatch& batch : unsynced_) apply(durable_, batch);
  unsynced_.clear();
  return {};
}

Result<std::optional<std::string>> SimDisk::get(Keyspace space, std::string_view key) {
  if (chance(rng_, faults_.read_error)) {
    ++stats_.io_errors;
    CODE_PROBE(hooks_, true, sim_io_error_injected);
    return Status(Code::io_error, "simulated read error");
  }
  const auto& m = visible_[static_cast<int>(space)];
  auto it = m.find(key);
  if (it == m.end()) return std::optional<std::string>();
  if (Status s = check(space, it->second); !s.ok()) return s;
  return std::optional<std::string>(it->second.value);
}

std::unique_ptr<KvIterator> SimDisk::scan(Keyspace space, std::string_view begin,
                                          std::string_view end) {
  if (chance(rng_, faults_.read_error)) {
    ++stats_.io_errors;
    CODE_PROBE(hooks_, true, sim_io_error_injected);
    return std::make_unique<VectorIterator>(std::vector<VectorIterator::Item>{
        {"", "", Status(Code::io_error, "simulated read error")}});
  }
  auto items = collect(visible_, space, begin, end);
  for (const auto& item : items) {
    if (!item.status.ok()) {
      ++stats_.corruptions_detected;
      CODE_PROBE(hooks_, true, sim_corruption_detected);
      break;
    }
  }
  return std::make_unique<VectorIterator>(std::move(items));
}

Result<std::optional<std::string>> SimDisk::last_key(Keyspace space, std::string_view begin,
                                                     std::string_view end) {
  const auto& m = visible_[static_cast<int>(space)];
  auto it = end.empty() ? m.end() : m.lower_bound(end);
  if (it == m.begin()) return std::optional<std::string>();
  --it;
  if (it->first < begin) return std::optional<std::string>();
  return std::optional<std::string>(it->first);
}

Result<std::unique_ptr<KvSnapshot>> SimDisk::snapshot() {
  return std::unique_ptr<KvSnapshot>(std::make_unique<ImageSnapshot>(visible_));
}

void SimDisk::crash() {
  ++stats_.crashes;
  std::size_t keep = 0;
  if (faults_.unsynced_may_survive && !unsynced_.empty()) {
    keep = uniform_below(rng_, unsynced_.size() + 1);
  }
  for (std::size_t i = 0; i < keep; ++i) apply(durable_, unsynced_[i]);
  stats_.unsynced_survived += keep;
  CODE_PROBE(hooks_, keep > 0, sim_unsynced_survived_crash);
  if (keep < unsynced_.size()) {
    stats_.unsynced_lost += unsynced_.size() - keep;
    CODE_PROBE(hooks_, true, sim_crash_lost_unsynced);
    if (faults_.unsynced_may_survive) {
      // The first lost batch was half written: its record is on the device
      // but cut short. Recovery must refuse it.
      const std::string record = encode_batch_record(unsynced_[keep]);
      const std::size_t cut = uniform_below(rng_, record.size());
      auto decoded = decode_batch_record(std::string_view(record).substr(0, cut));
      SLUICE_ASSERT(!decoded.ok(), "a torn batch record decoded as valid");
      ++stats_.torn_discarded;
      CODE_PROBE(hooks_, true, sim_torn_write_discarded);
    }
  }
  unsynced_.clear();
  visible_ = durable_;
  poison_ = {};  // the restarted process opens the store afresh
}

void SimDisk::wipe() {
  for (auto& m : visible_) m.clear();
  for (auto& m : durable_) m.clear();
  unsynced_.clear();
  poison_ = {};
}

std::size_t SimDisk::durable_keys() const {
  std::size_t n = 0;
  for (const auto& m : durable_) n += m.size();
  return n;
}

bool SimDisk::corrupt() {
  const std::size_t total = durable_keys();
  if (total == 0) return false;
  std::size_t target = uniform_below(rng_, total);
  for (int space = 0; space < kKeyspaceCount; ++space) {
    auto& m = durable_[space];
    if (target >= m.size()) {
      target -= m.size();
      continue;
    }
    auto it = m.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(target));
    // The page cache holds the same damaged block, unless a newer unsynced
    // write replaced the value there.
    auto cached = visible_[space].find(it->first);
    const bool cache_matches = cached != visible_[space].end() &&
                               cached->second.value == it->second.value &&
                               cached->second.crc == it->second.crc;
    std::string& value = it->second.value;
    if (value.empty()) {
      it->second.crc ^= 1;  // nothing to flip: damage the stored checksum instead
    } else {
      const std::size_t bit = uniform_below(rng_, value.size() * 8);
      value[bit / 8] = static_cast<char>(value[bit / 8] ^ (1 << (bit % 8)));
    }
    if (cache_matches) cached->second = it->second;
    ++stats_.corruptions_injected;
    return true;
  }
  SLUICE_ASSERT(false, "corrupt(): target index past the end");
  return false;
}

std::string encode_batch_record(const WriteBatch& batch) {
  std::string body;
  put_u32_be(body, static_cast<std::uint32_t>(batch.ops().size()));
  for (const WriteOp& op : batch.ops()) {
    body.push_back(static_cast<char>(op.kind));
    body.push_back(static_cast<char>(op.space));
    put_u32_be(body, static_cast<std::uint32_t>(op.key.size()));
    body += op.key;
    put_u32_be(body, static_cast<std::uint32_t>(op.value.size()));
    body += op.value;
  }
  std::string record;
  put_u32_be(record, crc32c(body));
  put_u32_be(record, static_cast<std::uint32_t>(body.size()));
  record += body;
  return record;
}

Result<WriteBatch> decode_batch_record(std::string_view record) {
  if (record.size() < 8) return Status(Code::corruption, "batch record shorter than its header");
  const std::uint32_t length = get_u32_be(record, 4);
  if (record.size() - 8 != length) return Status(Code::corruption, "batch record length mismatch");
  const std::string_view body = record.substr(8);
  if (crc32c(body) != get_u32_be(record, 0)) return Status(Code::corruption, "batch record checksum mismatch");
  if (body.size() < 4) return Status(Code::corruption, "batch record has no op count");
  WriteBatch batch;
  std::size_t pos = 4;
  const std::uint32_t count = get_u32_be(body, 0);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (body.size() - pos < 6) return Status(Code::corruption, "truncated op");
    const auto kind = static_cast<WriteOp::Kind>(body[pos]);
    const auto space = static_cast<Keyspace>(body[pos + 1]);
    const std::uint32_t key_size = get_u32_be(body, pos + 2);
    pos += 6;
    if (body.size() - pos < std::size_t{key_size} + 4) return Status(Code::corruption, "truncated key");
    const std::string_view key = body.substr(pos, key_size);
    pos += key_size;
    const std::uint32_t value_size = get_u32_be(body, pos);
    pos += 4;
    if (body.size() - pos < value_size) return Status(Code::corruption, "truncated value");
    const std::string_view value = body.substr(pos, value_size);
    pos += value_size;
    switch (kind) {
      case WriteOp::Kind::put: batch.put(space, key, value); break;
      case WriteOp::Kind::erase: batch.erase(space, key); break;
      case WriteOp::Kind::erase_range: batch.erase_range(space, key, value); break;
      default: return Status(Code::corruption, "unknown op kind");
    }
  }
  return batch;
}

}  // namespace sluice::sim
