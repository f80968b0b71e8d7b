#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <array>

#include "core/common/crc32c.h"
#include "core/common/random.h"

namespace sluice {
namespace {

// Published test vectors: these pin our generator to the documented
// algorithms, so a seed means the same thing on every machine and version.
TEST(Random, Splitmix64MatchesReference) {
  std::uint64_t state = 0;
  EXPECT_EQ(splitmix64(state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(splitmix64(state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(splitmix64(state), 0x06c45d188009454fULL);
}

TEST(Random, Xoshiro256StarStarMatchesReference) {
  Rng rng = Rng::from_state(1, 2, 3, 4);
  const std::array<std::uint64_t, 4> expected = {11520ULL, 0ULL, 1509978240ULL,
                                                 1215971899390074240ULL};
  for (std::uint64_t want : expected) EXPECT_EQ(rng.next_u64(), want);
}

TEST(Random, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs = differs || x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Random, ForkGivesAnIndependentStream) {
  Rng parent(7);
  Rng child = parent.fork();
  int equal = 0;
  for (int i = 0; i < 1000; ++i) equal += parent.next_u64() == child.next_u64();
  EXPECT_EQ(equal, 0);
}

TEST(Random, UniformBelowIsUnbiased) {
  Rng rng(1);
  std::array<int, 6> counts{};
  const int n = 600'000;
  for (int i = 0; i < n; ++i) ++counts[uniform_below(rng, 6)];
  // Each bucket expects 100,000 with a standard deviation of about 289.
  for (int c : counts) EXPECT_NEAR(c, n / 6, 2'000);
}

RC_GTEST_PROP(Random, UniformBelowStaysInRange, (std::uint64_t seed, std::uint64_t n)) {
  RC_PRE(n > 0);
  Rng rng(seed);
  for (int i = 0; i < 20; ++i) RC_ASSERT(uniform_below(rng, n) < n);
}

RC_GTEST_PROP(Random, UniformBetweenIncludesBothEnds, (std::uint64_t seed, std::int32_t a, std::int32_t b)) {
  const std::int64_t lo = std::min(a, b), hi = std::max(a, b);
  Rng rng(seed);
  for (int i = 0; i < 20; ++i) {
    const std::int64_t x = uniform_between(rng, lo, hi);
    RC_ASSERT(x >= lo);
    RC_ASSERT(x <= hi);
  }
}

TEST(Random, UniformBetweenReachesTheEnds) {
  Rng rng(3);
  bool low = false, high = false;
  for (int i = 0; i < 1000; ++i) {
    const auto x = uniform_between(rng, -2, 2);
    low = low || x == -2;
    high = high || x == 2;
  }
  EXPECT_TRUE(low && high);
  // The full 64-bit range does not overflow.
  (void)uniform_between(rng, INT64_MIN, INT64_MAX);
}

TEST(Random, ChanceEdges) {
  Rng rng(5);
  int hits = 0;
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_FALSE(chance(rng, 0.0));
    EXPECT_TRUE(chance(rng, 1.0));
    hits += chance(rng, 0.25);
  }
  EXPECT_NEAR(hits, 2'500, 200);
}

TEST(Random, UnitDoubleInHalfOpenInterval) {
  Rng rng(9);
  for (int i = 0; i < 10'000; ++i) {
    const double d = unit_double(rng);
    EXPECT_GE(d, 0.0);
    EXPECT_LT(d, 1.0);
  }
}

RC_GTEST_PROP(Random, ShuffleIsAPermutation, (std::uint64_t seed, std::vector<int> items)) {
  Rng rng(seed);
  auto shuffled = items;
  shuffle(rng, shuffled);
  std::sort(items.begin(), items.end());
  std::sort(shuffled.begin(), shuffled.end());
  RC_ASSERT(items == shuffled);
}

TEST(Crc32c, MatchesKnownVectors) {
  // RFC 3720, appendix B.4.
  EXPECT_EQ(crc32c("123456789"), 0xe3069283U);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros), 0x8a9136aaU);
  const std::string ones(32, '\xff');
  EXPECT_EQ(crc32c(ones), 0x62a8ab43U);
}

TEST(Crc32c, IsIncremental) {
  const std::string a = "hello ", b = "world";
  EXPECT_EQ(crc32c(b, crc32c(a)), crc32c(a + b));
}

TEST(Fnv1a, MatchesReference) {
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
}

}  // namespace
}  // namespace sluice
