#!/usr/bin/env bash
# CTest smoke test of the fuzz targets (registered only with NEXP_BUILD_FUZZ=ON):
#   smoke.sh BUILD_DIR/tests/fuzz
# makes the seed corpora and runs every target over its seeds (each must pass every check).
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/make_corpus" "$work/seeds"
export OMP_NUM_THREADS=1
export LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="allocator_may_return_null=1"
for target in "$bin"/fuzz_*; do
  name=$(basename "$target")
  seeds=$work/seeds/${name#fuzz_}
  [ -d "$seeds" ] || { echo "FAIL: no seeds for $name"; exit 1; }
  "$target" -runs=0 "$seeds" >"$work/$name.log" 2>&1 || { cat "$work/$name.log"; echo "FAIL: $name on its seeds"; exit 1; }
  echo "ok: $name ($(ls "$seeds" | wc -l) seeds)"
done
