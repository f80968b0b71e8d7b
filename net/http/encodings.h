// Text encodings the HTTP API uses: base64 for binary bodies, RFC 3339 for
// timestamps, percent-decoding for URL targets, UTF-8 validation to decide
// whether a body can travel as a JSON string. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/time.h"

namespace sluice::http {

// RFC 4648, standard alphabet, with padding.
std::string base64_encode(std::string_view bytes);
// Accepts the standard alphabet with or without padding (if present it
// must be right); nullopt on anything else (whitespace included).
std::optional<std::string> base64_decode(std::string_view text);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view bytes);

// Nanoseconds since the Unix epoch as "2024-01-02T03:04:05.123456789Z"
// (always UTC, always nine fractional digits, so the text sorts as time).
std::string format_rfc3339(Timestamp t);
// RFC 3339: "2024-01-02T03:04:05Z", with an optional fraction of up to nine
// digits and a "Z" or "+hh:mm"/"-hh:mm" offset. nullopt if malformed or
// outside the range of int64 nanoseconds (about 1678 to 2262).
std::optional<Timestamp> parse_rfc3339(std::string_view text);

// %XX escapes decoded; '+' stays '+' (RFC 3986, not HTML forms). nullopt on
// a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

// A request target split into its path's segments and its query's
// parameters, each percent-decoded. "/v1/queues/a%2Fb/send?x=1" gives
// segments {"v1", "queues", "a/b", "send"} and query {{"x", "1"}}.
struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;  // in order, duplicates kept
};
// nullopt unless the target is origin-form (starts with '/') and every
// escape is well formed.
std::optional<Target> split_target(std::string_view target);

}  // namespace sluice::http
