// The step-machine shape of a node: what goes in, what comes out.
//
// Inputs: step(from, message, now), tick(now), and on_persisted(id, status)
// for a write the driver finished. Output: take_output() returns an Output
// value, and nothing happens until a driver carries it out (driver.h).
//
// THE IO ORDERING CONTRACT (written once, here; drivers implement it in
// carry_out() and nowhere else):
//
//  1. `send_now` may be sent at once, in any order relative to `persist`.
//     They must not depend on `persist`. (A Raft leader puts its AppendEntries
//     here: it may replicate in parallel with its own fsync, Raft thesis
//     10.2.1, but it counts itself toward a commit only after
//     on_persisted().)
//  2. `persist` is written as one atomic batch and made durable (synced)
//     BEFORE any message of `send_after_persist` leaves and before any write
//     it carries is acknowledged to a client: hard state, log entries and
//     state-machine writes of one output share one WriteBatch.
//  3. Persists complete in the order the outputs were taken. A completion
//     covers its own batch and every earlier one.
//  4. An output with `send_after_persist` but an empty `persist` is a
//     barrier: its messages wait until every earlier persist is durable
//     (an acknowledgement may depend on a write still in flight).
//  5. If a persist fails, `send_after_persist` is dropped, the node hears
//     on_persisted(id, error) and must stop serving (poison) rather than
//     guess what reached the disk.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/common/types.h"
#include "core/storage/kv_store.h"

namespace sluice {

template <class Msg>
struct Envelope {
  GroupId group = kDefaultGroup;
  NodeId from;
  NodeId to;
  Msg message;
};

// Identifies one output's persist, increasing by one per persisting output.
using PersistId = std::uint64_t;

template <class Msg>
struct Output {
  std::vector<Envelope<Msg>> send_now;
  WriteBatch persist;
  // Set by the node whenever persist or send_after_persist is not empty.
  PersistId persist_id = 0;
  std::vector<Envelope<Msg>> send_after_persist;

  bool needs_persist() const { return !persist.empty() || !send_after_persist.empty(); }
  bool empty() const { return send_now.empty() && persist.empty() && send_after_persist.empty(); }
};

// Moves an inner machine's output (Raft's, say) into its host's, whose
// message type can hold the inner one: messages keep their place, the
// batch is appended, and the host persists under the inner persist id.
template <class To, class From>
void absorb(Output<To>& to, Output<From>&& from) {
  auto convert = [](Envelope<From>& e) { return Envelope<To>{e.group, e.from, e.to, To(std::move(e.message))}; };
  for (auto& e : from.send_now) to.send_now.push_back(convert(e));
  to.persist.append(from.persist);
  to.persist_id = from.persist_id;
  for (auto& e : from.send_after_persist) to.send_after_persist.push_back(convert(e));
}

}  // namespace sluice
