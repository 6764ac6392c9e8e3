#!/usr/bin/env bash
# One command for newcomers and CI: installs dependencies, builds, runs every test.
#   tools/dev/test.sh                 Release build in build/release, all tests
#   OUTPOST_SANITIZE=1 tools/dev/test.sh   ASan+UBSan build (clang, with fuzz targets) in build/asan
# Extra arguments go to ctest (e.g. -L unit, -R queue).
set -euo pipefail
cd "$(dirname "$0")/../.."

OUTPOST_SKIP_APT_IF_PRESENT="${OUTPOST_SKIP_APT_IF_PRESENT:-1}" tools/dev/install-deps.sh

JOBS="${OUTPOST_JOBS:-$(nproc)}"
if [[ "${OUTPOST_SANITIZE:-0}" == 1 ]]; then
  BUILD_DIR="${OUTPOST_BUILD_DIR:-build/asan}"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DOUTPOST_SANITIZE=ON -DOUTPOST_FUZZ=ON -DOUTPOST_BENCH=OFF >/dev/null
  # verify_asan_link_order=0: tests/reliability preloads a small fsync fault shim (LD_PRELOAD).
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:verify_asan_link_order=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  BUILD_DIR="${OUTPOST_BUILD_DIR:-build/release}"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest --test-dir "$BUILD_DIR" -j "$JOBS" --output-on-failure "$@"
