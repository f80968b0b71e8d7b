#include "sim/scheduler.h"

#include <algorithm>

#include "core/common/status.h"

namespace sluice::sim {

void Scheduler::at(Timestamp when, Action action) {
  SLUICE_ASSERT(when >= now_, "an event scheduled in the past");
  heap_.push_back(Event{when.ns, next_sequence_++, std::move(action)});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

bool Scheduler::step() {
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Event event = std::move(heap_.back());
  heap_.pop_back();
  SLUICE_ASSERT(event.time >= now_.ns, "virtual time went backwards");
  now_ = Timestamp{event.time};
  ++processed_;
  event.action();
  if (after_event_) after_event_();
  return true;
}

void Scheduler::run_until(Timestamp limit) {
  while (!heap_.empty() && heap_.front().time <= limit.ns) step();
  if (now_ < limit) now_ = limit;
}

bool Scheduler::run_while(const std::function<bool()>& keep_going, Timestamp limit) {
  while (keep_going()) {
    if (heap_.empty() || heap_.front().time > limit.ns) {
      if (now_ < limit) now_ = limit;
      return false;
    }
    step();
  }
  return true;
}

bool Scheduler::poll_until(std::function<bool()> ready, Duration every, Timestamp deadline,
                           const std::function<bool()>& keep_going) {
  auto poll = std::make_shared<Poll>();
  poll->ready = std::move(ready);
  poll_step(poll, every, deadline);
  run_while([&] { return !poll->done && keep_going(); }, deadline);
  poll->over = true;
  return poll->done;
}

void Scheduler::poll_step(const std::shared_ptr<Poll>& poll, Duration every, Timestamp deadline) {
  if (poll->over) return;
  poll->done = poll->ready();
  if (!poll->done && now_ < deadline) {
    after(every, [this, poll, every, deadline] { poll_step(poll, every, deadline); });
  }
}

}  // namespace sluice::sim
