#!/usr/bin/env bash
# Flow inpainting of a synthetic scene, three ways, with the exact flow to score them:
#   - homogeneous diffusion (Laplace equation, div grad u = 0 away from the known pixels),
#   - edge-enhancing diffusion guided by frame 1 (div(D(grad f) grad u) = 0),
#   - the learned model: div(D_theta(f) grad u) by explicit steps, D_theta predicted per pixel and
#     pyramid level by a network trained with 'nexp train-inpaint' (data/inpaint-model.h5).
#
#   bash examples/learned_inpaint.sh build/nexp out-dir [SEED] [DENSITY] [WIDTHxHEIGHT]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: learned_inpaint.sh NEXP_BINARY OUTDIR [SEED] [DENSITY] [WIDTHxHEIGHT]" >&2
  exit 2
fi
NEXP="$1"
OUT="$2"
SEED="${3:-3}"
DENSITY="${4:-0.05}"
SIZE="${5:-320x240}"
mkdir -p "$OUT"
"$NEXP" scene --seed "$SEED" --width "${SIZE%x*}" --height "${SIZE#*x}" --out-dir "$OUT"
"$NEXP" flowviz "$OUT/flow.flo" "$OUT/flow.png"
"$NEXP" mask --like "$OUT/flow.flo" --density "$DENSITY" --seed "$SEED" -q "$OUT/mask.png"
printf "%-12s %s\n" method "EPE (px) of the inpainted flow, $DENSITY density"
for method in homogeneous eed learned; do
  extra=""
  [ "$method" = learned ] && extra="--export-tensor $OUT/tensor.h5"
  "$NEXP" inpaint --method "$method" --flow "$OUT/flow.flo" --mask "$OUT/mask.png" --image "$OUT/frame1.png" \
    --out "$OUT/$method.flo" --viz "$OUT/$method.png" -q $extra
  printf "%-12s %s\n" "$method" "$("$NEXP" eval "$OUT/$method.flo" "$OUT/flow.flo" --json |
    sed -n 's/^{"epe": \([0-9.e+-]*\),.*/\1/p')"
done
echo "wrote $OUT: frame1.png frame2.png flow.png mask.png {homogeneous,eed,learned}.png tensor.png"
