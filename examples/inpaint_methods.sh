#!/usr/bin/env bash
# Flow inpainting, method by method: keep 5 % of the flow vectors of a scene and fill in the rest.
#
#   homogeneous:  Laplace equation  Delta u = 0 off the known pixels, u = data on them
#   eed:          div(D(grad f) grad u) = 0, D from the reference image f (edge-enhancing)
#   eed-flow:     div(D(grad u) grad u) = 0, D from the flow itself (classic EED inpainting)
#
#   examples/inpaint_methods.sh [NEXP] [DENSITY]      # default: build/nexp, 0.05
#
# The scene is the built-in synthetic one (`nexp scene`, exact flow) when the program has it,
# otherwise the FlyingChairs crop from ../shared/data. Prints EPE (px) per method.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
NEXP="${1:-$here/../build/nexp}"
DENSITY="${2:-0.05}"
DATA="${NEXP_SHARED_DATA:-$here/../../shared/data}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if "$NEXP" scene --help >/dev/null 2>&1; then
  "$NEXP" scene --seed 7 --width 320 --height 240 --out-dir "$work/scene"
  flow="$work/scene/flow.flo"; image="$work/scene/frame1.png"; what="synthetic scene (seed 7)"
else
  flow="$DATA/flow/chairs-crops/0000000-flow_01.flo"; image="$DATA/flow/chairs-crops/0000000-img_0.png"
  what="FlyingChairs crop (nexp scene not available)"
fi

"$NEXP" mask --like "$flow" --density "$DENSITY" --seed 1 -q "$work/mask.png"
echo "$what, $(awk "BEGIN { print 100 * $DENSITY }") % of the vectors known"
printf '%-22s %10s %10s\n' method EPE "EPE holes"
for method in homogeneous homogeneous-explicit eed eed-flow; do
  "$NEXP" inpaint --flow "$flow" --mask "$work/mask.png" --image "$image" --method "$method" \
    --out "$work/$method.flo" -q
  "$NEXP" eval "$work/$method.flo" "$flow" --mask "$work/mask.png" |
    awk -v m="$method" '/^EPE/ { all = $2 } /unknown/ { holes = $3 } END { printf "%-22s %10s %10s\n", m, all, holes }'
done
