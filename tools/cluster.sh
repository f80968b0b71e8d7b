#!/usr/bin/env bash
# A 3-node Sluice cluster on this machine, on loopback, with data and logs
# under ./.cluster/ (kept across stop and start; `clean` removes them).
#
#   tools/cluster.sh start    start the three nodes, wait for a leader, print how to use it
#   tools/cluster.sh stop     SIGTERM each node (it hands over leadership and drains), wait
#   tools/cluster.sh status   which nodes run, who leads, where they listen
#   tools/cluster.sh clean    stop, then delete ./.cluster/
#
# Node i (1..3) listens on 127.0.0.1: clients 50000+10(i-1), peers 50001+10(i-1),
# HTTP 8080+(i-1). The binary is $SLUICE_BUILD_DIR/net/server/sluiced
# (default build/); tools/dev.sh run builds it and calls `start`.
# $SLUICE_CLUSTER_DIR moves the data and logs elsewhere (default .cluster;
# tools/bench-cluster.sh uses its own, so a benchmark leaves yours alone).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${SLUICE_BUILD_DIR:-build}
bin="$build_dir/net/server/sluiced"
root=${SLUICE_CLUSTER_DIR:-.cluster}
nodes=(1 2 3)
start_bound_s=${SLUICE_CLUSTER_START_TIMEOUT:-30}
stop_bound_s=30

client_port() { echo $((50000 + 10 * ($1 - 1))); }
peer_port() { echo $((50001 + 10 * ($1 - 1))); }
http_port() { echo $((8080 + $1 - 1)); }
node_dir() { echo "$root/node-$1"; }
log_file() { echo "$(node_dir "$1")/sluiced.log"; }
pid_of() {  # prints the pid if node $1 runs
  local f
  f="$(node_dir "$1")/pid"
  [ -f "$f" ] || return 1
  local pid
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}
peers() {
  local list="" i
  for i in "${nodes[@]}"; do list+="${list:+,}$i=127.0.0.1:$(peer_port "$i")"; done
  echo "$list"
}
port_busy() {  # true if something listens on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The leader node $1 last logged (0: none yet), from its raft.leader lines.
logged_leader() {
  local line
  line=$(grep -E 'event=raft\.leader ' "$(log_file "$1")" 2>/dev/null | tail -n 1) || true
  if [[ $line =~ \ leader=([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}
logged_role() {
  local line
  line=$(grep -E 'event=raft\.leader ' "$(log_file "$1")" 2>/dev/null | tail -n 1) || true
  if [[ $line =~ \ role=([a-z_]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo "-"; fi
}
# 0 if /readyz answers 200, 1 if it answers otherwise, 2 if nothing listens.
readyz() {
  command -v curl >/dev/null 2>&1 || return 2
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$(http_port "$1")/readyz" || true)
  case "$code" in
    200) return 0 ;;
    000) return 2 ;;
    *) return 1 ;;
  esac
}

# A leader every node agrees on; with the HTTP port up, every node ready.
cluster_ready() {
  local i leader="" l r
  for i in "${nodes[@]}"; do
    l=$(logged_leader "$i")
    [ "$l" != 0 ] || return 1
    [ -z "$leader" ] || [ "$leader" = "$l" ] || return 1
    leader=$l
  done
  [ "$(logged_role "$leader")" = leader ] || return 1
  for i in "${nodes[@]}"; do
    readyz "$i" && r=0 || r=$?
    [ "$r" != 1 ] || return 1
  done
  echo "$leader"
}

usage_text() {
  local leader=$1
  cat <<MSG

A 3-node Sluice cluster runs on 127.0.0.1 (node $leader leads; data and logs in $root/).

  node  clients  peers  HTTP
MSG
  local i
  for i in "${nodes[@]}"; do
    printf '  %-5s %-8s %-6s %s\n' "$i" "$(client_port "$i")" "$(peer_port "$i")" "$(http_port "$i")"
  done
  cat <<MSG

Try it with curl (any node takes any request; followers forward writes):
  curl -s -X POST localhost:8080/v1/queues/jobs/send -d '{"body":"hello"}'
  curl -s -X POST localhost:8081/v1/queues/jobs/receive -d '{"max":10}'
  curl -s -X POST localhost:8082/v1/store/orders -d '{"body":"order 1"}'
  curl -s localhost:8080/v1/channels
  curl -s localhost:8081/metrics | grep ^sluice_raft
  curl -s localhost:8082/readyz

Or with the sluice CLI (docs/cli.md; it defaults to these client ports:
127.0.0.1:50000, 127.0.0.1:50010, 127.0.0.1:50020):
  $build_dir/net/cli/sluice queue send jobs hello
  $build_dir/net/cli/sluice queue receive jobs --ack
  $build_dir/net/cli/sluice store sub orders --from first
  $build_dir/net/cli/sluice channels list

Logs: tail -f $root/node-1/sluiced.log     Status: tools/cluster.sh status
Stop: tools/cluster.sh stop                 (data stays; \`clean\` removes it)
MSG
}

start() {
  if [ ! -x "$bin" ]; then
    echo "cluster: $bin is missing; build first (tools/dev.sh run builds and starts the cluster)" >&2
    exit 1
  fi
  local i running=0
  for i in "${nodes[@]}"; do pid_of "$i" >/dev/null && running=$((running + 1)); done
  if [ "$running" = "${#nodes[@]}" ]; then
    echo "cluster: already running"
  else
    for i in "${nodes[@]}"; do
      pid_of "$i" >/dev/null && continue
      local p
      for p in "$(client_port "$i")" "$(peer_port "$i")" "$(http_port "$i")"; do
        if port_busy "$p"; then
          echo "cluster: port $p (node $i) is in use by another process; stop it first" >&2
          exit 1
        fi
      done
    done
    for i in "${nodes[@]}"; do
      pid_of "$i" >/dev/null && continue
      mkdir -p "$(node_dir "$i")"
      # A fresh log per start: the leader lines the wait below reads must be
      # this run's.
      [ ! -f "$(log_file "$i")" ] || mv "$(log_file "$i")" "$(log_file "$i").1"
      # setsid: the nodes outlive this shell, and a Ctrl-C here does not reach them.
      setsid "$bin" --id "$i" --peers "$(peers)" --cluster local --bind 127.0.0.1 \
        --data "$(node_dir "$i")/data" --client-port "$(client_port "$i")" \
        --peer-port "$(peer_port "$i")" --http-port "$(http_port "$i")" \
        >>"$(log_file "$i")" 2>&1 </dev/null &
      echo $! >"$(node_dir "$i")/pid"
    done
    echo "cluster: started nodes ${nodes[*]}; waiting for a leader (up to ${start_bound_s}s)"
  fi
  local deadline=$((SECONDS + start_bound_s)) leader=""
  while [ $SECONDS -lt $deadline ]; do
    for i in "${nodes[@]}"; do
      if ! pid_of "$i" >/dev/null; then
        echo "cluster: node $i exited; the end of its log ($(log_file "$i")):" >&2
        tail -n 20 "$(log_file "$i")" >&2 || true
        exit 1
      fi
    done
    if leader=$(cluster_ready); then
      usage_text "$leader"
      return 0
    fi
    sleep 0.2
  done
  echo "cluster: no leader within ${start_bound_s}s; see $root/node-*/sluiced.log" >&2
  exit 1
}

stop() {
  local i pid stopped=0
  for i in "${nodes[@]}"; do
    if pid=$(pid_of "$i"); then
      kill -TERM "$pid"
      stopped=$((stopped + 1))
    fi
  done
  local deadline=$((SECONDS + stop_bound_s))
  for i in "${nodes[@]}"; do
    while pid=$(pid_of "$i"); do
      if [ $SECONDS -ge $deadline ]; then
        echo "cluster: node $i (pid $pid) did not stop within ${stop_bound_s}s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
    rm -f "$(node_dir "$i")/pid"
  done
  if [ "$stopped" = 0 ]; then
    echo "cluster: not running"
  else
    echo "cluster: stopped $stopped node(s); data kept in $root/"
  fi
}

status() {
  local i pid any=0
  printf '%-5s %-8s %-8s %-10s %-8s %-6s %s\n' node state pid role clients peers http
  for i in "${nodes[@]}"; do
    if pid=$(pid_of "$i"); then
      any=1
      printf '%-5s %-8s %-8s %-10s %-8s %-6s %s\n' "$i" running "$pid" "$(logged_role "$i")" \
        "$(client_port "$i")" "$(peer_port "$i")" "$(http_port "$i")"
    else
      printf '%-5s %-8s %-8s %-10s %-8s %-6s %s\n' "$i" stopped - - "$(client_port "$i")" "$(peer_port "$i")" \
        "$(http_port "$i")"
    fi
  done
  [ "$any" = 1 ]
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  clean)
    stop
    rm -rf "$root"
    echo "cluster: removed $root/"
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    [ -z "${1:-}" ] || { echo "unknown command: $1" >&2; exit 2; }
    exit 2
    ;;
esac
