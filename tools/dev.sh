#!/usr/bin/env bash
# The README's commands. Each installs missing Debian packages, configures
# and builds as needed, then does its job.
#
#   tools/dev.sh run              build, then start a 3-node local cluster (tools/cluster.sh)
#   tools/dev.sh stop             stop that cluster (its data stays in .cluster/)
#   tools/dev.sh cluster CMD      tools/cluster.sh start|stop|status|clean
#   tools/dev.sh sim-demo         build, then run the simulator demo under faults
#   tools/dev.sh test             build, then run the default test suite
#   tools/dev.sh swarm [A..B]     a long Raft swarm (default seeds 1..10000)
#   tools/dev.sh swarm-broker [A..B]  a long broker swarm, all five patterns (default 1..10000)
#   tools/dev.sh asan             build with ASan+UBSan in build-asan, run the unit tests
#   tools/dev.sh bench            build, then run the simulator benchmarks
#   tools/dev.sh bench-e2e [ARGS] sluice-bench on a fresh local cluster (tools/bench-cluster.sh)
#   tools/dev.sh fuzz [TARGET..]  the libFuzzer targets, FUZZ_SECONDS each (tools/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${SLUICE_BUILD_DIR:-build}

build() {  # build <dir> [cmake args...]; $targets: only these (default: all)
  local dir=$1
  shift
  tools/install-deps.sh
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  fi
  # shellcheck disable=SC2086  # a list of target names
  cmake --build "$dir" ${targets:+--target $targets}
}

cmd=${1:-}
case "$cmd" in
  run)
    # Only what the cluster needs: the server and the CLI (a cold build of
    # these is a fraction of the whole tree with its tests).
    targets="sluiced sluice" build "$build_dir"
    SLUICE_BUILD_DIR="$build_dir" tools/cluster.sh start
    ;;
  stop)
    SLUICE_BUILD_DIR="$build_dir" tools/cluster.sh stop
    ;;
  cluster)
    SLUICE_BUILD_DIR="$build_dir" tools/cluster.sh "${2:-status}"
    ;;
  sim-demo)
    build "$build_dir"
    seed=${SEED:-$(( $(date +%s) % 100000 ))}
    echo
    echo "== One simulated 5-node cluster with every fault profile on (seed $seed) =="
    "$build_dir/sim/sluice-sim" --seed "$seed" --nodes 5 --faults all --duration 20s
    echo
    echo "== A swarm of 200 seeds, each drawing its own cluster and fault rates =="
    "$build_dir/sim/sluice-sim" --seeds "$seed..$((seed + 199))" | grep -v '^\['  
    echo
    echo "== The broker: all five messaging patterns under faults, one seed =="
    "$build_dir/sim/sluice-sim" --protocol broker --seed "$seed"
    cat <<MSG

Try next:
  $build_dir/sim/sluice-sim --help
  $build_dir/sim/sluice-sim --seeds 1..200 --faults process --protocol naive   # the simulator catching a bug
  $build_dir/sim/sluice-sim --seed $seed --trace /tmp/trace.jsonl               # every event of one run
MSG
    ;;
  test)
    build "$build_dir"
    ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
    ;;
  swarm)
    build "$build_dir"
    "$build_dir/sim/sluice-sim" --seeds "${2:-1..10000}"
    ;;
  swarm-broker)
    build "$build_dir"
    "$build_dir/sim/sluice-sim" --protocol broker --seeds "${2:-1..10000}"
    ;;
  asan)
    build build-asan -DSLUICE_SANITIZE=ON -DSLUICE_BUILD_BENCH=OFF
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L unit
    ;;
  bench)
    build "$build_dir"
    "$build_dir/bench/sim_bench"
    ;;
  bench-e2e)
    tools/install-deps.sh
    SLUICE_BUILD_DIR="$build_dir" tools/bench-cluster.sh "${@:2}"
    ;;
  fuzz)
    tools/fuzz.sh "${@:2}"
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    [ -z "$cmd" ] || { echo "unknown command: $cmd" >&2; exit 2; }
    exit 2
    ;;
esac
