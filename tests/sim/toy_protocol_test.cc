// The simulator proves itself before Raft exists: it must catch the naive
// primary-backup protocol losing an acknowledged write under crash faults,
// within a bounded number of seeds, and pass the correct protocol on the
// same seeds.
#include <gtest/gtest.h>

#include "sim/run.h"
#include "sim/toy/workload.h"

namespace sluice::sim {
namespace {

RunSpec crash_spec(std::uint64_t seed, Protocol protocol) {
  RunSpec spec;
  spec.seed = seed;
  spec.nodes = 3;
  spec.duration = Duration::seconds(10);
  spec.faults = FaultProfile::process;
  spec.protocol = protocol;
  return spec;
}

bool lost_acknowledged_write(const RunResult& r) {
  for (const auto& v : r.violations) {
    if (v.rfind("lost acknowledged write", 0) == 0) return true;
  }
  return false;
}

// Measured: seeds 3, 4 and 5 of this spec catch it; 73 of seeds 1..200 do.
constexpr std::uint64_t kSeedsToCatchNaive = 20;

TEST(ToyProtocol, SimulatorCatchesTheNaiveProtocolLosingAnAcknowledgedWrite) {
  std::uint64_t caught_at = 0;
  for (std::uint64_t seed = 1; seed <= kSeedsToCatchNaive && caught_at == 0; ++seed) {
    RunResult r = run_one(crash_spec(seed, Protocol::naive));
    if (lost_acknowledged_write(r)) caught_at = seed;
  }
  EXPECT_NE(caught_at, 0u) << "naive protocol not caught within " << kSeedsToCatchNaive << " seeds";
}

TEST(ToyProtocol, NaiveIsCaughtOnlyUnderCrashes) {
  // Without process faults nothing is lost: the catch above is the crash's
  // doing, not a checker that flags everything.
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    RunSpec spec = crash_spec(seed, Protocol::naive);
    spec.faults = FaultProfile::none;
    RunResult r = run_one(spec);
    EXPECT_TRUE(r.ok()) << format_report(r, true);
  }
}

TEST(ToyProtocol, CorrectProtocolPassesTheSameSeeds) {
  for (std::uint64_t seed = 1; seed <= kSeedsToCatchNaive; ++seed) {
    RunResult r = run_one(crash_spec(seed, Protocol::toy));
    EXPECT_TRUE(r.ok()) << format_report(r, true);
    EXPECT_GT(r.acked_writes, 0u) << "a run that acknowledges nothing proves nothing";
  }
}

// Every failure the simulator found while this was built, kept for good.
// Seeds drift when a change alters what a seed draws, so each regression
// also asserts that its run still reaches the probe of its scenario; if
// that fails, pick new seeds that fail without the fix (see the README).
struct Regression {
  const char* bug;
  std::uint64_t seed;
  std::optional<FaultProfile> faults;
  ProbeId scenario;
};

TEST(ToyProtocol, RegressionSeeds) {
  const std::vector<Regression> regressions = {
      // Commit counted a majority of backups without the primary's own
      // fsync; the primary then crashed, lost the entry and truncated the
      // backups. Fixed in advance_commit().
      {"commit without the primary's fsync", 97, FaultProfile::process, ProbeId::toy_commit_held_for_primary_fsync},
      {"commit without the primary's fsync", 2, FaultProfile::process, ProbeId::toy_commit_held_for_primary_fsync},
      // A duplicated client write was appended twice. Fixed by request ids.
      {"duplicate delivery applied twice", 9, FaultProfile::all, ProbeId::toy_duplicate_request_ignored},
      {"duplicate delivery applied twice", 12, FaultProfile::all, ProbeId::toy_duplicate_request_ignored},
  };
  for (const Regression& reg : regressions) {
    RunSpec spec;
    spec.seed = reg.seed;
    spec.faults = reg.faults;
    spec.protocol = Protocol::toy;
    RunResult r = run_one(spec);
    EXPECT_TRUE(r.ok()) << reg.bug << "\n" << format_report(r, true);
    EXPECT_GT(r.probes.count(reg.scenario), 0u)
        << "seed " << reg.seed << " no longer reaches the scenario of '" << reg.bug << "'";
  }
}

// The checker itself, on hand-made histories: a write (value, invoked,
// completed, outcome) or a read (values, invoked, completed).
struct Step {
  bool is_write;
  std::string value;
  std::vector<std::string> values;
  std::int64_t invoked, completed;
  toy::Op::Outcome outcome = toy::Op::Outcome::ok;
};
Step W(std::string v, std::int64_t i, std::int64_t c, toy::Op::Outcome o = toy::Op::Outcome::ok) {
  return {true, std::move(v), {}, i, c, o};
}
Step R(std::vector<std::string> vs, std::int64_t i, std::int64_t c) { return {false, "", std::move(vs), i, c}; }

std::vector<std::string> check(const std::vector<Step>& steps) {
  toy::History h;
  std::vector<std::size_t> index;
  for (const Step& s : steps) {
    index.push_back(h.invoke(NodeId(1000), index.size() + 1, s.is_write ? toy::Op::Kind::write : toy::Op::Kind::read,
                             s.value, Timestamp{s.invoked}));
  }
  // Complete in completion-time order, as the simulation would.
  std::vector<std::size_t> order(steps.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return steps[a].completed < steps[b].completed; });
  for (std::size_t i : order) {
    h.complete(index[i], steps[i].outcome, Timestamp{steps[i].completed}, steps[i].is_write ? nullptr : &steps[i].values);
  }
  return h.check();
}

TEST(ToyProtocol, CheckerAcceptsValidHistories) {
  EXPECT_TRUE(check({W("a", 0, 1), R({"a"}, 2, 3)}).empty());
  // A read concurrent with a write may or may not see it.
  EXPECT_TRUE(check({W("a", 0, 5), R({}, 2, 3)}).empty());
  EXPECT_TRUE(check({W("a", 0, 5), R({"a"}, 2, 3)}).empty());
  // A write whose outcome is unknown may or may not appear.
  EXPECT_TRUE(check({W("a", 0, 5, toy::Op::Outcome::unknown), R({"a"}, 6, 7)}).empty());
  EXPECT_TRUE(check({W("a", 0, 5, toy::Op::Outcome::unknown), R({}, 6, 7)}).empty());
  // Concurrent reads of different lengths that agree.
  EXPECT_TRUE(check({W("a", 0, 1), W("b", 0, 9), R({"a", "b"}, 2, 8), R({"a"}, 2, 8)}).empty());
}

TEST(ToyProtocol, CheckerCatchesEachKindOfViolation) {
  auto has = [](const std::vector<std::string>& v, const std::string& what) {
    for (const auto& line : v) {
      if (line.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(check({W("a", 0, 1), R({}, 2, 3)}), "lost acknowledged write 'a'"));
  EXPECT_TRUE(has(check({W("a", 0, 1), W("b", 2, 3), R({"a"}, 4, 5)}), "lost acknowledged write 'b'"));
  EXPECT_TRUE(has(check({R({"zzz"}, 6, 7)}), "unexpected value 'zzz'"));
  EXPECT_TRUE(has(check({W("a", 0, 1), R({"a", "a"}, 2, 3)}), "appears twice"));
  EXPECT_TRUE(has(check({W("a", 0, 1, toy::Op::Outcome::unknown), R({"a"}, 2, 3), R({}, 4, 5)}), "fewer than"));
  EXPECT_TRUE(has(check({W("a", 0, 9, toy::Op::Outcome::unknown), W("b", 0, 9, toy::Op::Outcome::unknown),
                         R({"a"}, 2, 3), R({"b"}, 2, 4)}), "disagrees"));
}

TEST(ToyProtocol, SameSeedSameTraceHash) {
  for (std::uint64_t seed : {1, 2, 3}) {
    RunSpec spec;
    spec.seed = seed;
    spec.protocol = Protocol::toy;
    const RunResult a = run_one(spec), b = run_one(spec);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.events, b.events);
  }
  RunSpec one, two;
  one.seed = 1;
  two.seed = 2;
  one.protocol = two.protocol = Protocol::toy;
  EXPECT_NE(run_one(one).trace_hash, run_one(two).trace_hash);
}

}  // namespace
}  // namespace sluice::sim
