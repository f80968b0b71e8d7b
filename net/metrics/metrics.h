// A small metrics registry rendered in the Prometheus text exposition
// format (version 0.0.4): counters, gauges and histograms with fixed
// buckets, each family with any number of label sets.
//
// Threads: registering a series, removing one and rendering take a mutex;
// updating a value (inc, set, observe) is a lock-free atomic, so a storage
// thread may observe fsync latencies while the node's loop renders.
//
// Names are code, values are data: a metric or label name that is not a
// valid Prometheus name is a bug (an assertion), while label values (channel
// names, say) may hold anything and are escaped on output.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::metrics {

// (label name, label value) pairs. Order does not matter: a series is
// identified, and rendered, with its labels sorted by name.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Only goes up (Prometheus resets it to zero when the process restarts).
class Counter {
 public:
  // Precondition: by >= 0.
  void inc(double by = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed buckets by upper bound (inclusive, as
// Prometheus's `le`), plus the implicit +Inf bucket, their sum and count.
class Histogram {
 public:
  // Precondition: bounds finite and strictly increasing (may be empty).
  explicit Histogram(std::vector<double> bounds);

  void observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts, one per bound and one more for +Inf (== count()).
  std::vector<std::uint64_t> cumulative() const;
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  // counts_[i]: observations in (bounds_[i-1], bounds_[i]]; the last: above every bound.
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// `count` bounds: start, start*factor, start*factor^2, ...
// Preconditions: start > 0, factor > 1, count >= 1.
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
// Latencies in seconds from 50 us to about 13 s (19 buckets, doubling).
std::vector<double> latency_buckets_seconds();

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series `name{labels}`, created on first use. The reference stays
  // valid until remove() of that series or the registry's destruction.
  // A name registered before must be asked for with the same type (and, for
  // histograms, the same bounds); its help text is the first one given.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                       const Labels& labels = {});

  // Drops one series (a channel that went away); false if there was none.
  // A family with no series left renders nothing.
  bool remove(std::string_view name, const Labels& labels);

  // Runs before every render, on the rendering thread, without the
  // registry's lock held: for values read at scrape time (the Raft term,
  // queue depths), which it sets on gauges.
  void on_collect(std::function<void()> collect);

  // Runs the collectors, then renders every family sorted by name, each
  // family's series sorted by their labels.
  std::string render();

 private:
  enum class Type : std::uint8_t { counter, gauge, histogram };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;        // histograms
    std::map<Labels, Series> series;   // labels sorted by name
  };

  Series& find_or_add(std::string_view name, std::string_view help, Type type, const Labels& labels,
                      const std::vector<double>& bounds);

  std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void()>> collectors_;
};

// The exposition format's escaping, exposed for tests.
std::string escape_help(std::string_view text);         // \ and newline
std::string escape_label_value(std::string_view text);  // \, " and newline
// A sample value: shortest round-trip decimal, "+Inf", "-Inf" or "NaN".
std::string format_value(double value);
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace sluice::metrics
