#include "core/storage/log_store.h"

#include "core/common/bytes.h"
#include "core/common/crc32c.h"

namespace sluice::log_store {
namespace {

constexpr std::size_t kEntryHeader = 4 + 8;           // crc, term
constexpr std::size_t kHardStateSize = 4 + 8 + 8 + 8;  // crc, term, vote, commit

std::string group_key(GroupId group) {
  std::string key;
  put_u64_be(key, group.value());
  return key;
}

// The first key past every entry of `group`.
std::string group_end(GroupId group) {
  std::string key;
  put_u64_be(key, group.value() + 1);
  return key;
}

}  // namespace

std::string entry_key(GroupId group, LogIndex index) {
  std::string key;
  key.reserve(16);
  put_u64_be(key, group.value());
  put_u64_be(key, index.value());
  return key;
}

std::string encode_entry(const std::string& key, const LogEntry& entry) {
  std::string payload;
  payload.reserve(8 + entry.data.size());
  put_u64_be(payload, entry.term.value());
  payload += entry.data;
  std::string value;
  value.reserve(4 + payload.size());
  put_u32_be(value, crc32c(payload, crc32c(key)));
  value += payload;
  return value;
}

Result<LogEntry> decode_entry(std::string_view key, std::string_view value) {
  if (key.size() != 16) return Status(Code::corruption, "log key has the wrong size");
  if (value.size() < kEntryHeader) return Status(Code::corruption, "log entry shorter than its header");
  const std::string_view payload = value.substr(4);
  if (crc32c(payload, crc32c(key)) != get_u32_be(value)) {
    return Status(Code::corruption, "log entry checksum mismatch at index " +
                                        std::to_string(get_u64_be(key, 8)));
  }
  return LogEntry{Term(get_u64_be(payload)), LogIndex(get_u64_be(key, 8)),
                  std::string(payload.substr(8))};
}

void append(WriteBatch& batch, GroupId group, const LogEntry& entry) {
  SLUICE_ASSERT(entry.index.value() > 0, "log indexes start at 1");
  const std::string key = entry_key(group, entry.index);
  batch.put(Keyspace::raft_log, key, encode_entry(key, entry));
}

void truncate_suffix(WriteBatch& batch, GroupId group, LogIndex from) {
  batch.erase_range(Keyspace::raft_log, entry_key(group, from), group_end(group));
}

void truncate_prefix(WriteBatch& batch, GroupId group, LogIndex through) {
  batch.erase_range(Keyspace::raft_log, entry_key(group, LogIndex(0)),
                    entry_key(group, through.next()));
}

Result<std::vector<LogEntry>> read(KvStore& store, GroupId group, LogIndex lo, LogIndex hi,
                                   std::size_t max_bytes) {
  std::vector<LogEntry> entries;
  if (lo >= hi) return entries;
  auto it = store.scan(Keyspace::raft_log, entry_key(group, lo), entry_key(group, hi));
  std::size_t bytes = 0;
  LogIndex expect = lo;
  for (; it->valid(); it->next()) {
    auto entry = decode_entry(it->key(), it->value());
    if (!entry.ok()) return entry.status();
    if (entry->index != expect) {
      return Status(Code::corruption, "log hole: expected index " + to_string(expect) +
                                          ", found " + to_string(entry->index));
    }
    bytes += entry->data.size();
    entries.push_back(std::move(entry).value());
    expect = expect.next();
    if (bytes >= max_bytes) break;
  }
  if (Status s = it->status(); !s.ok()) return s;
  return entries;
}

Result<std::optional<LogBounds>> bounds(KvStore& store, GroupId group) {
  const std::string begin = group_key(group);
  const std::string end = group_end(group);
  auto it = store.scan(Keyspace::raft_log, begin, end);
  if (!it->valid()) {
    if (Status s = it->status(); !s.ok()) return s;
    return std::optional<LogBounds>();
  }
  auto first = decode_entry(it->key(), it->value());
  if (!first.ok()) return first.status();
  auto last_key = store.last_key(Keyspace::raft_log, begin, end);
  if (!last_key.ok()) return last_key.status();
  SLUICE_ASSERT(last_key->has_value(), "a log with a first entry has a last entry");
  return std::optional<LogBounds>(
      LogBounds{first->index, LogIndex(get_u64_be(**last_key, 8))});
}

Result<std::optional<Term>> term_at(KvStore& store, GroupId group, LogIndex index) {
  const std::string key = entry_key(group, index);
  auto value = store.get(Keyspace::raft_log, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<Term>();
  auto entry = decode_entry(key, **value);
  if (!entry.ok()) return entry.status();
  return std::optional<Term>(entry->term);
}

void save_hard_state(WriteBatch& batch, GroupId group, const HardState& state) {
  std::string payload;
  put_u64_be(payload, state.term.value());
  put_u64_be(payload, state.vote.value());
  put_u64_be(payload, state.commit.value());
  const std::string key = group_key(group);
  std::string value;
  put_u32_be(value, crc32c(payload, crc32c(key)));
  value += payload;
  batch.put(Keyspace::raft_state, key, value);
}

Result<std::optional<HardState>> load_hard_state(KvStore& store, GroupId group) {
  const std::string key = group_key(group);
  auto value = store.get(Keyspace::raft_state, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<HardState>();
  const std::string& v = **value;
  if (v.size() != kHardStateSize) return Status(Code::corruption, "hard state has the wrong size");
  const std::string_view payload = std::string_view(v).substr(4);
  if (crc32c(payload, crc32c(key)) != get_u32_be(v)) {
    return Status(Code::corruption, "hard state checksum mismatch");
  }
  return std::optional<HardState>(HardState{Term(get_u64_be(payload, 0)),
                                            NodeId(get_u64_be(payload, 8)),
                                            LogIndex(get_u64_be(payload, 16))});
}

}  // namespace sluice::log_store
