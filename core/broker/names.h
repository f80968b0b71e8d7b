// Channel names and subscription patterns (DESIGN section 4).
//
// A channel name is one or more `.`-separated levels; each level is a
// non-empty run of [A-Za-z0-9_-/]; the whole name is at most 256 bytes and
// case-sensitive. A pattern (subscriptions only) may also use `*` for
// exactly one level and `>`, as its last level, for one or more levels:
// `orders.*.paid` matches `orders.eu.paid`; `orders.>` matches
// `orders.eu` and `orders.eu.paid` but not `orders`.
#pragma once

#include <string_view>

#include "core/common/status.h"

namespace sluice::broker {

inline constexpr std::size_t kChannelNameBytesMax = 256;
// A subscription group name: any bytes but a newline, at most 256.
inline constexpr std::size_t kGroupNameBytesMax = 256;

// ok, or invalid_argument naming what is wrong (for the client).
Status validate_channel(std::string_view name);
Status validate_pattern(std::string_view pattern);
Status validate_group(std::string_view group);  // "" (no group) is valid
bool is_wildcard(std::string_view pattern);
// Precondition: both are valid (a pattern without wildcards matches itself).
bool matches(std::string_view pattern, std::string_view channel);

}  // namespace sluice::broker
