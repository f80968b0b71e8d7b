// Streams a consistent KvSnapshot in bounded chunks and installs it
// atomically on the receiving side (InstallSnapshot, DESIGN section 5).
//
// Chunk layout: crc32c (4, over the rest) | sequence (8) | last (1) | records,
// record = keyspace (1) | key length (4) | key | value length (4) | value.
// The receiver checks every checksum and that sequences arrive 0, 1, 2, ...
// Nothing is applied until the last chunk is in: finish() returns one
// WriteBatch that clears the snapshot's keyspaces and writes their contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/storage/kv_store.h"

namespace sluice {

class SnapshotChunker {
 public:
  // *snapshot must outlive the chunker. chunk_bytes_max bounds a chunk's
  // record bytes, except that a single larger record travels alone.
  SnapshotChunker(const KvSnapshot* snapshot, std::vector<Keyspace> spaces,
                  std::size_t chunk_bytes_max);

  // The next chunk, or nullopt after the last one was returned.
  Result<std::optional<std::string>> next_chunk();

 private:
  const KvSnapshot* snapshot_;
  std::vector<Keyspace> spaces_;
  std::size_t chunk_bytes_max_;
  std::size_t space_index_ = 0;
  std::unique_ptr<KvIterator> it_;
  std::uint64_t sequence_ = 0;
  bool done_ = false;
};

class SnapshotAssembler {
 public:
  explicit SnapshotAssembler(std::vector<Keyspace> spaces);

  // Verifies and stages one chunk. Errors: corruption (bad checksum or
  // layout), invalid_argument (out of sequence, or after the last chunk).
  Status add_chunk(std::string_view chunk);
  bool complete() const { return complete_; }
  // Precondition: complete(). The batch that installs the snapshot.
  WriteBatch finish();

 private:
  std::vector<Keyspace> spaces_;
  WriteBatch staged_;
  std::uint64_t next_sequence_ = 0;
  bool complete_ = false;
};

}  // namespace sluice
