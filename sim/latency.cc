#include "sim/latency.h"

namespace sluice::sim {

Duration LatencyDist::sample(Rng& rng) const {
  SLUICE_ASSERT(valid(), "latency distribution must satisfy min <= median <= p99 <= max");
  const std::uint64_t r = uniform_below(rng, 1'000'000);
  if (r < 500'000) return Duration{uniform_between(rng, min.ns, median.ns)};
  if (r < 990'000) return Duration{uniform_between(rng, median.ns, p99.ns)};
  return Duration{uniform_between(rng, p99.ns, max.ns)};
}

}  // namespace sluice::sim
