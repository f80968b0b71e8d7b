// Seeded randomness for the core and the simulator.
//
// The generator is xoshiro256** (Blackman and Vigna, "Scrambled Linear
// Pseudorandom Number Generators", 2018), seeded through splitmix64 as its
// authors recommend. The distributions below are our own, written with
// integer arithmetic where possible, so a seed gives the same sequence with
// any compiler or standard library: std::uniform_int_distribution and
// friends are not portable across library versions.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/common/status.h"

namespace sluice {

// splitmix64 step: also a good 64-bit mixer for deriving seeds from names.
std::uint64_t splitmix64(std::uint64_t& state);

class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  // A generator in exactly this state, for checking against the published
  // test vectors. Precondition: not all zero.
  static Rng from_state(std::uint64_t s0, std::uint64_t s1, std::uint64_t s2, std::uint64_t s3);

  std::uint64_t next_u64();

  // A new generator whose stream is independent of this one's, for handing
  // each simulated component its own stream. Advances this generator.
  Rng fork();

 private:
  std::uint64_t s_[4];
};

// Uniform in [0, n). n > 0. Lemire's multiply-and-reject: no modulo bias.
std::uint64_t uniform_below(Rng& rng, std::uint64_t n);

// Uniform in [lo, hi], both included. lo <= hi.
std::int64_t uniform_between(Rng& rng, std::int64_t lo, std::int64_t hi);

// Uniform in [0, 1) with 53 random bits: exact in IEEE double arithmetic.
double unit_double(Rng& rng);

// True with probability p (p <= 0: never; p >= 1: always).
bool chance(Rng& rng, double p);

// Fisher-Yates, our own, for the same reason as above.
template <class T>
void shuffle(Rng& rng, std::vector<T>& items) {
  for (std::size_t i = items.size(); i > 1; --i) {
    const std::size_t j = uniform_below(rng, i);
    std::swap(items[i - 1], items[j]);
  }
}

template <class T>
const T& pick(Rng& rng, const std::vector<T>& items) {
  SLUICE_ASSERT(!items.empty(), "pick from an empty set");
  return items[uniform_below(rng, items.size())];
}

// 64-bit FNV-1a, for hashing names (BUGGIFY sites) and traces.
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t hash = 0xcbf29ce484222325ULL);

}  // namespace sluice
