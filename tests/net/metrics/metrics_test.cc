// The metrics registry (net/metrics/metrics.h): exact Prometheus text for
// each metric type, label escaping, ordering and bucket arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "net/metrics/metrics.h"

namespace sluice::metrics {
namespace {

TEST(Metrics, AnEmptyRegistryRendersNothing) {
  Registry r;
  EXPECT_EQ(r.render(), "");
}

TEST(Metrics, CounterAndGaugeWithoutLabels) {
  Registry r;
  r.counter("sluice_proposals_total", "Entries this node proposed as leader.").inc(3);
  Gauge& term = r.gauge("sluice_raft_term", "The current Raft term.");
  term.set(7);
  term.inc();
  term.dec(0.5);
  EXPECT_EQ(r.render(),
            "# HELP sluice_proposals_total Entries this node proposed as leader.\n"
            "# TYPE sluice_proposals_total counter\n"
            "sluice_proposals_total 3\n"
            "# HELP sluice_raft_term The current Raft term.\n"
            "# TYPE sluice_raft_term gauge\n"
            "sluice_raft_term 7.5\n");
}

TEST(Metrics, SeriesOfAFamilyShareOneHeaderAndSortByLabels) {
  Registry r;
  r.gauge("sluice_queue_ready", "Ready messages.", {{"channel", "b"}}).set(2);
  r.gauge("sluice_queue_ready", "ignored: the first help wins", {{"channel", "a"}}).set(1);
  EXPECT_EQ(r.render(),
            "# HELP sluice_queue_ready Ready messages.\n"
            "# TYPE sluice_queue_ready gauge\n"
            "sluice_queue_ready{channel=\"a\"} 1\n"
            "sluice_queue_ready{channel=\"b\"} 2\n");
}

TEST(Metrics, TheSameLabelsInAnyOrderNameOneSeries) {
  Registry r;
  Counter& a = r.counter("x_total", "x", {{"kind", "queues"}, {"channel", "c"}});
  Counter& b = r.counter("x_total", "x", {{"channel", "c"}, {"kind", "queues"}});
  EXPECT_EQ(&a, &b);
  a.inc();
  b.inc();
  EXPECT_EQ(r.render(),
            "# HELP x_total x\n"
            "# TYPE x_total counter\n"
            "x_total{channel=\"c\",kind=\"queues\"} 2\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.counter("y_total", "a \\ and a\nnewline", {{"v", "q\"uote\\back\nline"}}).inc();
  EXPECT_EQ(r.render(),
            "# HELP y_total a \\\\ and a\\nnewline\n"
            "# TYPE y_total counter\n"
            "y_total{v=\"q\\\"uote\\\\back\\nline\"} 1\n");
}

TEST(Metrics, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry r;
  Histogram& h = r.histogram("lat_seconds", "Latency.", {1, 2}, {{"disk", "wal"}});
  h.observe(0.5);
  h.observe(1);  // on a bound: counted in that bucket (le is inclusive)
  h.observe(1.5);
  h.observe(4);
  EXPECT_EQ(r.render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{disk=\"wal\",le=\"1\"} 2\n"
            "lat_seconds_bucket{disk=\"wal\",le=\"2\"} 3\n"
            "lat_seconds_bucket{disk=\"wal\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{disk=\"wal\"} 7\n"
            "lat_seconds_count{disk=\"wal\"} 4\n");
  EXPECT_EQ(h.cumulative(), (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.sum(), 7);
}

TEST(Metrics, FractionalBoundsRenderInTheirShortestForm) {
  Registry r;
  r.histogram("f_seconds", "f", {0.001, 0.25}).observe(0.1);
  EXPECT_EQ(r.render(),
            "# HELP f_seconds f\n"
            "# TYPE f_seconds histogram\n"
            "f_seconds_bucket{le=\"0.001\"} 0\n"
            "f_seconds_bucket{le=\"0.25\"} 1\n"
            "f_seconds_bucket{le=\"+Inf\"} 1\n"
            "f_seconds_sum 0.1\n"
            "f_seconds_count 1\n");
}

TEST(Metrics, AHistogramWithNoObservationsRendersZeros) {
  Registry r;
  r.histogram("h_seconds", "h", {0.5});
  EXPECT_EQ(r.render(),
            "# HELP h_seconds h\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"0.5\"} 0\n"
            "h_seconds_bucket{le=\"+Inf\"} 0\n"
            "h_seconds_sum 0\n"
            "h_seconds_count 0\n");
}

TEST(Metrics, FamiliesRenderSortedByName) {
  Registry r;
  r.gauge("b", "b").set(1);
  r.gauge("a", "a").set(1);
  r.counter("c_total", "c").inc();
  const std::string text = r.render();
  EXPECT_LT(text.find("# TYPE a "), text.find("# TYPE b "));
  EXPECT_LT(text.find("# TYPE b "), text.find("# TYPE c_total "));
}

TEST(Metrics, RemovedSeriesAndEmptyFamiliesDisappear) {
  Registry r;
  r.gauge("depth", "d", {{"channel", "a"}}).set(1);
  r.gauge("depth", "d", {{"channel", "b"}}).set(2);
  EXPECT_TRUE(r.remove("depth", {{"channel", "a"}}));
  EXPECT_FALSE(r.remove("depth", {{"channel", "a"}}));
  EXPECT_FALSE(r.remove("nothing", {}));
  EXPECT_EQ(r.render(), "# HELP depth d\n# TYPE depth gauge\ndepth{channel=\"b\"} 2\n");
  EXPECT_TRUE(r.remove("depth", {{"channel", "b"}}));
  EXPECT_EQ(r.render(), "");
}

TEST(Metrics, CollectorsRunBeforeEachRender) {
  Registry r;
  int term = 4;
  r.on_collect([&] { r.gauge("sluice_raft_term", "term").set(term); });
  EXPECT_EQ(r.render(), "# HELP sluice_raft_term term\n# TYPE sluice_raft_term gauge\nsluice_raft_term 4\n");
  term = 5;
  EXPECT_EQ(r.render(), "# HELP sluice_raft_term term\n# TYPE sluice_raft_term gauge\nsluice_raft_term 5\n");
}

TEST(Metrics, ValuesFormatAsPrometheusParsesThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3.25), "-3.25");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(100000), "100000") << "an index, not 1e+05";
  EXPECT_EQ(format_value(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  // Counts stay exact up to 2^53.
  EXPECT_EQ(format_value(9007199254740992.0), "9007199254740992");
}

TEST(Metrics, NamesFollowThePrometheusGrammar) {
  for (const char* ok : {"a", "_a", "a:b", "sluice_raft_term", "A9_:x"}) EXPECT_TRUE(valid_metric_name(ok)) << ok;
  for (const char* bad : {"", "9a", "a-b", "a b", "a.b", "é"}) EXPECT_FALSE(valid_metric_name(bad)) << bad;
  for (const char* ok : {"a", "_a", "channel", "le"}) EXPECT_TRUE(valid_label_name(ok)) << ok;
  for (const char* bad : {"", "__name", "a:b", "9", "a-b"}) EXPECT_FALSE(valid_label_name(bad)) << bad;
}

TEST(Metrics, ExponentialBuckets) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  const std::vector<double> lat = latency_buckets_seconds();
  EXPECT_EQ(lat.size(), 19u);
  EXPECT_DOUBLE_EQ(lat.front(), 50e-6);
  EXPECT_GT(lat.back(), 10.0);
}

TEST(Metrics, UpdatesFromAnotherThreadAreAllCounted) {
  Registry r;
  Counter& c = r.counter("n_total", "n");
  Histogram& h = r.histogram("v", "v", {1});
  std::thread t([&] {
    for (int i = 0; i < 10000; ++i) {
      c.inc();
      h.observe(0.5);
    }
  });
  for (int i = 0; i < 10000; ++i) {
    c.inc();
    h.observe(5);
  }
  t.join();
  EXPECT_EQ(c.value(), 20000);
  EXPECT_EQ(h.cumulative(), (std::vector<std::uint64_t>{10000, 20000}));
  EXPECT_DOUBLE_EQ(h.sum(), 10000 * 0.5 + 10000 * 5.0);
}

TEST(MetricsDeathTest, MisuseIsABug) {
  Registry r;
  r.counter("m_total", "m");
  EXPECT_DEATH(r.gauge("m_total", "m"), "one type");
  EXPECT_DEATH(r.counter("bad-name", "m"), "metric name");
  EXPECT_DEATH(r.counter("ok_total", "m", {{"__reserved", "x"}}), "label name");
  EXPECT_DEATH(r.counter("ok_total", "m", {{"a", "x"}, {"a", "y"}}), "once");
  EXPECT_DEATH(r.histogram("h", "h", {2, 1}), "strictly increase");
  EXPECT_DEATH(r.histogram("h2", "h", {1}, {{"le", "x"}}), "bucket label");
  r.histogram("h3", "h", {1});
  EXPECT_DEATH(r.histogram("h3", "h", {2}), "one set of buckets");
  EXPECT_DEATH(r.counter("c_total", "c").inc(-1), "only goes up");
}

}  // namespace
}  // namespace sluice::metrics
