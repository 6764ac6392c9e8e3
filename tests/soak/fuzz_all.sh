#!/bin/sh
# Runs every libFuzzer target (ctest label `fuzz`) for SECONDS each with clang + ASan/UBSan
# and reports executions and crashes per target. The repository corpus is read, never
# written: new inputs go to BUILD/fuzz-soak/NAME, crashes to BUILD/fuzz-soak/NAME/artifacts.
#   tests/soak/fuzz_all.sh [SECONDS] [BUILD_DIR]     (defaults 120, build/fuzz)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-120}
BUILD=${2:-$SRC/build/fuzz}
cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DOUTPOST_FUZZ=ON -DOUTPOST_BENCH=OFF >/dev/null
targets=$(ctest --test-dir "$BUILD" -N -L fuzz | sed -n 's/^ *Test *#[0-9]*: //p')
# shellcheck disable=SC2086
cmake --build "$BUILD" --target $targets -j2 >/dev/null
printf '%-24s %14s %8s %8s\n' target executions crashes corpus
total_execs=0
total_crashes=0
for t in $targets; do
  bin=$(find "$BUILD" -type f -perm -u+x -name "$t" | head -1)
  work=$BUILD/fuzz-soak/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  seed=$SRC/tests/fuzz/corpus/$t
  [ -d "$seed" ] || seed=
  log=$work/run.log
  "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" $seed >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  corpus=$(find "$work/corpus" -type f | wc -l)
  printf '%-24s %14s %8s %8s\n' "$t" "${execs:-?}" "$crashes" "$corpus"
  total_execs=$((total_execs + ${execs:-0}))
  total_crashes=$((total_crashes + crashes))
done
echo "total executions=$total_execs crashes=$total_crashes seconds_per_target=$SECS"
[ "$total_crashes" -eq 0 ]
