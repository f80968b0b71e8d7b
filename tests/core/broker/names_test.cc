// Channel names and subscription patterns (core/broker/names.h, DESIGN
// section 4): what is accepted, what is refused and with which message, and
// what a pattern matches.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "core/broker/names.h"

namespace sluice::broker {
namespace {

// The error message of a refused name; empty if the name is accepted.
std::string channel_error(const std::string& name) {
  const Status s = validate_channel(name);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), Code::invalid_argument) << name;
  return s.message();
}
std::string pattern_error(const std::string& pattern) {
  const Status s = validate_pattern(pattern);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), Code::invalid_argument) << pattern;
  return s.message();
}

TEST(ChannelName, AcceptsLevelsOfTheAllowedCharacters) {
  for (const char* name : {"orders", "orders.eu.paid", "a", "A-Z_0-9/x", "Orders.EU", "x/y/z.1-2_3", "-", "/", "_"}) {
    EXPECT_EQ(channel_error(name), "") << name;
  }
}

TEST(ChannelName, RefusesEmptyNamesAndEmptyLevels) {
  EXPECT_EQ(channel_error(""), "channel name is empty");
  EXPECT_EQ(channel_error("a..b"), "channel name 'a..b' has an empty level");
  EXPECT_EQ(channel_error(".a"), "channel name '.a' has an empty level");
  EXPECT_EQ(channel_error("a."), "channel name 'a.' has an empty level");
  EXPECT_EQ(channel_error("."), "channel name '.' has an empty level");
}

TEST(ChannelName, RefusesCharactersOutsideTheLevelAlphabet) {
  for (const char* name : {"a b", "a\tb", "caf\xc3\xa9", "a:b", "a,b", "a#b", "a+b", "a\\b"}) {
    EXPECT_EQ(channel_error(name), "channel name '" + std::string(name) +
                                       "' has an invalid character; levels use A-Z a-z 0-9 _ - /")
        << name;
  }
  // A NUL would break the state's record keys (name \0 seq).
  EXPECT_NE(channel_error(std::string("a\0b", 3)), "");
}

TEST(ChannelName, RefusesWildcards) {
  for (const char* name : {"*", ">", "orders.*", "orders.>", "a*", "a.b>"}) {
    EXPECT_EQ(channel_error(name),
              "channel name '" + std::string(name) + "' has an invalid character (wildcards are for subscriptions only)")
        << name;
  }
}

TEST(GroupName, IsAnyBytesButANewlineUpTo256) {
  EXPECT_TRUE(validate_group("").ok()) << "no group";
  EXPECT_TRUE(validate_group("workers eu/1 *>").ok());
  EXPECT_TRUE(validate_group(std::string(256, 'g')).ok());
  const Status long_name = validate_group(std::string(257, 'g'));
  EXPECT_EQ(long_name.code(), Code::invalid_argument);
  EXPECT_EQ(long_name.message(), "group name is 257 bytes; the limit is 256");
  const Status newline = validate_group("a\nb");
  EXPECT_EQ(newline.code(), Code::invalid_argument);
  EXPECT_EQ(newline.message(), "group names cannot hold a newline");
}

TEST(ChannelName, IsAtMost256Bytes) {
  EXPECT_EQ(channel_error(std::string(256, 'a')), "");
  EXPECT_EQ(channel_error(std::string(257, 'a')), "channel name is 257 bytes; the limit is 256");
  // Dots count too.
  std::string dotted;
  while (dotted.size() < 254) dotted += "a.";
  dotted += "bc";  // 256 bytes
  ASSERT_EQ(dotted.size(), 256u);
  EXPECT_EQ(channel_error(dotted), "");
  EXPECT_NE(channel_error(dotted + "c"), "");
}

TEST(ChannelName, IsCaseSensitive) {
  EXPECT_TRUE(matches("Orders", "Orders"));
  EXPECT_FALSE(matches("orders", "Orders"));
}

TEST(Pattern, AcceptsWildcardsAsWholeLevels) {
  for (const char* p : {"*", ">", "orders.*", "orders.>", "*.eu.*", "*.>", "a.*.b.>", "plain.name"}) {
    EXPECT_EQ(pattern_error(p), "") << p;
  }
}

TEST(Pattern, RefusesPartialWildcardsAndMisplacedGreaterThan) {
  EXPECT_EQ(pattern_error(""), "pattern is empty");
  EXPECT_EQ(pattern_error("a..*"), "pattern 'a..*' has an empty level");
  EXPECT_EQ(pattern_error("a*"), "pattern 'a*' has an invalid character ('*' and '>' must be whole levels)");
  EXPECT_EQ(pattern_error("a.**"), "pattern 'a.**' has an invalid character ('*' and '>' must be whole levels)");
  EXPECT_EQ(pattern_error("a.>x"), "pattern 'a.>x' has an invalid character ('*' and '>' must be whole levels)");
  EXPECT_EQ(pattern_error(">.a"), "'>' must be the last level of pattern '>.a'");
  EXPECT_EQ(pattern_error("a.>.>"), "'>' must be the last level of pattern 'a.>.>'");
  EXPECT_EQ(pattern_error("a b.*"), "pattern 'a b.*' has an invalid character; levels use A-Z a-z 0-9 _ - /");
  EXPECT_EQ(pattern_error(std::string(257, '*')), "pattern is 257 bytes; the limit is 256");
}

TEST(Pattern, IsWildcard) {
  EXPECT_FALSE(is_wildcard("orders.eu"));
  EXPECT_FALSE(is_wildcard("a"));
  EXPECT_TRUE(is_wildcard("*"));
  EXPECT_TRUE(is_wildcard(">"));
  EXPECT_TRUE(is_wildcard("orders.*.paid"));
  EXPECT_TRUE(is_wildcard("orders.>"));
}

TEST(Pattern, StarMatchesExactlyOneLevel) {
  EXPECT_TRUE(matches("orders.*.paid", "orders.eu.paid"));
  EXPECT_TRUE(matches("orders.*", "orders.eu"));
  EXPECT_TRUE(matches("*", "orders"));
  EXPECT_TRUE(matches("*.*", "a.b"));
  EXPECT_FALSE(matches("orders.*", "orders")) << "one level, not zero";
  EXPECT_FALSE(matches("orders.*", "orders.eu.paid")) << "one level, not two";
  EXPECT_FALSE(matches("*", "a.b"));
  EXPECT_FALSE(matches("orders.*.paid", "orders.eu.sent"));
  EXPECT_FALSE(matches("*.b", "a.c"));
}

TEST(Pattern, GreaterThanMatchesOneOrMoreLevels) {
  EXPECT_TRUE(matches("orders.>", "orders.eu"));
  EXPECT_TRUE(matches("orders.>", "orders.eu.paid"));
  EXPECT_TRUE(matches(">", "a"));
  EXPECT_TRUE(matches(">", "a.b.c"));
  EXPECT_TRUE(matches("*.>", "a.b"));
  EXPECT_FALSE(matches("orders.>", "orders")) << "one or more, not zero";
  EXPECT_FALSE(matches("*.>", "a"));
  EXPECT_FALSE(matches("orders.>", "order.eu"));
  EXPECT_FALSE(matches("orders.>", "ordersx.eu"));
}

TEST(Pattern, LiteralLevelsCompareWhole) {
  EXPECT_TRUE(matches("a.b", "a.b"));
  EXPECT_FALSE(matches("a.b", "a.bc"));
  EXPECT_FALSE(matches("a.bc", "a.b"));
  EXPECT_FALSE(matches("a.b", "a.b.c"));
  EXPECT_FALSE(matches("a.b.c", "a.b"));
  EXPECT_FALSE(matches("ab", "a.b"));
}

// Valid names from a small alphabet, so that random pairs share levels.
rc::Gen<std::string> gen_level() {
  return rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::element('a', 'b', 'Z', '0', '_', '-', '/')));
}
rc::Gen<std::string> gen_channel() {
  return rc::gen::map(rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(gen_level())),
                      [](const std::vector<std::string>& levels) {
                        std::string name;
                        for (const std::string& l : levels) name += (name.empty() ? "" : ".") + l;
                        return name.substr(0, kChannelNameBytesMax);
                      });
}

std::vector<std::string> levels_of(const std::string& name) {
  std::vector<std::string> out(1);
  for (const char c : name) {
    if (c == '.') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

// An obviously correct matcher over split levels, to check matches() against.
bool reference_matches(const std::vector<std::string>& p, const std::vector<std::string>& c) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return c.size() > i;
    if (i >= c.size()) return false;
    if (p[i] != "*" && p[i] != c[i]) return false;
  }
  return p.size() == c.size();
}

RC_GTEST_PROP(Pattern, WithoutWildcardsMatchesExactlyItself, ()) {
  const std::string channel = *gen_channel();
  RC_PRE(validate_channel(channel).ok());  // a truncated name may end in '.'
  const std::string other = *gen_channel();
  RC_PRE(validate_channel(other).ok());
  RC_ASSERT(validate_pattern(channel).ok());
  RC_ASSERT(!is_wildcard(channel));
  RC_ASSERT(matches(channel, channel));
  RC_ASSERT(matches(channel, other) == (channel == other));
}

RC_GTEST_PROP(Pattern, AgreesWithLevelByLevelMatching, ()) {
  const std::string channel = *gen_channel();
  RC_PRE(validate_channel(channel).ok());
  // A pattern made from another name with some levels replaced by wildcards.
  std::vector<std::string> p = levels_of(*gen_channel());
  for (std::string& level : p) {
    if (*rc::gen::inRange(0, 3) == 0) level = "*";
  }
  if (*rc::gen::arbitrary<bool>()) p.back() = ">";
  // Or a pattern derived from the channel itself, so that matches are common.
  if (*rc::gen::arbitrary<bool>()) {
    p = levels_of(channel);
    for (std::string& level : p) {
      if (*rc::gen::inRange(0, 3) == 0) level = "*";
    }
    if (*rc::gen::arbitrary<bool>()) {
      p.resize(*rc::gen::inRange<std::size_t>(1, p.size() + 1));
      p.back() = ">";
    }
  }
  std::string pattern;
  for (const std::string& l : p) pattern += (pattern.empty() ? "" : ".") + l;
  RC_PRE(validate_pattern(pattern).ok());
  RC_ASSERT(matches(pattern, channel) == reference_matches(p, levels_of(channel)));
}

}  // namespace
}  // namespace sluice::broker
