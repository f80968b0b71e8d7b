// A simulated cluster: processes that each run one sans-IO node through the
// shared driver (core/node/driver.h), over the simulated network, disks and
// clocks. Processes crash, restart (with their disk or an empty one), pause
// and resume; a crashed process's pending events die with it.
//
// ClusterBase is what the fault injector and checkers see; SimCluster<Node>
// binds it to a node type.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/common/hooks.h"
#include "core/node/driver.h"
#include "sim/clock.h"
#include "sim/disk.h"
#include "sim/latency.h"
#include "sim/network.h"
#include "sim/scheduler.h"
#include "sim/trace.h"

namespace sluice::sim {

enum class ProcessState { running, paused, down };

struct DiskTiming {
  LatencyDist write = {Duration::micros(20), Duration::micros(50), Duration::micros(500),
                       Duration::millis(2)};
  LatencyDist fsync = {Duration::micros(200), Duration::millis(1), Duration::millis(5),
                       Duration::millis(30)};
};

struct ClusterOptions {
  std::vector<NodeId> servers;
  Duration tick_interval = Duration::millis(10);
  Duration restart_retry = Duration::seconds(1);  // after a failed start
  DiskTiming disk_timing;
};

class ClusterBase {
 public:
  ClusterBase(Scheduler* scheduler, Trace* trace, SimNetwork* network, Rng rng, Hooks hooks,
              ClusterOptions options)
      : scheduler_(scheduler), trace_(trace), network_(network), rng_(rng), hooks_(hooks),
        options_(std::move(options)) {}
  virtual ~ClusterBase() = default;

  virtual void crash(NodeId id) = 0;
  virtual void restart(NodeId id, bool empty_disk) = 0;
  virtual void pause(NodeId id) = 0;
  virtual void resume(NodeId id) = 0;
  virtual ProcessState state(NodeId id) const = 0;
  virtual SimDisk& disk(NodeId id) = 0;
  virtual SimClock& clock(NodeId id) = 0;

  const std::vector<NodeId>& servers() const { return options_.servers; }
  // Bumped whenever a process crashes, starts, pauses or resumes, so that
  // observers (the connectivity oracle) recompute only when something changed.
  std::uint64_t process_generation() const { return process_generation_; }
  Hooks hooks() const { return hooks_; }
  Scheduler& scheduler() { return *scheduler_; }
  SimNetwork& network() { return *network_; }
  Trace& trace() { return *trace_; }
  const ClusterOptions& options() const { return options_; }

 protected:
  Scheduler* scheduler_;
  Trace* trace_;
  SimNetwork* network_;
  Rng rng_;
  Hooks hooks_;
  ClusterOptions options_;
  std::uint64_t process_generation_ = 0;
};

template <StepMachine Node>
class SimCluster final : public ClusterBase {
 public:
  using Message = typename Node::Message;
  using Factory = std::function<Result<std::unique_ptr<Node>>(NodeId, KvStore&)>;
  // `sent` numbers the message among every send of this cluster, so a
  // client can tell what was sent before it opened its current connection.
  using ClientSink = std::function<void(NodeId client, NodeId from, std::uint64_t sent, Message message)>;

  SimCluster(Scheduler* scheduler, Trace* trace, SimNetwork* network, Rng rng, Hooks hooks,
             ClusterOptions options, Factory factory, ClientSink client_sink)
      : ClusterBase(scheduler, trace, network, rng, hooks, std::move(options)),
        factory_(std::move(factory)), client_sink_(std::move(client_sink)) {
    for (NodeId id : options_.servers) {
      processes_.emplace(id, std::make_unique<Process>(this, id, rng_.fork()));
    }
  }

  void start_all() {
    for (NodeId id : options_.servers) restart(id, false);
  }

  // A client (not a simulated process: it never crashes) sends to a server.
  // `open`, when given, is asked on arrival: false means the connection the
  // message was sent on has closed since, and it is dropped as TCP would.
  void client_send(NodeId client, NodeId to, Message message, std::function<bool()> open = {}) {
    send_envelope(Envelope<Message>{kDefaultGroup, client, to, std::move(message)}, std::move(open));
  }

  // How many messages the cluster has sent so far (see ClientSink).
  std::uint64_t sends() const { return sends_; }

  Node* node(NodeId id) {
    auto& p = *processes_.at(id);
    return p.state == ProcessState::down ? nullptr : p.node.get();
  }

  // Runs an operator action on a running node (an admin request, say) and
  // carries out what it produces. Does nothing if the node is not running.
  void act(NodeId id, const std::function<void(Node&)>& action) {
    Process& p = *processes_.at(id);
    if (p.state != ProcessState::running) return;
    action(*p.node);
    drive_and_supervise(p);
  }

  void crash(NodeId id) override {
    Process& p = *processes_.at(id);
    trace_->event(scheduler_->now(), "proc.crash").u("node", id.value())
        .u("unsynced", p.disk.unsynced_batches());
    p.state = ProcessState::down;
    ++process_generation_;
    p.node.reset();
    ++p.incarnation;
    p.deferred.clear();
    p.disk_queue.clear();
    p.disk_busy = false;
    p.disk.crash();
  }

  void restart(NodeId id, bool empty_disk) override {
    Process& p = *processes_.at(id);
    if (p.retired) return;
    if (p.state != ProcessState::down) crash(id);
    if (empty_disk) {
      CODE_PROBE(hooks_, true, sim_restart_empty_disk);
      p.disk.wipe();
    }
    auto node = factory_(id, p.disk);
    if (!node.ok()) {
      trace_->event(scheduler_->now(), "proc.start_failed").u("node", id.value())
          .s("error", node.status().to_string());
      const std::uint64_t incarnation = p.incarnation;
      scheduler_->after(options_.restart_retry, [this, id, incarnation] {
        Process& q = *processes_.at(id);
        if (q.incarnation == incarnation && q.state == ProcessState::down) restart(id, false);
      });
      return;
    }
    trace_->event(scheduler_->now(), "proc.start").u("node", id.value()).u("wiped", empty_disk ? 1 : 0);
    p.node = std::move(node).value();
    p.state = ProcessState::running;
    ++process_generation_;
    ++p.incarnation;
    schedule_tick(p);
    drive_and_supervise(p);
  }

  void pause(NodeId id) override {
    Process& p = *processes_.at(id);
    if (p.state != ProcessState::running) return;
    trace_->event(scheduler_->now(), "proc.pause").u("node", id.value());
    p.state = ProcessState::paused;
    ++process_generation_;
  }

  void resume(NodeId id) override {
    Process& p = *processes_.at(id);
    if (p.state != ProcessState::paused) return;
    trace_->event(scheduler_->now(), "proc.resume").u("node", id.value()).u("deferred", p.deferred.size());
    p.state = ProcessState::running;
    ++process_generation_;
    const std::uint64_t incarnation = p.incarnation;
    while (!p.deferred.empty() && p.incarnation == incarnation && p.state == ProcessState::running) {
      auto action = std::move(p.deferred.front());
      p.deferred.pop_front();
      action();
    }
  }

  // A new server, down until restart(): a process with its own empty disk
  // and clock. Ids are never reused.
  void add_server(NodeId id) {
    SLUICE_ASSERT(!processes_.count(id), "a server id is never reused");
    options_.servers.push_back(id);
    processes_.emplace(id, std::make_unique<Process>(this, id, rng_.fork()));
    trace_->event(scheduler_->now(), "proc.add").u("node", id.value());
  }
  // The server is gone for good (its disk lost its data): down, wiped, and
  // never restarted again, whoever asks.
  void retire(NodeId id) {
    Process& p = *processes_.at(id);
    if (p.state != ProcessState::down) crash(id);
    p.disk.wipe();
    p.retired = true;
    ++process_generation_;
    trace_->event(scheduler_->now(), "proc.retire").u("node", id.value());
  }
  bool retired(NodeId id) const { return processes_.at(id)->retired; }

  ProcessState state(NodeId id) const override { return processes_.at(id)->state; }
  // Changes on every crash and restart: identifies one life of a process.
  std::uint64_t incarnation(NodeId id) const { return processes_.at(id)->incarnation; }
  SimDisk& disk(NodeId id) override { return processes_.at(id)->disk; }
  SimClock& clock(NodeId id) override { return processes_.at(id)->clock; }

 private:
  struct PendingPersist {
    WriteBatch batch;
    std::function<void(Status)> done;
  };

  struct Process final : Environment<Message> {
    Process(SimCluster* owner, NodeId node_id, Rng process_rng)
        : cluster(owner), id(node_id), rng(process_rng), disk(rng.fork(), owner->hooks_) {}

    void send(Envelope<Message> envelope) override { cluster->send_envelope(std::move(envelope)); }
    void persist(WriteBatch batch, std::function<void(Status)> done) override {
      cluster->persist(*this, std::move(batch), std::move(done));
    }

    SimCluster* cluster;
    NodeId id;
    Rng rng;
    SimDisk disk;
    SimClock clock;
    std::unique_ptr<Node> node;
    ProcessState state = ProcessState::down;
    bool retired = false;  // see retire()
    std::uint64_t incarnation = 0;
    std::deque<std::function<void()>> deferred;  // inputs held while paused
    std::deque<PendingPersist> disk_queue;       // persists waiting for the next round
    bool disk_busy = false;                      // a write-and-fsync round is under way
  };

  Timestamp local_now(const Process& p) const { return p.clock.local(scheduler_->now()); }

  // Runs `action` on the process now, later (paused), or never (crashed).
  void on_process(NodeId id, std::uint64_t incarnation, std::function<void()> action) {
    Process& p = *processes_.at(id);
    if (p.incarnation != incarnation || p.state == ProcessState::down) return;
    if (p.state == ProcessState::paused) {
      CODE_PROBE(hooks_, true, sim_delivery_deferred_by_pause);
      p.deferred.push_back(std::move(action));
      return;
    }
    action();
  }

  void send_envelope(Envelope<Message> envelope, std::function<bool()> open = {}) {
    const NodeId from = envelope.from;
    const NodeId to = envelope.to;
    const std::uint64_t sent = ++sends_;
    network_->send(from, to, describe(envelope.message),
                   [this, from, to, sent, open = std::move(open), message = std::move(envelope.message)] {
                     if (!open || open()) deliver(from, to, sent, message);
                   });
  }

  void deliver(NodeId from, NodeId to, std::uint64_t sent, const Message& message) {
    auto it = processes_.find(to);
    if (it == processes_.end()) {
      client_sink_(to, from, sent, message);
      return;
    }
    Process& p = *it->second;
    if (p.state == ProcessState::down) return;
    on_process(to, p.incarnation, [this, &p, from, message] {
      p.node->step(from, message, local_now(p));
      drive_and_supervise(p);
    });
  }

  // Group commit, as the real driver does: persists that arrive while the
  // disk is busy wait and then share one write-and-fsync round. Within a
  // round batches stay separate (each atomic) and complete in order.
  void persist(Process& p, WriteBatch batch, std::function<void(Status)> done) {
    p.disk_queue.push_back(PendingPersist{std::move(batch), std::move(done)});
    if (!p.disk_busy) start_disk_round(p);
  }

  void start_disk_round(Process& p) {
    SLUICE_ASSERT(!p.disk_busy && !p.disk_queue.empty(), "a disk round starts on an idle disk with work");
    p.disk_busy = true;
    auto round = std::make_shared<std::vector<PendingPersist>>();
    while (!p.disk_queue.empty()) {
      round->push_back(std::move(p.disk_queue.front()));
      p.disk_queue.pop_front();
    }
    const Timestamp written = scheduler_->now() + options_.disk_timing.write.sample(rng_);
    const Timestamp synced = written + options_.disk_timing.fsync.sample(rng_);
    const std::uint64_t incarnation = p.incarnation;
    auto status = std::make_shared<std::vector<Status>>(round->size());
    // The writes reach the page cache first, the platter at the fsync: a
    // crash in between loses them (or tears one), exactly as on a real disk.
    scheduler_->at(written, [this, &p, incarnation, round, status] {
      if (p.incarnation != incarnation) return;
      Status failed;
      std::size_t ops = 0;
      for (std::size_t i = 0; i < round->size(); ++i) {
        const WriteBatch& batch = (*round)[i].batch;
        ops += batch.ops().size();
        // After a failed write the rest of the round fails too: the caller
        // poisons on the first error and must not see later writes succeed.
        if (failed.ok() && !batch.empty()) failed = p.disk.write(batch, WriteOptions{false});
        (*status)[i] = failed;
      }
      trace_->event(scheduler_->now(), "disk.write").u("node", p.id.value()).u("batches", round->size())
          .u("ops", ops).s("status", code_name(failed.code()));
    });
    scheduler_->at(synced, [this, &p, incarnation, round, status] {
      if (p.incarnation != incarnation) return;
      const Status sync = p.disk.sync();
      trace_->event(scheduler_->now(), "disk.sync").u("node", p.id.value()).s("status", code_name(sync.code()));
      // Still busy while completions run: persists they cause join the
      // queue for the next round.
      for (std::size_t i = 0; i < round->size(); ++i) {
        Status s = (*status)[i].ok() ? sync : (*status)[i];
        on_process(p.id, incarnation, [this, &p, s, done = std::move((*round)[i].done)] {
          done(s);  // runs drive() itself (driver.h)
          supervise(p);
        });
        if (p.incarnation != incarnation) return;  // the completion poisoned and crashed it
      }
      p.disk_busy = false;
      if (!p.disk_queue.empty()) start_disk_round(p);
    });
  }

  void drive_and_supervise(Process& p) {
    drive(*p.node, p);
    supervise(p);
  }

  // A node that poisoned itself stops serving; its process exits and the
  // supervisor (Kubernetes, systemd) starts it again a little later.
  void supervise(Process& p) {
    if constexpr (requires(Node& n) { { n.poisoned() } -> std::convertible_to<bool>; }) {
      if (p.state == ProcessState::down || !p.node->poisoned()) return;
      trace_->event(scheduler_->now(), "proc.exit_poisoned").u("node", p.id.value());
      const NodeId id = p.id;
      crash(id);
      const std::uint64_t incarnation = p.incarnation;
      scheduler_->after(options_.restart_retry, [this, id, incarnation] {
        Process& q = *processes_.at(id);
        if (q.incarnation == incarnation && q.state == ProcessState::down) restart(id, false);
      });
    }
  }

  void schedule_tick(Process& p) {
    const std::uint64_t incarnation = p.incarnation;
    scheduler_->after(p.clock.sim_span_for(options_.tick_interval), [this, &p, incarnation] {
      if (p.incarnation != incarnation || p.state == ProcessState::down) return;
      if (p.state == ProcessState::running) {
        p.node->tick(local_now(p));
        drive_and_supervise(p);
      }
      // A paused process misses ticks; its timers catch up after resume.
      schedule_tick(p);
    });
  }

  Factory factory_;
  ClientSink client_sink_;
  std::uint64_t sends_ = 0;
  std::map<NodeId, std::unique_ptr<Process>> processes_;
};

}  // namespace sluice::sim
