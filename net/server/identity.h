// Whose data a directory holds, and whose data the peers had.
//
// Raft's safety rests on each node keeping its vote and its log. Two
// operator mistakes break that silently, and sluiced refuses both:
//  - a data directory started as another node (--id 2 on node 1's data) or
//    in another cluster: the directory's identity, written when it was
//    created, must match, or the node does not start;
//  - a node whose data was lost (a wiped or replaced disk) restarted under
//    its old id: it has forgotten its votes and the entries it acknowledged.
//    Each data directory draws a storage id when it is created and peers
//    send it in their Hello; a node remembers (durably) the storage id each
//    peer had, and refuses a peer that comes back with another one. Such a
//    node is taken out of the cluster and added back as a new member, empty
//    (under its old id or a new one), and catches up by snapshot; a removal
//    drops the storage id its peers remembered (docs/operations.md, "A node
//    that lost its data").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/common/status.h"
#include "core/common/types.h"
#include "core/storage/kv_store.h"

namespace sluice::net {

struct StoreIdentity {
  NodeId node;
  std::string cluster;
  std::uint64_t storage_id = 0;  // never 0
};

// The store's identity, written (synced) on the first open with `fresh_id`
// as its storage id. invalid_argument if the store was created for another
// node or cluster; corruption if the record is damaged.
Result<StoreIdentity> claim_identity(KvStore& store, NodeId node, const std::string& cluster,
                                     std::uint64_t fresh_id);

// The storage ids peers had, as this node saw them.
class PeerStorageIds {
 public:
  static Result<PeerStorageIds> load(KvStore& store);

  // ok: the peer's storage id is the one seen before, or the first (then
  // remembered, synced). invalid_argument with the whole story when it
  // changed. An id of 0 (a build before storage ids) is not checked.
  Status check(KvStore& store, NodeId peer, std::uint64_t storage_id);
  // A node removed from the cluster may come back under its id with a new
  // disk, as a new member: its old storage id is dropped (synced).
  Status forget(KvStore& store, NodeId peer);

  std::optional<std::uint64_t> recall(NodeId peer) const;

 private:
  std::map<NodeId, std::uint64_t> seen_;
};

}  // namespace sluice::net
