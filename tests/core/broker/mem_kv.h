// A plain in-memory KvStore for the broker state's persistence tests: no
// faults, no crash model, just the ordered keyspaces and atomic batches of
// the contract (core/storage/kv_store.h), plus direct access for tests that
// plant damaged records.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/storage/kv_store.h"

namespace sluice::broker::testing {

using Space = std::map<std::string, std::string, std::less<>>;
using Spaces = std::array<Space, kKeyspaceCount>;

// Iterates a copy of one range, so writes during a scan cannot disturb it.
class MemIterator final : public KvIterator {
 public:
  MemIterator(const Space& space, std::string_view begin, std::string_view end) {
    auto it = space.lower_bound(begin);
    auto stop = end.empty() ? space.end() : space.lower_bound(end);
    for (; it != stop; ++it) items_.emplace(it->first, it->second);
    at_ = items_.begin();
  }
  bool valid() const override { return at_ != items_.end(); }
  void next() override { ++at_; }
  std::string_view key() const override { return at_->first; }
  std::string_view value() const override { return at_->second; }
  Status status() const override { return {}; }

 private:
  Space items_;
  Space::const_iterator at_;
};

class MemSnapshot final : public KvSnapshot {
 public:
  explicit MemSnapshot(Spaces spaces) : spaces_(std::move(spaces)) {}
  Result<std::optional<std::string>> get(Keyspace space, std::string_view key) const override {
    const Space& s = spaces_[static_cast<std::size_t>(space)];
    auto it = s.find(key);
    return it == s.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  }
  std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin, std::string_view end) const override {
    return std::make_unique<MemIterator>(spaces_[static_cast<std::size_t>(space)], begin, end);
  }

 private:
  Spaces spaces_;
};

class MemKv final : public KvStore {
 public:
  Status write(const WriteBatch& batch, WriteOptions) override {
    for (const WriteOp& op : batch.ops()) {
      Space& s = space(op.space);
      switch (op.kind) {
        case WriteOp::Kind::put: s[op.key] = op.value; break;
        case WriteOp::Kind::erase: s.erase(op.key); break;
        case WriteOp::Kind::erase_range:
          s.erase(s.lower_bound(op.key), op.value.empty() ? s.end() : s.lower_bound(op.value));
          break;
      }
    }
    return {};
  }
  Status sync() override { return {}; }
  Result<std::optional<std::string>> get(Keyspace space, std::string_view key) override {
    const Space& s = spaces_[static_cast<std::size_t>(space)];
    auto it = s.find(key);
    return it == s.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  }
  std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin, std::string_view end) override {
    return std::make_unique<MemIterator>(spaces_[static_cast<std::size_t>(space)], begin, end);
  }
  Result<std::optional<std::string>> last_key(Keyspace space, std::string_view begin, std::string_view end) override {
    MemIterator it(spaces_[static_cast<std::size_t>(space)], begin, end);
    std::optional<std::string> last;
    for (; it.valid(); it.next()) last = std::string(it.key());
    return last;
  }
  Result<std::unique_ptr<KvSnapshot>> snapshot() override {
    return std::unique_ptr<KvSnapshot>(std::make_unique<MemSnapshot>(spaces_));
  }

  Space& space(Keyspace space) { return spaces_[static_cast<std::size_t>(space)]; }

 private:
  Spaces spaces_;
};

}  // namespace sluice::broker::testing
