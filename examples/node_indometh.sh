#!/usr/bin/env bash
# Indometacin plasma concentrations of six subjects (Kwan et al. 1976), each its own trajectory
# with its own first observation, fitted together:
#
#   dc/dt = -ke c + sigma NN((c - mu) / sigma)       (one compartment plus a network, 1 -> 8 -> 1)
#
# The six solves of every iteration run in parallel (OpenMP); the network learns the fast early
# distribution phase that a single exponential cannot follow.
#
#   bash examples/node_indometh.sh build/nexp indometh-out [SHARED_DATA]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: node_indometh.sh NEXP_BINARY OUTDIR [SHARED_DATA]" >&2
  exit 2
fi
NEXP="$1"
OUT="$2"
SHARED="${3:-${NEXP_SHARED_DATA:-$(dirname "$0")/../../shared/data}}"
mkdir -p "$OUT"
"$NEXP" node fit --data "$SHARED/series/indometh.csv" --time time --states conc --group Subject \
  --physics pk --hidden 8 --iters 600 --lr 0.01 --ckpt "$OUT/indometh.h5" --plot "$OUT/indometh_fit.png"
echo "wrote $OUT/indometh_fit.png and the model $OUT/indometh.h5"
