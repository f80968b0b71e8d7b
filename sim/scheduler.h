// Discrete-event scheduler over virtual nanoseconds.
//
// Events run in (time, sequence) order: two events at the same virtual time
// run in the order they were scheduled, so a run never depends on how a heap
// breaks ties. Virtual time only moves forward, and jumps straight to the
// next event.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/common/time.h"

namespace sluice::sim {

class Scheduler {
 public:
  using Action = std::function<void()>;

  Timestamp now() const { return now_; }
  std::uint64_t events_processed() const { return processed_; }
  std::size_t pending() const { return heap_.size(); }

  // Precondition: when >= now().
  void at(Timestamp when, Action action);
  void after(Duration delay, Action action) { at(now_ + delay, std::move(action)); }

  // Runs the next event. False if there is none.
  bool step();
  // Runs every event due at or before `limit`, then sets now() to limit.
  void run_until(Timestamp limit);
  // Runs events while `keep_going()` holds and time stays within limit.
  // Returns true if keep_going() turned false.
  bool run_while(const std::function<bool()>& keep_going, Timestamp limit);

  // Runs events, checking `ready` now and then every `every` of virtual time
  // (not after each event: such checks read whole states), until it holds,
  // `keep_going` turns false or `deadline` passes. Returns whether it held.
  // Checks still scheduled when it returns never call `ready` again.
  bool poll_until(std::function<bool()> ready, Duration every, Timestamp deadline,
                  const std::function<bool()>& keep_going = [] { return true; });

  // Called after every event: the hook for invariant checkers.
  void set_after_event(std::function<void()> hook) { after_event_ = std::move(hook); }

 private:
  struct Event {
    std::int64_t time;
    std::uint64_t sequence;
    Action action;
  };
  struct Poll {
    std::function<bool()> ready;
    bool done = false;
    bool over = false;  // poll_until returned
  };
  void poll_step(const std::shared_ptr<Poll>& poll, Duration every, Timestamp deadline);
  static bool later(const Event& a, const Event& b) {
    return a.time != b.time ? a.time > b.time : a.sequence > b.sequence;
  }

  std::vector<Event> heap_;
  Timestamp now_{0};
  std::uint64_t next_sequence_ = 0;
  std::uint64_t processed_ = 0;
  std::function<void()> after_event_;
};

}  // namespace sluice::sim
