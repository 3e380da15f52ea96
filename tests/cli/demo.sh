#!/usr/bin/env bash
# examples/demo.sh (the README's demonstration) runs and writes what it says.
. "$(dirname "$0")/lib.sh.inc"
SRC="${NEXP_SOURCE_DIR:-$(dirname "$0")/../..}"
if [ ! -x "$(dirname "$NEXP")/examples/make_flow" ]; then
  echo "make_flow not built (NEXP_BUILD_EXAMPLES=OFF): nothing to check"
  exit 0
fi
check "demo.sh runs" 0 bash "$SRC/examples/demo.sh" "$NEXP" "$T/demo"
for f in disc.flo disc.png disc_max10.png disc.h5 disc_back.flo; do
  expect "demo wrote $f" test -s "$T/demo/$f"
done
expect "demo reports the bit-identical round trip" grep -q "bit-identical" "$T/out"
check "info on the demo's flow" 0 "$NEXP" info "$T/demo/disc.flo" --json
expect "the rim's unknown vectors are counted" python3 -c \
  "import json,sys; j=json.load(open('$T/out')); sys.exit(0 if j['unknown'] > 0 and j['width'] == 320 else 1)"
check "demo.sh without arguments is a usage error" 2 bash "$SRC/examples/demo.sh"
finish
