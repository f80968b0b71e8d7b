// Crash recovery on the real filesystem: a child process (crash_writer)
// writes crash_model batches and is killed with SIGKILL at a random moment,
// many times over; after each kill the parent reopens the store and checks
// that every batch the child reported as synced is there, that the store
// holds exactly batches 1..head applied whole (no partial batch, no batch
// from the future), and that the log and hard state read back with valid
// checksums. The child then continues from head + 1.
//
// Kills land anywhere: during the child's open and WAL recovery, inside a
// WAL write, during memtable flushes and compactions (the child uses small
// memtables). SIGKILL keeps the page cache, so this tests the process-crash
// path of RocksDB's recovery (torn WAL tails, half-written SSTs and
// MANIFEST edits); power loss is tested in-process with FaultFs
// (rocks_contract_test.cc, rocks_store_test.cc).
//
// Bounds: SLUICE_CRASH_KILLS (default 50) kills; SLUICE_CRASH_SEED
// (default 1) seeds when they land. A quarter of the kills come 0-150 ms
// after the child starts, wherever that is (often inside its open and
// recovery); the rest 0-100 ms after it reports that it is writing, so
// that a slow machine (a sanitizer build) still kills mostly mid-work.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/common/random.h"
#include "storage/rocks_store.h"
#include "tests/storage/crash_model.h"
#include "tests/storage/kv_contract.h"
#include "tests/storage/temp_dir.h"

extern char** environ;

namespace sluice::storage {
namespace {

using testing::TempDir;

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A running crash_writer and the read end of its report pipe.
struct Child {
  pid_t pid = -1;
  int report_fd = -1;
  std::string pending;              // a report line not yet complete
  std::vector<std::string> lines;   // complete report lines
};

Child spawn_writer(const std::string& dir, std::uint64_t first_id, const std::string& stderr_path,
                   const std::vector<std::string>& extra) {
  int fds[2];
  SLUICE_ASSERT(::pipe2(fds, O_CLOEXEC) == 0, "pipe2");
  // The child sees the write end as fd 3; keep ours off 3 so that dup2
  // really clears close-on-exec.
  const int write_end = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
  SLUICE_ASSERT(write_end >= 10, "fcntl F_DUPFD_CLOEXEC");
  ::close(fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end, 3);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);

  std::vector<std::string> args = {SLUICE_CRASH_WRITER, dir, std::to_string(first_id), "3"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  Child child;
  const int rc = ::posix_spawn(&child.pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(write_end);
  SLUICE_ASSERT(rc == 0, "posix_spawn of crash_writer");
  child.report_fd = fds[0];
  return child;
}

bool has_line(const Child& child, const std::string& line) {
  return std::find(child.lines.begin(), child.lines.end(), line) != child.lines.end();
}

// Reads what the child has reported. With a timeout, returns when it
// passes, when `until` (if not empty) has been reported, or when the pipe
// reaches end of file; false at end of file.
bool pump(Child& child, int timeout_ms, const std::string& until = "") {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (!until.empty() && has_line(child, until)) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (timeout_ms >= 0 && left.count() <= 0) return true;
    pollfd p{child.report_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms < 0 ? -1 : static_cast<int>(left.count()));
    if (ready == 0) continue;
    char buf[4096];
    const ssize_t n = ::read(child.report_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    child.pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = child.pending.find('\n')) != std::string::npos;) {
      child.lines.push_back(child.pending.substr(0, nl));
      child.pending.erase(0, nl + 1);
    }
  }
}

// Waits for the child to end; returns its wait status.
int reap(Child& child) {
  int status = 0;
  SLUICE_ASSERT(::waitpid(child.pid, &status, 0) == child.pid, "waitpid");
  pump(child, -1);  // the rest of the reports, up to end of file
  ::close(child.report_fd);
  return status;
}

std::uint64_t max_synced(const Child& child) {
  std::uint64_t best = 0;
  for (const auto& line : child.lines) {
    if (line.rfind("synced ", 0) == 0) best = std::max<std::uint64_t>(best, std::strtoull(line.c_str() + 7, nullptr, 10));
  }
  return best;
}

// Opens the store and checks it holds exactly batches 1..head for some
// head >= at_least. Returns head.
std::uint64_t check_store(const std::string& dir, std::uint64_t at_least, const std::string& context) {
  auto opened = RocksStore::open(dir);
  EXPECT_TRUE(opened.ok()) << context << ": the store does not reopen: " << opened.status().to_string();
  if (!opened.ok()) return 0;
  RocksStore& store = **opened;
  auto head_value = store.get(Keyspace::meta, "head");
  EXPECT_TRUE(head_value.ok()) << context;
  const std::uint64_t head = head_value.ok() && head_value->has_value() ? get_u64_be(**head_value) : 0;
  EXPECT_GE(head, at_least) << context << ": a batch reported as synced is missing";
  const kv_contract::Dump actual = kv_contract::dump(store);
  const crash_model::Dump expected = crash_model::expected_dump(head);
  for (int space = 0; space < kKeyspaceCount; ++space) {
    EXPECT_EQ(actual[space].size(), expected[space].size())
        << context << ": keyspace " << keyspace_name(static_cast<Keyspace>(space)) << " at head " << head;
    EXPECT_TRUE(actual[space] == expected[space])
        << context << ": keyspace " << keyspace_name(static_cast<Keyspace>(space))
        << " is not exactly batches 1.." << head;
  }
  if (head > 0) {
    const std::uint64_t first = head > crash_model::kLive ? head - crash_model::kLive + 1 : 1;
    auto log = log_store::read(store, crash_model::kGroup, LogIndex(first), LogIndex(head + 1), SIZE_MAX);
    EXPECT_TRUE(log.ok() && log->size() == head - first + 1) << context << ": the log does not read back";
    auto hs = log_store::load_hard_state(store, crash_model::kGroup);
    EXPECT_TRUE(hs.ok() && hs->has_value() && (*hs)->commit == LogIndex(head)) << context << ": hard state";
  }
  return head;
}

TEST(CrashRecovery, SigkillAtRandomPointsKeepsEverySyncedBatchWhole) {
  const std::uint64_t kills = env_u64("SLUICE_CRASH_KILLS", 50);
  const std::uint64_t seed = env_u64("SLUICE_CRASH_SEED", 1);
  RecordProperty("kills", std::to_string(kills));
  RecordProperty("seed", std::to_string(seed));
  Rng rng(seed);
  TempDir tmp("sluice-crash");
  const std::string dir = tmp.sub("store");
  const std::string log = tmp.sub("writer.stderr");

  std::uint64_t head = 0;
  std::uint64_t kills_with_progress = 0;
  std::uint64_t synced_reports = 0;
  for (std::uint64_t k = 0; k < kills; ++k) {
    const bool anytime = uniform_below(rng, 4) == 0;
    const int delay_ms = static_cast<int>(uniform_below(rng, anytime ? 151 : 101));
    const std::string context = "kill " + std::to_string(k) + " (seed " + std::to_string(seed) + ", " +
                                std::to_string(delay_ms) + " ms after " + (anytime ? "the start" : "ready") + ")";
    Child child = spawn_writer(dir, head + 1, log, {});
    bool still_running = true;
    if (!anytime) still_running = pump(child, 60'000, "ready") && has_line(child, "ready");
    if (still_running) still_running = pump(child, delay_ms);
    ::kill(child.pid, SIGKILL);
    const int status = reap(child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << context << ": the writer ended on its own (exit " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
        << ", pipe " << (still_running ? "open" : "closed") << "); its stderr:\n" << read_file(log);
    const std::uint64_t reported = max_synced(child);
    for (const auto& line : child.lines) synced_reports += line.rfind("synced ", 0) == 0 ? 1 : 0;
    const std::uint64_t new_head = check_store(dir, std::max(head, reported), context);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopping at " << context << "; writer stderr:\n" << read_file(log);
      return;
    }
    if (new_head > head) ++kills_with_progress;
    head = new_head;
  }
  std::printf("crash recovery: %llu kills, %llu batches durable, %llu synced reports, %llu kills after progress\n",
              static_cast<unsigned long long>(kills), static_cast<unsigned long long>(head),
              static_cast<unsigned long long>(synced_reports),
              static_cast<unsigned long long>(kills_with_progress));
  // The test has teeth only if the kills interrupted real work.
  EXPECT_GT(kills_with_progress, kills / 2) << "most kills came before the writer wrote anything";
  EXPECT_GT(head, kills) << "too little was written to prove anything";
}

// A real OS write failure, not an injected one: the child caps its file
// size (RLIMIT_FSIZE) below what its WAL needs. The failing write is an
// io_error that names the cause, every later write is refused as poisoned
// with that cause, and the store reopens with every synced batch and
// nothing of the failed one.
TEST(CrashRecovery, FileSizeLimitFailsTheWriteAndPoisonsWithoutCorruption) {
  TempDir tmp("sluice-fsize");
  const std::string dir = tmp.sub("store");
  const std::string log = tmp.sub("writer.stderr");
  // Write a little first without the limit, so that the limit hits a store
  // that has history.
  {
    Child warm = spawn_writer(dir, 1, log, {"--max-batches", "20"});
    const int status = reap(warm);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(log);
    ASSERT_EQ(check_store(dir, 19, "after warm-up"), 20u);
  }
  // 4 MiB memtables: no flush happens before the WAL reaches 512 KiB.
  Child child = spawn_writer(dir, 21, log, {"--fsize-limit", "524288", "--write-buffer", "4194304"});
  const int status = reap(child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "writer status " << status << "; stderr:\n" << read_file(log);

  std::uint64_t failed_id = 0;
  std::string error_line;
  std::string after_line;
  for (const auto& line : child.lines) {
    if (line.rfind("error ", 0) == 0) {
      error_line = line;
      failed_id = std::strtoull(line.c_str() + 6, nullptr, 10);
    }
    if (line.rfind("after ", 0) == 0) after_line = line;
  }
  ASSERT_GT(failed_id, 21u) << "the limit should let a few batches through first";
  EXPECT_NE(error_line.find(" io_error "), std::string::npos) << error_line;
  EXPECT_NE(error_line.find("File too large"), std::string::npos) << "the error names its cause: " << error_line;
  EXPECT_EQ(after_line.rfind("after poisoned ", 0), 0u) << after_line;
  EXPECT_NE(after_line.find("File too large"), std::string::npos)
      << "the poisoned error carries the original one: " << after_line;

  const std::uint64_t head = check_store(dir, max_synced(child), "after the failed write");
  EXPECT_EQ(head, failed_id - 1) << "the failed batch must not be visible";
  // And the store takes writes again once reopened without the limit.
  Child resume = spawn_writer(dir, head + 1, log, {"--max-batches", "5"});
  const int resumed = reap(resume);
  ASSERT_TRUE(WIFEXITED(resumed) && WEXITSTATUS(resumed) == 0) << read_file(log);
  EXPECT_EQ(check_store(dir, head + 4, "after resuming"), head + 5);
}

}  // namespace
}  // namespace sluice::storage
