// Each fault model of the simulated network has its effect: latency bounds,
// FIFO links, reordering, loss, duplication, partitions of every shape,
// clogging and healing. Messages are closures that record their delivery.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/common/random.h"
#include "sim/latency.h"
#include "sim/network.h"
#include "sim/scheduler.h"
#include "sim/trace.h"

namespace sluice::sim {
namespace {

struct Delivery {
  NodeId from;
  NodeId to;
  std::uint64_t seq;
  Timestamp sent;
  Timestamp arrived;
};

class NetworkTest : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kSeed = 20240601;

  // Sends one message now; its delivery is recorded.
  void send(NodeId from, NodeId to) {
    const std::uint64_t seq = next_seq_++;
    const Timestamp sent = scheduler_.now();
    network_.send(from, to, "m" + std::to_string(seq), [this, from, to, seq, sent] {
      deliveries_.push_back(Delivery{from, to, seq, sent, scheduler_.now()});
    });
  }
  // Sends `count` messages from -> to, one every `gap`, starting now.
  void send_spaced(NodeId from, NodeId to, int count, Duration gap) {
    for (int i = 0; i < count; ++i) {
      scheduler_.after(gap * i, [this, from, to] { send(from, to); });
    }
  }
  void run_for(Duration d) { scheduler_.run_until(scheduler_.now() + d); }
  void run_all() { scheduler_.run_until(scheduler_.now() + Duration::seconds(600)); }

  std::map<std::uint64_t, int> copies_by_seq() const {
    std::map<std::uint64_t, int> copies;
    for (const Delivery& d : deliveries_) ++copies[d.seq];
    return copies;
  }
  // Every ordered pair (from, to) over which at least one message arrived.
  std::set<std::pair<std::uint64_t, std::uint64_t>> delivered_pairs() const {
    std::set<std::pair<std::uint64_t, std::uint64_t>> pairs;
    for (const Delivery& d : deliveries_) pairs.insert({d.from.value(), d.to.value()});
    return pairs;
  }
  // Sends one message over every ordered pair of distinct nodes in 1..n and
  // delivers them all.
  void send_all_pairs(std::uint64_t n) {
    for (std::uint64_t a = 1; a <= n; ++a) {
      for (std::uint64_t b = 1; b <= n; ++b) {
        if (a != b) send(NodeId(a), NodeId(b));
      }
    }
    run_all();
  }

  Scheduler scheduler_;
  Trace trace_;
  SimNetwork network_{&scheduler_, &trace_, Rng(kSeed), Hooks{}};
  std::vector<Delivery> deliveries_;
  std::uint64_t next_seq_ = 0;
};

LinkConfig with(double loss, double duplicate, double reorder) {
  LinkConfig c;
  c.loss = loss;
  c.duplicate = duplicate;
  c.reorder = reorder;
  return c;
}

TEST_F(NetworkTest, DefaultLinkDeliversEveryMessageOnceWithinLatencyBounds) {
  const LatencyDist latency = network_.default_link().latency;
  for (std::uint64_t from = 1; from <= 3; ++from) {
    for (std::uint64_t to = 1; to <= 3; ++to) {
      if (from != to) send_spaced(NodeId(from), NodeId(to), 200, Duration::micros(50));
    }
  }
  run_all();
  ASSERT_EQ(deliveries_.size(), 1200u);
  const auto copies = copies_by_seq();
  ASSERT_EQ(copies.size(), 1200u);
  for (const auto& [seq, n] : copies) EXPECT_EQ(n, 1) << "message " << seq;
  for (const Delivery& d : deliveries_) {
    const Duration took = d.arrived - d.sent;
    EXPECT_GE(took, latency.min) << "message " << d.seq;
    EXPECT_LE(took, latency.max) << "message " << d.seq;
  }
  EXPECT_EQ(network_.stats().sent, 1200u);
  EXPECT_EQ(network_.stats().delivered, 1200u);
}

TEST_F(NetworkTest, LinkIsFifoWithoutReordering) {
  // Sent 10us apart with latencies from 100us to 10ms: without the FIFO
  // floor, most of them would overtake each other.
  send_spaced(NodeId(1), NodeId(2), 1000, Duration::micros(10));
  send_spaced(NodeId(2), NodeId(1), 1000, Duration::micros(10));
  run_all();
  ASSERT_EQ(deliveries_.size(), 2000u);
  std::map<std::uint64_t, std::uint64_t> last_seq;
  for (const Delivery& d : deliveries_) {
    auto [it, first] = last_seq.try_emplace(d.from.value(), d.seq);
    if (!first) {
      EXPECT_GT(d.seq, it->second) << "message " << d.seq << " overtook " << it->second;
      it->second = d.seq;
    }
  }
  EXPECT_EQ(network_.stats().reordered, 0u);
}

TEST_F(NetworkTest, ReorderingLetsMessagesOvertake) {
  network_.set_default_link(with(0, 0, 0.5));
  send_spaced(NodeId(1), NodeId(2), 1000, Duration::micros(10));
  run_all();
  ASSERT_EQ(deliveries_.size(), 1000u) << "reordering loses nothing";
  std::size_t inversions = 0;
  for (std::size_t i = 1; i < deliveries_.size(); ++i) {
    if (deliveries_[i].seq < deliveries_[i - 1].seq) ++inversions;
  }
  EXPECT_GT(inversions, 50u);
  EXPECT_GT(network_.stats().reordered, 50u);
  for (const auto& [seq, n] : copies_by_seq()) EXPECT_EQ(n, 1) << "message " << seq;
}

TEST_F(NetworkTest, TotalLossDeliversNothing) {
  network_.set_default_link(with(1.0, 0, 0));
  send_spaced(NodeId(1), NodeId(2), 200, Duration::micros(100));
  run_all();
  EXPECT_TRUE(deliveries_.empty());
  EXPECT_EQ(network_.stats().dropped_loss, 200u);
  EXPECT_EQ(network_.stats().delivered, 0u);
}

TEST_F(NetworkTest, HalfLossDeliversAboutHalf) {
  network_.set_default_link(with(0.5, 0, 0));
  send_spaced(NodeId(1), NodeId(2), 2000, Duration::micros(100));
  run_all();
  EXPECT_GT(deliveries_.size(), 800u);
  EXPECT_LT(deliveries_.size(), 1200u);
  EXPECT_EQ(network_.stats().dropped_loss + deliveries_.size(), 2000u);
  for (const auto& [seq, n] : copies_by_seq()) EXPECT_EQ(n, 1) << "message " << seq;
}

TEST_F(NetworkTest, LossOnOneLinkOnly) {
  network_.set_link(NodeId(1), NodeId(2), with(1.0, 0, 0));
  send_spaced(NodeId(1), NodeId(2), 50, Duration::micros(100));
  send_spaced(NodeId(2), NodeId(1), 50, Duration::micros(100));
  run_all();
  EXPECT_EQ(delivered_pairs(), (std::set<std::pair<std::uint64_t, std::uint64_t>>{{2, 1}}));
  EXPECT_EQ(deliveries_.size(), 50u);
}

TEST_F(NetworkTest, CertainDuplicationDeliversEveryMessageExactlyTwice) {
  network_.set_default_link(with(0, 1.0, 0));
  send_spaced(NodeId(1), NodeId(2), 200, Duration::micros(100));
  run_all();
  ASSERT_EQ(deliveries_.size(), 400u);
  const auto copies = copies_by_seq();
  ASSERT_EQ(copies.size(), 200u);
  for (const auto& [seq, n] : copies) EXPECT_EQ(n, 2) << "message " << seq;
  EXPECT_EQ(network_.stats().duplicated, 200u);
}

TEST_F(NetworkTest, PartitionCutsBothDirectionsButNotWithinASide) {
  network_.partition({NodeId(1), NodeId(2)}, {NodeId(3), NodeId(4), NodeId(5)});
  send_all_pairs(5);
  std::set<std::pair<std::uint64_t, std::uint64_t>> expected;
  for (std::uint64_t a = 1; a <= 5; ++a) {
    for (std::uint64_t b = 1; b <= 5; ++b) {
      if (a != b && (a <= 2) == (b <= 2)) expected.insert({a, b});
    }
  }
  EXPECT_EQ(delivered_pairs(), expected);
  EXPECT_EQ(deliveries_.size(), expected.size());
  EXPECT_EQ(network_.stats().dropped_partition, 12u);  // 2 * 3 pairs, both ways
}

TEST_F(NetworkTest, PartitionDropsMessagesAlreadyInFlight) {
  LinkConfig slow;
  slow.latency = LatencyDist::fixed(Duration::millis(5));
  network_.set_default_link(slow);
  send(NodeId(1), NodeId(2));
  send(NodeId(2), NodeId(1));
  send(NodeId(3), NodeId(1));
  scheduler_.after(Duration::millis(2), [this] { network_.partition({NodeId(1)}, {NodeId(2)}); });
  run_all();
  ASSERT_EQ(deliveries_.size(), 1u) << "only the message outside the partition arrives";
  EXPECT_EQ(deliveries_[0].from, NodeId(3));
  EXPECT_EQ(network_.stats().dropped_partition, 2u);
}

TEST_F(NetworkTest, ALinkHealedBeforeArrivalDelivers) {
  // The link must be open at send and at arrival, not in between.
  LinkConfig slow;
  slow.latency = LatencyDist::fixed(Duration::millis(5));
  network_.set_default_link(slow);
  send(NodeId(1), NodeId(2));
  scheduler_.after(Duration::millis(1), [this] { network_.block(NodeId(1), NodeId(2)); });
  scheduler_.after(Duration::millis(3), [this] { network_.heal(); });
  run_all();
  EXPECT_EQ(deliveries_.size(), 1u);
}

TEST_F(NetworkTest, BlockIsAsymmetric) {
  network_.block(NodeId(1), NodeId(2));
  EXPECT_TRUE(network_.is_blocked(NodeId(1), NodeId(2)));
  EXPECT_FALSE(network_.is_blocked(NodeId(2), NodeId(1)));
  send_spaced(NodeId(1), NodeId(2), 20, Duration::micros(100));
  send_spaced(NodeId(2), NodeId(1), 20, Duration::micros(100));
  run_all();
  EXPECT_EQ(delivered_pairs(), (std::set<std::pair<std::uint64_t, std::uint64_t>>{{2, 1}}));
  EXPECT_EQ(deliveries_.size(), 20u);

  network_.unblock(NodeId(1), NodeId(2));
  deliveries_.clear();
  send(NodeId(1), NodeId(2));
  run_all();
  EXPECT_EQ(deliveries_.size(), 1u);
}

TEST_F(NetworkTest, IsolateCutsOneNodeFromAllOthers) {
  network_.isolate(NodeId(3), {NodeId(1), NodeId(2), NodeId(4), NodeId(5)});
  send_all_pairs(5);
  for (const auto& [a, b] : delivered_pairs()) {
    EXPECT_NE(a, 3u) << "3 reached " << b;
    EXPECT_NE(b, 3u) << a << " reached 3";
  }
  EXPECT_EQ(delivered_pairs().size(), 4u * 3u) << "the other four still talk to each other";
}

// Who each node reaches, measured by delivering one message per pair.
std::map<std::uint64_t, std::set<std::uint64_t>> reach_of(const std::vector<Delivery>& deliveries) {
  std::map<std::uint64_t, std::set<std::uint64_t>> reach;
  for (const Delivery& d : deliveries) reach[d.from.value()].insert(d.to.value());
  return reach;
}

TEST_F(NetworkTest, MajoritiesRingOnFiveNodes) {
  // A ring order that is not the numeric order, as the injector shuffles.
  const std::vector<NodeId> ring = {NodeId(3), NodeId(1), NodeId(5), NodeId(2), NodeId(4)};
  network_.majorities_ring(ring);
  send_all_pairs(5);
  auto reach = reach_of(deliveries_);
  std::set<std::set<std::uint64_t>> majorities;
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const std::uint64_t self = ring[i].value();
    const std::set<std::uint64_t> neighbours = {ring[(i + 4) % 5].value(), ring[(i + 1) % 5].value()};
    EXPECT_EQ(reach[self], neighbours) << "node " << self << " reaches exactly its ring neighbours";
    std::set<std::uint64_t> with_self = reach[self];
    with_self.insert(self);
    EXPECT_GE(with_self.size(), 3u) << "node " << self << " sees a majority";
    majorities.insert(with_self);
  }
  EXPECT_EQ(majorities.size(), 5u) << "no two nodes see the same majority";
}

TEST_F(NetworkTest, MajoritiesRingOnThreeNodesIsOneWay) {
  const std::vector<NodeId> ring = {NodeId(2), NodeId(3), NodeId(1)};
  network_.majorities_ring(ring);
  send_all_pairs(3);
  // Who hears whom: each node hears only its predecessor in the ring.
  std::map<std::uint64_t, std::set<std::uint64_t>> hears;
  for (const Delivery& d : deliveries_) hears[d.to.value()].insert(d.from.value());
  std::set<std::set<std::uint64_t>> majorities;
  for (std::size_t i = 0; i < 3; ++i) {
    const std::uint64_t self = ring[i].value();
    EXPECT_EQ(hears[self], (std::set<std::uint64_t>{ring[(i + 2) % 3].value()})) << "node " << self;
    std::set<std::uint64_t> seen = hears[self];
    seen.insert(self);
    majorities.insert(seen);
  }
  EXPECT_EQ(majorities.size(), 3u) << "no two nodes see the same majority";
}

TEST_F(NetworkTest, ClogHoldsMessagesUntilTheClogEnds) {
  const Timestamp until = scheduler_.now() + Duration::millis(50);
  network_.clog(NodeId(1), NodeId(2), until);
  send(NodeId(1), NodeId(2));
  send(NodeId(2), NodeId(1));  // the other direction is not clogged
  run_all();
  ASSERT_EQ(deliveries_.size(), 2u);
  for (const Delivery& d : deliveries_) {
    if (d.from == NodeId(1)) {
      EXPECT_GE(d.arrived, until);
    } else {
      EXPECT_LE(d.arrived - d.sent, network_.default_link().latency.max);
    }
  }
  // Once the clog time has passed, the link is back to normal latency.
  deliveries_.clear();
  scheduler_.run_until(until + Duration::millis(20));
  send(NodeId(1), NodeId(2));
  run_all();
  ASSERT_EQ(deliveries_.size(), 1u);
  EXPECT_LE(deliveries_[0].arrived - deliveries_[0].sent, network_.default_link().latency.max);
}

TEST_F(NetworkTest, HealRestoresDelivery) {
  network_.partition({NodeId(1)}, {NodeId(2), NodeId(3)});
  network_.block(NodeId(2), NodeId(3));
  network_.clog(NodeId(3), NodeId(2), scheduler_.now() + Duration::seconds(100));
  send_all_pairs(3);
  ASSERT_EQ(delivered_pairs(), (std::set<std::pair<std::uint64_t, std::uint64_t>>{{3, 2}}));
  EXPECT_GE(deliveries_[0].arrived - deliveries_[0].sent, Duration::seconds(100));

  network_.heal();
  deliveries_.clear();
  for (std::uint64_t a = 1; a <= 3; ++a) {
    for (std::uint64_t b = 1; b <= 3; ++b) {
      if (a != b) {
        EXPECT_FALSE(network_.is_blocked(NodeId(a), NodeId(b)));
      }
    }
  }
  send_all_pairs(3);
  EXPECT_EQ(delivered_pairs().size(), 6u);
  for (const Delivery& d : deliveries_) {
    EXPECT_LE(d.arrived - d.sent, network_.default_link().latency.max);
  }
}

// ---------------------------------------------------------------------------

TEST(LatencyDist, SamplesStayWithinBoundsAndHalfAreAtMostTheMedian) {
  const LatencyDist dist{Duration::micros(100), Duration::micros(300), Duration::millis(2),
                         Duration::millis(10)};
  Rng rng(7);
  constexpr int kSamples = 100'000;
  int at_most_median = 0;
  int at_most_p99 = 0;
  Duration lowest = dist.max;
  Duration highest = dist.min;
  for (int i = 0; i < kSamples; ++i) {
    const Duration d = dist.sample(rng);
    ASSERT_GE(d, dist.min);
    ASSERT_LE(d, dist.max);
    at_most_median += d <= dist.median ? 1 : 0;
    at_most_p99 += d <= dist.p99 ? 1 : 0;
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_GT(at_most_median, kSamples * 48 / 100);
  EXPECT_LT(at_most_median, kSamples * 52 / 100);
  EXPECT_GT(at_most_p99, kSamples * 985 / 1000);
  EXPECT_LT(at_most_p99, kSamples * 995 / 1000) << "the tail beyond p99 exists";
  EXPECT_LT(lowest, dist.min + Duration::micros(5)) << "the whole range is used";
  EXPECT_GT(highest, dist.p99);
}

TEST(LatencyDist, FixedIsAlwaysTheSame) {
  const LatencyDist dist = LatencyDist::fixed(Duration::millis(3));
  Rng rng(8);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(dist.sample(rng), Duration::millis(3));
}

}  // namespace
}  // namespace sluice::sim
