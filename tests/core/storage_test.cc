// Pure encoding tests of the storage contracts; the store-backed contract
// suite runs in tests/storage/kv_contract.h against every implementation.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/storage/log_store.h"

namespace sluice {
namespace {

RC_GTEST_PROP(LogStoreEncoding, RoundTrips, (std::uint64_t group, std::uint64_t index, std::uint64_t term, std::string data)) {
  RC_PRE(index > 0);
  const LogEntry entry{Term(term), LogIndex(index), data};
  const std::string key = log_store::entry_key(GroupId(group), entry.index);
  auto decoded = log_store::decode_entry(key, log_store::encode_entry(key, entry));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == entry);
}

TEST(LogStoreEncoding, EveryFlippedBitIsCaught) {
  const LogEntry entry{Term(3), LogIndex(17), "payload"};
  const std::string key = log_store::entry_key(kDefaultGroup, entry.index);
  const std::string value = log_store::encode_entry(key, entry);
  for (std::size_t bit = 0; bit < value.size() * 8; ++bit) {
    std::string damaged = value;
    damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
    auto decoded = log_store::decode_entry(key, damaged);
    ASSERT_FALSE(decoded.ok()) << "bit " << bit;
    EXPECT_EQ(decoded.status().code(), Code::corruption);
  }
}

TEST(LogStoreEncoding, AnEntryUnderTheWrongKeyIsCaught) {
  // The checksum covers the key: a record copied to another index is corrupt.
  const LogEntry entry{Term(1), LogIndex(5), "x"};
  const std::string value = log_store::encode_entry(log_store::entry_key(kDefaultGroup, entry.index), entry);
  auto decoded = log_store::decode_entry(log_store::entry_key(kDefaultGroup, LogIndex(6)), value);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::corruption);
}

TEST(LogStoreEncoding, ShortRecordsAreCorrupt) {
  const std::string key = log_store::entry_key(kDefaultGroup, LogIndex(1));
  EXPECT_EQ(log_store::decode_entry(key, "abc").status().code(), Code::corruption);
  EXPECT_EQ(log_store::decode_entry("short", std::string(20, 'x')).status().code(), Code::corruption);
}

TEST(LogStoreEncoding, KeysSortByGroupThenIndex) {
  EXPECT_LT(log_store::entry_key(GroupId(1), LogIndex(255)), log_store::entry_key(GroupId(1), LogIndex(256)));
  EXPECT_LT(log_store::entry_key(GroupId(1), LogIndex(UINT64_MAX)), log_store::entry_key(GroupId(2), LogIndex(1)));
}

TEST(WriteBatch, CountsBytesAndAppends) {
  WriteBatch a, b;
  a.put(Keyspace::state, "k", "vv");
  b.erase(Keyspace::meta, "x");
  b.erase_range(Keyspace::raft_log, "a", "z");
  a.append(b);
  ASSERT_EQ(a.ops().size(), 3u);
  EXPECT_EQ(a.size_bytes(), 3u + 1u + 2u);
  EXPECT_EQ(a.ops()[1].kind, WriteOp::Kind::erase);
  EXPECT_EQ(a.ops()[2].value, "z");
}

}  // namespace
}  // namespace sluice
