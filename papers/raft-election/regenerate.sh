#!/usr/bin/env bash
# Regenerates every number and figure in papers/raft-election/results/:
# Figure 16 of the Raft paper, 1,000 trials per line, without and with
# PreVote, under two timing models. See README.md.
#
#   papers/raft-election/regenerate.sh              build in build/, run, plot
#   BUILD_DIR=build-paper papers/raft-election/regenerate.sh
#   TRIALS=100 papers/raft-election/regenerate.sh   a quick look (not for check-in)
set -euo pipefail
cd "$(dirname "$0")/../.."

build_dir=${BUILD_DIR:-build}
trials=${TRIALS:-1000}
seed=${SEED:-1}
jobs=${JOBS:-1}
here=papers/raft-election
results=$here/results

tools/install-deps.sh --papers
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
ninja -C "$build_dir" -j "$jobs" raft_election
bin=$build_dir/papers/raft_election

started=$(date +%s)
rm -rf "$results"
mkdir -p "$results"
common=(--trials "$trials" --seed "$seed" --cap 60s)
# The paper's hardware: the 15 ms broadcast is mostly the disk write.
echo "== disk-bound timing (LAN, 5-15 ms fsync)"
"$bin" "${common[@]}" --timing disk --modes original,prevote,prevote-cq --out "$results/disk-bound" \
  | tee "$results/disk-bound.txt"
# The same broadcast time made of network latency instead.
echo "== network-bound timing (7 ms one-way, 1 ms fsync)"
"$bin" "${common[@]}" --timing network --modes original,prevote --out "$results/network-bound" \
  | tee "$results/network-bound.txt"
elapsed=$(( $(date +%s) - started ))

/usr/bin/python3 $here/plot.py "$results"
echo
echo "simulation took ${elapsed}s of wall time for ${trials} trials per line ($(nproc) CPUs: $(lscpu | sed -n 's/^Model name: *//p'))"
