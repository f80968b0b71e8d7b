// Storage benchmarks: RocksStore appends with sync on, beside the raw limit
// of the same disk.
//
//   build/bench/storage_bench [--dir=PATH] [benchmark flags]
//
// The data goes to --dir, else $SLUICE_BENCH_DIR, else a directory under
// the build tree (never /tmp, which may be tmpfs); it is removed after.
//
// BM_RocksAppend/batch:N one RocksStore write of N 1 KiB Raft log entries
//                        (log_store::append) with sync=true, each paired
//                        with a write(2) + fdatasync(2) of the same bytes to
//                        a plain file on the same disk: the raw limit
// BM_GroupCommit/threads:T  T threads each writing one 1 KiB entry with
//                        sync=true; wal_syncs_per_write < 1 is group commit
//
// items_per_second is entries/s; bytes_per_second counts keys and values
// (1,024 + 28 bytes per entry); p50_us and p99_us are per-write (write +
// sync) latencies; raw_* are the paired plain-file figures and vs_raw is
// RocksStore's throughput over the raw one. At the end a
// table puts each RocksStore figure beside the raw one for the same batch
// size, with their ratio.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/storage/log_store.h"
#include "storage/rocks_store.h"

namespace sluice::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kEntryBytes = 1024;
const GroupId kGroup(1);

std::string g_base_dir;  // set in main

struct Figures {
  double entries_per_s = 0;
  double mb_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};
std::map<std::int64_t, Figures> g_raw;    // by batch size
std::map<std::int64_t, Figures> g_rocks;  // by batch size

std::string fresh_dir(const std::string& name) {
  const std::string dir = g_base_dir + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(g_base_dir);
  return dir;
}

// Entries [first, first + n) of 1 KiB each, as one batch.
WriteBatch entries(std::uint64_t first, std::int64_t n) {
  static const std::string payload(kEntryBytes, 'x');
  WriteBatch b;
  for (std::int64_t i = 0; i < n; ++i) {
    log_store::append(b, kGroup, LogEntry{Term(1), LogIndex(first + static_cast<std::uint64_t>(i)), payload});
  }
  return b;
}

double percentile_us(std::vector<double>& samples_us, double p) {
  if (samples_us.empty()) return 0;
  std::sort(samples_us.begin(), samples_us.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(samples_us.size() - 1));
  return samples_us[at];
}

using Clock = std::chrono::steady_clock;
double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// The raw limit: write(2) + fdatasync(2) of `bytes` to a plain file,
// appending as a WAL does, truncated now and then to stay bounded.
class RawFile {
 public:
  RawFile(const std::string& path, std::size_t bytes) : buffer_(bytes, 'r') {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;
  ~RawFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // The latency of one write + fdatasync in microseconds, or -1.
  double append_and_sync() {
    if (file_bytes_ > (256u << 20) && ::ftruncate(fd_, 0) == 0) file_bytes_ = 0;
    const auto t0 = Clock::now();
    if (::write(fd_, buffer_.data(), buffer_.size()) != static_cast<ssize_t>(buffer_.size())) return -1;
    if (::fdatasync(fd_) != 0) return -1;
    file_bytes_ += buffer_.size();
    return micros(Clock::now() - t0);
  }

 private:
  std::string buffer_;
  int fd_ = -1;
  std::size_t file_bytes_ = 0;
};

Figures figures(std::vector<double>& latencies_us, std::int64_t entries_per_write, std::size_t bytes_per_write) {
  double seconds = 0;
  for (double us : latencies_us) seconds += us / 1e6;
  const auto writes = static_cast<double>(latencies_us.size());
  Figures f;
  if (seconds > 0) {
    f.entries_per_s = writes * static_cast<double>(entries_per_write) / seconds;
    f.mb_per_s = writes * static_cast<double>(bytes_per_write) / seconds / 1e6;
  }
  f.p50_us = percentile_us(latencies_us, 0.50);
  f.p99_us = percentile_us(latencies_us, 0.99);
  return f;
}

// Each iteration is one synced RocksStore write of `batch` entries (timed),
// then, untimed, a raw write + fdatasync of the same number of bytes to a
// plain file on the same disk. Pairing them write by write keeps the ratio
// honest on a shared machine whose disk speed drifts over seconds.
void BM_RocksAppend(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  const std::string dir = fresh_dir("rocks");
  auto opened = RocksStore::open(dir + "/store");
  if (!opened.ok()) {
    state.SkipWithError(opened.status().to_string().c_str());
    return;
  }
  RocksStore& store = **opened;
  const std::size_t bytes = entries(1, batch).size_bytes();
  RawFile raw(dir + "/plain", bytes);
  if (!raw.ok()) {
    state.SkipWithError("cannot create the plain file");
    return;
  }
  std::uint64_t next = 1;
  std::vector<double> rocks_us;
  std::vector<double> raw_us;
  for (auto _ : state) {
    state.PauseTiming();
    const WriteBatch b = entries(next, batch);
    next += static_cast<std::uint64_t>(batch);
    state.ResumeTiming();
    const auto t0 = Clock::now();
    const Status s = store.write(b, WriteOptions{true});
    rocks_us.push_back(micros(Clock::now() - t0));
    state.PauseTiming();
    const double r = raw.append_and_sync();
    raw_us.push_back(r);
    state.ResumeTiming();
    if (!s.ok() || r < 0) {
      state.SkipWithError(s.ok() ? "raw write or fdatasync failed" : s.to_string().c_str());
      break;
    }
  }
  opened->reset();
  fs::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
  const Figures rocks = figures(rocks_us, batch, bytes);
  const Figures plain = figures(raw_us, batch, bytes);
  state.counters["p50_us"] = rocks.p50_us;
  state.counters["p99_us"] = rocks.p99_us;
  state.counters["raw_entries_per_s"] = plain.entries_per_s;
  state.counters["raw_p50_us"] = plain.p50_us;
  state.counters["raw_p99_us"] = plain.p99_us;
  if (plain.entries_per_s > 0) state.counters["vs_raw"] = rocks.entries_per_s / plain.entries_per_s;
  g_rocks[batch] = rocks;
  g_raw[batch] = plain;
}

// Shared by the threads of one BM_GroupCommit run.
std::unique_ptr<RocksStore> g_group_store;
std::atomic<std::uint64_t> g_group_next{1};
std::uint64_t g_group_syncs_before = 0;

void group_setup(const benchmark::State&) {
  RocksOptions options;
  options.statistics = true;
  auto opened = RocksStore::open(fresh_dir("group"), options);
  if (!opened.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", opened.status().to_string().c_str());
    std::exit(1);
  }
  g_group_store = std::move(opened).value();
  g_group_syncs_before = *g_group_store->wal_syncs();
}

void group_teardown(const benchmark::State&) {
  const std::string dir = g_group_store->dir();
  g_group_store.reset();
  fs::remove_all(dir);
}

void BM_GroupCommit(benchmark::State& state) {
  RocksStore& store = *g_group_store;
  std::vector<double> latencies;
  for (auto _ : state) {
    const WriteBatch b = entries(g_group_next.fetch_add(1), 1);
    const auto t0 = Clock::now();
    const Status s = store.write(b, WriteOptions{true});
    latencies.push_back(micros(Clock::now() - t0));
    if (!s.ok()) {
      state.SkipWithError(s.to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["p50_us"] = benchmark::Counter(percentile_us(latencies, 0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(percentile_us(latencies, 0.99), benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    // The loop ends at a barrier of all threads: every write is done.
    const double syncs = static_cast<double>(*store.wal_syncs() - g_group_syncs_before);
    state.counters["wal_syncs"] = syncs;
    state.counters["wal_syncs_per_write"] =
        syncs / static_cast<double>(state.iterations() * state.threads());
  }
}

BENCHMARK(BM_RocksAppend)->ArgName("batch")->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_GroupCommit)
    ->Setup(group_setup)
    ->Teardown(group_teardown)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime()
    ->MinTime(2.0);

void print_summary() {
  if (g_rocks.empty()) return;
  std::printf("\nRocksStore vs the raw disk (1 KiB entries, sync on; ratio = RocksStore / raw)\n");
  std::printf("%6s | %12s %9s %9s %9s | %12s %9s %9s %9s | %10s\n", "batch", "rocks ent/s", "MB/s", "p50 us",
              "p99 us", "raw ent/s", "MB/s", "p50 us", "p99 us", "throughput");
  for (const auto& [batch, r] : g_rocks) {
    const auto raw = g_raw.find(batch);
    if (raw == g_raw.end()) {
      std::printf("%6lld | %12.0f %9.1f %9.0f %9.0f | (raw not run)\n", static_cast<long long>(batch),
                  r.entries_per_s, r.mb_per_s, r.p50_us, r.p99_us);
      continue;
    }
    const Figures& w = raw->second;
    std::printf("%6lld | %12.0f %9.1f %9.0f %9.0f | %12.0f %9.1f %9.0f %9.0f | %9.2fx\n",
                static_cast<long long>(batch), r.entries_per_s, r.mb_per_s, r.p50_us, r.p99_us, w.entries_per_s,
                w.mb_per_s, w.p50_us, w.p99_us, r.entries_per_s / w.entries_per_s);
  }
}

}  // namespace
}  // namespace sluice::storage

int main(int argc, char** argv) {
  std::string dir;
  if (const char* env = std::getenv("SLUICE_BENCH_DIR"); env != nullptr && *env != '\0') dir = env;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--dir=", 0) == 0) {
      dir = arg.substr(6);
    } else {
      args.push_back(argv[i]);
    }
  }
  if (dir.empty()) dir = SLUICE_BENCH_DEFAULT_DIR;
  sluice::storage::g_base_dir = dir + "/storage_bench";
  std::printf("storage_bench: data in %s\n", sluice::storage::g_base_dir.c_str());
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  sluice::storage::print_summary();
  std::error_code ec;
  std::filesystem::remove_all(sluice::storage::g_base_dir, ec);
  return 0;
}
