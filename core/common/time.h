// Durations and timestamps. The core never reads a clock: the driver passes
// the local clock's reading in with each input, and a leader stamps it into
// the log so that every replica applies with the same time.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace sluice {

// A span of time in nanoseconds. Signed so that differences are natural.
struct Duration {
  std::int64_t ns = 0;

  static constexpr Duration nanos(std::int64_t n) { return {n}; }
  static constexpr Duration micros(std::int64_t n) { return {n * 1'000}; }
  static constexpr Duration millis(std::int64_t n) { return {n * 1'000'000}; }
  static constexpr Duration seconds(std::int64_t n) { return {n * 1'000'000'000}; }

  constexpr std::int64_t to_ms() const { return ns / 1'000'000; }

  friend constexpr auto operator<=>(Duration, Duration) = default;
  friend constexpr Duration operator+(Duration a, Duration b) { return {a.ns + b.ns}; }
  friend constexpr Duration operator-(Duration a, Duration b) { return {a.ns - b.ns}; }
  friend constexpr Duration operator*(Duration a, std::int64_t k) { return {a.ns * k}; }
  friend constexpr Duration operator/(Duration a, std::int64_t k) { return {a.ns / k}; }
};

// A point on some clock: nanoseconds since that clock's epoch. In simulation
// the epoch is the start of the run; on a real server it is the Unix epoch.
struct Timestamp {
  std::int64_t ns = 0;

  friend constexpr auto operator<=>(Timestamp, Timestamp) = default;
  friend constexpr Timestamp operator+(Timestamp t, Duration d) { return {t.ns + d.ns}; }
  friend constexpr Duration operator-(Timestamp a, Timestamp b) { return {a.ns - b.ns}; }
  friend constexpr Timestamp operator-(Timestamp t, Duration d) { return {t.ns - d.ns}; }
};

// "1.250s", "15ms", "800us": for reports and traces.
std::string format_duration(Duration d);

// Parses "500ms", "30s", "2m", "12h", "7d", "1500us", "250ns" or a plain number
// of seconds.
// Returns false on anything else.
bool parse_duration(const std::string& text, Duration* out);

}  // namespace sluice
