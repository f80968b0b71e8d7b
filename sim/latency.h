// Latency distributions for links and disks, in integer arithmetic so a seed
// draws the same delays on every platform. Piecewise uniform: half of the
// samples in [min, median], 49% in [median, p99], 1% in [p99, max] — a long
// tail without floating-point transcendental functions.
#pragma once

#include "core/common/random.h"
#include "core/common/time.h"

namespace sluice::sim {

struct LatencyDist {
  Duration min;
  Duration median;
  Duration p99;
  Duration max;

  static constexpr LatencyDist fixed(Duration d) { return {d, d, d, d}; }
  bool valid() const { return min <= median && median <= p99 && p99 <= max && min.ns >= 0; }
  Duration sample(Rng& rng) const;
};

}  // namespace sluice::sim
