#!/usr/bin/env bash
# bench/relay/run.sh - Outpost vs Postfix as a store-and-forward relay, in the same run.
#
#   smtp-source/mdsource (20 sessions) -> MTA on 127.0.0.1:MTA_PORT -> smtp-sink on SINK_PORT
#
# One command: builds outpostd in Release, then for every repetition and workload runs
#   1. calibration: the generator straight into smtp-sink (the ceiling, no MTA),
#   2. outpostd (Relay route to the sink, default durability: 250 only after a synced write),
#   3. Postfix with the shared peer script (defaults; cleanup fsyncs before 250),
# each on an empty queue, and prints median [min-max] per figure plus Outpost/Postfix ratios
# (lib/report.py). With --paced it then measures Outpost's exact accept-to-delivered latency
# at a fraction (default 1/2) of its measured end-to-end rate (lib/paced_latency.py).
#
# The shared harness (/work/shared/bench: run_relay_bench.sh, peer_postfix.sh,
# lib/relaybench.py) does the measuring and is used by path, read-only. Needs root (cgroups,
# DNS isolation), Postfix installed (apt-get install postfix; the peer script does it).
#
# usage: bench/relay/run.sh [options]
#   --reps K               repetitions (3)
#   --workloads "W..."     any of small large multi5 ("small large multi5")
#   --n-small N --n-large N --n-multi5 N   messages (20000 / 5000 / 5000)
#   --quick                reps 1, N = 2000/500/500, quiet-wait 5 s
#   --no-postfix --no-ceiling   skip those peers
#   --paced [FRACTION]     after the table, Outpost latency at FRACTION (0.5) of its small e2e rate
#   --build-dir DIR        (build/relay-bench); --no-build uses DIR as it is
#   --mta-port P --sink-port S   (12525 / 12526)
#   --concurrency C        Outpost's relay route concurrency (20, like Postfix's default limit)
#   --ingest-threads N     outpostd --ingest-threads (default: outpostd's own, 1)
#   --quiet-wait S         harness: wait up to S s for an idle machine before each run (30)
# Results: $RESULTS_DIR (default $BENCH_WORK/results/<UTC time>), summary in SUMMARY.md there.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${OUTPOST_SHARED_BENCH:-/work/shared/bench}
export BENCH_WORK=${BENCH_WORK:-/var/tmp/outpost-relay-bench}
export RESULTS_DIR=${RESULTS_DIR:-$BENCH_WORK/results/$(date -u +%Y%m%dT%H%M%SZ)}
# shellcheck source=/dev/null
source "$SHARED/lib/common.sh"  # log, die, cg_run/cg_kill/cg_remove, port helpers

REPS=3; WORKLOADS="small large multi5"; N_SMALL=20000; N_LARGE=5000; N_MULTI5=5000
POSTFIX=1; CEILING=1; PACED=""; BUILD_DIR=$ROOT/build/relay-bench; BUILD=1
MTA_PORT=12525; SINK_PORT=12526; CONCURRENCY=20; QUIET_WAIT=30; INGEST_THREADS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --n-small) N_SMALL=$2; shift 2 ;;
    --n-large) N_LARGE=$2; shift 2 ;;
    --n-multi5) N_MULTI5=$2; shift 2 ;;
    --quick) REPS=1; N_SMALL=2000; N_LARGE=500; N_MULTI5=500; QUIET_WAIT=5; shift ;;
    --no-postfix) POSTFIX=0; shift ;;
    --no-ceiling) CEILING=0; shift ;;
    --paced)
      if [[ ${2:-} =~ ^0?\.[0-9]+$ ]]; then PACED=$2; shift 2; else PACED=0.5; shift; fi ;;
    --build-dir) BUILD_DIR=$(readlink -f "$2"); shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --mta-port) MTA_PORT=$2; shift 2 ;;
    --sink-port) SINK_PORT=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --ingest-threads) INGEST_THREADS=$2; shift 2 ;;
    --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "needs root (cgroups, DNS isolation, Postfix private instance)"
export MTA_PORT SINK_PORT

# ---- build
OUTPOSTD=$BUILD_DIR/tools/outpostd/outpostd
if [ "$BUILD" = 1 ]; then
  log "building outpostd (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target outpostd -j2 >/dev/null
fi
[ -x "$OUTPOSTD" ] || die "no outpostd at $OUTPOSTD"

# ---- Outpost's config: one Relay route to the sink for every recipient, defaults otherwise
# (durability included: the listener answers 250 after the synced group-commit write).
OP=$BENCH_WORK/outpost
mkdir -p "$OP"
cat > "$OP/outpost.json" <<EOF
{
  "server": {"hostname": "mta-outpost.bench.example", "dataDir": "$OP/data"},
  "listeners": [{"name": "bench", "bind": "127.0.0.1:$MTA_PORT",
                 "relayNetworks": ["127.0.0.0/8"]}],
  "routes": [{"@type": "Relay", "name": "sink", "address": "127.0.0.1", "port": $SINK_PORT,
              "protocol": "smtp", "concurrency": $CONCURRENCY}],
  "strategy": {"route": "'sink'"}
}
EOF
"$OUTPOSTD" --help >/dev/null
# outpostd runs in a session of its own, like a daemon started by init or systemd and like
# Postfix, whose master detaches with setsid(). With autogroup scheduling (this kernel's
# default) the CPU is shared fairly between sessions, not threads: without setsid outpostd
# would share one session's share with the load generator, the sink and the harness, while
# Postfix's ~40 processes have a session of their own.
SETSID=${OUTPOST_SETSID-setsid}
OUTPOSTD_ARGS="--config '$OP/outpost.json'"
[ -n "$INGEST_THREADS" ] && OUTPOSTD_ARGS+=" --ingest-threads $INGEST_THREADS"

n_for() {
  case "$1" in small) echo "$N_SMALL" ;; large) echo "$N_LARGE" ;; multi5) echo "$N_MULTI5" ;;
    *) die "unknown workload $1" ;; esac
}
note_load() { echo "$1 $2 $3 $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS_DIR/load.txt"; }
HARNESS_EXTRA=(-- --quiet-wait "$QUIET_WAIT")

run_outpost() {  # workload rep
  note_load outpost "$1" "$2"
  "$SHARED/run_relay_bench.sh" --peer outpost --label default --workload "$1" --n "$(n_for "$1")" \
    --reps 1 --mta-port "$MTA_PORT" --sink-port "$SINK_PORT" --spool-dir "$BENCH_WORK" \
    --out "$RESULTS_DIR/outpost-$1-r$2.txt" \
    --clean-cmd "rm -rf '$OP/data'" \
    --start-cmd "exec $SETSID '$OUTPOSTD' $OUTPOSTD_ARGS 2>>'$OP/outpostd.log'" \
    "${HARNESS_EXTRA[@]}" >/dev/null || log "outpost $1 rep $2 incomplete"
}
run_postfix() {
  note_load postfix "$1" "$2"
  "$SHARED/peer_postfix.sh" bench --workload "$1" --n "$(n_for "$1")" --reps 1 \
    --mta-port "$MTA_PORT" --sink-port "$SINK_PORT" --out "$RESULTS_DIR/postfix-$1-r$2.txt" \
    "${HARNESS_EXTRA[@]}" || log "postfix $1 rep $2 incomplete"
}
run_ceiling() {
  note_load calibration "$1" "$2"
  "$SHARED/run_relay_bench.sh" --peer calibration --label direct --workload "$1" \
    --n "$(n_for "$1")" --reps 1 --mta-port "$SINK_PORT" --sink-port "$SINK_PORT" \
    --out "$RESULTS_DIR/calibration-$1-r$2.txt" "${HARNESS_EXTRA[@]}" >/dev/null \
    || log "calibration $1 rep $2 incomplete"
}

log "results in $RESULTS_DIR; outpostd log $OP/outpostd.log"
: > "$OP/outpostd.log"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "machine: $(nproc) CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, kernel $(uname -r)"
  echo "outpost: $(git -C "$ROOT" rev-parse --short HEAD) ($(git -C "$ROOT" status --porcelain \
       | grep -c . || true) uncommitted paths), $(c++ --version | head -1)"
  echo "postfix: $(postconf -d -h mail_version 2>/dev/null || echo 'not installed yet')"
  echo "rocksdb: $(pkg-config --modversion rocksdb 2>/dev/null), libevent:" \
       "$(pkg-config --modversion libevent 2>/dev/null)"
  echo "command: $0 --reps $REPS --workloads '$WORKLOADS' --n-small $N_SMALL --n-large $N_LARGE" \
       "--n-multi5 $N_MULTI5 --concurrency $CONCURRENCY --ingest-threads '${INGEST_THREADS:-default}'"
} > "$RESULTS_DIR/machine.txt"

# Peers alternate inside each repetition so slow drifts of the shared machine hit all alike.
for rep in $(seq 1 "$REPS"); do
  for w in $WORKLOADS; do
    log "rep $rep/$REPS workload $w (load $(cut -d' ' -f1 /proc/loadavg))"
    [ "$CEILING" = 1 ] && run_ceiling "$w" "$rep"
    run_outpost "$w" "$rep"
    [ "$POSTFIX" = 1 ] && run_postfix "$w" "$rep"
  done
done

if [ -n "$PACED" ]; then
  max=$("$PY" - "$RESULTS_DIR" <<'EOF'
import json, os, statistics, sys
v = [json.loads(l[5:])["e2e_msgs_per_s"] for f in os.listdir(sys.argv[1])
     if f.startswith("outpost-small-") for l in open(os.path.join(sys.argv[1], f))
     if l.startswith("JSON ") and json.loads(l[5:]).get("complete")]
print(statistics.median(v) if v else 0)
EOF
)
  rate=$("$PY" -c "print(round(float('$max') * float('$PACED')))")
  if [ "$rate" -gt 0 ]; then
    log "paced latency at $rate msg/s ($PACED x $max)"
    rm -rf "$OP/data"
    cg_run outpost-paced bash -c "exec $SETSID '$OUTPOSTD' $OUTPOSTD_ARGS 2>>'$OP/outpostd.log'" &
    wait_port_up "$MTA_PORT" || die "outpostd did not start (see $OP/outpostd.log)"
    note_load outpost-paced small 1
    "$PY" "$HERE/lib/paced_latency.py" --mta-port "$MTA_PORT" --sink-port "$SINK_PORT" \
      --rate "$rate" --n "$(( rate * 20 < 20000 ? rate * 20 : 20000 ))" \
      --out "$RESULTS_DIR/paced.txt" >/dev/null || log "paced run incomplete"
    cg_kill outpost-paced
    cg_remove outpost-paced
  else
    log "no complete Outpost small run: skipping --paced"
  fi
fi

"$PY" "$HERE/lib/report.py" "$RESULTS_DIR" | tee "$RESULTS_DIR/SUMMARY.md"
cat "$RESULTS_DIR/machine.txt"
