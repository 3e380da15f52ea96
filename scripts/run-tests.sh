#!/usr/bin/env bash
# Installs dependencies, builds nexp and runs the whole test suite (CTest).
#   bash scripts/run-tests.sh              # Release build in build/
#   NEXP_SANITIZE=ON bash scripts/run-tests.sh   # ASan + UBSan build in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

san="${NEXP_SANITIZE:-OFF}"
if [ "$san" = ON ]; then
  dir=build-sanitize; type=RelWithDebInfo
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  dir=build; type=Release
fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DNEXP_SANITIZE="$san" -DNEXP_BUILD_TESTS=ON >/dev/null
cmake --build "$dir" -j "$(nproc)" 2>&1 | grep -E "warning|error|Error" || true
cmake --build "$dir" -j "$(nproc)" >/dev/null
cd "$dir"
ctest --output-on-failure -j 2
