// The broker's limits (core/broker/limits.h) as sluiced settings: one table
// that gives each limit its flag, environment variable and YAML key, its
// unit and its allowed range, and reads the default from broker::Limits{}
// so --help and the documentation cannot drift from the code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/broker/limits.h"
#include "core/common/status.h"

namespace sluice::net {

struct LimitSetting {
  enum class Unit { count, bytes, duration };
  const char* key;  // flag without dashes, and YAML key
  const char* env;
  Unit unit;
  // Allowed values, inclusive, in the unit (nanoseconds for durations).
  std::uint64_t lo;
  std::uint64_t hi;
  std::uint64_t (*get)(const broker::Limits&);
  void (*set)(broker::Limits&, std::uint64_t);
  const char* help;  // what the limit bounds; the default is appended
};

const std::vector<LimitSetting>& limit_settings();

// "1048576", "64KiB", "1MiB", "1GiB" for bytes; "500ms", "30s", "2m", "12h",
// "7d" for durations; a plain whole number for counts. invalid_argument
// says what was expected; `source` names where the text came from.
Result<std::uint64_t> parse_limit(const LimitSetting& setting, const std::string& text, const std::string& source);

// A value in the unit's most readable whole form: 1MiB, 30s, 12h, 1000.
std::string format_limit(const LimitSetting& setting, std::uint64_t value);

// Whether the limit decides replicated outcomes (broker::StateLimits): then
// the leader's value holds cluster-wide, whatever the other nodes say.
bool is_replicated(const LimitSetting& setting);

// The limits' relations to each other and to the wire (a message must fit
// a frame): checked once every setting is read.
Status check_limits(const broker::Limits& limits);

}  // namespace sluice::net
