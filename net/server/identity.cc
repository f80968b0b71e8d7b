#include "net/server/identity.h"

#include <cstdio>

#include "core/common/bytes.h"
#include "core/common/codec.h"

namespace sluice::net {
namespace {

// meta keyspace. Identity: node id | storage id | cluster. A peer's storage
// id: "node/peer_storage/" + peer id (big-endian) -> storage id.
constexpr std::string_view kIdentityKey = "node/identity";
constexpr std::string_view kPeerPrefix = "node/peer_storage/";
constexpr std::string_view kPeerEnd = "node/peer_storage0";  // '/' + 1

std::string peer_key(NodeId peer) {
  std::string key(kPeerPrefix);
  put_u64_be(key, peer.value());
  return key;
}

std::string hex(std::uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Result<StoreIdentity> claim_identity(KvStore& store, NodeId node, const std::string& cluster,
                                     std::uint64_t fresh_id) {
  SLUICE_ASSERT(node != kNoNode, "a node has an id");
  SLUICE_ASSERT(fresh_id != 0, "0 means unknown on the wire");
  auto stored = store.get(Keyspace::meta, kIdentityKey);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    Encoder e;
    e.u64(node.value());
    e.u64(fresh_id);
    e.str(cluster);
    WriteBatch batch;
    batch.put(Keyspace::meta, kIdentityKey, e.bytes());
    if (Status s = store.write(batch, WriteOptions{true}); !s.ok()) return s;
    return StoreIdentity{node, cluster, fresh_id};
  }
  Decoder d(**stored);
  StoreIdentity id{NodeId(d.u64()), "", d.u64()};
  id.cluster = d.str();
  if (!d.ok() || !d.done() || id.node == kNoNode || id.storage_id == 0) {
    return Status(Code::corruption, "the data directory's identity record is damaged");
  }
  if (id.node != node || id.cluster != cluster) {
    return Status(Code::invalid_argument,
                  "this data directory belongs to node " + to_string(id.node) + " of cluster '" + id.cluster +
                      "', not to node " + to_string(node) + " of cluster '" + cluster +
                      "': a node must keep its own data (check --id, --cluster and --data)");
  }
  return id;
}

Result<PeerStorageIds> PeerStorageIds::load(KvStore& store) {
  PeerStorageIds ids;
  auto it = store.scan(Keyspace::meta, kPeerPrefix, kPeerEnd);
  for (; it->valid(); it->next()) {
    const std::string_view key = it->key();
    const std::string_view value = it->value();
    if (key.size() != kPeerPrefix.size() + 8 || value.size() != 8) {
      return Status(Code::corruption, "a peer storage id record is damaged");
    }
    ids.seen_[NodeId(get_u64_be(key, kPeerPrefix.size()))] = get_u64_be(value, 0);
  }
  if (Status s = it->status(); !s.ok()) return s;
  return ids;
}

Status PeerStorageIds::check(KvStore& store, NodeId peer, std::uint64_t storage_id) {
  if (storage_id == 0) return {};
  auto it = seen_.find(peer);
  if (it != seen_.end()) {
    if (it->second == storage_id) return {};
    return Status(Code::invalid_argument,
                  "node " + to_string(peer) + " came back with another data directory (storage id " + hex(storage_id) +
                      ", before " + hex(it->second) +
                      "): it lost its data, and a node that forgot its votes and the entries it acknowledged must "
                      "not rejoin as the member it was; take it out and back in: sluice cluster remove " +
                      to_string(peer) + ", start it empty with --join, then sluice cluster add " + to_string(peer) +
                      " HOST:PORT");
  }
  std::string value;
  put_u64_be(value, storage_id);
  WriteBatch batch;
  batch.put(Keyspace::meta, peer_key(peer), value);
  if (Status s = store.write(batch, WriteOptions{true}); !s.ok()) return s;
  seen_[peer] = storage_id;
  return {};
}

Status PeerStorageIds::forget(KvStore& store, NodeId peer) {
  if (!seen_.contains(peer)) return {};
  WriteBatch batch;
  batch.erase(Keyspace::meta, peer_key(peer));
  if (Status s = store.write(batch, WriteOptions{true}); !s.ok()) return s;
  seen_.erase(peer);
  return {};
}

std::optional<std::uint64_t> PeerStorageIds::recall(NodeId peer) const {
  auto it = seen_.find(peer);
  if (it == seen_.end()) return std::nullopt;
  return it->second;
}

}  // namespace sluice::net
