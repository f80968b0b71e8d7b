// Linearizability checking of a key-value history, one register per key,
// with the Wing-Gong-Lowe search as Porcupine implements it: walk the
// history's call/return events, tentatively linearize a call whose effect
// the model accepts, backtrack when a return is reached that nothing
// explains, and remember (linearized set, state) pairs already explored.
//
// An operation whose outcome is unknown (its client timed out) has no
// return: it may take effect at any time after its call, or never. Unknown
// reads constrain nothing and are dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::check {

struct KvOp {
  std::uint64_t client = 0;
  std::string key;
  bool put = false;
  std::string value;                  // put: written; get: read (if found)
  bool found = false;                 // get: whether the key existed
  std::int64_t call = 0;              // virtual ns
  std::optional<std::int64_t> ret;    // nullopt: outcome unknown
};

enum class Verdict { linearizable, not_linearizable, inconclusive };

struct LinearizabilityResult {
  Verdict verdict = Verdict::linearizable;
  std::string detail;     // the first key that failed, and why
  std::uint64_t steps = 0;  // search steps taken, over all keys
};

// step_budget bounds the search per key; running out gives inconclusive.
LinearizabilityResult check_kv_linearizable(const std::vector<KvOp>& history, std::uint64_t step_budget = 5'000'000);

}  // namespace sluice::check
