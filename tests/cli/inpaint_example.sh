#!/usr/bin/env bash
# examples/inpaint_methods.sh runs and prints one EPE line per method.
. "$(dirname "$0")/lib.sh.inc"
check "example runs" 0 bash "$NEXP_SOURCE_DIR/examples/inpaint_methods.sh" "$NEXP" 0.05
for m in homogeneous homogeneous-explicit eed eed-flow; do
  expect "example prints $m" grep -Eq "^$m +[0-9.]+ +[0-9.]+$" "$T/out"
done
finish
