// The persist half of the real Environment (core/node/driver.h): write
// batches go to a KvStore on one storage thread, in submission order, and
// each completion is posted back to the node's io_context.
//
// Group commit: the thread takes every batch queued since its last round,
// writes each one as its own atomic batch without sync, then makes the
// round durable with one sync(). A lone batch costs one write and one
// fsync; a hundred that arrive during an fsync share the next one.
//
// Contract (output.h, points 2-5), which the tests check:
//  - completions run on the loop, in submission order, each after its batch
//    and every earlier one are durable;
//  - an empty batch writes nothing and completes after every earlier one
//    (a barrier);
//  - after a failed write or sync, that round and every later submission
//    complete with the error (the node poisons on the first one);
//  - after stop(), no completion runs, even one already posted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "core/common/time.h"
#include "core/storage/kv_store.h"

namespace sluice::net {

// What one round cost, for the append and fsync latency histograms.
struct StorageRound {
  std::size_t batches = 0;
  std::size_t bytes = 0;
  Duration write;  // all writes of the round
  Duration sync;   // the one fsync; 0 if the round held only barriers
  bool ok = true;
};

class StorageThread {
 public:
  using Done = std::function<void(Status)>;
  using RoundObserver = std::function<void(const StorageRound&)>;

  // `store` must outlive this object. `on_round`, if set, runs on the loop
  // after each round's completions.
  StorageThread(boost::asio::io_context& loop, KvStore& store, RoundObserver on_round = {});
  StorageThread(const StorageThread&) = delete;
  StorageThread& operator=(const StorageThread&) = delete;
  ~StorageThread();

  // On the loop. `done` runs on the loop (unless stopped first).
  void submit(WriteBatch batch, Done done);
  // On the loop: writes what is already queued, joins the thread, and drops
  // every completion not yet run. Idempotent.
  void stop();

  // On the loop: submitted, and whose completion has not run yet.
  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Job {
    WriteBatch batch;
    Done done;
  };
  void run();
  void write_round(std::deque<Job>& round);

  boost::asio::io_context& loop_;
  KvStore& store_;
  RoundObserver on_round_;
  // Shared with posted completions, which check it on the loop: false once
  // stop() ran.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::size_t in_flight_ = 0;  // loop only

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  Status failed_;          // storage thread only: the first failure, sticky
  std::thread thread_;
};

}  // namespace sluice::net
