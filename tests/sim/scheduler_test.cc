#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "sim/scheduler.h"
#include "sim/trace.h"

namespace sluice::sim {
namespace {

TEST(Scheduler, RunsInTimeOrder) {
  Scheduler s;
  std::vector<int> order;
  s.at(Timestamp{30}, [&] { order.push_back(3); });
  s.at(Timestamp{10}, [&] { order.push_back(1); });
  s.at(Timestamp{20}, [&] { order.push_back(2); });
  while (s.step()) {}
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(s.now(), Timestamp{30});
  EXPECT_EQ(s.events_processed(), 3u);
}

// The stable tie-break: equal times run in scheduling order, whatever the
// heap does. Checked for arbitrary interleavings of times.
RC_GTEST_PROP(Scheduler, TiesRunInSchedulingOrder, (std::vector<std::uint8_t> times)) {
  Scheduler s;
  std::vector<std::pair<int, std::size_t>> ran;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const int t = times[i] % 4;  // many ties
    s.at(Timestamp{t}, [&ran, t, i] { ran.emplace_back(t, i); });
  }
  while (s.step()) {}
  RC_ASSERT(ran.size() == times.size());
  for (std::size_t k = 1; k < ran.size(); ++k) {
    RC_ASSERT(ran[k - 1].first <= ran[k].first);
    if (ran[k - 1].first == ran[k].first) RC_ASSERT(ran[k - 1].second < ran[k].second);
  }
}

TEST(Scheduler, EventsCanScheduleEvents) {
  Scheduler s;
  int fired = 0;
  std::function<void()> again = [&] {
    if (++fired < 5) s.after(Duration::millis(1), again);
  };
  s.after(Duration::millis(1), again);
  s.run_until(Timestamp{0} + Duration::seconds(1));
  EXPECT_EQ(fired, 5);
  EXPECT_EQ(s.now(), Timestamp{0} + Duration::seconds(1)) << "run_until jumps to the limit";
}

TEST(Scheduler, RunUntilLeavesLaterEvents) {
  Scheduler s;
  int fired = 0;
  s.at(Timestamp{5}, [&] { ++fired; });
  s.at(Timestamp{15}, [&] { ++fired; });
  s.run_until(Timestamp{10});
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(s.pending(), 1u);
}

TEST(Scheduler, RunWhileStopsOnCondition) {
  Scheduler s;
  int fired = 0;
  for (int i = 1; i <= 10; ++i) s.at(Timestamp{i}, [&] { ++fired; });
  EXPECT_TRUE(s.run_while([&] { return fired < 4; }, Timestamp{100}));
  EXPECT_EQ(fired, 4);
  EXPECT_FALSE(s.run_while([&] { return fired < 100; }, Timestamp{100}));
  EXPECT_EQ(fired, 10);
}

TEST(Scheduler, AfterEventHookRunsAfterEveryEvent) {
  Scheduler s;
  int events = 0, checks = 0;
  s.set_after_event([&] { EXPECT_EQ(++checks, events); });
  for (int i = 0; i < 3; ++i) s.at(Timestamp{i}, [&] { ++events; });
  while (s.step()) {}
  EXPECT_EQ(checks, 3);
}

TEST(SchedulerDeathTest, ThePastIsAssertion) {
  Scheduler s;
  s.at(Timestamp{10}, [] {});
  s.step();
  EXPECT_DEATH(s.at(Timestamp{5}, [] {}), "scheduled in the past");
}

TEST(Trace, HashCoversNamesFieldsAndTimes) {
  auto hash_of = [](auto emit) {
    Trace t;
    emit(t);
    return t.hash();
  };
  const auto base = hash_of([](Trace& t) { t.event(Timestamp{1}, "a").u("x", 1); });
  EXPECT_EQ(base, hash_of([](Trace& t) { t.event(Timestamp{1}, "a").u("x", 1); }));
  EXPECT_NE(base, hash_of([](Trace& t) { t.event(Timestamp{2}, "a").u("x", 1); }));
  EXPECT_NE(base, hash_of([](Trace& t) { t.event(Timestamp{1}, "b").u("x", 1); }));
  EXPECT_NE(base, hash_of([](Trace& t) { t.event(Timestamp{1}, "a").u("x", 2); }));
  EXPECT_NE(base, hash_of([](Trace& t) { t.event(Timestamp{1}, "a").u("y", 1); }));
  // Field boundaries matter: "ab"+"c" is not "a"+"bc".
  EXPECT_NE(hash_of([](Trace& t) { t.event(Timestamp{1}, "e").s("k", "ab").s("k", "c"); }),
            hash_of([](Trace& t) { t.event(Timestamp{1}, "e").s("k", "a").s("k", "bc"); }));
}

TEST(Trace, WritesJsonLines) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* f = open_memstream(&buffer, &size);
  {
    Trace t(f);
    t.event(Timestamp{7}, "net.send").u("from", 1).s("msg", "say \"hi\"");
  }
  std::fclose(f);
  EXPECT_EQ(std::string(buffer, size), "{\"t\":7,\"ev\":\"net.send\",\"from\":1,\"msg\":\"say \\\"hi\\\"\"}\n");
  std::free(buffer);
}

}  // namespace
}  // namespace sluice::sim
