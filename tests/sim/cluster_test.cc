// Process faults (pause, crash, restart with or without the disk), clock
// faults (skew, drift, steps) and BUGGIFY each have their effect. Wired like
// sim/run.cc, without the workload and the fault injector: the test injects
// each fault by hand and watches what follows.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/hooks.h"
#include "core/common/random.h"
#include "core/node/step_machine.h"
#include "core/storage/log_store.h"
#include "sim/buggify.h"
#include "sim/clock.h"
#include "sim/cluster.h"
#include "sim/network.h"
#include "sim/scheduler.h"
#include "sim/toy/primary_backup.h"
#include "sim/trace.h"

namespace sluice::sim {
namespace {

// ---------------------------------------------------------------------------
// The primary-backup protocol on three processes.

class ToyClusterTest : public ::testing::Test {
 protected:
  using Cluster = SimCluster<toy::PrimaryBackupNode>;
  static constexpr std::uint64_t kSeed = 4242;
  static constexpr NodeId kPrimary{1};
  static constexpr NodeId kClient{100};

  ToyClusterTest() {
    options_.servers = {NodeId(1), NodeId(2), NodeId(3)};
    auto factory = [this](NodeId id, KvStore& store) {
      toy::Options o;
      o.self = id;
      o.primary = kPrimary;
      o.members = options_.servers;
      o.mode = toy::Mode::correct;
      o.hooks = hooks_;
      return toy::PrimaryBackupNode::open(o, store);
    };
    auto sink = [this](NodeId /*client*/, NodeId /*from*/, std::uint64_t /*sent*/, toy::Message message) {
      if (auto* reply = std::get_if<toy::ClientReply>(&message)) replies_[reply->request_id] = reply->code;
    };
    cluster_ = std::make_unique<Cluster>(&scheduler_, &trace_, &network_, root_.fork(), hooks_, options_,
                                         factory, sink);
  }

  // Starts every process and lets the primary make its first epoch durable.
  void start() {
    cluster_->start_all();
    run_for(Duration::millis(200));
    ASSERT_NE(cluster_->node(kPrimary), nullptr);
    ASSERT_FALSE(cluster_->node(kPrimary)->recovering());
  }
  void write(std::uint64_t request_id) {
    cluster_->client_send(kClient, kPrimary, toy::ClientWrite{request_id, "v" + std::to_string(request_id)});
  }
  void run_for(Duration d) { scheduler_.run_until(scheduler_.now() + d); }

  std::size_t acked() const {
    std::size_t n = 0;
    for (const auto& [id, code] : replies_) n += code == Code::ok ? 1 : 0;
    return n;
  }
  std::size_t log_size(NodeId id) {
    toy::PrimaryBackupNode* node = cluster_->node(id);
    return node == nullptr ? 0 : node->log().size();
  }
  // The last log index readable from the process's disk (0: empty log).
  std::uint64_t disk_last_index(NodeId id) {
    auto bounds = log_store::bounds(cluster_->disk(id), kDefaultGroup);
    EXPECT_TRUE(bounds.ok());
    return bounds.ok() && bounds->has_value() ? (*bounds)->last.value() : 0;
  }
  std::uint64_t probe(ProbeId id) const { return probes_.count(id); }

  Trace trace_;
  Scheduler scheduler_;
  Rng root_{kSeed};
  ProbeCounters probes_;
  Hooks hooks_{nullptr, &probes_};
  SimNetwork network_{&scheduler_, &trace_, root_.fork(), hooks_};
  ClusterOptions options_;
  std::map<std::uint64_t, Code> replies_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(ToyClusterTest, PausedProcessHandlesNothingUntilResumed) {
  start();
  write(1);
  run_for(Duration::millis(500));
  ASSERT_EQ(acked(), 1u);
  ASSERT_EQ(log_size(NodeId(3)), 1u);

  cluster_->pause(NodeId(3));
  EXPECT_EQ(cluster_->state(NodeId(3)), ProcessState::paused);
  const std::uint64_t writes_before = cluster_->disk(NodeId(3)).stats().writes;
  for (std::uint64_t r = 2; r <= 11; ++r) write(r);
  run_for(Duration::seconds(1));

  EXPECT_EQ(acked(), 11u) << "the primary and the other backup are a majority";
  EXPECT_EQ(log_size(NodeId(2)), 11u);
  EXPECT_EQ(log_size(NodeId(3)), 1u) << "a paused backup appended entries";
  EXPECT_EQ(cluster_->disk(NodeId(3)).stats().writes, writes_before) << "a paused backup wrote";
  EXPECT_GT(probe(ProbeId::sim_delivery_deferred_by_pause), 0u);

  cluster_->resume(NodeId(3));
  EXPECT_EQ(cluster_->state(NodeId(3)), ProcessState::running);
  EXPECT_EQ(log_size(NodeId(3)), 11u) << "held messages are handled at resume";
  run_for(Duration::seconds(1));
  EXPECT_EQ(cluster_->node(NodeId(3))->log(), cluster_->node(kPrimary)->log());
  EXPECT_EQ(disk_last_index(NodeId(3)), 11u);
}

TEST_F(ToyClusterTest, CrashedProcessLosesUnsyncedWritesAndReceivesNothing) {
  start();
  write(1);
  run_for(Duration::millis(500));
  ASSERT_EQ(disk_last_index(NodeId(3)), 1u);

  // Stop the world right after backup 3 wrote entry 2 to its page cache,
  // before the fsync.
  write(2);
  SimDisk& disk3 = cluster_->disk(NodeId(3));
  ASSERT_TRUE(scheduler_.run_while([&] { return disk3.unsynced_batches() == 0; },
                                   scheduler_.now() + Duration::seconds(1)));
  ASSERT_EQ(log_size(NodeId(3)), 2u);
  ASSERT_EQ(disk_last_index(NodeId(3)), 2u) << "reads see the unsynced entry";

  cluster_->crash(NodeId(3));
  EXPECT_EQ(cluster_->state(NodeId(3)), ProcessState::down);
  EXPECT_EQ(cluster_->node(NodeId(3)), nullptr);
  EXPECT_EQ(disk_last_index(NodeId(3)), 1u) << "the unsynced entry survived the crash";
  EXPECT_GE(disk3.stats().unsynced_lost, 1u);

  // The rest of the cluster carries on; the crashed process hears nothing.
  const std::uint64_t writes_while_down = disk3.stats().writes;
  for (std::uint64_t r = 3; r <= 12; ++r) write(r);
  run_for(Duration::seconds(1));
  EXPECT_EQ(acked(), 12u);
  EXPECT_EQ(log_size(NodeId(2)), 12u);
  EXPECT_EQ(cluster_->node(NodeId(3)), nullptr);
  EXPECT_EQ(disk3.stats().writes, writes_while_down);
  EXPECT_EQ(disk_last_index(NodeId(3)), 1u);

  // Restarted on its own disk, it recovers the synced prefix and catches up.
  cluster_->restart(NodeId(3), false);
  EXPECT_EQ(log_size(NodeId(3)), 1u);
  run_for(Duration::seconds(1));
  EXPECT_EQ(cluster_->node(NodeId(3))->log(), cluster_->node(kPrimary)->log());
  EXPECT_EQ(disk_last_index(NodeId(3)), 12u);
}

TEST_F(ToyClusterTest, RestartWithEmptyDiskIsResynced) {
  start();
  for (std::uint64_t r = 1; r <= 5; ++r) write(r);
  run_for(Duration::seconds(1));
  ASSERT_EQ(acked(), 5u);
  ASSERT_EQ(disk_last_index(NodeId(3)), 5u);

  cluster_->restart(NodeId(3), /*empty_disk=*/true);
  EXPECT_EQ(cluster_->state(NodeId(3)), ProcessState::running);
  EXPECT_TRUE(cluster_->node(NodeId(3))->log().empty());
  EXPECT_EQ(cluster_->disk(NodeId(3)).durable_keys(), 0u);
  EXPECT_EQ(disk_last_index(NodeId(3)), 0u);
  EXPECT_EQ(probe(ProbeId::sim_restart_empty_disk), 1u);

  // The primary's retransmissions find the empty backup and refill it.
  run_for(Duration::seconds(1));
  EXPECT_EQ(cluster_->node(NodeId(3))->log(), cluster_->node(kPrimary)->log());
  EXPECT_EQ(disk_last_index(NodeId(3)), 5u);
  auto hs = log_store::load_hard_state(cluster_->disk(NodeId(3)), kDefaultGroup);
  ASSERT_TRUE(hs.ok() && hs->has_value());
  EXPECT_EQ((*hs)->term, cluster_->node(kPrimary)->epoch());
}

// ---------------------------------------------------------------------------
// A node that only records what reaches it, to watch processes and clocks.

struct Beat {};
std::string describe(const Beat&) { return "beat"; }

class RecorderNode {
 public:
  using Message = Beat;
  void step(NodeId /*from*/, Message /*message*/, Timestamp now) { steps.push_back(now); }
  void tick(Timestamp now) { ticks.push_back(now); }
  void on_persisted(PersistId /*id*/, Status /*status*/) {}
  bool has_output() const { return false; }
  Output<Message> take_output() { return {}; }

  std::vector<Timestamp> steps;  // local time of each message handled
  std::vector<Timestamp> ticks;  // local time of each tick
};
static_assert(StepMachine<RecorderNode>);

class RecorderClusterTest : public ::testing::Test {
 protected:
  using Cluster = SimCluster<RecorderNode>;
  static constexpr NodeId kClient{100};

  RecorderClusterTest() {
    options_.servers = {NodeId(1), NodeId(2)};
    options_.tick_interval = Duration::millis(10);
    auto factory = [](NodeId, KvStore&) -> Result<std::unique_ptr<RecorderNode>> {
      return std::make_unique<RecorderNode>();
    };
    cluster_ = std::make_unique<Cluster>(&scheduler_, &trace_, &network_, Rng(2), Hooks{}, options_,
                                         factory, [](NodeId, NodeId, std::uint64_t, Beat) {});
  }
  RecorderNode& node(std::uint64_t id) {
    RecorderNode* n = cluster_->node(NodeId(id));
    SLUICE_ASSERT(n != nullptr, "the node is down");
    return *n;
  }
  SimClock& clock(std::uint64_t id) { return cluster_->clock(NodeId(id)); }
  void run_until(Duration since_start) { scheduler_.run_until(Timestamp{0} + since_start); }

  Trace trace_;
  Scheduler scheduler_;
  SimNetwork network_{&scheduler_, &trace_, Rng(1), Hooks{}};
  ClusterOptions options_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(RecorderClusterTest, PausedProcessMissesTicksAndHoldsMessages) {
  cluster_->start_all();
  run_until(Duration::seconds(1));
  const std::size_t ticks_at_pause = node(1).ticks.size();
  ASSERT_EQ(ticks_at_pause, 100u);

  cluster_->pause(NodeId(1));
  for (int i = 0; i < 3; ++i) cluster_->client_send(kClient, NodeId(1), Beat{});
  run_until(Duration::seconds(2));
  EXPECT_EQ(node(1).ticks.size(), ticks_at_pause) << "a paused process ticked";
  EXPECT_TRUE(node(1).steps.empty()) << "a paused process handled a message";
  EXPECT_EQ(node(2).ticks.size(), 200u) << "the other process runs on";

  cluster_->resume(NodeId(1));
  EXPECT_EQ(node(1).steps.size(), 3u) << "held messages are handled at resume";
  run_until(Duration::millis(2500));
  EXPECT_EQ(node(1).ticks.size(), ticks_at_pause + 50) << "ticks resume";
}

TEST_F(RecorderClusterTest, CrashedProcessReceivesNothingAndRestartsFresh) {
  cluster_->start_all();
  run_until(Duration::seconds(1));
  cluster_->crash(NodeId(2));
  EXPECT_EQ(cluster_->node(NodeId(2)), nullptr);
  for (int i = 0; i < 3; ++i) cluster_->client_send(kClient, NodeId(2), Beat{});
  cluster_->client_send(kClient, NodeId(1), Beat{});
  run_until(Duration::millis(1500));
  EXPECT_EQ(cluster_->node(NodeId(2)), nullptr);
  EXPECT_EQ(node(1).steps.size(), 1u);

  cluster_->restart(NodeId(2), false);
  run_until(Duration::seconds(2));
  EXPECT_TRUE(node(2).steps.empty()) << "messages sent to a crashed process were kept for it";
  EXPECT_EQ(node(2).ticks.size(), 50u) << "a restarted process starts a new node, ticking";
}

// ---------------------------------------------------------------------------
// Clocks.

TEST(SimClock, SkewShiftsLocalTime) {
  SimClock clock;
  const Timestamp t0{Duration::seconds(3).ns};
  EXPECT_EQ(clock.local(t0), t0);
  clock.set_skew(t0, Duration::millis(250));
  EXPECT_EQ(clock.local(t0), t0 + Duration::millis(250));
  EXPECT_EQ(clock.local(t0 + Duration::seconds(7)), t0 + Duration::seconds(7) + Duration::millis(250));
  // A new skew replaces the old one rather than adding to it.
  clock.set_skew(t0, Duration::millis(-100));
  EXPECT_EQ(clock.local(t0), t0 + Duration::millis(-100));
}

TEST(SimClock, DriftChangesTheRateAndKeepsLocalTimeContinuous) {
  SimClock clock;
  const Timestamp t5{Duration::seconds(5).ns};
  clock.set_drift_ppm(t5, 100'000);
  EXPECT_EQ(clock.local(t5), t5) << "no jump when the drift changes";
  // 10 simulated seconds later the clock has run 11 local seconds.
  EXPECT_EQ(clock.local(t5 + Duration::seconds(10)), t5 + Duration::seconds(11));
  EXPECT_EQ(clock.sim_span_for(Duration::millis(11)), Duration::millis(10));
  const Timestamp t15 = t5 + Duration::seconds(10);
  clock.set_drift_ppm(t15, -100'000);
  EXPECT_EQ(clock.local(t15), t5 + Duration::seconds(11));
  EXPECT_EQ(clock.local(t15 + Duration::seconds(10)), t5 + Duration::seconds(20));
  EXPECT_EQ(clock.sim_span_for(Duration::millis(9)), Duration::millis(10));
}

TEST(SimClock, StepJumpsLocalTime) {
  SimClock clock;
  const Timestamp t{Duration::seconds(1).ns};
  clock.step(Duration::seconds(5));
  EXPECT_EQ(clock.local(t), t + Duration::seconds(5));
  clock.step(Duration::seconds(-7));
  EXPECT_EQ(clock.local(t), t + Duration::seconds(-2)) << "a step may go backwards";
  clock.reset();
  EXPECT_EQ(clock.local(t), t);
}

TEST_F(RecorderClusterTest, SkewShiftsTheTimeANodeSees) {
  clock(2).set_skew(Timestamp{0}, Duration::seconds(1));
  cluster_->start_all();
  run_until(Duration::seconds(1));
  ASSERT_EQ(node(1).ticks.size(), 100u);
  ASSERT_EQ(node(2).ticks.size(), 100u) << "skew alone does not change the rate";
  for (std::size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(node(2).ticks[i] - node(1).ticks[i], Duration::seconds(1)) << "tick " << i;
  }
  EXPECT_EQ(node(1).ticks.back(), Timestamp{Duration::seconds(1).ns});
}

TEST_F(RecorderClusterTest, DriftMakesAFastClockTickMoreOften) {
  clock(2).set_drift_ppm(Timestamp{0}, 100'000);  // 10% fast
  cluster_->start_all();
  run_until(Duration::seconds(10));
  const double normal = static_cast<double>(node(1).ticks.size());
  const double fast = static_cast<double>(node(2).ticks.size());
  EXPECT_EQ(node(1).ticks.size(), 1000u);
  EXPECT_GT(fast / normal, 1.09);
  EXPECT_LT(fast / normal, 1.11);
  // Its own clock says a tick interval passed between ticks, and it reads
  // about 11 seconds after 10 simulated ones.
  for (std::size_t i = 1; i < node(2).ticks.size(); ++i) {
    const Duration gap = node(2).ticks[i] - node(2).ticks[i - 1];
    ASSERT_LE(gap - Duration::millis(10), Duration::micros(1)) << "tick " << i;
    ASSERT_GE(gap - Duration::millis(10), Duration::micros(-1)) << "tick " << i;
  }
  EXPECT_GT(node(2).ticks.back(), Timestamp{Duration::millis(10'980).ns});
  EXPECT_LE(node(2).ticks.back(), Timestamp{Duration::seconds(11).ns});
}

TEST_F(RecorderClusterTest, StepJumpsTheTimeANodeSees) {
  cluster_->start_all();
  run_until(Duration::seconds(1));
  clock(1).step(Duration::seconds(5));
  clock(2).step(Duration::millis(-300));
  const std::size_t before = node(1).ticks.size();
  run_until(Duration::millis(1500));
  auto gaps = [](const std::vector<Timestamp>& ticks, std::size_t from) {
    std::vector<Duration> out;
    for (std::size_t i = from; i < ticks.size(); ++i) out.push_back(ticks[i] - ticks[i - 1]);
    return out;
  };
  const std::vector<Duration> g1 = gaps(node(1).ticks, before);
  const std::vector<Duration> g2 = gaps(node(2).ticks, before);
  ASSERT_EQ(g1.size(), 50u);
  ASSERT_EQ(g2.size(), 50u);
  EXPECT_EQ(g1.front(), Duration::seconds(5) + Duration::millis(10)) << "jumps forward once";
  EXPECT_EQ(g2.front(), Duration::millis(-290)) << "jumps back once";
  for (std::size_t i = 1; i < 50; ++i) {
    EXPECT_EQ(g1[i], Duration::millis(10));
    EXPECT_EQ(g2[i], Duration::millis(10));
  }
}

// ---------------------------------------------------------------------------
// BUGGIFY.

std::vector<std::string> site_names() {
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i) names.push_back("module.site_" + std::to_string(i));
  return names;
}

std::map<std::string, bool> enabled_sites(const SimBuggify& buggify) {
  std::map<std::string, bool> out;
  for (const auto& [name, site] : buggify.sites()) out[name] = site.enabled;
  return out;
}

TEST(SimBuggify, EnablementDependsOnlyOnSeedAndName) {
  const std::vector<std::string> names = site_names();
  SimBuggify forward(7, Rng(1), 0.5, 1.0);
  for (const auto& n : names) forward.fire(n);

  // Same seed, another generator, the sites reached in reverse order and
  // each several times, interleaved.
  SimBuggify backward(7, Rng(99), 0.5, 1.0);
  for (int round = 0; round < 3; ++round) {
    for (auto it = names.rbegin(); it != names.rend(); ++it) backward.fire(*it);
  }
  const auto enabled = enabled_sites(forward);
  ASSERT_EQ(enabled.size(), names.size());
  EXPECT_EQ(enabled_sites(backward), enabled);

  std::size_t on = 0;
  for (const auto& [name, e] : enabled) on += e ? 1 : 0;
  EXPECT_GT(on, 16u);
  EXPECT_LT(on, 48u);

  // With fire probability 1 an enabled site fires every time it is reached,
  // a disabled one never.
  for (const auto& [name, site] : backward.sites()) {
    EXPECT_EQ(site.reached, 3u);
    EXPECT_EQ(site.fired, site.enabled ? 3u : 0u) << name;
  }

  // Another seed enables another subset.
  SimBuggify other(8, Rng(1), 0.5, 1.0);
  for (const auto& n : names) other.fire(n);
  EXPECT_NE(enabled_sites(other), enabled);
}

TEST(SimBuggify, EnableProbabilityZeroFiresNothing) {
  SimBuggify buggify(7, Rng(1), 0.0, 1.0);
  for (int round = 0; round < 10; ++round) {
    for (const auto& n : site_names()) ASSERT_FALSE(buggify.fire(n)) << n;
  }
  for (const auto& [name, site] : buggify.sites()) {
    EXPECT_FALSE(site.enabled) << name;
    EXPECT_EQ(site.fired, 0u) << name;
  }
}

TEST(SimBuggify, AlwaysEnabledAndAlwaysFiringFiresEverything) {
  SimBuggify buggify(7, Rng(1), 1.0, 1.0);
  for (int round = 0; round < 10; ++round) {
    for (const auto& n : site_names()) ASSERT_TRUE(buggify.fire(n)) << n;
  }
  for (const auto& [name, site] : buggify.sites()) {
    EXPECT_TRUE(site.enabled) << name;
    EXPECT_EQ(site.fired, 10u) << name;
  }
}

TEST(SimBuggify, AnEnabledSiteFiresAtTheFireProbability) {
  SimBuggify buggify(7, Rng(1), 1.0, 0.25);
  int fired = 0;
  for (int i = 0; i < 10'000; ++i) fired += buggify.fire("module.sometimes") ? 1 : 0;
  EXPECT_GT(fired, 2'200);
  EXPECT_LT(fired, 2'800);
}

TEST(SimBuggify, TheMacroIsFalseWithoutASimulator) {
  SimBuggify always(7, Rng(1), 1.0, 1.0);
  const Hooks in_simulation{&always, nullptr};
  const Hooks in_production{};
  EXPECT_TRUE(BUGGIFY(in_simulation, "module.site"));
  EXPECT_FALSE(BUGGIFY(in_production, "module.site"));
}

}  // namespace
}  // namespace sluice::sim
