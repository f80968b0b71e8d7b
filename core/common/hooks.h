// Simulation hooks compiled into the code under test: BUGGIFY and CODE_PROBE.
//
// Both reach the code through a Hooks value passed in its options, never a
// global. On a real server Hooks has no Buggify, so BUGGIFY is always false
// and costs one pointer test; CODE_PROBE counts into per-node counters that
// can also be exported as metrics.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice {

enum class ProbeId : std::uint16_t {
#define SLUICE_PROBE(id, text) id,
#include "core/common/code_probes.def"
#undef SLUICE_PROBE
};

struct ProbeInfo {
  std::string_view name;
  std::string_view description;
};

inline constexpr std::array kProbeCatalogue = {
#define SLUICE_PROBE(id, text) ProbeInfo{#id, text},
#include "core/common/code_probes.def"
#undef SLUICE_PROBE
};

inline constexpr std::size_t kProbeCount = kProbeCatalogue.size();

// Hit counts for every probe in the catalogue.
struct ProbeCounters {
  std::array<std::uint64_t, kProbeCount> hits{};

  void hit(ProbeId id) { ++hits[static_cast<std::size_t>(id)]; }
  std::uint64_t count(ProbeId id) const { return hits[static_cast<std::size_t>(id)]; }
};

// Decides whether a BUGGIFY site does its unusual-but-legal thing this time.
// Only the simulator implements it.
class Buggify {
 public:
  virtual ~Buggify() = default;
  virtual bool fire(std::string_view site) = 0;
};

struct Hooks {
  Buggify* buggify = nullptr;       // null outside simulation
  ProbeCounters* probes = nullptr;  // null: probes are not counted
};

}  // namespace sluice

// BUGGIFY(hooks, "module.what"): true only in simulation, only at sites the
// run enabled, and then only sometimes. The site name must be a literal that
// says what the unusual behaviour is.
#define BUGGIFY(hooks, site) ((hooks).buggify != nullptr && (hooks).buggify->fire(site))

// CODE_PROBE(hooks, cond, id): counts that a rare state was reached.
#define CODE_PROBE(hooks, cond, id)                                   \
  do {                                                                \
    if ((cond) && (hooks).probes != nullptr) (hooks).probes->hit(::sluice::ProbeId::id); \
  } while (0)
