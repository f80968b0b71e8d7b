// BrokerState's persistence (issue 4, item 8): flush() into the state
// keyspace and load() back, snapshot() and restore(), after random
// sequences of entries. The rebuilt state must be byte-identical (its
// snapshot), hold exactly the records the live state would write (so no
// record of an acked, expired or trimmed message survives), and behave the
// same on every later entry. Damaged records are refused with
// Code::corruption, never a crash.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/broker/encoding.h"
#include "core/broker/state.h"
#include "core/common/bytes.h"
#include "core/common/codec.h"
#include "tests/core/broker/harness.h"
#include "tests/core/broker/mem_kv.h"
#include "tests/core/broker/show.h"
#include "tests/core/broker/workload.h"

namespace sluice::broker {
namespace {

using testing::Broker;
using testing::MemKv;
using testing::pick;
using testing::secs;
using testing::show;
using testing::Space;
using testing::With;
using testing::Workload;

// The records a snapshot carries, by key.
Space records_of(const std::string& snapshot) {
  Decoder d(snapshot);
  EXPECT_EQ(d.u8(), 1);
  Space out;
  for (std::uint32_t n = d.u32(); n > 0 && d.ok(); --n) {
    std::string key = d.str();
    out[key] = d.str();
  }
  EXPECT_TRUE(d.done());
  return out;
}
std::string snapshot_of(const Space& records) {
  Encoder e;
  e.u8(1);
  e.u32(static_cast<std::uint32_t>(records.size()));
  for (const auto& [k, v] : records) {
    e.str(k);
    e.str(v);
  }
  return e.take();
}

void flush_into(BrokerState& state, MemKv& kv) {
  WriteBatch batch;
  state.flush(batch);
  RC_ASSERT(kv.write(batch, WriteOptions{}).ok());
}

BrokerState load_ok(MemKv& kv) {
  Result<BrokerState> loaded = BrokerState::load(kv);
  if (!loaded.ok()) RC_FAIL("load failed: " + loaded.status().to_string());
  return std::move(loaded).value();
}

// Applies the same entry to both; they must answer alike.
void apply_both(BrokerState& a, BrokerState& b, const Entry& entry, Workload& workload) {
  const LogIndex index = a.applied().next();
  RC_ASSERT(b.applied().next() == index);
  const Result<Reply> ra = a.apply(index, entry);
  const Result<Reply> rb = b.apply(index, entry);
  RC_LOG() << index.value() << " " << command_name(entry.command) << " -> " << show(ra) << "\n";
  RC_ASSERT(show(ra) == show(rb));
  // Error messages too: the model cannot check those, a twin can.
  if (!ra.ok()) RC_ASSERT(ra.status() == rb.status());
  workload.saw(ra);
}

RC_GTEST_PROP(BrokerPersistence, SnapshotRestoreIsExactAndBehavesTheSame, ()) {
  BrokerState live;
  Workload workload;
  const int before = *rc::gen::inRange(0, 150);
  for (int i = 0; i < before; ++i) {
    const Entry e = workload.next();
    workload.saw(live.apply(live.applied().next(), e));
  }
  const std::string snapshot = live.snapshot();
  WriteBatch batch;
  Result<BrokerState> restored = BrokerState::restore(snapshot, batch);
  RC_ASSERT(restored.ok());
  RC_ASSERT(restored->snapshot() == snapshot);
  RC_ASSERT(restored->applied() == live.applied());

  // The batch replaces whatever the keyspace held with the snapshot's records.
  MemKv kv;
  kv.space(Keyspace::state)[std::string("Qstale\0xxxxxxxx", 15)] = "left from before";
  kv.space(Keyspace::state)["m"] = "an old meta record";
  kv.space(Keyspace::meta)["other"] = "not the broker's";
  RC_ASSERT(kv.write(batch, WriteOptions{}).ok());
  RC_ASSERT(kv.space(Keyspace::state) == records_of(snapshot));
  RC_ASSERT(kv.space(Keyspace::meta).size() == 1u);
  RC_ASSERT(load_ok(kv).snapshot() == snapshot);

  BrokerState& twin = restored.value();
  const int after = *rc::gen::inRange(0, 100);
  for (int i = 0; i < after; ++i) apply_both(live, twin, workload.next(), workload);
  RC_ASSERT(twin.snapshot() == live.snapshot());
}

// A node that flushes its state after every few entries, and now and then
// restarts from its keyspace, against a twin that never stops.
RC_GTEST_PROP(BrokerPersistence, FlushAndLoadAreExactAndBehaveTheSame, ()) {
  BrokerState twin;
  BrokerState node;
  MemKv kv;
  Workload workload;
  const int steps = *rc::gen::inRange(1, 200);
  int unflushed = 0;
  for (int step = 0; step < steps; ++step) {
    apply_both(twin, node, workload.next(), workload);
    unflushed++;
    // An output carries a few entries; then they are flushed together.
    if (unflushed < pick(1, 5)) continue;
    flush_into(node, kv);
    unflushed = 0;
    const std::string snapshot = node.snapshot();
    RC_ASSERT(kv.space(Keyspace::state) == records_of(snapshot));
    if (pick(0, 8) == 0) {
      node = load_ok(kv);
      RC_ASSERT(node.snapshot() == snapshot);
    }
  }
  flush_into(node, kv);
  RC_ASSERT(kv.space(Keyspace::state) == records_of(twin.snapshot()));
  RC_ASSERT(load_ok(kv).snapshot() == twin.snapshot());
}

// Flushes b's changes into kv and loads the state back from kv alone.
BrokerState flush_and_load(Broker& b, MemKv& kv) {
  WriteBatch batch;
  b.state.flush(batch);
  EXPECT_TRUE(kv.write(batch, WriteOptions{}).ok());
  Result<BrokerState> loaded = BrokerState::load(kv);
  EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
  return loaded.ok() ? std::move(loaded).value() : BrokerState{};
}

// The counters live in the channel record: each change must reach it.
TEST(BrokerPersistence, EveryCounterIsFlushed) {
  Broker b;
  MemKv kv;
  auto flush_and_reload = [&] {
    const BrokerState loaded = flush_and_load(b, kv);
    EXPECT_EQ(show(loaded.queue_stats("q")), show(b.state.queue_stats("q")));
    EXPECT_EQ(loaded.snapshot(), b.state.snapshot());
  };
  b.send("q", "a", With().max_receive_count(5));
  flush_and_reload();
  const Delivery d = b.receive_one("q");
  flush_and_reload();
  ASSERT_TRUE(b.reject(d.receipt).ok());  // the message is back, ready: only the counter says so
  flush_and_reload();
  const Delivery again = b.receive_one("q", secs(10));
  ASSERT_TRUE(b.extend(again.receipt, secs(20)).ok());
  flush_and_reload();
  b.at(25);
  b.tick();  // the delivery lapses
  flush_and_reload();
}

// Group positions trail their channel's record: they are flushed when they
// move, load back, and a record written before they existed loads with none.
TEST(BrokerPersistence, GroupPositionsAreFlushedAndLoaded) {
  Broker b;
  MemKv kv;
  auto flush_and_reload = [&] { return flush_and_load(b, kv); };
  for (int i = 0; i < 5; ++i) b.publish("s", "m");
  EXPECT_EQ(flush_and_reload().store_group_position("s", "workers"), std::nullopt);
  b.apply_ok<Done>(StoreGroupPosition{"s", "workers", 4});
  b.apply_ok<Done>(StoreGroupPosition{"s", "audit", 2});
  BrokerState loaded = flush_and_reload();
  EXPECT_EQ(loaded.store_group_position("s", "workers"), 4u);
  EXPECT_EQ(loaded.store_group_position("s", "audit"), 2u);
  EXPECT_EQ(loaded.snapshot(), b.state.snapshot());
  WriteBatch restore_batch;
  Result<BrokerState> restored = BrokerState::restore(b.state.snapshot(), restore_batch);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->store_group_position("s", "workers"), 4u);
}

// ---------------------------------------------------------------------------
// Damaged records

// A state with every kind of record: queues with ready, delayed, in-flight
// and dead-lettered messages, two stores, idempotency keys.
Broker rich_state() {
  Broker b;
  b.send("q", "a", With().key(IdempotencyKey{"p", 1, false}).max_receive_count(1).dead_letter("dlq"));
  b.send("q", "b", With().delay(secs(50)).expiration(secs(100)));
  b.send("q", "c");
  b.send("q", "d");
  b.publish("s", "one", IdempotencyKey{"p", 1, false});
  b.publish("s", "two");
  b.publish("s", "three");
  b.publish("t", "x");
  const Delivery a = b.receive_one("q", secs(5));
  EXPECT_TRUE(b.reject(a.receipt).ok());  // to the DLQ
  b.receive("q", 2, secs(5));               // c and d in flight
  return b;
}

MemKv stored(const BrokerState& state) {
  MemKv kv;
  WriteBatch batch;
  Result<BrokerState> copy = BrokerState::restore(state.snapshot(), batch);
  EXPECT_TRUE(copy.ok());
  EXPECT_TRUE(kv.write(batch, WriteOptions{}).ok());
  return kv;
}

// The first record whose key starts with prefix.
std::string key_with(MemKv& kv, const std::string& prefix, std::size_t nth = 0) {
  for (const auto& [k, v] : kv.space(Keyspace::state)) {
    if (k.rfind(prefix, 0) == 0 && nth-- == 0) return k;
  }
  ADD_FAILURE() << "no record " << prefix;
  return "";
}
using encoding::message_key;

// Loading, and restoring the same records as a snapshot, both refuse.
void expect_refused(MemKv& kv, Code code, const std::string& what) {
  Result<BrokerState> loaded = BrokerState::load(kv);
  ASSERT_FALSE(loaded.ok()) << what;
  EXPECT_EQ(loaded.status().code(), code) << what << ": " << loaded.status().to_string();
  WriteBatch batch;
  Result<BrokerState> restored = BrokerState::restore(snapshot_of(kv.space(Keyspace::state)), batch);
  ASSERT_FALSE(restored.ok()) << what;
  EXPECT_EQ(restored.status().code(), code) << what << ": " << restored.status().to_string();
}

TEST(BrokerPersistence, TheRichStateRoundTrips) {
  const Broker b = rich_state();
  MemKv kv = stored(b.state);
  Result<BrokerState> loaded = BrokerState::load(kv);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->snapshot(), b.state.snapshot());
  EXPECT_EQ(show(loaded->queue_stats("dlq")), show(b.state.queue_stats("dlq")));
}

TEST(BrokerPersistence, TruncatedOrOverlongRecordsAreCorruption) {
  const Broker b = rich_state();
  for (const char* prefix : {"m", "C\x01", "C\x02", "Q", "S", "D"}) {
    MemKv kv = stored(b.state);
    std::string& value = kv.space(Keyspace::state)[key_with(kv, prefix)];
    value.pop_back();
    expect_refused(kv, Code::corruption, std::string("truncated ") + prefix);
    kv = stored(b.state);
    kv.space(Keyspace::state)[key_with(kv, prefix)] += "x";
    expect_refused(kv, Code::corruption, std::string("overlong ") + prefix);
  }
}

TEST(BrokerPersistence, MalformedKeysAreCorruption) {
  const Broker b = rich_state();
  for (const std::string& key : {std::string("Zebra"), std::string("C\x07q"), std::string("Qshort"),
                                 std::string("Sq") + std::string(8, '\x01'), std::string("mx"), std::string("C")}) {
    MemKv kv = stored(b.state);
    kv.space(Keyspace::state)[key] = "v";
    expect_refused(kv, Code::corruption, "key " + key);
  }
}

TEST(BrokerPersistence, AnUnknownFormatVersionIsAVersionMismatch) {
  const Broker b = rich_state();
  MemKv kv = stored(b.state);
  kv.space(Keyspace::state)["m"][0] = 9;
  expect_refused(kv, Code::version_mismatch, "meta version");
  WriteBatch batch;
  std::string snapshot = b.state.snapshot();
  snapshot[0] = 9;
  Result<BrokerState> restored = BrokerState::restore(snapshot, batch);
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), Code::version_mismatch);
  EXPECT_TRUE(batch.empty()) << "a refused snapshot writes nothing";
}

TEST(BrokerPersistence, RecordsThatContradictEachOtherAreCorruption) {
  const Broker b = rich_state();
  {
    MemKv kv = stored(b.state);
    kv.space(Keyspace::state).erase(message_key('S', "s", 2));
    expect_refused(kv, Code::corruption, "a gap in a store");
  }
  {
    MemKv kv = stored(b.state);
    kv.space(Keyspace::state)[message_key('S', "s", 4)] = kv.space(Keyspace::state)[message_key('S', "s", 3)];
    expect_refused(kv, Code::corruption, "a store message past the channel's next sequence");
  }
  {
    MemKv kv = stored(b.state);
    kv.space(Keyspace::state)[message_key('Q', "q", 9)] = kv.space(Keyspace::state)[message_key('Q', "q", 3)];
    expect_refused(kv, Code::corruption, "a queue message past the channel's next sequence");
  }
  {
    MemKv kv = stored(b.state);
    kv.space(Keyspace::state).erase(key_with(kv, "C\x02q"));
    expect_refused(kv, Code::corruption, "queue messages without their channel");
  }
}

// An in-flight record ends: receipt u64, deadline i64, reason str, from str.
// With an empty reason and from, its receipt is 24 bytes from the end.
void set_receipt(std::string& record, std::uint64_t receipt) {
  std::string r;
  put_u64_be(r, receipt);
  record.replace(record.size() - 24, 8, r);
}

TEST(BrokerPersistence, ReceiptsThatCannotBeAreCorruption) {
  const Broker b = rich_state();
  const std::string c = message_key('Q', "q", 3);
  const std::string d = message_key('Q', "q", 4);
  {
    MemKv kv = stored(b.state);
    set_receipt(kv.space(Keyspace::state)[c], 0);
    expect_refused(kv, Code::corruption, "a delivery without a receipt");
  }
  {
    MemKv kv = stored(b.state);
    const std::string other = kv.space(Keyspace::state)[d];
    std::string& record = kv.space(Keyspace::state)[c];
    record.replace(record.size() - 24, 8, other.substr(other.size() - 24, 8));
    expect_refused(kv, Code::corruption, "two deliveries with one receipt");
  }
  {
    MemKv kv = stored(b.state);
    set_receipt(kv.space(Keyspace::state)[c], 1000);
    expect_refused(kv, Code::corruption, "a receipt not yet handed out");
  }
  {
    MemKv kv = stored(b.state);
    set_receipt(kv.space(Keyspace::state)[message_key('Q', "q", 2)], 2);
    expect_refused(kv, Code::corruption, "a receipt on a message not in flight");
  }
}

TEST(BrokerPersistence, IdempotencyKeysFromTheFutureAreCorruption) {
  const Broker b = rich_state();
  MemKv kv = stored(b.state);
  std::string& record = kv.space(Keyspace::state)[key_with(kv, "D")];
  // at i64, then the log index it was remembered at.
  std::string index;
  put_u64_be(index, 1000);
  record.replace(8, 8, index);
  expect_refused(kv, Code::corruption, "a key remembered after the applied index");
}

// Any single damage to the stored records: load and restore either refuse
// it with a code, or (when the damage happens to be well formed, such as a
// changed body byte) succeed. Never a crash.
RC_GTEST_PROP(BrokerPersistence, DamagedRecordsNeverCrash, ()) {
  BrokerState live;
  Workload workload;
  const int steps = *rc::gen::inRange(1, 120);
  for (int i = 0; i < steps; ++i) workload.saw(live.apply(live.applied().next(), workload.next()));
  MemKv kv;
  WriteBatch batch;
  RC_ASSERT(BrokerState::restore(live.snapshot(), batch).ok());
  RC_ASSERT(kv.write(batch, WriteOptions{}).ok());
  Space& records = kv.space(Keyspace::state);
  std::vector<std::string> keys;
  for (const auto& [k, v] : records) keys.push_back(k);
  const std::string key = *rc::gen::elementOf(keys);
  std::string value = records.at(key);
  switch (pick(0, 6)) {
    case 0:  // bit flips
      for (int i = pick(1, 4); i > 0 && !value.empty(); --i) {
        const std::size_t at = pick<std::size_t>(0, value.size());
        value[at] = static_cast<char>(value[at] ^ (1 << pick(0, 8)));
      }
      records[key] = value;
      break;
    case 1: records[key] = value.substr(0, pick<std::size_t>(0, value.size() + 1)); break;
    case 2: records[key] = value + *rc::gen::arbitrary<std::string>(); break;
    case 3: records[key] = *rc::gen::arbitrary<std::string>(); break;
    case 4: records.erase(key); break;
    case 5: {  // the value under a damaged key
      std::string damaged = key;
      const std::size_t at = pick<std::size_t>(0, damaged.size());
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << pick(0, 8)));
      records.erase(key);
      records[damaged] = value;
      break;
    }
  }
  for (const Result<BrokerState>& r :
       {BrokerState::load(kv), [&] {
          WriteBatch b;
          return BrokerState::restore(snapshot_of(records), b);
        }()}) {
    if (!r.ok()) {
      RC_TAG(code_name(r.status().code()));
      RC_ASSERT(r.status().code() == Code::corruption || r.status().code() == Code::version_mismatch);
    } else {
      RC_TAG("ok");
      (void)r->snapshot();
    }
  }
  // A damaged snapshot, as InstallSnapshot might bring.
  std::string snapshot = live.snapshot();
  const std::size_t cut = pick<std::size_t>(0, snapshot.size());
  WriteBatch b;
  const Result<BrokerState> truncated = BrokerState::restore(snapshot.substr(0, cut), b);
  RC_ASSERT(!truncated.ok());
  RC_ASSERT(truncated.status().code() == Code::corruption || truncated.status().code() == Code::version_mismatch);
  RC_ASSERT(b.empty());
}

}  // namespace
}  // namespace sluice::broker
