// A process's local clock: virtual time seen through skew (a fixed offset),
// drift (a rate error in parts per million) and steps (sudden jumps, as NTP
// may make). Local time is continuous when drift changes.
#pragma once

#include <cstdint>

#include "core/common/time.h"

namespace sluice::sim {

class SimClock {
 public:
  // Drift beyond +-50% is not a clock, it is a bug in the fault injector.
  static constexpr std::int64_t kDriftPpmMax = 500'000;

  Timestamp local(Timestamp sim) const;
  // Sets the offset so that local(sim_now) == sim_now + skew.
  void set_skew(Timestamp sim_now, Duration skew);
  void set_drift_ppm(Timestamp sim_now, std::int64_t ppm);
  void step(Duration jump) { offset_ns_ += jump.ns; }
  void reset() { offset_ns_ = 0; drift_ppm_ = 0; }

  std::int64_t drift_ppm() const { return drift_ppm_; }
  // The virtual time it takes this clock to advance by `local_span`.
  Duration sim_span_for(Duration local_span) const;

 private:
  std::int64_t offset_ns_ = 0;
  std::int64_t drift_ppm_ = 0;
};

}  // namespace sluice::sim
