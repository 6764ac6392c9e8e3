#!/usr/bin/env bash
# bench/relay/backlog.sh - healthy-flow rate while a large deferred backlog waits for a down
# destination, and the drain when that destination comes back (issue 8, item 3).
#
#   1. outpostd with two Relay routes: rcpt domain down.bench.example -> 127.0.0.1:DOWN_PORT
#      (nothing listens: connection refused), everything else -> the sink (SINK_PORT).
#   2. unloaded: the shared harness relays N x 2 KiB to the sink (rate, p99, RSS).
#   3. backlog: smtp-source injects B messages x R recipients for the down domain; outpostd
#      tries once, marks the host down and defers them all (retry after --retry).
#   4. loaded: the same harness run again while the backlog waits; ratio loaded/unloaded.
#   5. come-back: smtp-sink starts on DOWN_PORT; the backlog is retried on its schedule and
#      drains. Reports the drain rate (recipients/s), connections opened to the returning
#      host (a retry storm would show as connection churn) and the peak RSS overall.
#
# usage: bench/relay/backlog.sh [--build-dir DIR] [--backlog-msgs B (10000)] [--rcpts R (100)]
#          [--n N (5000)] [--retry 90s] [--loaded-delay S (0)] [--mta-port 12525]
#          [--sink-port 12526] [--down-port 12527]
# B x R = 1,000,000 deferred recipients by default. Needs root and outpostd built in DIR.
# Pick --retry longer than the backlog takes to inject, so the 'loaded' phase measures a
# waiting backlog (with a shorter one it measures the retries too, which is harsher);
# --loaded-delay S waits S seconds after the backlog is deferred before the 'loaded' phase, to
# put it on top of the first retry wave.
# Status 2026-11-22 15:51: see docs/PERFORMANCE.md, Scale (1M recipients, quiet machine: 88 % /
# 82 % of the unloaded healthy flow on top of the retry wave with --n 20000 / 5000, 96 % with the
# backlog waiting, drain 16.8-21.2k rcpts/s, RSS <= 120 MB; on a shared machine 53-81 %: the
# 5,000-message healthy run is short and noisy, use --n 20000 for comparisons).
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${OUTPOST_SHARED_BENCH:-/work/shared/bench}
export BENCH_WORK=${BENCH_WORK:-/var/tmp/outpost-relay-bench}
export RESULTS_DIR=${RESULTS_DIR:-$BENCH_WORK/results/backlog-$(date -u +%Y%m%dT%H%M%SZ)}
# shellcheck source=/dev/null
source "$SHARED/lib/common.sh"

BUILD_DIR=$ROOT/build/relay-bench; B=10000; R=100; N=5000; RETRY=90s; LOADED_DELAY=0
MTA_PORT=12525; SINK_PORT=12526; DOWN_PORT=12527
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$(readlink -f "$2"); shift 2 ;;
    --backlog-msgs) B=$2; shift 2 ;;
    --rcpts) R=$2; shift 2 ;;
    --n) N=$2; shift 2 ;;
    --retry) RETRY=$2; shift 2 ;;
    --loaded-delay) LOADED_DELAY=$2; shift 2 ;;
    --mta-port) MTA_PORT=$2; shift 2 ;;
    --sink-port) SINK_PORT=$2; shift 2 ;;
    --down-port) DOWN_PORT=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
OUTPOSTD=$BUILD_DIR/tools/outpostd/outpostd
[ -x "$OUTPOSTD" ] || die "no outpostd at $OUTPOSTD (build it or run bench/relay/run.sh first)"
OP=$BENCH_WORK/outpost-backlog
CG=outpost-backlog
mkdir -p "$OP"
rm -rf "$OP/data"
cat > "$OP/outpost.json" <<EOF
{
  "server": {"hostname": "mta-outpost.bench.example", "dataDir": "$OP/data"},
  "listeners": [{"name": "bench", "bind": "127.0.0.1:$MTA_PORT", "relayNetworks": ["127.0.0.0/8"],
                 "maxRecipients": 1000}],
  "routes": [{"@type": "Relay", "name": "sink", "address": "127.0.0.1", "port": $SINK_PORT,
              "protocol": "smtp", "concurrency": 20},
             {"@type": "Relay", "name": "down", "address": "127.0.0.1", "port": $DOWN_PORT,
              "protocol": "smtp", "concurrency": 20}],
  "strategy": {"route": {"match": [{"if": "rcpt_domain == 'down.bench.example'", "then": "'down'"}],
                         "else": "'sink'"}},
  "schedules": [{"name": "remote", "queueId": "remote", "retry": ["$RETRY"], "notify": ["7d"],
                 "expiry": {"@type": "Ttl", "expire": "5d"}}]
}
EOF
port_listening "$DOWN_PORT" && die "port $DOWN_PORT is in use (it must be down)"

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
harness() {  # label -> appends to $RESULTS_DIR/flow.txt
  note="$1 load $(cut -d' ' -f1-3 /proc/loadavg)"; log "$note"; echo "# $note" >> "$RESULTS_DIR/flow.txt"
  "$PY" "$SHARED/lib/relaybench.py" --mta-port "$MTA_PORT" --sink-port "$SINK_PORT" --n "$N" \
    --size 2048 --rcpts 1 --sessions 20 --peer outpost --config "$1" --label "outpost-$1" \
    --mta-pids "$PID" --spool-dir "$BENCH_WORK" --quiet-wait 5 --out "$RESULTS_DIR/flow.txt" \
    | grep -E '^(e2e_msgs_per_s|inj_rate|lat_p50_ms|lat_p99_ms|mta_peak_rss_mb|complete)='
}

: > "$OP/outpostd.log"
cg_run "$CG" bash -c "exec '$OUTPOSTD' --config '$OP/outpost.json' 2>>'$OP/outpostd.log'" &
wait_port_up "$MTA_PORT" || die "outpostd did not start (see $OP/outpostd.log)"
PID=$(cg_pids "$CG" | while read -r p; do
  [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$OUTPOSTD" ] && echo "$p"; done | head -1)
[ -n "$PID" ] || PID=$(cg_pids "$CG" | tail -1)
trap 'cg_kill "$CG"; cg_remove "$CG"; [ -n "${DSINK:-}" ] && kill "$DSINK" 2>/dev/null; true' EXIT
log "outpostd pid $PID; results in $RESULTS_DIR"

harness unloaded

log "backlog: $B messages x $R recipients for down.bench.example"
t0=$(date +%s.%N)
/usr/sbin/smtp-source -s 20 -m "$B" -r "$R" -l 2048 -N -M source.bench.example \
  -f sender@source.bench.example -t rcpt@down.bench.example "127.0.0.1:$MTA_PORT" >/dev/null
t1=$(date +%s.%N)
log "backlog injected in $(echo "$t1 - $t0" | bc) s; waiting for the first attempts to defer it"
peak=0; last=-1
while :; do  # until the deferral count stops moving
  d=$(grep -c 'status=deferred' "$OP/outpostd.log" || true)
  r=$(rss_mb "$PID"); [ "$r" -gt "$peak" ] && peak=$r
  [ "$d" = "$last" ] && [ "$d" -gt 0 ] && break
  last=$d; sleep 3
done
t2=$(date +%s.%N)
log "deferred log lines: $last after $(echo "$t2 - $t0" | bc) s; RSS $(rss_mb "$PID") MB"

if [ "$LOADED_DELAY" != 0 ]; then log "waiting ${LOADED_DELAY}s (retry wave)"; sleep "$LOADED_DELAY"; fi
harness loaded
r=$(rss_mb "$PID"); [ "$r" -gt "$peak" ] && peak=$r

log "the down destination comes back on $DOWN_PORT"
mkdir -p "$OP/down-sink"
/usr/sbin/smtp-sink -c -u nobody "127.0.0.1:$DOWN_PORT" 1024 > "$OP/down-sink/counter" 2>&1 &
DSINK=$!
t3=$(date +%s.%N)
want=$B; first=""; got=0; stall=0
while [ "$got" -lt "$want" ] && [ "$stall" -lt 300 ]; do
  sleep 1
  got=$(tr '\r' '\n' < "$OP/down-sink/counter" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
  got=${got:-0}
  [ -z "$first" ] && [ "$got" -gt 0 ] && first=$(date +%s.%N)
  r=$(rss_mb "$PID"); [ "$r" -gt "$peak" ] && peak=$r
  if [ "$got" = "${prev:-}" ]; then stall=$((stall + 1)); else stall=0; fi
  prev=$got
done
t4=$(date +%s.%N)
drain_s=$(echo "$t4 - ${first:-$t4}" | bc)
{
  echo "backlog: $B messages x $R rcpts = $((B * R)) recipients; retry $RETRY"
  echo "backlog injection: $(echo "$t1 - $t0" | bc) s; deferred after $(echo "$t2 - $t0" | bc) s"
  echo "drain: $got sink transactions for $want messages (a retry storm or split messages would" \
       "show as more) in $drain_s s after the first arrival (first arrival" \
       "$(echo "${first:-$t4} - $t3" | bc) s after the sink came back);" \
       "$(echo "scale=1; $want * $R / ($drain_s + 0.001)" | bc) rcpts/s"
  echo "peak outpostd RSS: $peak MB"
} | tee "$RESULTS_DIR/backlog.txt"
"$PY" - "$RESULTS_DIR/flow.txt" <<'EOF'
import json, sys
runs = {json.loads(l[5:])["config"]: json.loads(l[5:]) for l in open(sys.argv[1]) if l.startswith("JSON ")}
u, l = runs.get("unloaded"), runs.get("loaded")
if u and l and u.get("e2e_msgs_per_s") and l.get("e2e_msgs_per_s"):
    print(f"healthy flow e2e: unloaded {u['e2e_msgs_per_s']} msg/s, with backlog {l['e2e_msgs_per_s']} msg/s"
          f" = {100 * l['e2e_msgs_per_s'] / u['e2e_msgs_per_s']:.0f}%; p99 {u.get('lat_p99_ms')} -> {l.get('lat_p99_ms')} ms")
EOF
