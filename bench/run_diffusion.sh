#!/bin/sh
# Diffusion benchmark: the C kernels and models (bench/diffusion.c) and the same delta step in NumPy,
# in one run. Usage: bench/run_diffusion.sh [BUILD_DIR] [SIZE]   (build with -DNEXP_BUILD_BENCH=ON)
set -eu
BUILD="${1:-build}"
N="${2:-1024}"
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
"$BUILD/bench/diffusion" "$N" | tee "$OUT"
echo
echo "| NumPy delta step (given tensor, precomputed weights) | channels | MPix/s | nexp 2 threads | speed-up |"
echo "|---|---|---|---|---|"
/usr/bin/python3 "$HERE/diffusion_numpy.py" "$N" | while read -r _ ch rate; do
  c=$(grep "^| delta step (given tensor) | $ch | 2 |" "$OUT" | awk -F'|' '{print $5}' | tr -d ' ')
  awk -v ch="$ch" -v r="$rate" -v c="$c" 'BEGIN { printf "| numpy | %s | %.1f | %.1f | %.0fx |\n", ch, r, c, c / r }'
done
