// The KvStore contract (core/storage/kv_store.h, DESIGN section 5) as a typed
// GoogleTest suite, so that every implementation runs the same tests and the
// simulator's model cannot drift from RocksDB.
//
// Instantiate it with a factory type:
//
//   struct MyFactory {
//     // A fresh, empty store.
//     static std::unique_ptr<sluice::KvStore> make();
//     // Optional: power loss, then the store as it reopens. Without it the
//     // crash tests are skipped.
//     static std::unique_ptr<sluice::KvStore> crash_and_reopen(std::unique_ptr<sluice::KvStore>);
//     // Optional: device faults, switched on and off. Without them the
//     // poisoning tests are skipped.
//     static void set_device_full(sluice::KvStore&, bool full);
//     static void set_syncs_failing(sluice::KvStore&, bool failing);
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Mine, KvContractTest, ::testing::Types<MyFactory>);
//
// The tests here use only the KvStore interface, the typed views over it
// (log_store, snapshot_stream) and the hooks above. Faults that need a
// closer handle on the device (corruption, torn writes, read errors) belong
// to each implementation's own tests.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <concepts>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/common/types.h"
#include "core/storage/kv_store.h"
#include "core/storage/log_store.h"
#include "core/storage/snapshot_stream.h"

namespace sluice {

// Readable failure messages for the values the contract compares.
template <class Tag, class Rep>
void PrintTo(Strong<Tag, Rep> v, std::ostream* os) {
  *os << v.value();
}
inline void PrintTo(const LogEntry& e, std::ostream* os) {
  *os << "{index " << e.index.value() << ", term " << e.term.value() << ", \"" << e.data << "\"}";
}
inline void PrintTo(const HardState& h, std::ostream* os) {
  *os << "{term " << h.term.value() << ", vote " << h.vote.value() << ", commit " << h.commit.value() << "}";
}

}  // namespace sluice

namespace sluice::kv_contract {

inline constexpr std::array<Keyspace, kKeyspaceCount> kAllKeyspaces = {
    Keyspace::meta, Keyspace::raft_log, Keyspace::raft_state, Keyspace::state};

using KeyValues = std::vector<std::pair<std::string, std::string>>;
// The whole content of a store, keyspace by keyspace.
using Dump = std::array<std::map<std::string, std::string>, kKeyspaceCount>;

template <class F>
concept HasCrashHook = requires(std::unique_ptr<KvStore> store) {
  { F::crash_and_reopen(std::move(store)) } -> std::same_as<std::unique_ptr<KvStore>>;
};

template <class F>
concept HasFaultHooks = requires(KvStore& store) {
  F::set_device_full(store, true);
  F::set_syncs_failing(store, true);
};

struct ScanResult {
  KeyValues items;
  Status status;
};

inline ScanResult scan_all(KvStore& store, Keyspace space, std::string_view begin = "",
                           std::string_view end = "") {
  ScanResult out;
  auto it = store.scan(space, begin, end);
  // Bounded: a store cannot return more keys than we could have written.
  for (std::size_t n = 0; it->valid(); it->next(), ++n) {
    if (n > 1'000'000) {
      ADD_FAILURE() << "scan does not terminate";
      break;
    }
    out.items.emplace_back(std::string(it->key()), std::string(it->value()));
  }
  out.status = it->status();
  return out;
}

inline KeyValues scan_snapshot(const KvSnapshot& snapshot, Keyspace space) {
  KeyValues out;
  auto it = snapshot.scan(space, "", "");
  for (; it->valid(); it->next()) out.emplace_back(std::string(it->key()), std::string(it->value()));
  EXPECT_TRUE(it->status().ok()) << it->status().to_string();
  return out;
}

inline Dump dump(KvStore& store) {
  Dump out;
  for (Keyspace space : kAllKeyspaces) {
    ScanResult r = scan_all(store, space);
    EXPECT_TRUE(r.status.ok()) << keyspace_name(space) << ": " << r.status.to_string();
    for (auto& [k, v] : r.items) out[static_cast<int>(space)].emplace(std::move(k), std::move(v));
  }
  return out;
}

// The value at key, failing the test if the read itself fails.
inline std::optional<std::string> value_of(KvStore& store, Keyspace space, std::string_view key) {
  auto r = store.get(space, key);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.status().to_string());
  if (!r.ok()) return std::nullopt;
  return *r;
}

inline void put_one(KvStore& store, Keyspace space, std::string_view key, std::string_view value,
                    bool sync = true) {
  WriteBatch b;
  b.put(space, key, value);
  Status s = store.write(b, WriteOptions{sync});
  EXPECT_TRUE(s.ok()) << s.to_string();
}

inline std::vector<std::string> keys_of(const KeyValues& items) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : items) keys.push_back(k);
  return keys;
}

inline LogEntry entry(std::uint64_t index, std::uint64_t term, std::string data) {
  return LogEntry{Term(term), LogIndex(index), std::move(data)};
}

template <class Factory>
class KvContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Factory::make();
    ASSERT_NE(store_, nullptr);
  }
  KvStore& store() { return *store_; }

  // A second, independent store from the same factory.
  std::unique_ptr<KvStore> another() { return Factory::make(); }

  std::unique_ptr<KvStore> store_;
};

TYPED_TEST_SUITE_P(KvContractTest);

// ---------------------------------------------------------------------------
// Plain key-value operations.

TYPED_TEST_P(KvContractTest, PutGetOverwriteErase) {
  KvStore& s = this->store();
  EXPECT_EQ(value_of(s, Keyspace::state, "k"), std::nullopt);
  put_one(s, Keyspace::state, "k", "v1");
  EXPECT_EQ(value_of(s, Keyspace::state, "k"), "v1");
  put_one(s, Keyspace::state, "k", "v2");
  EXPECT_EQ(value_of(s, Keyspace::state, "k"), "v2");
  put_one(s, Keyspace::state, "empty", "");
  EXPECT_EQ(value_of(s, Keyspace::state, "empty"), "") << "an empty value is a value, not absence";

  WriteBatch erase;
  erase.erase(Keyspace::state, "k");
  erase.erase(Keyspace::state, "never-written");  // erasing an absent key is not an error
  ASSERT_TRUE(s.write(erase, WriteOptions{}).ok());
  EXPECT_EQ(value_of(s, Keyspace::state, "k"), std::nullopt);
  EXPECT_EQ(value_of(s, Keyspace::state, "empty"), "");
}

TYPED_TEST_P(KvContractTest, BinaryKeysAndValues) {
  KvStore& s = this->store();
  const std::string key("a\0b", 3);
  const std::string value("\0\xff\x01", 3);
  put_one(s, Keyspace::state, key, value);
  EXPECT_EQ(value_of(s, Keyspace::state, key), value);
  EXPECT_EQ(value_of(s, Keyspace::state, "a"), std::nullopt) << "keys do not end at a NUL byte";
}

TYPED_TEST_P(KvContractTest, EraseRangeIsHalfOpen) {
  KvStore& s = this->store();
  WriteBatch fill;
  for (const char* k : {"a", "b", "bb", "c", "d", "e", "f"}) fill.put(Keyspace::state, k, k);
  ASSERT_TRUE(s.write(fill, WriteOptions{}).ok());

  WriteBatch middle;
  middle.erase_range(Keyspace::state, "b", "d");  // b, bb, c; not d
  ASSERT_TRUE(s.write(middle, WriteOptions{}).ok());
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state).items),
            (std::vector<std::string>{"a", "d", "e", "f"}));

  WriteBatch tail;
  tail.erase_range(Keyspace::state, "e", "");  // an empty end: to the end of the keyspace
  ASSERT_TRUE(s.write(tail, WriteOptions{}).ok());
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state).items), (std::vector<std::string>{"a", "d"}));

  WriteBatch nothing;
  nothing.erase_range(Keyspace::state, "b", "c");  // an empty range in the keyspace
  ASSERT_TRUE(s.write(nothing, WriteOptions{}).ok());
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state).items), (std::vector<std::string>{"a", "d"}));

  WriteBatch all;
  all.erase_range(Keyspace::state, "", "");
  ASSERT_TRUE(s.write(all, WriteOptions{}).ok());
  EXPECT_TRUE(scan_all(s, Keyspace::state).items.empty());
}

TYPED_TEST_P(KvContractTest, KeyspacesAreIndependent) {
  KvStore& s = this->store();
  WriteBatch fill;
  for (Keyspace space : kAllKeyspaces) {
    fill.put(space, "shared", keyspace_name(space));
    fill.put(space, std::string("only-") + keyspace_name(space), "x");
  }
  ASSERT_TRUE(s.write(fill, WriteOptions{}).ok());
  for (Keyspace space : kAllKeyspaces) {
    EXPECT_EQ(value_of(s, space, "shared"), keyspace_name(space));
    EXPECT_EQ(keys_of(scan_all(s, space).items),
              (std::vector<std::string>{std::string("only-") + keyspace_name(space), "shared"}));
  }

  // Erasing in one keyspace, also a whole-keyspace range, leaves the others.
  WriteBatch clear;
  clear.erase(Keyspace::meta, "shared");
  clear.erase_range(Keyspace::raft_log, "", "");
  ASSERT_TRUE(s.write(clear, WriteOptions{}).ok());
  EXPECT_EQ(value_of(s, Keyspace::meta, "shared"), std::nullopt);
  EXPECT_TRUE(scan_all(s, Keyspace::raft_log).items.empty());
  EXPECT_EQ(value_of(s, Keyspace::raft_state, "shared"), "raft_state");
  EXPECT_EQ(value_of(s, Keyspace::state, "shared"), "state");
  EXPECT_EQ(scan_all(s, Keyspace::state).items.size(), 2u);
}

TYPED_TEST_P(KvContractTest, ScanIsOrderedByUnsignedBytesWithinHalfOpenBounds) {
  KvStore& s = this->store();
  // Written out of order; \x80 and \xff must sort after ASCII (unsigned
  // bytes, RocksDB's bytewise comparator), and a prefix before its
  // extensions.
  const std::vector<std::string> written = {"b", std::string("\xff", 1), "ab", "a",
                                            std::string("\0", 1), std::string("\x80", 1), "abc"};
  for (const auto& k : written) put_one(s, Keyspace::state, k, "v" + k);
  const std::vector<std::string> ordered = {std::string("\0", 1), "a", "ab", "abc", "b",
                                            std::string("\x80", 1), std::string("\xff", 1)};
  ScanResult all = scan_all(s, Keyspace::state);
  ASSERT_TRUE(all.status.ok());
  EXPECT_EQ(keys_of(all.items), ordered);
  for (const auto& [k, v] : all.items) EXPECT_EQ(v, "v" + k);

  // [begin, end): begin included, end excluded, begin need not exist.
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state, "a", "b").items),
            (std::vector<std::string>{"a", "ab", "abc"}));
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state, "aa", "abc").items), (std::vector<std::string>{"ab"}));
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state, "abd", "").items),
            (std::vector<std::string>{"b", std::string("\x80", 1), std::string("\xff", 1)}));
  EXPECT_TRUE(scan_all(s, Keyspace::state, "ab", "ab").items.empty());
  EXPECT_TRUE(scan_all(s, Keyspace::state, std::string("\xff\x01", 2), "").items.empty());
  EXPECT_TRUE(scan_all(s, Keyspace::meta).items.empty());
}

TYPED_TEST_P(KvContractTest, LastKeyIsTheGreatestKeyInHalfOpenRange) {
  KvStore& s = this->store();
  for (const char* k : {"b", "d", "f"}) put_one(s, Keyspace::state, k, "");
  auto last = [&](std::string_view begin, std::string_view end) {
    auto r = s.last_key(Keyspace::state, begin, end);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::optional<std::string>("<error>");
  };
  EXPECT_EQ(last("", ""), "f");
  EXPECT_EQ(last("a", "f"), "d") << "end is excluded";
  EXPECT_EQ(last("a", "e"), "d");
  EXPECT_EQ(last("d", "e"), "d") << "begin is included";
  EXPECT_EQ(last("b", ""), "f");
  EXPECT_EQ(last("c", "d"), std::nullopt);
  EXPECT_EQ(last("", "b"), std::nullopt);
  EXPECT_EQ(last("g", ""), std::nullopt);
  auto other = s.last_key(Keyspace::meta, "", "");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, std::nullopt) << "other keyspaces are empty";
}

TYPED_TEST_P(KvContractTest, BatchAppliesEveryOpInOrder) {
  KvStore& s = this->store();
  put_one(s, Keyspace::state, "range/2", "old");
  WriteBatch b;
  b.put(Keyspace::state, "put-then-erase", "x");
  b.erase(Keyspace::state, "put-then-erase");
  b.erase(Keyspace::state, "erase-then-put");
  b.put(Keyspace::state, "erase-then-put", "y");
  b.put(Keyspace::state, "twice", "first");
  b.put(Keyspace::state, "twice", "second");
  b.put(Keyspace::state, "range/1", "x");
  b.erase_range(Keyspace::state, "range/", "range/~");
  b.put(Keyspace::state, "range/3", "after");
  b.put(Keyspace::meta, "other-space", "z");
  ASSERT_TRUE(s.write(b, WriteOptions{}).ok());

  EXPECT_EQ(value_of(s, Keyspace::state, "put-then-erase"), std::nullopt);
  EXPECT_EQ(value_of(s, Keyspace::state, "erase-then-put"), "y");
  EXPECT_EQ(value_of(s, Keyspace::state, "twice"), "second");
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state, "range/", "range/~").items),
            (std::vector<std::string>{"range/3"}));
  EXPECT_EQ(value_of(s, Keyspace::meta, "other-space"), "z");

  // append() puts the other batch's ops after ours.
  WriteBatch first;
  first.put(Keyspace::state, "appended", "from-first");
  WriteBatch second;
  second.erase(Keyspace::state, "appended");
  first.append(second);
  ASSERT_EQ(first.ops().size(), 2u);
  ASSERT_TRUE(s.write(first, WriteOptions{}).ok());
  EXPECT_EQ(value_of(s, Keyspace::state, "appended"), std::nullopt);
}

TYPED_TEST_P(KvContractTest, ReadsSeeUnsyncedWrites) {
  KvStore& s = this->store();
  put_one(s, Keyspace::state, "k", "unsynced", /*sync=*/false);
  EXPECT_EQ(value_of(s, Keyspace::state, "k"), "unsynced");
  EXPECT_EQ(keys_of(scan_all(s, Keyspace::state).items), (std::vector<std::string>{"k"}));
  ASSERT_TRUE(s.sync().ok());
  EXPECT_EQ(value_of(s, Keyspace::state, "k"), "unsynced");
}

TYPED_TEST_P(KvContractTest, SnapshotIsUnaffectedByLaterWrites) {
  KvStore& s = this->store();
  WriteBatch before;
  before.put(Keyspace::state, "kept", "1");
  before.put(Keyspace::state, "changed", "old");
  before.put(Keyspace::state, "erased", "1");
  before.put(Keyspace::meta, "ranged/a", "1");
  before.put(Keyspace::meta, "ranged/b", "1");
  ASSERT_TRUE(s.write(before, WriteOptions{}).ok());

  auto snap = s.snapshot();
  ASSERT_TRUE(snap.ok());
  const KvSnapshot& view = **snap;

  WriteBatch after;
  after.put(Keyspace::state, "changed", "new");
  after.erase(Keyspace::state, "erased");
  after.put(Keyspace::state, "added", "1");
  after.erase_range(Keyspace::meta, "", "");
  ASSERT_TRUE(s.write(after, WriteOptions{}).ok());

  auto get = [&](Keyspace space, std::string_view key) {
    auto r = view.get(space, key);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::optional<std::string>("<error>");
  };
  EXPECT_EQ(get(Keyspace::state, "changed"), "old");
  EXPECT_EQ(get(Keyspace::state, "erased"), "1");
  EXPECT_EQ(get(Keyspace::state, "added"), std::nullopt);
  EXPECT_EQ(scan_snapshot(view, Keyspace::state),
            (KeyValues{{"changed", "old"}, {"erased", "1"}, {"kept", "1"}}));
  EXPECT_EQ(scan_snapshot(view, Keyspace::meta), (KeyValues{{"ranged/a", "1"}, {"ranged/b", "1"}}));
  // A bounded scan of the snapshot honours [begin, end) too.
  auto it = view.scan(Keyspace::state, "d", "k");
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(it->key(), "erased");
  it->next();
  EXPECT_FALSE(it->valid());
  EXPECT_TRUE(it->status().ok());

  // And the store itself has moved on.
  EXPECT_EQ(value_of(s, Keyspace::state, "changed"), "new");
  EXPECT_TRUE(scan_all(s, Keyspace::meta).items.empty());
}

// ---------------------------------------------------------------------------
// The Raft log store through a real store.

TYPED_TEST_P(KvContractTest, LogAppendReadBoundsTermAt) {
  KvStore& s = this->store();
  const GroupId g1(1);
  const GroupId g2(2);
  auto b = log_store::bounds(s, g1);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value()) << "an empty log has no bounds";

  WriteBatch batch;
  std::vector<LogEntry> written;
  for (std::uint64_t i = 1; i <= 10; ++i) {
    written.push_back(entry(i, (i + 2) / 3, "data-" + std::to_string(i)));
    log_store::append(batch, g1, written.back());
  }
  // Group 2 sits right after group 1 in key order: bounds and reads of group
  // 1 must not spill into it.
  log_store::append(batch, g2, entry(1, 9, "other"));
  log_store::append(batch, g2, entry(2, 9, "other"));
  ASSERT_TRUE(s.write(batch, WriteOptions{}).ok());

  b = log_store::bounds(s, g1);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->first, LogIndex(1));
  EXPECT_EQ((*b)->last, LogIndex(10));

  auto all = log_store::read(s, g1, LogIndex(1), LogIndex(11), SIZE_MAX);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(*all, written);
  auto middle = log_store::read(s, g1, LogIndex(4), LogIndex(7), SIZE_MAX);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(*middle, std::vector<LogEntry>(written.begin() + 3, written.begin() + 6));
  auto none = log_store::read(s, g1, LogIndex(5), LogIndex(5), SIZE_MAX);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // max_bytes: stops once that much data has been read, but always returns
  // at least the first entry.
  auto one = log_store::read(s, g1, LogIndex(1), LogIndex(11), 0);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, std::vector<LogEntry>{written[0]});
  auto some = log_store::read(s, g1, LogIndex(1), LogIndex(11), 20);  // entries are 6-7 bytes
  ASSERT_TRUE(some.ok());
  ASSERT_GE(some->size(), 1u);
  EXPECT_LT(some->size(), 10u);
  std::size_t bytes_before_last = 0;
  for (std::size_t i = 0; i + 1 < some->size(); ++i) bytes_before_last += (*some)[i].data.size();
  EXPECT_LT(bytes_before_last, 20u) << "read on after max_bytes was reached";
  EXPECT_EQ(*some, std::vector<LogEntry>(written.begin(), written.begin() + static_cast<std::ptrdiff_t>(some->size())));

  for (const LogEntry& e : written) {
    auto t = log_store::term_at(s, g1, e.index);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, std::optional<Term>(e.term));
  }
  auto missing = log_store::term_at(s, g1, LogIndex(11));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, std::nullopt);
  auto other = log_store::term_at(s, g2, LogIndex(2));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, std::optional<Term>(Term(9)));
}

TYPED_TEST_P(KvContractTest, LogTruncateSuffixAndPrefix) {
  KvStore& s = this->store();
  const GroupId g(1);
  const GroupId neighbour(2);
  WriteBatch batch;
  for (std::uint64_t i = 1; i <= 10; ++i) log_store::append(batch, g, entry(i, 1, "e" + std::to_string(i)));
  for (std::uint64_t i = 1; i <= 3; ++i) log_store::append(batch, neighbour, entry(i, 1, "n"));
  ASSERT_TRUE(s.write(batch, WriteOptions{}).ok());

  WriteBatch suffix;
  log_store::truncate_suffix(suffix, g, LogIndex(7));  // removes 7..10
  ASSERT_TRUE(s.write(suffix, WriteOptions{}).ok());
  auto b = log_store::bounds(s, g);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->first, LogIndex(1));
  EXPECT_EQ((*b)->last, LogIndex(6));

  WriteBatch prefix;
  log_store::truncate_prefix(prefix, g, LogIndex(3));  // removes 1..3
  ASSERT_TRUE(s.write(prefix, WriteOptions{}).ok());
  b = log_store::bounds(s, g);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->first, LogIndex(4));
  EXPECT_EQ((*b)->last, LogIndex(6));
  auto rest = log_store::read(s, g, LogIndex(4), LogIndex(7), SIZE_MAX);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ(rest->front(), entry(4, 1, "e4"));
  EXPECT_EQ(rest->back(), entry(6, 1, "e6"));
  auto gone = log_store::term_at(s, g, LogIndex(2));
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, std::nullopt);

  // The neighbouring group is untouched by both truncations.
  auto nb = log_store::bounds(s, neighbour);
  ASSERT_TRUE(nb.ok() && nb->has_value());
  EXPECT_EQ((*nb)->first, LogIndex(1));
  EXPECT_EQ((*nb)->last, LogIndex(3));

  // Replacing a conflicting suffix in one batch: truncate, then append.
  WriteBatch replace;
  log_store::truncate_suffix(replace, g, LogIndex(5));
  log_store::append(replace, g, entry(5, 2, "new5"));
  ASSERT_TRUE(s.write(replace, WriteOptions{}).ok());
  auto replaced = log_store::read(s, g, LogIndex(4), LogIndex(7), SIZE_MAX);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, (std::vector<LogEntry>{entry(4, 1, "e4"), entry(5, 2, "new5")}));
}

TYPED_TEST_P(KvContractTest, HardStateRoundTrip) {
  KvStore& s = this->store();
  auto none = log_store::load_hard_state(s, GroupId(1));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, std::nullopt);

  const HardState first{Term(3), NodeId(2), LogIndex(17)};
  const HardState second{Term(4), kNoNode, LogIndex(18)};
  const HardState other{Term(99), NodeId(5), LogIndex(1)};
  WriteBatch batch;
  log_store::save_hard_state(batch, GroupId(1), first);
  log_store::save_hard_state(batch, GroupId(2), other);
  ASSERT_TRUE(s.write(batch, WriteOptions{}).ok());
  auto loaded = log_store::load_hard_state(s, GroupId(1));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, std::optional<HardState>(first));

  WriteBatch update;
  log_store::save_hard_state(update, GroupId(1), second);
  ASSERT_TRUE(s.write(update, WriteOptions{}).ok());
  loaded = log_store::load_hard_state(s, GroupId(1));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, std::optional<HardState>(second));
  auto loaded_other = log_store::load_hard_state(s, GroupId(2));
  ASSERT_TRUE(loaded_other.ok());
  EXPECT_EQ(*loaded_other, std::optional<HardState>(other));
}

TYPED_TEST_P(KvContractTest, LogReadReportsAHoleAsCorruption) {
  KvStore& s = this->store();
  const GroupId g(1);
  WriteBatch batch;
  for (std::uint64_t i = 1; i <= 5; ++i) log_store::append(batch, g, entry(i, 1, "x"));
  batch.erase(Keyspace::raft_log, log_store::entry_key(g, LogIndex(3)));
  ASSERT_TRUE(s.write(batch, WriteOptions{}).ok());

  auto across = log_store::read(s, g, LogIndex(1), LogIndex(6), SIZE_MAX);
  ASSERT_FALSE(across.ok()) << "a read across the hole returned " << across->size() << " entries";
  EXPECT_EQ(across.status().code(), Code::corruption);
  auto starting_at = log_store::read(s, g, LogIndex(3), LogIndex(6), SIZE_MAX);
  ASSERT_FALSE(starting_at.ok());
  EXPECT_EQ(starting_at.status().code(), Code::corruption);
  auto before = log_store::read(s, g, LogIndex(1), LogIndex(3), SIZE_MAX);
  ASSERT_TRUE(before.ok()) << "the entries before the hole are fine";
  EXPECT_EQ(before->size(), 2u);
}

TYPED_TEST_P(KvContractTest, LogRecordWithBadChecksumIsCorruption) {
  KvStore& s = this->store();
  const GroupId g(1);
  WriteBatch batch;
  for (std::uint64_t i = 1; i <= 3; ++i) log_store::append(batch, g, entry(i, 1, "payload"));
  ASSERT_TRUE(s.write(batch, WriteOptions{}).ok());

  // The store keeps what it was given intact; the damage is in the log
  // record itself (as if written wrong), so only the log's own CRC sees it.
  const std::string key = log_store::entry_key(g, LogIndex(2));
  std::string value = *value_of(s, Keyspace::raft_log, key);
  value.back() = static_cast<char>(value.back() ^ 0x01);
  put_one(s, Keyspace::raft_log, key, value);

  auto read = log_store::read(s, g, LogIndex(1), LogIndex(4), SIZE_MAX);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::corruption);
  auto term = log_store::term_at(s, g, LogIndex(2));
  ASSERT_FALSE(term.ok());
  EXPECT_EQ(term.status().code(), Code::corruption);

  // A record under the wrong key fails too: the CRC covers the key.
  put_one(s, Keyspace::raft_log, log_store::entry_key(g, LogIndex(3)),
          *value_of(s, Keyspace::raft_log, log_store::entry_key(g, LogIndex(1))));
  auto moved = log_store::term_at(s, g, LogIndex(3));
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), Code::corruption);

  WriteBatch hs;
  log_store::save_hard_state(hs, g, HardState{Term(1), NodeId(1), LogIndex(1)});
  ASSERT_TRUE(s.write(hs, WriteOptions{}).ok());
  const std::string hs_key = scan_all(s, Keyspace::raft_state).items.at(0).first;
  std::string hs_value = *value_of(s, Keyspace::raft_state, hs_key);
  hs_value[10] = static_cast<char>(hs_value[10] ^ 0x40);
  put_one(s, Keyspace::raft_state, hs_key, hs_value);
  auto loaded = log_store::load_hard_state(s, g);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Code::corruption);
}

// ---------------------------------------------------------------------------
// Snapshot streaming.

// Content with empty values, binary keys and one record larger than a chunk.
inline void fill_for_snapshot(KvStore& s) {
  WriteBatch b;
  for (int i = 0; i < 40; ++i) b.put(Keyspace::state, "key/" + std::to_string(1000 + i), "value-" + std::to_string(i));
  b.put(Keyspace::state, std::string("\0bin", 4), std::string("\xff\0", 2));
  b.put(Keyspace::state, "empty-value", "");
  b.put(Keyspace::state, "big", std::string(500, 'B'));
  for (std::uint64_t i = 1; i <= 20; ++i) log_store::append(b, GroupId(1), entry(i, 1, "entry"));
  log_store::save_hard_state(b, GroupId(1), HardState{Term(1), NodeId(1), LogIndex(20)});
  b.put(Keyspace::meta, "identity", "source");
  ASSERT_TRUE(s.write(b, WriteOptions{}).ok());
}

inline const std::vector<Keyspace> kSnapshotSpaces = {Keyspace::raft_log, Keyspace::raft_state,
                                                      Keyspace::state};

inline std::vector<std::string> all_chunks(const KvSnapshot& snapshot, std::vector<Keyspace> spaces,
                                           std::size_t chunk_bytes_max) {
  SnapshotChunker chunker(&snapshot, std::move(spaces), chunk_bytes_max);
  std::vector<std::string> chunks;
  for (int bound = 0; bound < 100'000; ++bound) {
    auto c = chunker.next_chunk();
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    if (!c.ok() || !c->has_value()) return chunks;
    chunks.push_back(std::move(**c));
  }
  ADD_FAILURE() << "the chunker never ends";
  return chunks;
}

TYPED_TEST_P(KvContractTest, SnapshotChunksReproduceTheSourceInAnotherStore) {
  KvStore& source = this->store();
  fill_for_snapshot(source);
  auto snap = source.snapshot();
  ASSERT_TRUE(snap.ok());
  const Dump expected = dump(source);
  // Written after the snapshot: must not travel.
  put_one(source, Keyspace::state, "after-snapshot", "no");

  const std::vector<std::string> chunks = all_chunks(**snap, kSnapshotSpaces, 64);
  ASSERT_GT(chunks.size(), 10u) << "a small chunk size makes many chunks";
  for (const auto& c : chunks) {
    // A chunk's records stay within the bound, except one oversized record
    // that travels alone (13 header bytes, 9 bytes of record framing).
    EXPECT_TRUE(c.size() <= 13 + 64 || c.find(std::string(500, 'B')) != std::string::npos)
        << "chunk of " << c.size() << " bytes";
  }

  auto target = this->another();
  ASSERT_NE(target, nullptr);
  // The target has keys of its own in the snapshot's keyspaces (they must
  // go) and in a keyspace outside the snapshot (it must stay).
  WriteBatch stale;
  stale.put(Keyspace::state, "stale", "x");
  stale.put(Keyspace::state, "key/1000", "stale value");
  log_store::append(stale, GroupId(1), entry(99, 7, "stale entry"));
  stale.put(Keyspace::raft_state, "stale", "x");
  stale.put(Keyspace::meta, "identity", "target");
  ASSERT_TRUE(target->write(stale, WriteOptions{}).ok());

  SnapshotAssembler assembler(kSnapshotSpaces);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_FALSE(assembler.complete()) << "complete before chunk " << i;
    Status st = assembler.add_chunk(chunks[i]);
    ASSERT_TRUE(st.ok()) << "chunk " << i << ": " << st.to_string();
  }
  ASSERT_TRUE(assembler.complete());
  ASSERT_TRUE(target->write(assembler.finish(), WriteOptions{}).ok());

  const Dump installed = dump(*target);
  for (Keyspace space : kSnapshotSpaces) {
    EXPECT_EQ(installed[static_cast<int>(space)], expected[static_cast<int>(space)])
        << "keyspace " << keyspace_name(space);
  }
  EXPECT_EQ(value_of(*target, Keyspace::meta, "identity"), "target")
      << "a keyspace outside the snapshot is not touched";
  auto log = log_store::read(*target, GroupId(1), LogIndex(1), LogIndex(21), SIZE_MAX);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 20u);
}

TYPED_TEST_P(KvContractTest, SnapshotOfEmptyKeyspacesIsOneChunkThatClearsTheTarget) {
  auto snap = this->store().snapshot();
  ASSERT_TRUE(snap.ok());
  const std::vector<std::string> chunks = all_chunks(**snap, kSnapshotSpaces, 64);
  ASSERT_EQ(chunks.size(), 1u);

  auto target = this->another();
  put_one(*target, Keyspace::state, "stale", "x");
  SnapshotAssembler assembler(kSnapshotSpaces);
  ASSERT_TRUE(assembler.add_chunk(chunks[0]).ok());
  ASSERT_TRUE(assembler.complete());
  ASSERT_TRUE(target->write(assembler.finish(), WriteOptions{}).ok());
  EXPECT_TRUE(scan_all(*target, Keyspace::state).items.empty());
}

TYPED_TEST_P(KvContractTest, AssemblerRejectsAnyFlippedByte) {
  fill_for_snapshot(this->store());
  auto snap = this->store().snapshot();
  ASSERT_TRUE(snap.ok());
  const std::vector<std::string> chunks = all_chunks(**snap, kSnapshotSpaces, 64);
  ASSERT_GE(chunks.size(), 2u);

  SnapshotAssembler assembler(kSnapshotSpaces);
  for (std::size_t c = 0; c < 2; ++c) {
    for (std::size_t pos = 0; pos < chunks[c].size(); ++pos) {
      for (int bit : {0, 7}) {
        std::string bad = chunks[c];
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << bit));
        Status st = assembler.add_chunk(bad);
        ASSERT_EQ(st.code(), Code::corruption)
            << "chunk " << c << " with bit " << bit << " of byte " << pos << " flipped: " << st.to_string();
      }
    }
    for (std::size_t len = 0; len < chunks[c].size(); ++len) {
      Status st = assembler.add_chunk(std::string_view(chunks[c]).substr(0, len));
      ASSERT_EQ(st.code(), Code::corruption) << "chunk " << c << " cut to " << len << " bytes";
    }
    // Rejections staged nothing: the intact chunk is still the next one.
    ASSERT_TRUE(assembler.add_chunk(chunks[c]).ok());
  }
}

TYPED_TEST_P(KvContractTest, AssemblerRejectsOutOfSequenceChunks) {
  fill_for_snapshot(this->store());
  auto snap = this->store().snapshot();
  ASSERT_TRUE(snap.ok());
  const std::vector<std::string> chunks = all_chunks(**snap, kSnapshotSpaces, 64);
  ASSERT_GE(chunks.size(), 4u);

  SnapshotAssembler assembler(kSnapshotSpaces);
  EXPECT_EQ(assembler.add_chunk(chunks[1]).code(), Code::invalid_argument) << "chunk 1 before 0";
  ASSERT_TRUE(assembler.add_chunk(chunks[0]).ok());
  EXPECT_EQ(assembler.add_chunk(chunks[0]).code(), Code::invalid_argument) << "chunk 0 twice";
  EXPECT_EQ(assembler.add_chunk(chunks[2]).code(), Code::invalid_argument) << "chunk 1 skipped";
  EXPECT_EQ(assembler.add_chunk(chunks.back()).code(), Code::invalid_argument) << "the last chunk early";
  EXPECT_FALSE(assembler.complete());
  for (std::size_t i = 1; i < chunks.size(); ++i) ASSERT_TRUE(assembler.add_chunk(chunks[i]).ok()) << i;
  ASSERT_TRUE(assembler.complete());

  // The rejected chunks left no trace in what gets installed.
  auto target = this->another();
  ASSERT_TRUE(target->write(assembler.finish(), WriteOptions{}).ok());
  const Dump expected = dump(this->store());
  const Dump installed = dump(*target);
  for (Keyspace space : kSnapshotSpaces) {
    EXPECT_EQ(installed[static_cast<int>(space)], expected[static_cast<int>(space)]);
  }
}

TYPED_TEST_P(KvContractTest, AssemblerRejectsChunksAfterTheLast) {
  fill_for_snapshot(this->store());
  auto snap = this->store().snapshot();
  ASSERT_TRUE(snap.ok());
  const std::vector<std::string> chunks = all_chunks(**snap, kSnapshotSpaces, 256);
  ASSERT_GE(chunks.size(), 2u);
  SnapshotAssembler assembler(kSnapshotSpaces);
  for (const auto& c : chunks) ASSERT_TRUE(assembler.add_chunk(c).ok());
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.add_chunk(chunks.back()).code(), Code::invalid_argument);
  EXPECT_EQ(assembler.add_chunk(chunks.front()).code(), Code::invalid_argument);

  // A chunk from a longer stream (a later sequence number) is refused too.
  auto longer = all_chunks(**snap, kSnapshotSpaces, 32);
  ASSERT_GT(longer.size(), chunks.size());
  EXPECT_EQ(assembler.add_chunk(longer[chunks.size()]).code(), Code::invalid_argument);
  EXPECT_TRUE(assembler.complete());
}

TYPED_TEST_P(KvContractTest, AssemblerRejectsRecordsOfKeyspacesOutsideTheSnapshot) {
  fill_for_snapshot(this->store());
  auto snap = this->store().snapshot();
  ASSERT_TRUE(snap.ok());
  const std::vector<std::string> chunks = all_chunks(**snap, {Keyspace::meta}, 1024);
  ASSERT_EQ(chunks.size(), 1u);
  SnapshotAssembler assembler({Keyspace::state});
  EXPECT_EQ(assembler.add_chunk(chunks[0]).code(), Code::corruption);
}

// ---------------------------------------------------------------------------
// Crashes, for factories that can simulate one.

TYPED_TEST_P(KvContractTest, CrashKeepsSyncedWritesAndBatchesStayWhole) {
  if constexpr (!HasCrashHook<TypeParam>) {
    GTEST_SKIP() << "this factory cannot simulate a crash";
  } else {
    KvStore& s = this->store();
    for (int i = 0; i < 10; ++i) {
      WriteBatch b;
      b.put(Keyspace::state, "synced/" + std::to_string(i), "a");
      b.put(Keyspace::meta, "synced/" + std::to_string(i), "b");
      ASSERT_TRUE(s.write(b, WriteOptions{true}).ok());
    }
    // Unsynced, then made durable by sync().
    put_one(s, Keyspace::state, "by-sync", "x", /*sync=*/false);
    ASSERT_TRUE(s.sync().ok());
    // Unsynced, then made durable by a later synced write.
    put_one(s, Keyspace::state, "before-synced-write", "x", /*sync=*/false);
    put_one(s, Keyspace::state, "synced-write", "x", /*sync=*/true);
    // Unsynced for good: each batch must come back whole or not at all.
    for (int i = 0; i < 10; ++i) {
      WriteBatch b;
      for (const char* part : {"/a", "/b", "/c"}) b.put(Keyspace::state, "unsynced/" + std::to_string(i) + part, "u");
      b.erase(Keyspace::state, "synced/" + std::to_string(i));
      ASSERT_TRUE(s.write(b, WriteOptions{false}).ok());
    }

    this->store_ = TypeParam::crash_and_reopen(std::move(this->store_));
    ASSERT_NE(this->store_, nullptr);
    KvStore& after = this->store();
    for (const char* k : {"by-sync", "before-synced-write", "synced-write"}) {
      EXPECT_EQ(value_of(after, Keyspace::state, k), "x") << k;
    }
    for (int i = 0; i < 10; ++i) {
      const std::string n = std::to_string(i);
      EXPECT_EQ(value_of(after, Keyspace::meta, "synced/" + n), "b");
      const int parts = (value_of(after, Keyspace::state, "unsynced/" + n + "/a") ? 1 : 0) +
                        (value_of(after, Keyspace::state, "unsynced/" + n + "/b") ? 1 : 0) +
                        (value_of(after, Keyspace::state, "unsynced/" + n + "/c") ? 1 : 0);
      const bool erased = !value_of(after, Keyspace::state, "synced/" + n).has_value();
      EXPECT_TRUE((parts == 3 && erased) || (parts == 0 && !erased))
          << "unsynced batch " << i << " came back in part: " << parts << " of 3 puts, erase "
          << (erased ? "applied" : "lost");
    }
  }
}

// ---------------------------------------------------------------------------
// Poisoning, for factories that can fail the device: the first failed write
// or sync poisons the store until it is reopened (a restart).

TYPED_TEST_P(KvContractTest, AFailedWriteChangesNothingAndPoisonsTheStore) {
  if constexpr (!HasFaultHooks<TypeParam>) {
    GTEST_SKIP() << "this factory cannot fail the device";
  } else {
    KvStore& s = this->store();
    put_one(s, Keyspace::state, "acked", "1");
    put_one(s, Keyspace::state, "cached", "1", /*sync=*/false);
    const Dump before = dump(s);

    TypeParam::set_device_full(s, true);
    WriteBatch b;
    b.put(Keyspace::state, "never", "x");
    b.erase(Keyspace::state, "acked");
    const Status failed = s.write(b, WriteOptions{true});
    ASSERT_EQ(failed.code(), Code::no_space) << failed.to_string();
    EXPECT_EQ(dump(s), before) << "a failed write changes nothing";

    // Space is back, but the store refuses writes and syncs, and says why.
    TypeParam::set_device_full(s, false);
    for (const Status& later : {s.write(b, WriteOptions{true}), s.write(b, WriteOptions{false}), s.sync()}) {
      EXPECT_EQ(later.code(), Code::poisoned) << later.to_string();
      EXPECT_NE(later.message().find(failed.message()), std::string::npos)
          << "'" << later.message() << "' does not carry the original error '" << failed.message() << "'";
    }
    EXPECT_EQ(dump(s), before) << "reads still work";

    if constexpr (HasCrashHook<TypeParam>) {
      this->store_ = TypeParam::crash_and_reopen(std::move(this->store_));
      KvStore& after = this->store();
      EXPECT_EQ(value_of(after, Keyspace::state, "acked"), "1");
      EXPECT_EQ(value_of(after, Keyspace::state, "never"), std::nullopt);
      put_one(after, Keyspace::state, "reopened", "takes writes again");
    }
  }
}

TYPED_TEST_P(KvContractTest, AFailedSyncPoisonsTheStore) {
  if constexpr (!HasFaultHooks<TypeParam>) {
    GTEST_SKIP() << "this factory cannot fail the device";
  } else {
    KvStore& s = this->store();
    put_one(s, Keyspace::state, "acked", "1");
    TypeParam::set_syncs_failing(s, true);
    WriteBatch doomed;
    for (const char* part : {"a", "b", "c"}) doomed.put(Keyspace::state, std::string("doomed/") + part, "x");
    const Status failed = s.write(doomed, WriteOptions{true});
    ASSERT_EQ(failed.code(), Code::io_error) << failed.to_string();
    TypeParam::set_syncs_failing(s, false);
    for (const Status& later : {s.write(doomed, WriteOptions{true}), s.sync()}) {
      EXPECT_EQ(later.code(), Code::poisoned) << later.to_string();
      EXPECT_NE(later.message().find(failed.message()), std::string::npos) << later.to_string();
    }
    EXPECT_EQ(value_of(s, Keyspace::state, "acked"), "1");
    // Whether reads see the doomed batch before a restart is left open: its
    // durability is unknown (kv_store.h). After one, it is whole or absent.
    if constexpr (HasCrashHook<TypeParam>) {
      this->store_ = TypeParam::crash_and_reopen(std::move(this->store_));
      KvStore& after = this->store();
      EXPECT_EQ(value_of(after, Keyspace::state, "acked"), "1");
      const std::size_t parts = scan_all(after, Keyspace::state, "doomed/", "doomed0").items.size();
      EXPECT_TRUE(parts == 0 || parts == 3) << parts << " of 3 parts of the doomed batch";
      put_one(after, Keyspace::state, "reopened", "takes writes again");
    }
  }
}

REGISTER_TYPED_TEST_SUITE_P(KvContractTest, PutGetOverwriteErase, BinaryKeysAndValues,
                            EraseRangeIsHalfOpen, KeyspacesAreIndependent,
                            ScanIsOrderedByUnsignedBytesWithinHalfOpenBounds,
                            LastKeyIsTheGreatestKeyInHalfOpenRange, BatchAppliesEveryOpInOrder,
                            ReadsSeeUnsyncedWrites, SnapshotIsUnaffectedByLaterWrites,
                            LogAppendReadBoundsTermAt, LogTruncateSuffixAndPrefix,
                            HardStateRoundTrip, LogReadReportsAHoleAsCorruption,
                            LogRecordWithBadChecksumIsCorruption,
                            SnapshotChunksReproduceTheSourceInAnotherStore,
                            SnapshotOfEmptyKeyspacesIsOneChunkThatClearsTheTarget,
                            AssemblerRejectsAnyFlippedByte, AssemblerRejectsOutOfSequenceChunks,
                            AssemblerRejectsChunksAfterTheLast,
                            AssemblerRejectsRecordsOfKeyspacesOutsideTheSnapshot,
                            CrashKeepsSyncedWritesAndBatchesStayWhole,
                            AFailedWriteChangesNothingAndPoisonsTheStore,
                            AFailedSyncPoisonsTheStore);

}  // namespace sluice::kv_contract
