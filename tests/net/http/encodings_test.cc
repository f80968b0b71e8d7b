// Text encodings of the HTTP API (net/http/encodings.h): base64, UTF-8,
// RFC 3339 and request targets.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "net/http/encodings.h"

namespace sluice::http {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, coded] : vectors) {
    EXPECT_EQ(base64_encode(plain), coded);
    EXPECT_EQ(base64_decode(coded), std::optional<std::string>(plain)) << coded;
  }
}

TEST(Base64, AcceptsMissingPaddingAndRefusesTheRest) {
  EXPECT_EQ(base64_decode("Zg"), std::optional<std::string>("f"));
  EXPECT_EQ(base64_decode("Zm8"), std::optional<std::string>("fo"));
  for (const char* bad : {"Z", "Zg=", "Z===", "Zm9v\n", "Zm 9v", "Zm9v-_", "Zh==", "=Zg=", "Zg==Zg=="}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}

RC_GTEST_PROP(Base64, RoundTripsAnyBytes, (const std::string& bytes)) {
  RC_ASSERT(base64_decode(base64_encode(bytes)) == std::optional<std::string>(bytes));
}

TEST(Utf8, AcceptsWellFormedText) {
  for (const char* ok : {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf"}) {
    EXPECT_TRUE(valid_utf8(ok)) << ok;
  }
  EXPECT_TRUE(valid_utf8(std::string("a\0b", 3)));
}

TEST(Utf8, RefusesMalformedSequences) {
  for (const char* bad : {"\xc3", "\xc3(", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff",
                          "\x80", "\xe2\x82", "\xf0\x9f\x98"}) {
    EXPECT_FALSE(valid_utf8(bad)) << ::testing::PrintToString(std::string(bad));
  }
}

TEST(Rfc3339, FormatsUtcWithNanoseconds) {
  EXPECT_EQ(format_rfc3339(Timestamp{0}), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(format_rfc3339(Timestamp{1'700'000'000'123'456'789}), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(format_rfc3339(Timestamp{-1}), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(format_rfc3339(Timestamp{951'782'400'000'000'000}), "2000-02-29T00:00:00.000000000Z");
}

TEST(Rfc3339, ParsesZuluOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20Z"), Timestamp{1'700'000'000'000'000'000});
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.5Z"), Timestamp{1'700'000'000'500'000'000});
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.123456789z"), Timestamp{1'700'000'000'123'456'789});
  EXPECT_EQ(parse_rfc3339("2023-11-15T00:13:20+02:00"), Timestamp{1'700'000'000'000'000'000});
  EXPECT_EQ(parse_rfc3339("2023-11-14t21:13:20-01:00"), Timestamp{1'700'000'000'000'000'000});
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.999999999Z"), Timestamp{-1});
}

TEST(Rfc3339, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14 22:13:20Z", "2023-02-29T00:00:00Z",
                          "2023-13-01T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z",
                          "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20.1234567890Z", "2023-11-14T22:13:20+2:00",
                          "2023-11-14T22:13:20Zx", "3000-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "+023-11-14T22:13:20Z"}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
}

RC_GTEST_PROP(Rfc3339, RoundTripsEveryTimestamp, (std::int64_t ns)) {
  const auto back = parse_rfc3339(format_rfc3339(Timestamp{ns}));
  // The far ends of int64 print years outside what parse accepts (or 4 digits).
  if (back.has_value()) RC_ASSERT(back->ns == ns);
  if (ns > -9'000'000'000'000'000'000 && ns < 9'000'000'000'000'000'000) RC_ASSERT(back.has_value());
}

TEST(Target, SplitsAndDecodesPathAndQuery) {
  const auto t = split_target("/v1/queues/a%2Fb/send?max=5&pattern=orders.%3E&empty=&flag");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->segments, (std::vector<std::string>{"v1", "queues", "a/b", "send"}));
  EXPECT_EQ(t->query, (std::vector<std::pair<std::string, std::string>>{
                          {"max", "5"}, {"pattern", "orders.>"}, {"empty", ""}, {"flag", ""}}));
  EXPECT_EQ(split_target("/")->segments, (std::vector<std::string>{""}));
  EXPECT_EQ(split_target("/a/")->segments, (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(split_target("/a?x=1+2")->query.at(0).second, "1+2");  // '+' is not a space
}

TEST(Target, RefusesBadEscapesAndNonPaths) {
  for (const char* bad : {"", "v1/queues", "http://host/v1", "/a%2", "/a%zz", "/a?x=%g0", "*"}) {
    EXPECT_EQ(split_target(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace sluice::http
