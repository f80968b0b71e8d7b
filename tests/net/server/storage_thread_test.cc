// The persist contract of core/node/driver.h as the storage thread keeps
// it: completions on the loop in submission order, empty batches as
// barriers, group commit, failures that stick, and silence after stop().
// A gate in the fake store holds a write in progress, so every ordering
// below is forced, never timed.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "net/server/storage_thread.h"

namespace sluice::net {
namespace {

// Records writes and syncs; can hold writes at a gate and fail the n-th.
class GatedStore final : public KvStore {
 public:
  Status write(const WriteBatch& batch, WriteOptions options) override {
    std::unique_lock lock(mu_);
    ++writes_started_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    if (writes_started_ == fail_write_) return Status(Code::io_error, "injected write failure");
    log_.push_back("write " + batch.ops().front().key + (options.sync ? " sync" : ""));
    return {};
  }
  Status sync() override {
    std::lock_guard lock(mu_);
    log_.push_back("sync");
    return {};
  }
  Result<std::optional<std::string>> get(Keyspace, std::string_view) override { return std::optional<std::string>(); }
  std::unique_ptr<KvIterator> scan(Keyspace, std::string_view, std::string_view) override { return nullptr; }
  Result<std::optional<std::string>> last_key(Keyspace, std::string_view, std::string_view) override {
    return std::optional<std::string>();
  }
  Result<std::unique_ptr<KvSnapshot>> snapshot() override { return Status(Code::invalid_argument, "not here"); }

  void close_gate() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open_gate() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Blocks until `n` writes have begun (the n-th may be held at the gate).
  void wait_writes_started(int n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return writes_started_ >= n; });
  }
  void fail_write(int n) { fail_write_ = n; }
  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = true;
  int writes_started_ = 0;
  int fail_write_ = 0;
  std::vector<std::string> log_;
};

WriteBatch batch(const std::string& key) {
  WriteBatch b;
  b.put(Keyspace::state, key, "v");
  return b;
}

// Runs the loop until `n` completions were seen: each run_one() waits for
// the next handler the storage thread posts (one per round).
void run_until(boost::asio::io_context& loop, const std::vector<std::string>& done, std::size_t n) {
  auto work = boost::asio::make_work_guard(loop);
  while (done.size() < n) {
    loop.restart();
    loop.run_one();
  }
}

TEST(StorageThread, CompletionsRunOnTheLoopInSubmissionOrder) {
  boost::asio::io_context loop;
  GatedStore store;
  StorageThread storage(loop, store);
  std::vector<std::string> done;
  for (const char* key : {"a", "b", "c"}) {
    storage.submit(batch(key), [&done, key](Status s) {
      EXPECT_TRUE(s.ok());
      done.push_back(key);
    });
  }
  EXPECT_EQ(storage.in_flight(), 3u);
  EXPECT_TRUE(done.empty()) << "completions run on the loop, never on the storage thread";
  run_until(loop, done, 3);
  EXPECT_EQ(done, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(storage.in_flight(), 0u);
  const auto log = store.log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back(), "sync") << "the last batch is synced before it completes";
}

TEST(StorageThread, AnEmptyBatchIsABarrierBehindTheWriteInFlight) {
  boost::asio::io_context loop;
  GatedStore store;
  StorageThread storage(loop, store);
  std::vector<std::string> done;
  store.close_gate();
  storage.submit(batch("a"), [&](Status s) {
    EXPECT_TRUE(s.ok());
    done.push_back("a");
  });
  store.wait_writes_started(1);  // "a" is now held inside its write
  storage.submit(WriteBatch{}, [&](Status s) {
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(store.log(), (std::vector<std::string>{"write a", "sync"})) << "the barrier waited for a's fsync";
    done.push_back("barrier");
  });
  loop.restart();
  loop.poll();  // whatever is ready runs; nothing may be
  EXPECT_TRUE(done.empty()) << "nothing completes while the first write is held";
  store.open_gate();
  run_until(loop, done, 2);
  EXPECT_EQ(done, (std::vector<std::string>{"a", "barrier"}));
}

TEST(StorageThread, BatchesQueuedDuringAnFsyncShareTheNextOne) {
  boost::asio::io_context loop;
  GatedStore store;
  StorageThread storage(loop, store);
  std::vector<std::string> done;
  auto record = [&done](std::string key) {
    return [&done, key](Status s) {
      EXPECT_TRUE(s.ok());
      done.push_back(key);
    };
  };
  store.close_gate();
  storage.submit(batch("a"), record("a"));
  store.wait_writes_started(1);
  for (const char* key : {"b", "c", "d"}) storage.submit(batch(key), record(key));
  store.open_gate();
  run_until(loop, done, 4);
  EXPECT_EQ(done, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(store.log(), (std::vector<std::string>{"write a", "sync", "write b", "write c", "write d", "sync"}))
      << "one round for a, one for the three that queued behind it";
}

TEST(StorageThread, AFailedWriteFailsItsRoundAndEverythingAfter) {
  boost::asio::io_context loop;
  GatedStore store;
  store.fail_write(2);
  StorageThread storage(loop, store);
  std::vector<std::string> done;
  std::vector<Code> codes;
  auto record = [&](std::string key) {
    return [&, key](Status s) {
      done.push_back(key);
      codes.push_back(s.code());
    };
  };
  store.close_gate();
  storage.submit(batch("a"), record("a"));
  store.wait_writes_started(1);
  storage.submit(batch("b"), record("b"));  // the failing write
  storage.submit(WriteBatch{}, record("barrier"));
  storage.submit(batch("c"), record("c"));
  store.open_gate();
  run_until(loop, done, 4);
  storage.submit(batch("d"), record("d"));
  run_until(loop, done, 5);
  EXPECT_EQ(done, (std::vector<std::string>{"a", "b", "barrier", "c", "d"}));
  EXPECT_EQ(codes, (std::vector<Code>{Code::ok, Code::io_error, Code::io_error, Code::io_error, Code::io_error}));
  EXPECT_EQ(store.log(), (std::vector<std::string>{"write a", "sync"})) << "nothing is written after a failure";
}

TEST(StorageThread, NoCompletionRunsAfterStopButQueuedWritesAreWritten) {
  boost::asio::io_context loop;
  GatedStore store;
  auto storage = std::make_unique<StorageThread>(loop, store);
  bool completed = false;
  store.close_gate();
  storage->submit(batch("a"), [&](Status) { completed = true; });
  store.wait_writes_started(1);
  storage->submit(batch("b"), [&](Status) { completed = true; });
  store.open_gate();
  storage->stop();  // joins: both rounds are written, their completions posted
  EXPECT_EQ(store.log(), (std::vector<std::string>{"write a", "sync", "write b", "sync"}));
  storage.reset();
  loop.restart();
  loop.run();  // runs whatever was posted
  EXPECT_FALSE(completed) << "a stopped node hears nothing more from its storage";
}

TEST(StorageThread, ARoundOfBarriersOnlyWritesNothing) {
  boost::asio::io_context loop;
  GatedStore store;
  StorageThread storage(loop, store);
  std::vector<std::string> done;
  storage.submit(WriteBatch{}, [&](Status s) {
    EXPECT_TRUE(s.ok());
    done.push_back("barrier");
  });
  run_until(loop, done, 1);
  EXPECT_TRUE(store.log().empty()) << "an empty batch costs no write and no fsync";
}

}  // namespace
}  // namespace sluice::net
