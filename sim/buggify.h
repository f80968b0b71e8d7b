// The simulator's BUGGIFY: each run enables a random subset of sites (chosen
// by hashing the site name with the run's seed), and an enabled site fires
// with a fixed probability each time it is reached.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/common/hooks.h"
#include "core/common/random.h"

namespace sluice::sim {

class SimBuggify final : public Buggify {
 public:
  // enable_probability: share of sites enabled in this run.
  // fire_probability: how often an enabled site fires.
  SimBuggify(std::uint64_t seed, Rng rng, double enable_probability, double fire_probability)
      : seed_(seed), rng_(rng), enable_probability_(enable_probability),
        fire_probability_(fire_probability) {}

  bool fire(std::string_view site) override;

  struct Site {
    bool enabled = false;
    std::uint64_t reached = 0;
    std::uint64_t fired = 0;
  };
  // Ordered by name, so reports are stable.
  const std::map<std::string, Site, std::less<>>& sites() const { return sites_; }

 private:
  std::uint64_t seed_;
  Rng rng_;
  double enable_probability_;
  double fire_probability_;
  std::map<std::string, Site, std::less<>> sites_;
};

}  // namespace sluice::sim
