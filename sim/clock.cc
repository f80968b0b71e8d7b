#include "sim/clock.h"

#include "core/common/status.h"

namespace sluice::sim {

Timestamp SimClock::local(Timestamp sim) const {
  // sim.ns stays below ~1e13 (hours) and |drift| <= 5e5, so no overflow.
  return Timestamp{sim.ns + offset_ns_ + (sim.ns / 1'000) * drift_ppm_ / 1'000};
}

void SimClock::set_skew(Timestamp sim_now, Duration skew) {
  offset_ns_ += (sim_now.ns + skew.ns) - local(sim_now).ns;
}

void SimClock::set_drift_ppm(Timestamp sim_now, std::int64_t ppm) {
  SLUICE_ASSERT(ppm >= -kDriftPpmMax && ppm <= kDriftPpmMax, "clock drift out of range");
  const Timestamp before = local(sim_now);
  drift_ppm_ = ppm;
  offset_ns_ += before.ns - local(sim_now).ns;
}

Duration SimClock::sim_span_for(Duration local_span) const {
  return Duration{local_span.ns * 1'000'000 / (1'000'000 + drift_ppm_)};
}

}  // namespace sluice::sim
