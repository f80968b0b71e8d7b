#include "sim/buggify.h"

namespace sluice::sim {

bool SimBuggify::fire(std::string_view site) {
  auto it = sites_.find(site);
  if (it == sites_.end()) {
    // Whether a site is on depends only on (seed, name), not on the order in
    // which sites are first reached.
    std::uint64_t mix = fnv1a64(site.data(), site.size(), seed_ ^ 0x9e3779b97f4a7c15ULL);
    Rng decide(splitmix64(mix));
    Site s;
    s.enabled = chance(decide, enable_probability_);
    it = sites_.emplace(std::string(site), s).first;
  }
  Site& s = it->second;
  ++s.reached;
  if (!s.enabled || !chance(rng_, fire_probability_)) return false;
  ++s.fired;
  return true;
}

}  // namespace sluice::sim
