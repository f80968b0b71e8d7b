#include "core/storage/snapshot_stream.h"

#include "core/common/bytes.h"
#include "core/common/crc32c.h"

namespace sluice {
namespace {

constexpr std::size_t kChunkHeader = 4 + 8 + 1;

void put_record(std::string& out, Keyspace space, std::string_view key, std::string_view value) {
  out.push_back(static_cast<char>(space));
  put_u32_be(out, static_cast<std::uint32_t>(key.size()));
  out.append(key);
  put_u32_be(out, static_cast<std::uint32_t>(value.size()));
  out.append(value);
}

}  // namespace

SnapshotChunker::SnapshotChunker(const KvSnapshot* snapshot, std::vector<Keyspace> spaces,
                                 std::size_t chunk_bytes_max)
    : snapshot_(snapshot), spaces_(std::move(spaces)), chunk_bytes_max_(chunk_bytes_max) {
  SLUICE_ASSERT(snapshot_ != nullptr, "chunker needs a snapshot");
  SLUICE_ASSERT(chunk_bytes_max_ > 0, "chunk size must be positive");
}

Result<std::optional<std::string>> SnapshotChunker::next_chunk() {
  if (done_) return std::optional<std::string>();
  std::string records;
  while (space_index_ < spaces_.size()) {
    if (!it_) it_ = snapshot_->scan(spaces_[space_index_], "", "");
    if (!it_->valid()) {
      if (Status s = it_->status(); !s.ok()) return s;
      it_.reset();
      ++space_index_;
      continue;
    }
    const std::size_t record_bytes = 9 + it_->key().size() + it_->value().size();
    if (!records.empty() && records.size() + record_bytes > chunk_bytes_max_) break;
    put_record(records, spaces_[space_index_], it_->key(), it_->value());
    it_->next();
  }
  const bool last = space_index_ == spaces_.size();
  std::string body;
  put_u64_be(body, sequence_++);
  body.push_back(last ? 1 : 0);
  body += records;
  std::string chunk;
  put_u32_be(chunk, crc32c(body));
  chunk += body;
  done_ = last;
  return std::optional<std::string>(std::move(chunk));
}

SnapshotAssembler::SnapshotAssembler(std::vector<Keyspace> spaces) : spaces_(std::move(spaces)) {}

Status SnapshotAssembler::add_chunk(std::string_view chunk) {
  if (complete_) return Status(Code::invalid_argument, "snapshot chunk after the last one");
  if (chunk.size() < kChunkHeader) return Status(Code::corruption, "snapshot chunk too short");
  const std::string_view body = chunk.substr(4);
  if (crc32c(body) != get_u32_be(chunk)) return Status(Code::corruption, "snapshot chunk checksum mismatch");
  const std::uint64_t sequence = get_u64_be(body);
  if (sequence != next_sequence_) {
    return Status(Code::invalid_argument, "snapshot chunk " + std::to_string(sequence) +
                                              " out of sequence, expected " +
                                              std::to_string(next_sequence_));
  }
  const bool last = body[8] != 0;
  WriteBatch parsed;
  std::size_t pos = 9;
  while (pos < body.size()) {
    if (body.size() - pos < 5) return Status(Code::corruption, "truncated snapshot record");
    const auto space = static_cast<std::uint8_t>(body[pos]);
    bool known = false;
    for (Keyspace s : spaces_) known = known || static_cast<std::uint8_t>(s) == space;
    if (!known) return Status(Code::corruption, "snapshot record for a keyspace not in this snapshot");
    const std::uint32_t key_size = get_u32_be(body, pos + 1);
    pos += 5;
    if (body.size() - pos < std::size_t{key_size} + 4) return Status(Code::corruption, "truncated snapshot key");
    const std::string_view key = body.substr(pos, key_size);
    pos += key_size;
    const std::uint32_t value_size = get_u32_be(body, pos);
    pos += 4;
    if (body.size() - pos < value_size) return Status(Code::corruption, "truncated snapshot value");
    parsed.put(static_cast<Keyspace>(space), key, body.substr(pos, value_size));
    pos += value_size;
  }
  if (next_sequence_ == 0) {
    for (Keyspace s : spaces_) staged_.erase_range(s, "", "");
  }
  staged_.append(parsed);
  ++next_sequence_;
  complete_ = last;
  return {};
}

WriteBatch SnapshotAssembler::finish() {
  SLUICE_ASSERT(complete_, "finish() before the last snapshot chunk");
  return std::move(staged_);
}

}  // namespace sluice
