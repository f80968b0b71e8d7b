#!/usr/bin/env bash
# The end-to-end benchmark (bench/README.md, "End to end"): builds sluiced
# and sluice-bench and, for each pattern and window, starts a FRESH 3-node
# cluster on this machine (tools/cluster.sh, with its data under
# $build_dir/bench-cluster, so a cluster of yours in .cluster/ keeps its
# data; the ports are the same, so stop yours first), runs sluice-bench,
# and stops and deletes the cluster; then prints a table. A fresh cluster
# per run, so that no run pays for what an earlier one left in the state.
#
#   tools/bench-cluster.sh [-n N] [--size S] [--inflight "1 256"] [--patterns "store queue"] [--no-build]
#
# Defaults: N = 200000, S = 1024. Each run's JSON report is kept in
# $build_dir/bench-e2e-<time>.jsonl. $SLUICE_BUILD_DIR picks the build
# directory (default build/). Exit non-zero if any run failed its checks.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${SLUICE_BUILD_DIR:-build}
n=200000
size=1024
windows="1 256"
patterns="store queue"
do_build=1
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --inflight) windows=$2; shift 2 ;;
    --patterns) patterns=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-cluster: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ "$do_build" = 1 ]; then
  if [ ! -f "$build_dir/build.ninja" ]; then
    tools/install-deps.sh
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  cmake --build "$build_dir" --target sluiced sluice-bench
fi
bench="$build_dir/bench/sluice-bench"
[ -x "$bench" ] || { echo "bench-cluster: $bench is missing (build it, or drop --no-build)" >&2; exit 1; }

export SLUICE_BUILD_DIR="$build_dir"
export SLUICE_CLUSTER_DIR="$build_dir/bench-cluster"
stop_cluster() {
  tools/cluster.sh stop >/dev/null || true
  rm -rf "$SLUICE_CLUSTER_DIR"
}
trap stop_cluster EXIT

results="$build_dir/bench-e2e-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
# Each node's WAL fsyncs so far (count and seconds, from /metrics), to say
# per run how many fsyncs a message cost and how long they took.
fsyncs() {
  python3 - <<'PY'
import json, urllib.request
out = {}
for node, port in ((1, 8080), (2, 8081), (3, 8082)):
    m = {}
    try:
        for line in urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode().splitlines():
            name, _, value = line.partition(" ")
            if name in ("sluice_storage_fsync_seconds_count", "sluice_storage_fsync_seconds_sum", "sluice_raft_is_leader"):
                m[name.split("_")[-1]] = float(value)
    except OSError:
        pass
    out[node] = m
print(json.dumps(out))
PY
}
failed=0
for pattern in $patterns; do
  for w in $windows; do
    stop_cluster
    tools/cluster.sh start >/dev/null
    echo "== $bench --pattern $pattern -n $n --size $size --inflight $w  ($(date -u +%H:%M:%S) UTC, fresh cluster)"
    before=$(fsyncs)
    if ! "$bench" --pattern "$pattern" -n "$n" --size "$size" --inflight "$w" -o json >>"$results"; then
      failed=1
      echo "   FAILED (report in $results)"
    fi
    after=$(fsyncs)
    # Leaders elected after the first (which the start waited for), with the
    # commit index each saw: a stalled leader shows here.
    elected=$(grep -h 'event=raft.leader .* role=leader ' "$SLUICE_CLUSTER_DIR"/node-*/sluiced.log | sort |
      sed -n '2,$s/.* commit=\([0-9]*\).*/\1/p' | tr '\n' ' ')
    echo "   leader changes: $(echo "$elected" | wc -w) (at commit indexes: ${elected:-none})"
    python3 -c '
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for node in sorted(after):
    a, b = after[node], before.get(node, {})
    if "count" not in a or "count" not in b:
        continue
    n = a["count"] - b["count"]
    mean = (a["sum"] - b["sum"]) / n * 1000 if n else 0
    role = "leader" if a.get("leader") == 1 else "follower"
    print(f"   node {node} ({role}): {n:.0f} fsyncs, mean {mean:.2f} ms")
' "$before" "$after" || true
    tail -n 1 "$results" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
for p in r["phases"]:
    lat = ", ".join("%s p50 %.2f ms" % (k, v["p50"] / 1000) for k, v in p["latency_us"].items())
    print("   %s: %.0f msgs/s, %s, %d errors" % (p["phase"], p["msgs_per_s"], lat, p["errors"]))
print("   node", r["target"]["node"], r["target"]["role"], "- check", "ok" if r["check"]["ok"] else "FAILED")
' || true
  done
done

echo
echo "$n messages of $size bytes; latencies in ms from a request's send to its ok reply; node = the one written to"
python3 - "$results" <<'PY'
import json, sys
rows = [("pattern", "W", "phase", "msgs/s", "MB/s", "p50", "p99", "p999", "max", "errors", "retries", "seconds", "check")]
for line in open(sys.argv[1]):
    r = json.loads(line)
    for p in r["phases"]:
        for kind, l in p["latency_us"].items():
            phase = p["phase"] if len(p["latency_us"]) == 1 else f'{p["phase"]} ({kind})'
            rows.append((r["pattern"], str(r["inflight"]), phase, f'{p["msgs_per_s"]:,.0f}', f'{p["mb_per_s"]:.2f}',
                         *(f'{l[q] / 1000:.2f}' for q in ("p50", "p99", "p999", "max")),
                         str(p["errors"]), str(p["retries"]), f'{p["elapsed_s"]:.1f}',
                         "ok" if r["check"]["ok"] else "FAILED"))
widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(cell.rjust(w) if i >= 3 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))
PY
echo "reports: $results"
exit "$failed"
