#include "core/common/time.h"

#include <cstdio>

namespace sluice {

std::string format_duration(Duration d) {
  char buf[64];
  const std::int64_t ns = d.ns;
  const std::int64_t mag = ns < 0 ? -ns : ns;
  if (mag >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(ns) / 1e9);
  } else if (mag >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(ns) / 1e6);
  } else if (mag >= 1'000) {
    std::snprintf(buf, sizeof buf, "%.3fus", static_cast<double>(ns) / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(ns));
  }
  return buf;
}

bool parse_duration(const std::string& text, Duration* out) {
  if (text.empty()) return false;
  std::size_t digits = 0;
  std::int64_t value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (value > (INT64_MAX / 10) - 10) return false;
    value = value * 10 + (text[digits] - '0');
    ++digits;
  }
  if (digits == 0) return false;
  const std::string unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1'000'000'000;
  else if (unit == "ms") scale = 1'000'000;
  else if (unit == "us") scale = 1'000;
  else if (unit == "ns") scale = 1;
  else if (unit == "m") scale = 60'000'000'000;
  else if (unit == "h") scale = 3'600'000'000'000;
  else if (unit == "d") scale = 86'400'000'000'000;
  else return false;
  if (value > INT64_MAX / scale) return false;
  out->ns = value * scale;
  return true;
}

}  // namespace sluice
