// The concept every sans-IO node satisfies, so that one driver and one
// simulator can run any of them (the demonstration protocol now, Raft and
// the broker next).
#pragma once

#include <concepts>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/node/output.h"

namespace sluice {

template <class N>
concept StepMachine = requires(N& node, const N& cnode, NodeId from, typename N::Message message,
                               Timestamp now, PersistId id, Status status) {
  node.step(from, std::move(message), now);
  node.tick(now);
  node.on_persisted(id, status);
  { cnode.has_output() } -> std::convertible_to<bool>;
  { node.take_output() } -> std::same_as<Output<typename N::Message>>;
};

// A timeout counted in ticks: logical time, driven by the tick() input.
class TickTimer {
 public:
  void start(std::uint64_t now_tick, std::uint64_t ticks) {
    deadline_ = now_tick + ticks;
    running_ = true;
  }
  void stop() { running_ = false; }
  bool running() const { return running_; }
  bool expired(std::uint64_t now_tick) const { return running_ && now_tick >= deadline_; }

 private:
  std::uint64_t deadline_ = 0;
  bool running_ = false;
};

}  // namespace sluice
