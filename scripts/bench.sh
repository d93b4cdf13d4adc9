#!/usr/bin/env bash
# Side-by-side benchmark of iohub (bolt store, memory store) and the Node.js socket.io peer in
# bench/node-peer, driven by bench/cmd/iohub-load. Each run starts a fresh server pinned to CPU 0
# (taskset -c 0) and the load tool on CPU 1; servers are interleaved within each repetition.
# Prints markdown tables (median, min–max, ratio to Node) on stdout.
#
# Environment:
#   REPS=3            repetitions per case and server (QUICK: 1)
#   QUICK=1           small cases, short runs (~2 min)
#   SERVERS="iohub-bolt iohub-memory node"   servers to run
#   CASES=REGEX       run only the cases whose name matches (e.g. CASES='fanout 1x1000')
#   OUT=FILE          also write the tables to FILE
#   RESULTS=FILE      keep the raw JSON lines of every run in FILE
#   BUDGET=1200       seconds; runs that would start later are skipped (and reported)
#   NICE=-10          niceness of server and load (root only), so that other work on the
#                     machine does not take their cores; NICE=0 to leave it
#   PROFILE=DIR       save a 5 s CPU profile of iohub-bolt during "fanout 1x1000 closed" (pprof
#                     if the server serves /debug/pprof, else perf) and its top entries
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-}
QUICK=${QUICK:-0}
SERVERS=${SERVERS:-"iohub-bolt iohub-memory node"}
CASES=${CASES:-.}
OUT=${OUT:-}
BUDGET=${BUDGET:-1200}
PROFILE=${PROFILE:-}
NICE=${NICE:--10}
[ "$(id -u)" -eq 0 ] || NICE=0
SECRET="bench-secret-$$"
# iohub's default per-user limit (20/s, burst 40) would throttle the senders; Node has none.
IOHUB_LIMITS=(--limits.messages_per_second 1000000 --limits.message_burst 1000000)

WORK=$(mktemp -d)
RESULTS=${RESULTS:-$WORK/results.jsonl}
SERVER_PID=""

cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

# Each case: "name|scenario and flags". Sizes follow issue 3; QUICK=1 shrinks them.
if [ "$QUICK" = 1 ]; then
  REPS=${REPS:-1}
  D=(--warmup 500ms --duration 2s --drain 2s)
  CASE_LIST=(
    "fanout 1x200 closed|fanout --rooms 1 --members 200 ${D[*]}"
    "fanout 20x10 closed|fanout --rooms 20 --members 10 ${D[*]}"
    "fanout 1x200 @10/s|fanout --rooms 1 --members 200 --rate 10 ${D[*]}"
    "fanout 5x20 closed polling|fanout --rooms 5 --members 20 --transport polling ${D[*]}"
    "conns 1000|conns --conns 1000 --settle 1s"
    "acks K=20|acks --senders 20 --warmup 500ms --duration 2s"
    "join-storm N=100|join-storm --users 100 --tail 1100ms"
  )
else
  REPS=${REPS:-3}
  D=(--warmup 1s --duration 4s --drain 3s)
  CASE_LIST=(
    "fanout 1x1000 closed|fanout --rooms 1 --members 1000 ${D[*]}"
    "fanout 10x100 closed|fanout --rooms 10 --members 100 ${D[*]}"
    "fanout 100x10 closed|fanout --rooms 100 --members 10 ${D[*]}"
    "fanout 1x1000 closed, 8 in flight|fanout --rooms 1 --members 1000 --inflight 8 ${D[*]}"
    "fanout 10x100 closed, 80 in flight|fanout --rooms 10 --members 100 --inflight 80 ${D[*]}"
    "fanout 100x10 closed, 800 in flight|fanout --rooms 100 --members 10 --inflight 800 ${D[*]}"
    "fanout 1x1000 @10/s|fanout --rooms 1 --members 1000 --rate 10 ${D[*]}"
    "fanout 100x10 @500/s|fanout --rooms 100 --members 10 --rate 500 ${D[*]}"
    "fanout 10x100 closed polling|fanout --rooms 10 --members 100 --transport polling --warmup 1s --duration 3s"
    "conns 10000|conns --conns 10000 --settle 2s"
    "acks K=50|acks --senders 50 ${D[*]:0:4}"
    "join-storm N=500|join-storm --users 500 --tail 1500ms"
  )
fi

raise_fd_limit() {
  local hard
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt 12000 ]; then
    log "ulimit -Hn is $hard; the 10k-connection case needs ~10100 descriptors per process"
  fi
  ulimit -n "$hard"
}

build() {
  log "npm install (bench/node-peer)"
  (cd bench/node-peer && npm ci --no-audit --no-fund --silent)
  log "go build bin/iohub bin/iohub-load"
  mkdir -p bin
  BUILD_REV=$(git describe --always --dirty 2>/dev/null || echo '?')
  go build -o bin/iohub ./cmd/iohub
  go build -o bin/iohub-load ./bench/cmd/iohub-load
}

# start_server LABEL: starts the server pinned to CPU 0; sets SERVER_PID and SERVER_URL.
start_server() {
  local label=$1 logf="$WORK/server.log"
  PPROF_URL=""
  : >"$logf"
  case $label in
    iohub-bolt | iohub-memory)
      local driver=${label#iohub-} data="$WORK/data"
      rm -rf "$data"
      nice -n "$NICE" taskset -c 0 bin/iohub serve --listen 127.0.0.1:0 --auth.jwt.secret "$SECRET" \
        --store.driver "$driver" --store.path "$data" "${IOHUB_LIMITS[@]}" \
        ${PROFILE:+--debug.pprof_listen 127.0.0.1:0} 2>"$logf" &
      ;;
    node)
      nice -n "$NICE" taskset -c 0 node bench/node-peer/server.js --listen 127.0.0.1:0 --secret "$SECRET" 2>"$logf" &
      ;;
    *) log "unknown server $label"; return 1 ;;
  esac
  SERVER_PID=$!
  local addr="" i
  for i in $(seq 150); do
    addr=$(grep -m1 -o '"msg":"listening".*"addr":"[^"]*"' "$logf" | sed 's/.*"addr":"\([^"]*\)"/\1/' || true)
    [ -n "$addr" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    log "$label did not start:"; tail -5 "$logf" >&2
    stop_server
    return 1
  fi
  SERVER_URL="http://$addr"
  PPROF_URL=$(grep -m1 -o '"pprof":"[^"]*"' "$logf" | sed 's/"pprof":"\([^"]*\)"/http:\/\/\1/' || true)
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local i
  for i in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# profile_server SECONDS DIR: saves a CPU profile of the running server: pprof when the server
# serves /debug/pprof (iohub with PROFILE set), else `perf record` with its top entries in
# DIR/perf-top.txt.
profile_server() {
  if [ -n "$PPROF_URL" ] && curl -fsS -o "$2/iohub-fanout-1x1000.pprof" "$PPROF_URL/debug/pprof/profile?seconds=$1" 2>/dev/null; then
    go tool pprof -top -nodecount=40 bin/iohub "$2/iohub-fanout-1x1000.pprof" >"$2/pprof-top.txt" 2>&1 || true
    return
  fi
  rm -f "$2/iohub-fanout-1x1000.pprof"
  command -v perf >/dev/null || return 0
  perf record -q -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$2/perf.data" -- sleep "$1" >/dev/null 2>&1 || return 0
  perf report -q -i "$2/perf.data" --no-children --stdio --sort symbol -g none 2>/dev/null |
    sed "s/ *- *- *$//" | head -60 >"$2/perf-top.txt" || true
}

# run_case NAME ARGS LABEL: one run; its JSON line goes to RESULTS.
run_case() {
  local name=$1 args=$2 label=$3 out="$WORK/run.out" prof_pid=""
  start_server "$label" || { FAILED+=("$name [$label]: server did not start"); return; }
  if [ -n "$PROFILE" ] && [ "$label" = iohub-bolt ] && [ "$name" = "fanout 1x1000 closed" ]; then
    mkdir -p "$PROFILE"
    (sleep 4; profile_server 5 "$PROFILE") &
    prof_pid=$!
  fi
  # shellcheck disable=SC2086 # args is a word list by design
  if nice -n "$NICE" taskset -c 1 bin/iohub-load $args --url "$SERVER_URL" --secret "$SECRET" \
    --server-pid "$SERVER_PID" --label "$label" --limit 180s >"$out" 2>"$WORK/run.err"; then
    grep '^{' "$out" >>"$RESULTS" || true
    grep -v '^{' "$out" >&2 || true
  else
    FAILED+=("$name [$label]: $(tail -1 "$WORK/run.err")")
    log "FAILED $name [$label]: $(tail -1 "$WORK/run.err")"
    kill -0 "$SERVER_PID" 2>/dev/null || log "server exited; last log lines:$(echo; tail -20 "$WORK/server.log")"
  fi
  [ -z "$prof_pid" ] || wait "$prof_pid" || true
  stop_server
}

main() {
  raise_fd_limit
  build
  FAILED=()
  SKIPPED=0
  : >"$RESULTS"
  local start=$SECONDS entry name args rep label
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  for entry in "${CASE_LIST[@]}"; do
    name=${entry%%|*} args=${entry#*|}
    [[ $name =~ $CASES ]] || continue
    for rep in $(seq "$REPS"); do
      for label in $SERVERS; do
        if [ $((SECONDS - start)) -ge "$BUDGET" ]; then
          SKIPPED=$((SKIPPED + 1))
          continue
        fi
        log "$name [$label] rep $rep/$REPS ($((SECONDS - start)) s)"
        run_case "$name" "$args" "$label"
      done
    done
  done
  report "$((SECONDS - start))"
}

report() {
  local tables="$WORK/tables.md"
  {
    echo "## iohub vs Node.js socket.io — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); server on CPU 0, load on CPU 1"
    echo "- iohub $BUILD_REV (tree as built), Go $(go env GOVERSION), Node $(node --version), socket.io $(node -p "require('./bench/node-peer/node_modules/socket.io/package.json').version")"
    echo "- REPS=$REPS QUICK=$QUICK, $1 s; cells: median (min–max) of the repetitions; ratios of medians"
    echo "- load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shares the cores)"
    [ "$SKIPPED" -eq 0 ] || echo "- $SKIPPED runs skipped: BUDGET=$BUDGET s exceeded"
    for f in "${FAILED[@]}"; do echo "- failed: $f"; done
    if [ -s "$RESULTS" ]; then bin/iohub-load report --baseline node "$RESULTS"; fi
  } >"$tables"
  cat "$tables"
  [ -z "$OUT" ] || cp "$tables" "$OUT"
}

main
