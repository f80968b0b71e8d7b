// How a RocksStore lays its data out in RocksDB (storage/README.md draws it).
//
// One column family per Keyspace, named by keyspace_name(); RocksDB's
// "default" column family exists but holds nothing. Every key a KvStore user
// writes is stored behind a one-byte tag:
//
//   user key k       ->  kUserTag + k       (0x01 ...)
//   store's own key  ->  kInternalTag + ... (0x00 ...)
//
// The tag buys two things. "To the end of the keyspace" becomes a finite
// RocksDB key, kUserEnd, which DeleteRange needs: raw keys have no greatest
// element. And the store's own records (the format version, in meta) live
// beside user keys without ever being seen by scans or erased by ranges.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::storage::layout {

inline constexpr char kInternalTag = '\x00';
inline constexpr char kUserTag = '\x01';
// Sorts after every tagged user key and before nothing a user can write.
inline constexpr std::string_view kUserEnd = "\x02";

// The on-disk format this build reads and writes. Bump it on any change to
// the layout above or to the encodings in core/storage; a store of another
// version is refused with Code::version_mismatch, never guessed at.
inline constexpr std::uint32_t kFormatVersion = 1;

// In the meta column family: the decimal format version, written (synced)
// when the store is created.
inline std::string format_version_key() { return std::string(1, kInternalTag) + "format_version"; }

inline std::string user_key(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  out.push_back(kUserTag);
  out.append(key);
  return out;
}

// The RocksDB column family names, in the order of the Keyspace enum.
inline constexpr std::string_view kColumnFamilies[] = {"meta", "raft_log", "raft_state", "state"};

}  // namespace sluice::storage::layout
