// The one driver function that carries a node's output out against an
// environment. The simulator and the real server call this same code with
// different environments, so the IO ordering contract of output.h is
// exercised in simulation exactly as it runs in production.
#pragma once

#include <functional>
#include <utility>

#include "core/node/output.h"
#include "core/node/step_machine.h"

namespace sluice {

// What a driver needs from the world. Implemented by the simulator (virtual
// network and disk) and by the real runtime (Asio sockets, RocksDB thread).
template <class Msg>
class Environment {
 public:
  virtual ~Environment() = default;
  // Hands a message to the transport. Never blocks; may drop on overload.
  virtual void send(Envelope<Msg> envelope) = 0;
  // Writes the batch atomically with sync, then calls done(status) on the
  // node's own loop, in submission order. An empty batch writes nothing and
  // completes after every earlier persist. If the node is gone (crashed), the
  // environment drops `done` instead of calling it.
  virtual void persist(WriteBatch batch, std::function<void(Status)> done) = 0;
};

// Carries out every output the node has, until it has none. Call it after
// each input. Lifetime: node and env must outlive pending persists, or the
// environment must drop their completions (see persist above).
template <StepMachine Node>
void drive(Node& node, Environment<typename Node::Message>& env) {
  using Msg = typename Node::Message;
  while (node.has_output()) {
    Output<Msg> out = node.take_output();
    for (auto& envelope : out.send_now) env.send(std::move(envelope));
    if (!out.needs_persist()) continue;
    // An empty batch still goes through persist(): it is a barrier behind
    // the persists in flight (contract point 4).
    const PersistId id = out.persist_id;
    env.persist(std::move(out.persist),
                [&node, &env, id, deferred = std::move(out.send_after_persist)](Status status) mutable {
                  if (status.ok()) {
                    for (auto& envelope : deferred) env.send(std::move(envelope));
                  }
                  node.on_persisted(id, status);
                  drive(node, env);
                });
  }
}

}  // namespace sluice
