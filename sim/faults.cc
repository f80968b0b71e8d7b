#include "sim/faults.h"

#include <algorithm>
#include <cstdio>

namespace sluice::sim {

const char* profile_name(FaultProfile profile) {
  switch (profile) {
    case FaultProfile::none: return "none";
    case FaultProfile::network: return "network";
    case FaultProfile::disk: return "disk";
    case FaultProfile::process: return "process";
    case FaultProfile::clock: return "clock";
    case FaultProfile::all: return "all";
  }
  return "unknown";
}

bool parse_profile(const std::string& text, FaultProfile* out) {
  for (FaultProfile p : {FaultProfile::none, FaultProfile::network, FaultProfile::disk,
                         FaultProfile::process, FaultProfile::clock, FaultProfile::all}) {
    if (text == profile_name(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

std::string FaultConfig::summary() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "network=%d disk=%d process=%d clock=%d every~%s loss<=%.3f dup<=%.3f "
                "reorder<=%.3f wipe=%.2f ioerr<=%.3f torn=%d",
                network, disk, process, clock, format_duration(interval_mean).c_str(), loss_max,
                duplicate_max, reorder_max, empty_disk_share, io_error_max, unsynced_may_survive);
  return std::string(buf) + (isolate_leader ? " isolate-leader" : "");
}

FaultConfig draw_fault_config(Rng& rng, FaultProfile profile) {
  FaultConfig c;
  const bool all = profile == FaultProfile::all;
  c.network = all || profile == FaultProfile::network;
  c.disk = all || profile == FaultProfile::disk;
  c.process = all || profile == FaultProfile::process;
  c.clock = all || profile == FaultProfile::clock;
  // Swarm: every seed has its own mix of rates, from gentle to brutal.
  c.interval_mean = Duration::millis(uniform_between(rng, 100, 3'000));
  c.fault_duration_max = Duration::millis(uniform_between(rng, 200, 4'000));
  c.loss_max = unit_double(rng) * 0.2;
  c.duplicate_max = unit_double(rng) * 0.1;
  c.reorder_max = unit_double(rng) * 0.3;
  c.empty_disk_share = chance(rng, 0.5) ? unit_double(rng) * 0.3 : 0.0;
  c.io_error_max = unit_double(rng) * 0.05;
  c.unsynced_may_survive = chance(rng, 0.5);
  c.skew_max = Duration::millis(uniform_between(rng, 1, 2'000));
  c.drift_ppm_max = uniform_between(rng, 0, 100'000);
  c.step_max = Duration::millis(uniform_between(rng, 1, 5'000));
  return c;
}

FaultInjector::FaultInjector(ClusterBase* cluster, Rng rng, FaultConfig config)
    : cluster_(cluster), rng_(rng), config_(std::move(config)) {}

void FaultInjector::start(Timestamp until) {
  until_ = until;
  if (config_.isolate_leader) schedule_leader_isolation();
  if (!(config_.network || config_.disk || config_.process || config_.clock)) return;
  if (config_.disk) {
    for (NodeId id : cluster_->servers()) {
      DiskFaults f = cluster_->disk(id).faults();
      f.unsynced_may_survive = config_.unsynced_may_survive;
      cluster_->disk(id).set_faults(f);
    }
  }
  schedule_next();
}

void FaultInjector::schedule_next() {
  const Duration gap{static_cast<std::int64_t>(uniform_below(rng_, 2 * config_.interval_mean.ns) + 1)};
  if (cluster_->scheduler().now() + gap >= until_) return;
  const std::uint64_t epoch = epoch_;
  cluster_->scheduler().after(gap, [this, epoch] {
    if (epoch != epoch_) return;
    inject();
    schedule_next();
  });
}

Duration FaultInjector::fault_duration() {
  return Duration{uniform_between(rng_, Duration::millis(10).ns, config_.fault_duration_max.ns)};
}

bool FaultInjector::may_lose_data(NodeId id) const {
  if (data_loss_.allowed) return data_loss_.allowed(id);
  return std::find(config_.data_loss_protected.begin(), config_.data_loss_protected.end(), id) ==
         config_.data_loss_protected.end();
}

void FaultInjector::inject() {
  std::vector<int> families;
  if (config_.network) families.push_back(0);
  if (config_.process) families.push_back(1);
  if (config_.disk) families.push_back(2);
  if (config_.clock) families.push_back(3);
  switch (pick(rng_, families)) {
    case 0: network_fault(); break;
    case 1: process_fault(); break;
    case 2: disk_fault(); break;
    case 3: clock_fault(); break;
    default: SLUICE_ASSERT(false, "unknown fault family");
  }
}

void FaultInjector::isolate_leader() {
  SLUICE_ASSERT(leader_finder_ != nullptr, "isolating the leader needs a leader finder");
  const NodeId leader = leader_finder_();
  if (leader == kNoNode) return;
  std::vector<NodeId> others;
  for (NodeId id : cluster_->servers()) {
    if (id != leader) others.push_back(id);
  }
  cluster_->network().isolate(leader, others);
  count("net.isolate_leader");
  // Long enough for the others to elect a leader and commit writes.
  const Duration d{uniform_between(rng_, Duration::millis(500).ns, Duration::seconds(3).ns)};
  const std::uint64_t epoch = epoch_;
  cluster_->scheduler().after(d, [this, epoch] {
    if (epoch == epoch_) cluster_->network().heal();
  });
  // A pause stops its clock: when it resumes, still cut off, it believes
  // it leads until CheckQuorum deposes it, and its clients are waiting.
  if (chance(rng_, 0.5) && cluster_->state(leader) == ProcessState::running) {
    cluster_->pause(leader);
    count("proc.pause_leader");
    const Duration paused{uniform_between(rng_, d.ns / 4, d.ns * 9 / 10)};
    cluster_->scheduler().after(paused, [this, epoch, leader] {
      if (epoch == epoch_) cluster_->resume(leader);
    });
  }
}

void FaultInjector::schedule_leader_isolation() {
  const Duration gap{uniform_between(rng_, Duration::seconds(1).ns, Duration::seconds(3).ns)};
  if (cluster_->scheduler().now() + gap >= until_) return;
  const std::uint64_t epoch = epoch_;
  cluster_->scheduler().after(gap, [this, epoch] {
    if (epoch != epoch_) return;
    isolate_leader();
    schedule_leader_isolation();
  });
}

void FaultInjector::network_fault() {
  SimNetwork& net = cluster_->network();
  std::vector<NodeId> nodes = cluster_->servers();
  shuffle(rng_, nodes);
  const Duration d = fault_duration();
  const std::uint64_t epoch = epoch_;
  auto heal_later = [&] {
    cluster_->scheduler().after(d, [this, epoch] {
      if (epoch == epoch_) cluster_->network().heal();
    });
  };
  // Kind 5, the partial partition, only where enabled: the lossy stretch
  // (the default case) then takes its place.
  std::uint64_t kind = uniform_below(rng_, config_.partial_partition ? 7 : 6);
  if (!config_.partial_partition && kind == 5) kind = 6;
  switch (kind) {
    case 0: {  // majority / minority
      const std::size_t minority = (nodes.size() - 1) / 2;
      std::vector<NodeId> a(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(minority));
      std::vector<NodeId> b(nodes.begin() + static_cast<std::ptrdiff_t>(minority), nodes.end());
      net.partition(a, b);
      count("net.partition_majority");
      heal_later();
      break;
    }
    case 1: {  // isolate one
      std::vector<NodeId> others(nodes.begin() + 1, nodes.end());
      net.isolate(nodes[0], others);
      count("net.isolate");
      heal_later();
      break;
    }
    case 2: {  // asymmetric: one direction of one link
      if (nodes.size() >= 2) net.block(nodes[0], nodes[1]);
      count("net.asymmetric");
      heal_later();
      break;
    }
    case 3: {
      net.majorities_ring(nodes);
      count("net.majorities_ring");
      heal_later();
      break;
    }
    case 4: {  // clog a node's links for a while
      for (NodeId other : nodes) {
        if (other == nodes[0]) continue;
        net.clog(nodes[0], other, cluster_->scheduler().now() + d);
        net.clog(other, nodes[0], cluster_->scheduler().now() + d);
      }
      count("net.clog");
      break;
    }
    case 5: {
      // The partial partition of Raft's liveness folklore: on five nodes, 4
      // reaches only 1 and 5 reaches only 2, while 1, 2 and 3 reach each
      // other. PreVote and CheckQuorum must keep 4 and 5 from deposing the
      // leader that the others elect. Below four nodes, one link is cut.
      auto cut = [&net](NodeId x, NodeId y) {
        net.block(x, y);
        net.block(y, x);
      };
      if (nodes.size() >= 4) {
        for (NodeId other : nodes) {
          if (other != nodes[0] && other != nodes[2]) cut(nodes[0], other);
          if (other != nodes[1] && other != nodes[3] && other != nodes[0]) cut(nodes[1], other);
        }
      } else if (nodes.size() >= 2) {
        cut(nodes[0], nodes[1]);
      }
      count("net.partial_partition");
      heal_later();
      break;
    }
    default: {  // a lossy, duplicating, reordering stretch
      LinkConfig lossy = net.default_link();
      lossy.loss = unit_double(rng_) * config_.loss_max;
      lossy.duplicate = unit_double(rng_) * config_.duplicate_max;
      lossy.reorder = unit_double(rng_) * config_.reorder_max;
      const LinkConfig normal = net.default_link();
      net.set_default_link(lossy);
      cluster_->scheduler().after(d, [this, epoch, normal] {
        if (epoch == epoch_) cluster_->network().set_default_link(normal);
      });
      count("net.lossy");
      break;
    }
  }
}

void FaultInjector::process_fault() {
  const NodeId id = pick(rng_, cluster_->servers());
  const Duration d = fault_duration();
  const std::uint64_t epoch = epoch_;
  if (chance(rng_, 0.3)) {
    if (cluster_->state(id) != ProcessState::running) return;
    cluster_->pause(id);
    count("proc.pause");
    cluster_->scheduler().after(d, [this, epoch, id] {
      if (epoch == epoch_) cluster_->resume(id);
    });
    return;
  }
  if (cluster_->state(id) == ProcessState::down) return;
  // Asked before the crash: whether the group can afford the loss may
  // depend on this node being up (the handler looks for a leader).
  const bool wipe = may_lose_data(id) && chance(rng_, config_.empty_disk_share);
  cluster_->crash(id);
  count(wipe ? "proc.crash_wipe" : "proc.crash");
  if (wipe && data_loss_.lost) {
    data_loss_.lost(id);
    return;
  }
  cluster_->scheduler().after(d, [this, epoch, id, wipe] {
    if (epoch == epoch_ && cluster_->state(id) == ProcessState::down) cluster_->restart(id, wipe);
  });
}

void FaultInjector::disk_fault() {
  const NodeId id = pick(rng_, cluster_->servers());
  SimDisk& disk = cluster_->disk(id);
  const Duration d = fault_duration();
  const std::uint64_t epoch = epoch_;
  switch (uniform_below(rng_, 3)) {
    case 0: {  // a stretch of IO errors
      DiskFaults f = disk.faults();
      f.read_error = unit_double(rng_) * config_.io_error_max;
      f.write_error = unit_double(rng_) * config_.io_error_max;
      f.sync_error = unit_double(rng_) * config_.io_error_max;
      disk.set_faults(f);
      count("disk.io_errors");
      break;
    }
    case 1: {
      DiskFaults f = disk.faults();
      f.full = true;
      disk.set_faults(f);
      count("disk.full");
      break;
    }
    default: {
      if (!may_lose_data(id)) return;
      if (disk.corrupt()) {
        count("disk.corrupt");
        // Restart so that recovery reads the damage (and refuses to start).
        cluster_->crash(id);
        cluster_->restart(id, false);
        if (data_loss_.lost) data_loss_.lost(id);
      }
      return;
    }
  }
  cluster_->scheduler().after(d, [this, epoch, id] {
    if (epoch != epoch_) return;
    SimDisk& dk = cluster_->disk(id);
    DiskFaults f = dk.faults();
    f.read_error = f.write_error = f.sync_error = 0.0;
    f.full = false;
    dk.set_faults(f);
  });
}

void FaultInjector::clock_fault() {
  const NodeId id = pick(rng_, cluster_->servers());
  SimClock& clock = cluster_->clock(id);
  const Timestamp now = cluster_->scheduler().now();
  switch (uniform_below(rng_, 3)) {
    case 0:
      clock.set_skew(now, Duration{uniform_between(rng_, -config_.skew_max.ns, config_.skew_max.ns)});
      count("clock.skew");
      break;
    case 1:
      clock.set_drift_ppm(now, uniform_between(rng_, -config_.drift_ppm_max, config_.drift_ppm_max));
      count("clock.drift");
      break;
    default:
      clock.step(Duration{uniform_between(rng_, -config_.step_max.ns, config_.step_max.ns)});
      count("clock.step");
      break;
  }
}

std::string FaultInjector::counts_summary() const {
  std::string out;
  for (const auto& [name, n] : counts_) out += name + "=" + std::to_string(n) + " ";
  return out;
}

void FaultInjector::heal_all() {
  ++epoch_;
  cluster_->network().heal();
  LinkConfig calm = cluster_->network().default_link();
  calm.loss = calm.duplicate = calm.reorder = 0.0;
  cluster_->network().set_default_link(calm);
  for (NodeId id : cluster_->servers()) {
    SimDisk& disk = cluster_->disk(id);
    DiskFaults f = disk.faults();
    f.read_error = f.write_error = f.sync_error = 0.0;
    f.full = false;
    disk.set_faults(f);
    if (cluster_->state(id) == ProcessState::paused) cluster_->resume(id);
    if (cluster_->state(id) == ProcessState::down) cluster_->restart(id, false);
  }
  cluster_->trace().event(cluster_->scheduler().now(), "faults.heal_all");
}

}  // namespace sluice::sim
