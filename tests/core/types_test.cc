#include <gtest/gtest.h>

#include <type_traits>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/common/types.h"

namespace sluice {
namespace {

TEST(StrongTypes, DoNotMixUnits) {
  static_assert(!std::is_convertible_v<Term, LogIndex>);
  static_assert(!std::is_convertible_v<NodeId, Term>);
  static_assert(!std::is_convertible_v<std::uint64_t, NodeId>, "construction is explicit");
  EXPECT_LT(Term(1), Term(2));
  EXPECT_EQ(LogIndex(7).next(), LogIndex(8));
  EXPECT_EQ(to_string(NodeId(42)), "42");
}

TEST(Status, OkAndErrors) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.to_string(), "ok");
  Status bad(Code::corruption, "checksum mismatch");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), Code::corruption);
  EXPECT_EQ(bad.to_string(), "corruption: checksum mismatch");
}

TEST(Result, HoldsValueOrError) {
  Result<int> v = 5;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 5);
  Result<int> e = Status(Code::no_space, "full");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::no_space);
}

TEST(ResultDeathTest, ValueOfErrorIsABug) {
  Result<int> e = Status(Code::io_error, "x");
  EXPECT_DEATH((void)e.value(), "value\\(\\) of a Result that holds an error");
}

TEST(ResultDeathTest, OkStatusIsNotAnError) {
  EXPECT_DEATH(Result<int>{Status()}, "a Result error must not be ok");
}

TEST(Duration, ParsesUnits) {
  Duration d;
  ASSERT_TRUE(parse_duration("500ms", &d));
  EXPECT_EQ(d, Duration::millis(500));
  ASSERT_TRUE(parse_duration("30s", &d));
  EXPECT_EQ(d, Duration::seconds(30));
  ASSERT_TRUE(parse_duration("2m", &d));
  EXPECT_EQ(d, Duration::seconds(120));
  ASSERT_TRUE(parse_duration("7", &d));
  EXPECT_EQ(d, Duration::seconds(7));
  ASSERT_TRUE(parse_duration("1500us", &d));
  EXPECT_EQ(d, Duration::micros(1500));
  ASSERT_TRUE(parse_duration("12h", &d));
  EXPECT_EQ(d, Duration::seconds(12 * 3600));
  ASSERT_TRUE(parse_duration("7d", &d));
  EXPECT_EQ(d, Duration::seconds(7 * 24 * 3600));
}

TEST(Duration, RejectsGarbage) {
  Duration d;
  for (const char* bad : {"", "ms", "5 s", "5w", "5H", "200000d", "-5s", "1.5s", "99999999999999999999s", "5msx"}) {
    EXPECT_FALSE(parse_duration(bad, &d)) << bad;
  }
}

TEST(Duration, Formats) {
  EXPECT_EQ(format_duration(Duration::millis(1500)), "1.500s");
  EXPECT_EQ(format_duration(Duration::millis(15)), "15.000ms");
  EXPECT_EQ(format_duration(Duration::nanos(250)), "250ns");
}

}  // namespace
}  // namespace sluice
