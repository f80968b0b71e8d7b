#include "net/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/common/status.h"

namespace sluice::metrics {
namespace {

Labels sorted(const Labels& labels) {
  Labels out = labels;
  std::sort(out.begin(), out.end());
  for (std::size_t i = 0; i < out.size(); ++i) {
    SLUICE_ASSERT(valid_label_name(out[i].first), "a label name must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __");
    SLUICE_ASSERT(i == 0 || out[i - 1].first != out[i].first, "a label appears once in a series");
  }
  return out;
}

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

// `name{a="x",b="y"}` (or just `name` with no labels), with `extra` (the
// histogram's le) last.
void series_name(std::string& out, std::string_view name, const Labels& labels, const char* extra_name = nullptr,
                 const std::string& extra_value = "") {
  out += name;
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  auto add = [&](std::string_view k, std::string_view v) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  };
  for (const auto& [k, v] : labels) add(k, v);
  if (extra_name != nullptr) add(extra_name, extra_value);
  out += '}';
}

void sample(std::string& out, std::string_view name, const Labels& labels, double value,
            const char* extra_name = nullptr, const std::string& extra_value = "") {
  series_name(out, name, labels, extra_name, extra_value);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

}  // namespace

void Counter::inc(double by) {
  SLUICE_ASSERT(by >= 0, "a counter only goes up");
  value_.fetch_add(by, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    SLUICE_ASSERT(std::isfinite(bounds_[i]), "histogram bounds are finite; +Inf is implicit");
    SLUICE_ASSERT(i == 0 || bounds_[i - 1] < bounds_[i], "histogram bounds strictly increase");
  }
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  // The first bound >= value: buckets are "less than or equal".
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  // NaN compares false with everything and lands in +Inf, as Prometheus's client does.
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

std::uint64_t Histogram::count() const { return cumulative().back(); }

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  SLUICE_ASSERT(start > 0 && factor > 1 && count >= 1, "exponential buckets need start > 0, factor > 1, count >= 1");
  std::vector<double> out;
  out.reserve(count);
  double b = start;
  for (std::size_t i = 0; i < count; ++i, b *= factor) out.push_back(b);
  return out;
}

std::vector<double> latency_buckets_seconds() { return exponential_buckets(50e-6, 2, 19); }

Registry::Series& Registry::find_or_add(std::string_view name, std::string_view help, Type type,
                                        const Labels& labels, const std::vector<double>& bounds) {
  SLUICE_ASSERT(valid_metric_name(name), "a metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  Labels key = sorted(labels);
  if (type == Type::histogram) {
    for (const auto& [k, v] : key) SLUICE_ASSERT(k != "le", "le is the histogram's own bucket label");
  }
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{type, std::string(help), bounds, {}}).first;
  }
  Family& f = it->second;
  SLUICE_ASSERT(f.type == type, "a metric name has one type");
  SLUICE_ASSERT(type != Type::histogram || f.bounds == bounds, "a histogram family has one set of buckets");
  auto [s, added] = f.series.try_emplace(std::move(key));
  if (added) {
    switch (type) {
      case Type::counter: s->second.counter = std::make_unique<Counter>(); break;
      case Type::gauge: s->second.gauge = std::make_unique<Gauge>(); break;
      case Type::histogram: s->second.histogram = std::make_unique<Histogram>(bounds); break;
    }
  }
  return s->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  return *find_or_add(name, help, Type::counter, labels, {}).counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  return *find_or_add(name, help, Type::gauge, labels, {}).gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                               const Labels& labels) {
  return *find_or_add(name, help, Type::histogram, labels, bounds).histogram;
}

bool Registry::remove(std::string_view name, const Labels& labels) {
  Labels key = sorted(labels);
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  return it != families_.end() && it->second.series.erase(key) > 0;
}

void Registry::on_collect(std::function<void()> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::render() {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) c();
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (f.series.empty()) continue;
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " ";
    out += f.type == Type::counter ? "counter" : f.type == Type::gauge ? "gauge" : "histogram";
    out += '\n';
    for (const auto& [labels, s] : f.series) {
      switch (f.type) {
        case Type::counter: sample(out, name, labels, s.counter->value()); break;
        case Type::gauge: sample(out, name, labels, s.gauge->value()); break;
        case Type::histogram: {
          const Histogram& h = *s.histogram;
          const std::vector<std::uint64_t> cum = h.cumulative();
          for (std::size_t i = 0; i < h.bounds().size(); ++i) {
            sample(out, name + "_bucket", labels, static_cast<double>(cum[i]), "le", format_value(h.bounds()[i]));
          }
          sample(out, name + "_bucket", labels, static_cast<double>(cum.back()), "le", "+Inf");
          sample(out, name + "_sum", labels, h.sum());
          sample(out, name + "_count", labels, static_cast<double>(cum.back()));
          break;
        }
      }
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Whole numbers below 2^53 (counts, indexes, ids) in plain digits: the
  // shortest form would write 100000 as 1e+05, which Prometheus reads but
  // a person grepping for an index does not.
  if (std::abs(value) < 9007199254740992.0 && value == std::floor(value)) {
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
    return std::string(buf, r.ptr);
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  SLUICE_ASSERT(r.ec == std::errc(), "64 bytes hold any double's shortest form");
  return std::string(buf, r.ptr);
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, true)) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, false)) return false;
  }
  return true;
}

}  // namespace sluice::metrics
