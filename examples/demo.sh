#!/usr/bin/env bash
# A tour of what nexp does so far: a synthetic flow field (rotating disc over a translating
# background, written by examples/make_flow), its statistics, its Middlebury colour coding, and a
# round trip through HDF5 that comes back bit-identical.
#
#   bash examples/demo.sh build/nexp demo-out
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: demo.sh NEXP_BINARY OUTDIR" >&2
  exit 2
fi
NEXP="$1"
OUT="$2"
MAKE_FLOW="$(dirname "$NEXP")/examples/make_flow"
[ -x "$MAKE_FLOW" ] || MAKE_FLOW="$(dirname "$NEXP")/make_flow"
if [ ! -x "$MAKE_FLOW" ]; then
  echo "demo.sh: cannot find the make_flow example next to $NEXP (build with NEXP_BUILD_EXAMPLES=ON)" >&2
  exit 1
fi
mkdir -p "$OUT"

echo "== 1. a synthetic flow field with exact values"
"$MAKE_FLOW" "$OUT/disc.flo" 320 240

echo "== 2. nexp info --json"
"$NEXP" info "$OUT/disc.flo" --json

echo "== 3. Middlebury colour coding (zero motion white, unknown black)"
"$NEXP" flowviz "$OUT/disc.flo" "$OUT/disc.png"
"$NEXP" flowviz "$OUT/disc.flo" "$OUT/disc_max10.png" --max-flow 10

echo "== 4. .flo -> .h5 -> .flo"
"$NEXP" convert "$OUT/disc.flo" "$OUT/disc.h5"
"$NEXP" convert "$OUT/disc.h5" "$OUT/disc_back.flo"
if cmp -s "$OUT/disc.flo" "$OUT/disc_back.flo"; then
  echo "round trip through HDF5 is bit-identical"
else
  echo "demo.sh: round trip through HDF5 changed the file" >&2
  exit 1
fi
if command -v h5dump >/dev/null; then
  h5dump -H "$OUT/disc.h5" | sed -n 1,12p
fi

echo "== 5. real data, if ../shared/data is beside the checkout"
SINTEL="${NEXP_SHARED_DATA:-$(dirname "$0")/../../shared/data}/flow/sintel-alley/flow_0002.flo"
if [ -f "$SINTEL" ]; then
  "$NEXP" info "$SINTEL"
  "$NEXP" flowviz "$SINTEL" "$OUT/sintel_flow_0002.png"
fi

echo "== wrote:"
ls -l "$OUT"
