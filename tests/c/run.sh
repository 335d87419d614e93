#!/usr/bin/env bash
# Build and run the C core's tests: bash tests/c/run.sh [--sanitize] [build-dir]
# --sanitize: AddressSanitizer + UndefinedBehaviorSanitizer (any report fails).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sanitize=OFF
if [ "${1:-}" = "--sanitize" ]; then sanitize=ON; shift; fi
build="${1:-$here/../../build/ctests-$sanitize}"
cmake -S "$here" -B "$build" -DFG_SANITIZE=$sanitize -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j 2 >/dev/null
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$build" --output-on-failure
