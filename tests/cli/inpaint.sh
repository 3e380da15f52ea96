#!/usr/bin/env bash
# nexp mask / inpaint / eval on the chairs crop and the Sintel flow.
. "$(dirname "$0")/lib.sh.inc"
C="$DATA/flow/chairs-crops/00001_flow.flo"
S="$DATA/flow/sintel-alley/flow_0002.flo"

check "mask help" 0 "$NEXP" mask --help
expect "mask help teaches the density" grep -q -- "--density" "$T/out"
check "mask writes a PNG" 0 "$NEXP" mask --like "$C" --density 0.1 --seed 3 "$T/m.png"
check "mask is reproducible" 0 "$NEXP" mask --like "$C" --density 0.1 --seed 3 -q "$T/m2.png"
expect "same seed, same file" cmp -s "$T/m.png" "$T/m2.png"
check "mask density out of range is a usage error" 2 "$NEXP" mask --like "$C" --density 1.5 "$T/x.png"
check "mask without --like is a usage error" 2 "$NEXP" mask --density 0.1 "$T/x.png"
check "mask of a missing file is a runtime error" 1 "$NEXP" mask --like "$T/none.flo" --density 0.1 "$T/x.png"

check "inpaint help" 0 "$NEXP" inpaint --help
expect "inpaint help lists the methods" grep -q "homogeneous-explicit" "$T/out"
check "inpaint homogeneous" 0 "$NEXP" inpaint --flow "$C" --mask "$T/m.png" --out "$T/d.flo" --viz "$T/d.png"
expect "inpaint wrote the flow and the picture" test -s "$T/d.flo" -a -s "$T/d.png"
check "eval json" 0 "$NEXP" eval "$T/d.flo" "$C" --mask "$T/m.png" --json
expect "json has epe, aae, fl and the splits" grep -q '"epe": .*"aae": .*"fl": .*"known": {.*"unknown": {' "$T/out"
expect "known pixels have zero error" grep -q '"known": {"epe": 0, ' "$T/out"
check "inpaint explicit with steps" 0 "$NEXP" inpaint --flow "$C" --mask "$T/m.png" --out "$T/e.flo" \
  --method homogeneous-explicit --levels 3 --steps 100,200 -q
check "inpaint eed with the reference image" 0 "$NEXP" inpaint --flow "$C" --mask "$T/m.png" \
  --image "$DATA/flow/chairs-crops/00001_img1.ppm" --method eed --scheme fsi --lambda 3 --alpha 0.25 --out "$T/g.flo"
expect "eed summary names the method" grep -q "nexp inpaint: eed," "$T/err"
check "eed without --image is a usage error" 2 "$NEXP" inpaint --flow "$C" --mask "$T/m.png" --method eed --out "$T/x.flo"
check "alpha out of range is a usage error" 2 "$NEXP" inpaint --flow "$C" --method eed --alpha 0.7 --out "$T/x.flo"
check "eed with an image of another size fails" 1 "$NEXP" inpaint --flow "$C" --mask "$T/m.png" \
  --image "$DATA/flow/sintel-alley/clean/frame_0002.png" --method eed --out "$T/x.flo"
expect "image size error is named" grep -q "reference image is 1024 x 436" "$T/err"
check "eval text" 0 "$NEXP" eval "$T/e.flo" "$C"
expect "eval prints EPE" grep -q "^EPE " "$T/out"
check "unknown method is a usage error" 2 "$NEXP" inpaint --flow "$C" --mask "$T/m.png" --out "$T/x.flo" --method magic
check "missing --out is a usage error" 2 "$NEXP" inpaint --flow "$C"
check "bad steps list is a usage error" 2 "$NEXP" inpaint --flow "$C" --out "$T/x.flo" --steps 10,abc
check "mask of another size is a runtime error" 1 "$NEXP" inpaint --flow "$S" --mask "$T/m.png" --out "$T/x.flo"
expect "size error names both sizes" grep -q "50 x 50.*1024 x 436" "$T/err"
check "a mask with density 0 can be drawn" 0 "$NEXP" mask --like "$C" --density 0 -q "$T/empty.png"
check "inpaint with an empty mask fails" 1 "$NEXP" inpaint --flow "$C" --mask "$T/empty.png" --out "$T/x.flo"
expect "empty mask error says so" grep -q "no known pixel" "$T/err"
expect "no output after a failure" test ! -e "$T/x.flo"
check "eval of different sizes fails" 1 "$NEXP" eval "$S" "$C"
finish
