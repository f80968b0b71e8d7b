// raft_election: Figure 16 of the Raft paper in the simulator. Runs every
// line (election timeout range) of both graphs, with and without PreVote,
// and writes one CSV per line and mode plus a summary. See README.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "papers/raft-election/election.h"

using namespace sluice;
using namespace sluice::papers;

namespace {

const char* kUsage = R"(usage: raft_election [options]

Reproduces Figure 16 of the Raft paper (time without a leader after the
leader crashes, 5 servers, broadcast time about 15 ms) in the simulator.

Options:
  --out DIR        write DIR/<mode>/<line>.csv (one row per trial) and
                   DIR/summary.csv; without it only the summary is printed
  --trials N       trials per line (default 1000)
  --seed S         base seed (default 1); trial k runs with trial_seed(S, k)
  --lines L,...    lines to run, e.g. 150-155,12-24; "top", "bottom" or
                   "all" (default all)
  --modes M,...    original (no PreVote), prevote, prevote-cq (PreVote and
                   CheckQuorum, Sluice's defaults); default original,prevote
  --cap D          give up on a trial after D of virtual time (default 60s)
  --timing T       what the ~15 ms broadcast time is made of:
                   disk (default): a LAN (one-way 0.05-0.5 ms, median 0.1)
                   and a 5-15 ms fsync (median 7), the paper's hardware;
                   network: one-way 6.5-10 ms (median 7), fsync 0.5-4 ms
  --one-way A,B,C,D  one-way message latency in ms: min, median, p99, max
                   (overrides --timing)
  --fsync A,B,C,D  time to make a write durable, in ms (overrides --timing)
  --trial K        run only trial K of the first line and mode, print it
  --trace FILE     with --trial: write every simulator event as JSON lines
  --help           this text
)";

const std::vector<std::string> kTop = {"150-150", "150-151", "150-155", "150-175", "150-200", "150-300"};
const std::vector<std::string> kBottom = {"12-24", "25-50", "50-100", "100-200", "150-300"};

struct Mode {
  std::string name;
  bool pre_vote;
  bool check_quorum;
};
const std::vector<Mode> kModes = {
    {"original", false, false},
    {"prevote", true, false},
    {"prevote-cq", true, true},
};

struct Args {
  std::string out;
  std::uint64_t trials = 1000;
  std::uint64_t seed = 1;
  std::vector<std::string> lines;
  std::vector<Mode> modes;
  Duration cap = Duration::seconds(60);
  ElectionSetup timing;  // one_way and fsync
  long trial = -1;
  std::string trace;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "raft_election: %s\n\n%s", what.c_str(), kUsage);
  std::exit(2);
}

bool parse_u64(const char* text, std::uint64_t* out) {
  char* end = nullptr;
  *out = std::strtoull(text, &end, 10);
  return end != text && *end == '\0';
}

// "6.5,7,8,10": min, median, p99 and max in milliseconds.
bool parse_latency(const std::string& text, sim::LatencyDist* out) {
  const std::vector<std::string> parts = split(text);
  if (parts.size() != 4) return false;
  Duration d[4];
  for (int i = 0; i < 4; ++i) {
    char* end = nullptr;
    const double ms = std::strtod(parts[static_cast<std::size_t>(i)].c_str(), &end);
    if (end == parts[static_cast<std::size_t>(i)].c_str() || *end != '\0' || ms < 0 || ms > 10'000) return false;
    d[i] = Duration{static_cast<std::int64_t>(ms * 1e6 + 0.5)};
  }
  *out = sim::LatencyDist{d[0], d[1], d[2], d[3]};
  return out->valid();
}

bool parse_line(const std::string& line, ElectionSetup* setup) {
  const std::size_t dash = line.find('-');
  if (dash == std::string::npos) return false;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  if (!parse_u64(line.substr(0, dash).c_str(), &lo) || !parse_u64(line.substr(dash + 1).c_str(), &hi)) return false;
  if (lo < 2 || hi < lo || hi > 100'000) return false;
  setup->timeout_min_ms = static_cast<std::int64_t>(lo);
  setup->timeout_max_ms = static_cast<std::int64_t>(hi);
  return true;
}

Args parse_args(int argc, char** argv) {
  Args a;
  std::string lines = "all";
  std::string modes = "original,prevote";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (flag == "--out") {
      a.out = value();
    } else if (flag == "--trials") {
      if (!parse_u64(value(), &a.trials) || a.trials == 0) usage_error("--trials needs a positive number");
    } else if (flag == "--seed") {
      if (!parse_u64(value(), &a.seed)) usage_error("--seed needs a number");
    } else if (flag == "--lines") {
      lines = value();
    } else if (flag == "--modes") {
      modes = value();
    } else if (flag == "--cap") {
      if (!parse_duration(value(), &a.cap) || a.cap.ns <= 0) usage_error("--cap needs a duration, e.g. 60s");
    } else if (flag == "--timing") {
      const std::string t = value();
      if (t == "disk") {
        a.timing.one_way = ElectionSetup::kLanOneWay;
        a.timing.fsync = ElectionSetup::kSsdFsync;
      } else if (t == "network") {
        a.timing.one_way = ElectionSetup::kSlowOneWay;
        a.timing.fsync = ElectionSetup::kFastFsync;
      } else {
        usage_error("--timing is disk or network");
      }
    } else if (flag == "--one-way") {
      if (!parse_latency(value(), &a.timing.one_way)) usage_error("--one-way needs min,median,p99,max in ms");
    } else if (flag == "--fsync") {
      if (!parse_latency(value(), &a.timing.fsync)) usage_error("--fsync needs min,median,p99,max in ms");
    } else if (flag == "--trial") {
      std::uint64_t k = 0;
      if (!parse_u64(value(), &k)) usage_error("--trial needs a number");
      a.trial = static_cast<long>(k);
    } else if (flag == "--trace") {
      a.trace = value();
    } else {
      usage_error("unknown option " + flag);
    }
  }
  for (const std::string& l : split(lines)) {
    const std::vector<std::string>* group = l == "top" ? &kTop : l == "bottom" ? &kBottom : nullptr;
    if (l == "all") {
      for (const auto* g : {&kTop, &kBottom}) {
        for (const auto& x : *g) {
          if (std::find(a.lines.begin(), a.lines.end(), x) == a.lines.end()) a.lines.push_back(x);
        }
      }
    } else if (group != nullptr) {
      a.lines.insert(a.lines.end(), group->begin(), group->end());
    } else {
      ElectionSetup probe;
      if (!parse_line(l, &probe)) usage_error("bad line '" + l + "' (want MIN-MAX in ms, 2 <= MIN <= MAX)");
      a.lines.push_back(l);
    }
  }
  for (const std::string& m : split(modes)) {
    auto it = std::find_if(kModes.begin(), kModes.end(), [&](const Mode& x) { return x.name == m; });
    if (it == kModes.end()) usage_error("unknown mode '" + m + "'");
    a.modes.push_back(*it);
  }
  if (a.lines.empty() || a.modes.empty()) usage_error("nothing to run");
  if (!a.trace.empty() && a.trial < 0) usage_error("--trace needs --trial");
  return a;
}

ElectionSetup make_setup(const Args& a, const std::string& line, const Mode& mode) {
  ElectionSetup s = a.timing;
  SLUICE_ASSERT(parse_line(line, &s), "lines were checked when parsing arguments");
  s.pre_vote = mode.pre_vote;
  s.check_quorum = mode.check_quorum;
  s.cap = a.cap;
  return s;
}

double ms(Duration d) { return static_cast<double>(d.ns) / 1e6; }

void write_trials(const std::string& path, const std::vector<TrialResult>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "raft_election: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fprintf(f, "trial,crash_offset_ms,elected_ms,leaderless_ms,capped,terms,leaders,winner_lag,stale_resets\n");
  for (std::size_t k = 0; k < results.size(); ++k) {
    const TrialResult& r = results[k];
    std::fprintf(f, "%zu,%.3f,%.3f,%.3f,%d,%llu,%llu,%d,%llu\n", k, ms(r.crash_offset), ms(r.elected),
                 ms(r.leaderless), r.capped ? 1 : 0, static_cast<unsigned long long>(r.terms),
                 static_cast<unsigned long long>(r.leaders), r.winner_lag,
                 static_cast<unsigned long long>(r.stale_resets));
  }
  std::fclose(f);
}

int run_single(const Args& a) {
  const ElectionSetup setup = make_setup(a, a.lines.front(), a.modes.front());
  const std::uint64_t seed = trial_seed(a.seed, static_cast<std::uint64_t>(a.trial));
  auto r = run_trial(setup, seed, a.trace);
  if (!r.ok()) {
    std::fprintf(stderr, "raft_election: %s\n", r.status().to_string().c_str());
    return 1;
  }
  std::printf("line %s mode %s trial %ld seed %llu: crash %.3f ms after the heartbeat round; first leader after "
              "%.3f ms; leader known to all after %.3f ms%s; %llu terms, %llu leaders, winner lag %d, %llu stale "
              "resets; trace hash %016llx\n",
              setup.line().c_str(), a.modes.front().name.c_str(), a.trial, static_cast<unsigned long long>(seed),
              ms(r->crash_offset), ms(r->elected), ms(r->leaderless), r->capped ? " (capped)" : "",
              static_cast<unsigned long long>(r->terms), static_cast<unsigned long long>(r->leaders), r->winner_lag,
              static_cast<unsigned long long>(r->stale_resets), static_cast<unsigned long long>(r->trace_hash));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  if (a.trial >= 0) return run_single(a);
  std::FILE* summary = nullptr;
  if (!a.out.empty()) {
    for (const Mode& m : a.modes) std::filesystem::create_directories(std::filesystem::path(a.out) / m.name);
    summary = std::fopen((std::filesystem::path(a.out) / "summary.csv").c_str(), "w");
    if (summary == nullptr) {
      std::fprintf(stderr, "raft_election: cannot write %s/summary.csv\n", a.out.c_str());
      return 1;
    }
    std::fprintf(summary,
                 "mode,line,trials,no_stable_leader,capped,min_ms,median_ms,mean_ms,p99_ms,max_ms,elected_median_ms,terms_mean,"
                 "stale_resets_mean\n");
  }
  std::printf("%-10s %-8s %6s %6s %6s %8s %8s %8s %8s %8s %7s %6s\n", "mode", "line", "trials", "unset", "capped", "min",
              "median", "mean", "p99", "max", "terms", "stale");
  std::uint64_t failures = 0;
  for (const Mode& mode : a.modes) {
    for (const std::string& line : a.lines) {
      const ElectionSetup setup = make_setup(a, line, mode);
      const auto started = std::chrono::steady_clock::now();
      std::vector<TrialResult> results;
      std::uint64_t unset = 0;  // trials whose setup never had a stable leader to crash
      for (std::uint64_t k = 0; k < a.trials; ++k) {
        auto r = run_trial(setup, trial_seed(a.seed, k));
        if (!r.ok()) {
          if (unset++ < 3) {
            std::fprintf(stderr, "raft_election: trial %llu: %s\n", static_cast<unsigned long long>(k),
                         r.status().to_string().c_str());
          }
          continue;
        }
        results.push_back(*r);
      }
      failures += unset;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const Summary s = summarize(results);
      std::printf("%-10s %-8s %6zu %6llu %6zu %8.1f %8.1f %8.1f %8.1f %8.1f %7.2f %6.2f\n", mode.name.c_str(),
                  line.c_str(), s.trials, static_cast<unsigned long long>(unset), s.capped, s.min_ms, s.p50_ms, s.mean_ms, s.p99_ms, s.max_ms, s.terms_mean,
                  s.stale_resets_mean);
      std::fflush(stdout);
      std::fprintf(stderr, "  [%s %s: %.1f s wall]\n", mode.name.c_str(), line.c_str(), wall);
      if (summary != nullptr) {
        write_trials((std::filesystem::path(a.out) / mode.name / (line + ".csv")).string(), results);
        std::fprintf(summary, "%s,%s,%zu,%llu,%zu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n", mode.name.c_str(),
                     line.c_str(), s.trials, static_cast<unsigned long long>(unset), s.capped, s.min_ms, s.p50_ms, s.mean_ms, s.p99_ms, s.max_ms,
                     s.elected_p50_ms, s.terms_mean, s.stale_resets_mean);
      }
    }
  }
  if (summary != nullptr) std::fclose(summary);
  if (failures > 0) {
    // Not an error: with timeouts near the broadcast time (CheckQuorum at
    // 12-24 ms) no leader lasts long enough to be crashed.
    std::fprintf(stderr, "raft_election: %llu trials had no stable leader to crash (column 'unset')\n",
                 static_cast<unsigned long long>(failures));
  }
  return 0;
}
