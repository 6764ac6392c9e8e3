#!/bin/sh
# Long crash loop (tests/reliability/crash_loop.py): SMTP injection, SIGKILL at random moments
# (accept / delivery / flush+compaction) KILLS times, an audit of the store after every kill,
# and at the end every accepted message at the sink. Prints the figures as one JSON line.
#   tests/soak/crash_loop.sh [BUILD_DIR] [KILLS] [SEED]      (root; defaults build/soak 20)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build/soak}
KILLS=${2:-20}
export OUTPOST_CRASH_SEED=${3:-$(date +%s)}
[ -f "$BUILD/CMakeCache.txt" ] ||
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUTPOST_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target outpostd outpost -j2 >/dev/null
export OUTPOSTD=$BUILD/tools/outpostd/outpostd
export OUTPOST_CLI=$BUILD/tools/outpost/outpost
export OUTPOST_CRASH_KILLS=$KILLS PYTHONDONTWRITEBYTECODE=1
cd "$SRC/tests/reliability"
echo "crash loop: $KILLS kills, seed $OUTPOST_CRASH_SEED, build $BUILD"
/usr/bin/python3 -W ignore::ResourceWarning -m unittest -v crash_test.CrashLoopShort 2>&1 |
  tee /dev/stderr | sed -n 's/.*CRASH_LOOP_SUMMARY //p' | tail -1
