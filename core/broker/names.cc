#include "core/broker/names.h"

#include <string>

namespace sluice::broker {
namespace {

bool level_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '/';
}

// Calls f(level) for each `.`-separated level; stops early if f returns false.
template <class F>
bool each_level(std::string_view name, F f) {
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view level = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (!f(level, dot == std::string_view::npos)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Status check(std::string_view name, bool pattern) {
  const char* what = pattern ? "pattern" : "channel name";
  if (name.empty()) return Status(Code::invalid_argument, std::string(what) + " is empty");
  if (name.size() > kChannelNameBytesMax) {
    return Status(Code::invalid_argument, std::string(what) + " is " + std::to_string(name.size()) +
                                              " bytes; the limit is " + std::to_string(kChannelNameBytesMax));
  }
  Status status;
  each_level(name, [&](std::string_view level, bool last) {
    if (level.empty()) {
      status = Status(Code::invalid_argument, std::string(what) + " '" + std::string(name) + "' has an empty level");
      return false;
    }
    if (pattern && level == "*") return true;
    if (pattern && level == ">") {
      if (last) return true;
      status = Status(Code::invalid_argument, "'>' must be the last level of pattern '" + std::string(name) + "'");
      return false;
    }
    for (const char c : level) {
      if (level_char(c)) continue;
      std::string msg = std::string(what) + " '" + std::string(name) + "' has an invalid character";
      if (c == '*' || c == '>') {
        msg += pattern ? " ('*' and '>' must be whole levels)" : " (wildcards are for subscriptions only)";
      } else {
        msg += "; levels use A-Z a-z 0-9 _ - /";
      }
      status = Status(Code::invalid_argument, msg);
      return false;
    }
    return true;
  });
  return status;
}

}  // namespace

Status validate_channel(std::string_view name) { return check(name, false); }
Status validate_pattern(std::string_view pattern) { return check(pattern, true); }

bool is_wildcard(std::string_view pattern) {
  bool wild = false;
  each_level(pattern, [&](std::string_view level, bool) {
    wild = wild || level == "*" || level == ">";
    return !wild;
  });
  return wild;
}

bool matches(std::string_view pattern, std::string_view channel) {
  std::size_t p = 0;
  std::size_t c = 0;
  while (true) {
    const std::size_t pdot = pattern.find('.', p);
    const std::string_view plevel = pattern.substr(p, pdot == pattern.npos ? pattern.npos : pdot - p);
    // `>` takes one or more levels: valid names have no empty level, so any
    // remainder is at least one.
    if (plevel == ">") return c < channel.size();
    const std::size_t cdot = channel.find('.', c);
    const std::string_view clevel = channel.substr(c, cdot == channel.npos ? channel.npos : cdot - c);
    if (plevel != "*" && plevel != clevel) return false;
    const bool plast = pdot == pattern.npos;
    const bool clast = cdot == channel.npos;
    if (plast || clast) return plast && clast;
    p = pdot + 1;
    c = cdot + 1;
  }
}

Status validate_group(std::string_view group) {
  if (group.size() > kGroupNameBytesMax) {
    return Status(Code::invalid_argument, "group name is " + std::to_string(group.size()) + " bytes; the limit is " +
                                              std::to_string(kGroupNameBytesMax));
  }
  if (group.find('\n') != std::string_view::npos) {
    return Status(Code::invalid_argument, "group names cannot hold a newline");
  }
  return {};
}

}  // namespace sluice::broker
