#!/usr/bin/env bash
# Finds seeds for the Raft regression table in tests/sim/raft_sim_test.cc
# after a change moved the old ones (see docs/simulator.md). For the
# inflight-window bug it reverts the fix in a scratch copy of
# core/raft/progress.cc, collects seeds that fail, restores the fix, and
# keeps those that still reach the scenario's probe. For the refused-
# duplicate scenario it lists seeds that reach both of its probes. Every run
# is pinned to --faults all, like the regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
sim="$build/sim/sluice-sim"
cp core/raft/progress.cc /tmp/progress.cc.keep
trap 'cp /tmp/progress.cc.keep core/raft/progress.cc; ninja -C "$build" sluice-sim >/dev/null' EXIT
sed -i 's|  if (state_ == ProgressState::replicate \&\& inflights_.full()) inflights_.free_first();|  // fix reverted by repick-regressions.sh|' core/raft/progress.cc
ninja -C "$build" sluice-sim >/dev/null
failing=$( ("$sim" --faults all --seeds 1..${SEEDS:-200} || true) | sed -n 's/^seed \([0-9]*\): FAIL/\1/p')
cp /tmp/progress.cc.keep core/raft/progress.cc
ninja -C "$build" sluice-sim >/dev/null
echo "inflight-window stall (fails without the fix, reaches the probe with it):"
n=0
for s in $failing; do
  if "$sim" --faults all --seed "$s" | grep -q "raft_heartbeat_freed_inflight_slot="; then echo "  seed $s"; n=$((n+1)); fi
  [ $n -ge 2 ] && break
done
echo "refused duplicate (reaches admission refusals and duplicated messages):"
n=0
for s in $(seq 1 ${SEEDS:-200}); do
  out=$("$sim" --faults all --seed "$s" || true)
  if echo "$out" | grep -q "raft_proposal_rejected_admission=" && echo "$out" | grep -q "sim_message_duplicated="; then
    echo "  seed $s"; n=$((n+1))
  fi
  [ $n -ge 2 ] && break
done

# The demonstration protocol's duplicate-request bug (toy_protocol_test.cc).
cp sim/toy/primary_backup.cc /tmp/primary_backup.cc.keep
trap 'cp /tmp/progress.cc.keep core/raft/progress.cc; cp /tmp/primary_backup.cc.keep sim/toy/primary_backup.cc; ninja -C "$build" sluice-sim >/dev/null' EXIT
sed -i 's|  if (write.request_id <= last_request) {|  if (false \&\& write.request_id <= last_request) {|' sim/toy/primary_backup.cc
ninja -C "$build" sluice-sim >/dev/null
failing=$( ("$sim" --protocol toy --faults all --seeds 1..${SEEDS:-200} || true) | sed -n 's/^seed \([0-9]*\): FAIL/\1/p')
cp /tmp/primary_backup.cc.keep sim/toy/primary_backup.cc
ninja -C "$build" sluice-sim >/dev/null
echo "toy duplicate request applied twice (fails without request dedup, reaches the probe with it):"
n=0
for s in $failing; do
  if "$sim" --protocol toy --faults all --seed "$s" | grep -q "toy_duplicate_request_ignored="; then echo "  seed $s"; n=$((n+1)); fi
  [ $n -ge 2 ] && break
done
