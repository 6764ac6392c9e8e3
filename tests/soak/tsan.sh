#!/bin/sh
# ThreadSanitizer run of the threaded parts: the store's group-commit writer thread and
# resume logic (storage_test, storage_disk_full_test, queue_test, queue_crash_test), the
# Maildir blocking pool (transport_local_test) and the libevent dispatcher's cross-thread Post
# (common_test). Own build dir; clang with -fsanitize=thread. RocksDB and libevent are not
# instrumented: races inside them are not seen, races in our code around them are.
#   tests/soak/tsan.sh [BUILD_DIR]        (default build/tsan; TSAN_TESTS="a b" picks tests)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build/tsan}
TESTS=${TSAN_TESTS:-"storage_test storage_disk_full_test queue_test queue_crash_test transport_local_test common_test"}
cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DOUTPOST_BENCH=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" --target $TESTS -j2
regex=$(echo "$TESTS" | sed 's/ /$|^/g')
# die_after_fork=0: queue_crash_test forks its crashing child after the store's threads exist;
# TSan would kill that child ("starting new threads after multi-threaded fork") otherwise.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 ${TSAN_OPTIONS:-}"
status=0
ctest --test-dir "$BUILD" -R "^${regex}\$" --output-on-failure || status=$?
races=$(grep -l "WARNING: ThreadSanitizer" "$BUILD"/Testing/Temporary/LastTest.log 2>/dev/null | wc -l)
echo "tsan: tests=$(echo "$TESTS" | wc -w) ctest_status=$status logs_with_races=$races"
exit $status
