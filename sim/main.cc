// sluice-sim: runs the deterministic simulator.
//
//   sluice-sim --seed 42                 one run, configuration drawn from the seed
//   sluice-sim --seeds 1..1000           a swarm
//   sluice-sim --seeds 1..1000 --check-determinism
//
// Exit status: 0 when every run passed, 1 on a violation, 2 on bad usage.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "sim/run.h"

using namespace sluice;
using namespace sluice::sim;

namespace {

const char* kUsage = R"(usage: sluice-sim [options]

Runs Sluice's deterministic simulator. A run has a safety phase (faults on,
clients busy) and a liveness phase (faults healed; the cluster must serve and
converge within a bound). The same seed always gives the same trace hash.

Options:
  --seed S               run one seed (default 1)
  --seeds A..B           run a swarm of seeds A to B inclusive
  --nodes N              cluster size (default: drawn from the seed: 1, 3, 5 or 7)
  --duration D           simulated length of the safety phase (default 10s),
                         e.g. 500ms, 30s, 2m
  --faults P             none, network, disk, process, clock or all (default:
                         drawn from the seed, all for half of the seeds)
  --clients N            simulated clients (default: drawn, 1 to 4; 0 = idle)
  --think D              longest client pause between requests (default 50ms)
  --protocol P           raft (default): Raft with a replicated key-value
                         store; broker: the broker, clients of all five
                         patterns and their checkers; toy: the primary-backup demonstration
                         protocol; naive: the same, acknowledging writes
                         before they are durable (the simulator must catch it)
  --liveness-bound D     how long the healed cluster has to serve and converge
                         (default 30s)
  --trace FILE           write the structured event log as JSON lines
  --history FILE         raft: write the client history as JSON lines
  --lease-reads          raft: serve reads from the leader's lease (unsafe
                         when clocks stop or drift apart; off by default)
  --no-store-groups      broker: no events store group members in the
                         workload (how seeds ran before they existed)
  --no-data-loss         broker: no wiped or corrupt disks, so no servers
                         replaced (how seeds ran before data loss was on)
  --no-reads             broker: no readers of events store stats (how
                         seeds ran before reads were checked)
  --no-time-starts       broker: store subscribers never start by time or
                         time delta (how seeds ran before they did)
  --check-determinism    run every seed twice and compare trace hashes
  --verbose              print the full report of every run in a swarm
  --help                 this text
)";

struct Args {
  RunSpec spec;
  std::uint64_t first = 1;
  std::uint64_t last = 1;
  bool swarm = false;
  bool check_determinism = false;
  bool verbose = false;
};

[[noreturn]] void usage_error(const std::string& why) {
  std::fprintf(stderr, "sluice-sim: %s\n(see sluice-sim --help)\n", why.c_str());
  std::exit(2);
}

bool parse_u64(const std::string& s, std::uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (flag == "--seed") {
      if (!parse_u64(value(), &a.spec.seed)) usage_error("--seed takes a non-negative integer");
      a.first = a.last = a.spec.seed;
    } else if (flag == "--seeds") {
      const std::string v = value();
      const auto dots = v.find("..");
      if (dots == std::string::npos || !parse_u64(v.substr(0, dots), &a.first) ||
          !parse_u64(v.substr(dots + 2), &a.last) || a.first > a.last) {
        usage_error("--seeds takes A..B with A <= B, e.g. 1..1000");
      }
      a.swarm = true;
    } else if (flag == "--nodes") {
      std::uint64_t n = 0;
      if (!parse_u64(value(), &n) || n < 1 || n > 9) usage_error("--nodes takes 1 to 9");
      a.spec.nodes = static_cast<int>(n);
    } else if (flag == "--duration" || flag == "--liveness-bound") {
      Duration d;
      if (!parse_duration(value(), &d) || d.ns <= 0) usage_error(flag + " takes a duration such as 500ms or 30s");
      if (flag == "--duration") a.spec.duration = d;
      else a.spec.liveness_bound = d;
    } else if (flag == "--clients") {
      std::uint64_t n = 0;
      if (!parse_u64(value(), &n) || n > 1000) usage_error("--clients takes 0 to 1000");
      a.spec.clients = static_cast<int>(n);
    } else if (flag == "--think") {
      Duration d;
      if (!parse_duration(value(), &d) || d.ns < 0) usage_error("--think takes a duration such as 10ms");
      a.spec.think_max = d;
    } else if (flag == "--faults") {
      FaultProfile p;
      if (!parse_profile(value(), &p)) usage_error("--faults takes none, network, disk, process, clock or all");
      a.spec.faults = p;
    } else if (flag == "--protocol") {
      if (!parse_protocol(value(), &a.spec.protocol)) usage_error("--protocol takes raft, broker, toy or naive");
    } else if (flag == "--trace") {
      a.spec.trace_path = value();
    } else if (flag == "--history") {
      a.spec.history_path = value();
    } else if (flag == "--lease-reads") {
      a.spec.raft_lease_reads = true;
    } else if (flag == "--no-store-groups") {
      a.spec.store_groups = false;
    } else if (flag == "--no-data-loss") {
      a.spec.data_loss = false;
    } else if (flag == "--no-reads") {
      a.spec.reads = false;
    } else if (flag == "--no-time-starts") {
      a.spec.time_starts = false;
    } else if (flag == "--check-determinism") {
      a.check_determinism = true;
    } else if (flag == "--verbose") {
      a.verbose = true;
    } else {
      usage_error("unknown option " + flag);
    }
  }
  if (a.swarm && (!a.spec.trace_path.empty() || !a.spec.history_path.empty())) {
    usage_error("--trace and --history record one run: use them with --seed");
  }
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  if (!args.swarm && !args.check_determinism) {
    RunResult r = run_one(args.spec);
    std::fputs(format_report(r, true).c_str(), stdout);
    return r.ok() ? 0 : 1;
  }

  const auto start = std::chrono::steady_clock::now();
  auto last_progress = start;
  const std::uint64_t total = args.last - args.first + 1;
  std::uint64_t done = 0;
  std::uint64_t failures = 0;
  std::uint64_t nondeterministic = 0;
  double simulated_seconds = 0;
  std::uint64_t events = 0;
  std::array<std::uint64_t, kProbeCount> runs_hitting{};
  std::map<std::uint64_t, std::uint64_t> hash_to_seed;
  std::map<std::string, std::uint64_t> buggify_runs;  // site -> runs where it fired
  std::uint64_t collisions = 0;
  std::vector<std::string> failed_commands;
  Duration longest_wait;  // raft: connected majority without a leader
  std::uint64_t longest_wait_seed = 0;

  for (std::uint64_t seed = args.first; seed <= args.last; ++seed) {
    RunSpec spec = args.spec;
    spec.seed = seed;
    RunResult r = run_one(spec);
    if (args.check_determinism) {
      RunResult again = run_one(spec);
      if (again.trace_hash != r.trace_hash || again.events != r.events) {
        ++nondeterministic;
        std::printf("NONDETERMINISTIC seed %llu: hash %016llx then %016llx\n  reproduce: %s (twice)\n",
                    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(r.trace_hash),
                    static_cast<unsigned long long>(again.trace_hash), r.reproduce.c_str());
      }
      auto [it, inserted] = hash_to_seed.emplace(r.trace_hash, seed);
      if (!inserted) {
        ++collisions;
        std::printf("SAME HASH for seeds %llu and %llu\n", static_cast<unsigned long long>(it->second),
                    static_cast<unsigned long long>(seed));
      }
    }
    ++done;
    simulated_seconds += static_cast<double>(r.simulated.ns) / 1e9;
    events += r.events;
    for (std::size_t i = 0; i < kProbeCount; ++i) runs_hitting[i] += r.probes.hits[i] > 0;
    for (const auto& site : r.buggify_fired) ++buggify_runs[site];
    if (r.longest_leaderless_wait > longest_wait) {
      longest_wait = r.longest_leaderless_wait;
      longest_wait_seed = seed;
    }
    if (!r.ok()) {
      ++failures;
      failed_commands.push_back(r.reproduce);
      std::fputs(format_report(r, true).c_str(), stdout);
    } else if (args.verbose) {
      std::fputs(format_report(r, true).c_str(), stdout);
    }
    if (seconds_since(last_progress) >= 2.0 || done == total) {
      last_progress = std::chrono::steady_clock::now();
      std::printf("[%llu/%llu] %.1f seeds/s, %llu failed\n", static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total), static_cast<double>(done) / seconds_since(start),
                  static_cast<unsigned long long>(failures));
      std::fflush(stdout);
    }
  }

  const double wall = seconds_since(start);
  std::printf("\nswarm summary: seeds %llu..%llu\n", static_cast<unsigned long long>(args.first),
              static_cast<unsigned long long>(args.last));
  std::printf("  runs            %llu%s\n", static_cast<unsigned long long>(done),
              args.check_determinism ? " (each twice)" : "");
  std::printf("  wall time       %.1f s, %.1f seeds/s\n", wall, static_cast<double>(done) / wall);
  std::printf("  simulated       %.0f s, %.0fx wall time\n", simulated_seconds,
              simulated_seconds / wall * (args.check_determinism ? 2 : 1));
  std::printf("  events          %llu\n", static_cast<unsigned long long>(events));
  std::printf("  failures        %llu\n", static_cast<unsigned long long>(failures));
  if (args.spec.protocol == Protocol::raft) {
    std::printf("  leaderless      %s longest wait of a connected majority for a leader (seed %llu; bound 10s)\n",
                format_duration(longest_wait).c_str(), static_cast<unsigned long long>(longest_wait_seed));
  }
  if (args.check_determinism) {
    std::printf("  nondeterminism  %llu seeds gave different hashes on two runs\n",
                static_cast<unsigned long long>(nondeterministic));
    std::printf("  distinct hashes %zu of %llu seeds\n", hash_to_seed.size(),
                static_cast<unsigned long long>(done));
  }
  std::printf("  code probes (runs that reached each):\n");
  // The simulator's own probes and those of the protocol under test.
  // The broker runs on Raft: both catalogues apply.
  const std::vector<std::string> own = args.spec.protocol == Protocol::raft     ? std::vector<std::string>{"raft_"}
                                       : args.spec.protocol == Protocol::broker ? std::vector<std::string>{"raft_", "broker_"}
                                                                                : std::vector<std::string>{"toy_"};
  for (std::size_t i = 0; i < kProbeCount; ++i) {
    const std::string name(kProbeCatalogue[i].name);
    bool shown = name.rfind("sim_", 0) == 0;
    for (const std::string& prefix : own) shown = shown || name.rfind(prefix, 0) == 0;
    if (!shown) continue;
    std::printf("    %-44s %6llu  %s\n", std::string(kProbeCatalogue[i].name).c_str(),
                static_cast<unsigned long long>(runs_hitting[i]),
                std::string(kProbeCatalogue[i].description).c_str());
  }
  std::printf("  buggify sites (runs where each fired):\n");
  if (buggify_runs.empty()) std::printf("    none fired\n");
  for (const auto& [site, runs] : buggify_runs) {
    std::printf("    %-40s %6llu\n", site.c_str(), static_cast<unsigned long long>(runs));
  }
  for (const auto& cmd : failed_commands) std::printf("  reproduce: %s\n", cmd.c_str());
  const bool ok = failures == 0 && nondeterministic == 0 && collisions == 0;
  std::printf("%s\n", ok ? "swarm: PASS" : "swarm: FAIL");
  return ok ? 0 : 1;
}
