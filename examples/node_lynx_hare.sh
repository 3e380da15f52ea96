#!/usr/bin/env bash
# Universal differential equation for the Hudson Bay lynx-hare pelt counts (1900-1920):
#
#   d(hare)/dt = a hare - b hare lynx + NN_1,   d(lynx)/dt = -c lynx + d hare lynx + NN_2
#
# Lotka-Volterra with trainable (a, b, c, d) plus a small network (2 -> 16 tanh -> 2) for what the
# textbook model misses; the network's output layer starts at zero, so training starts from pure
# Lotka-Volterra. Gradients by the CVODES adjoint. Then a forecast to 1930 and plots.
#
#   bash examples/node_lynx_hare.sh build/nexp lh-out
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: node_lynx_hare.sh NEXP_BINARY OUTDIR" >&2
  exit 2
fi
NEXP="$1"
OUT="$2"
DATA="$(dirname "$0")/data/lynx_hare.csv"
mkdir -p "$OUT"
"$NEXP" node fit --data "$DATA" --time year --states hare,lynx --physics lotka-volterra \
  --hidden 16 --iters 1500 --lr 0.005 --gradient adjoint --rtol 1e-7 --atol 1e-7 \
  --ckpt "$OUT/lynx_hare.h5" --plot "$OUT/lynx_hare_fit.png"
"$NEXP" node predict --ckpt "$OUT/lynx_hare.h5" --t0 1900 --t1 1930 --n 301 \
  --out "$OUT/lynx_hare_forecast.csv" --plot "$OUT/lynx_hare_forecast.png"
echo "wrote $OUT/lynx_hare_fit.png, $OUT/lynx_hare_forecast.csv and .png"
