#include "core/storage/kv_store.h"

namespace sluice {

const char* keyspace_name(Keyspace ks) {
  switch (ks) {
    case Keyspace::meta: return "meta";
    case Keyspace::raft_log: return "raft_log";
    case Keyspace::raft_state: return "raft_state";
    case Keyspace::state: return "state";
  }
  return "unknown";
}

void WriteBatch::put(Keyspace space, std::string_view key, std::string_view value) {
  ops_.push_back({WriteOp::Kind::put, space, std::string(key), std::string(value)});
  bytes_ += key.size() + value.size();
}

void WriteBatch::erase(Keyspace space, std::string_view key) {
  ops_.push_back({WriteOp::Kind::erase, space, std::string(key), {}});
  bytes_ += key.size();
}

void WriteBatch::erase_range(Keyspace space, std::string_view begin, std::string_view end) {
  ops_.push_back({WriteOp::Kind::erase_range, space, std::string(begin), std::string(end)});
  bytes_ += begin.size() + end.size();
}

void WriteBatch::append(const WriteBatch& other) {
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
  bytes_ += other.bytes_;
}

}  // namespace sluice
