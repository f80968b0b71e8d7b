// A data directory's identity and the storage ids of peers
// (net/server/identity.h), on the in-memory store.
#include <gtest/gtest.h>

#include "net/server/identity.h"
#include "tests/core/broker/mem_kv.h"

namespace sluice::net {
namespace {

using broker::testing::MemKv;

TEST(Identity, TheFirstOpenClaimsTheDirectoryAndLaterOnesMustMatch) {
  MemKv store;
  auto first = claim_identity(store, NodeId(1), "prod", 0xabc);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->storage_id, 0xabcu);
  auto again = claim_identity(store, NodeId(1), "prod", 0xdef);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->storage_id, 0xabcu) << "the storage id is drawn once, when the directory is new";
  const auto other_node = claim_identity(store, NodeId(2), "prod", 0xdef);
  EXPECT_EQ(other_node.status().code(), Code::invalid_argument);
  EXPECT_EQ(other_node.status().message(),
            "this data directory belongs to node 1 of cluster 'prod', not to node 2 of cluster 'prod': a node must "
            "keep its own data (check --id, --cluster and --data)");
  EXPECT_EQ(claim_identity(store, NodeId(1), "staging", 0xdef).status().code(), Code::invalid_argument);
}

TEST(Identity, ADamagedRecordIsCorruptionNotAnotherIdentity) {
  MemKv store;
  WriteBatch batch;
  batch.put(Keyspace::meta, "node/identity", "garbage");
  ASSERT_TRUE(store.write(batch, {}).ok());
  EXPECT_EQ(claim_identity(store, NodeId(1), "prod", 1).status().code(), Code::corruption);
}

TEST(PeerStorage, APeerIsRememberedAndRefusedWhenItComesBackWithAnotherDirectory) {
  MemKv store;
  auto ids = PeerStorageIds::load(store);
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->check(store, NodeId(2), 0x22).ok()) << "first seen: remembered";
  EXPECT_TRUE(ids->check(store, NodeId(3), 0x33).ok());
  EXPECT_TRUE(ids->check(store, NodeId(2), 0x22).ok()) << "the same directory after a restart";
  EXPECT_TRUE(ids->check(store, NodeId(2), 0).ok()) << "0: a build without storage ids, not checked";
  const Status lost = ids->check(store, NodeId(2), 0x99);
  EXPECT_EQ(lost.code(), Code::invalid_argument);
  EXPECT_NE(lost.message().find("node 2 came back with another data directory (storage id 0000000000000099, before "
                                "0000000000000022)"),
            std::string::npos)
      << lost.message();
  EXPECT_NE(lost.message().find("sluice cluster remove 2"), std::string::npos) << lost.message();
  EXPECT_EQ(ids->recall(NodeId(2)), 0x22u) << "a refusal forgets nothing";

  // What was seen survives a restart of this node.
  auto reloaded = PeerStorageIds::load(store);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->recall(NodeId(2)), 0x22u);
  EXPECT_EQ(reloaded->recall(NodeId(3)), 0x33u);
  EXPECT_FALSE(reloaded->recall(NodeId(4)).has_value());
  EXPECT_FALSE(reloaded->check(store, NodeId(3), 0x34).ok());
}

}  // namespace
}  // namespace sluice::net
