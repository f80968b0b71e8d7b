#include "net/server/storage_thread.h"

#include <chrono>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace sluice::net {
namespace {

Duration since(std::chrono::steady_clock::time_point start) {
  return Duration::nanos(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace

StorageThread::StorageThread(boost::asio::io_context& loop, KvStore& store, RoundObserver on_round)
    : loop_(loop), store_(store), on_round_(std::move(on_round)), thread_([this] { run(); }) {}

StorageThread::~StorageThread() { stop(); }

void StorageThread::submit(WriteBatch batch, Done done) {
  SLUICE_ASSERT(*alive_, "submit after stop: the node loop outlived its storage");
  ++in_flight_;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Job{std::move(batch), std::move(done)});
  }
  wake_.notify_one();
}

void StorageThread::stop() {
  if (!thread_.joinable()) return;
  *alive_ = false;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  in_flight_ = 0;
}

void StorageThread::run() {
  for (;;) {
    std::deque<Job> round;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is written
      round.swap(queue_);
    }
    write_round(round);
  }
}

void StorageThread::write_round(std::deque<Job>& round) {
  StorageRound stats;
  stats.batches = round.size();
  bool wrote = false;
  const auto start = std::chrono::steady_clock::now();
  for (const Job& job : round) {
    if (!failed_.ok()) break;
    if (job.batch.empty()) continue;
    stats.bytes += job.batch.size_bytes();
    // Unsynced: the one sync below makes the whole round durable at once.
    failed_ = store_.write(job.batch, WriteOptions{false});
    wrote = true;
  }
  stats.write = since(start);
  if (failed_.ok() && wrote) {
    const auto sync_start = std::chrono::steady_clock::now();
    failed_ = store_.sync();
    stats.sync = since(sync_start);
  }
  // A failure makes every batch of the round suspect: the ones written
  // before it were never synced. And every later round fails with it, so
  // nothing that depends on a lost write is ever acknowledged.
  const Status status = failed_;
  stats.ok = status.ok();
  std::vector<Done> dones;
  dones.reserve(round.size());
  for (Job& job : round) dones.push_back(std::move(job.done));
  boost::asio::post(loop_, [this, alive = alive_, dones = std::move(dones), status, stats]() mutable {
    // Checked before each completion: one of them may stop us (a node that
    // poisons and shuts down), and the rest must then not run.
    for (Done& done : dones) {
      if (!*alive) return;
      --in_flight_;
      done(status);
    }
    if (*alive && on_round_) on_round_(stats);
  });
}

}  // namespace sluice::net
