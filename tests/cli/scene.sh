# nexp scene: files, reproducibility, usage errors.
. "$(dirname "$0")/lib.sh.inc"
check "scene help" 0 "$NEXP" scene --help
expect "help teaches an example" grep -q "Example" "$T/out"
check "scene renders" 0 "$NEXP" scene --seed 7 --width 64 --height 48 --out-dir "$T/a"
for f in frame1.png frame2.png flow.flo occlusions.png; do
  expect "scene wrote $f" test -s "$T/a/$f"
done
check "scene info reads the flow" 0 "$NEXP" info "$T/a/flow.flo"
expect "the flow is 64 x 48" grep -q "64" "$T/out"
check "same seed again" 0 "$NEXP" scene --seed 7 --width 64 --height 48 --out-dir "$T/b"
expect "same seed gives the same flow" cmp -s "$T/a/flow.flo" "$T/b/flow.flo"
expect "same seed gives the same frame" cmp -s "$T/a/frame2.png" "$T/b/frame2.png"
check "another seed" 0 "$NEXP" scene --seed 8 --width 64 --height 48 --out-dir "$T/c"
expect "another seed differs" bash -c "! cmp -s '$T/a/flow.flo' '$T/c/flow.flo'"
check "scene with thin bars" 0 "$NEXP" scene --seed 7 --width 64 --height 48 --thin 1 --out-dir "$T/thin"
expect "thin bars change the scene" bash -c "! cmp -s '$T/a/flow.flo' '$T/thin/flow.flo'"
check "--thin above 1 is a usage error" 2 "$NEXP" scene --seed 7 --thin 1.5 --out-dir "$T/thin2"
mkdir -p "$T/photos"
cp "$T/a/frame1.png" "$T/photos/one.png"
check "scene with photo textures" 0 "$NEXP" scene --seed 7 --width 64 --height 48 --photos "$T/photos" --out-dir "$T/p"
expect "photo scenes differ from procedural ones" sh -c "! cmp -s '$T/a/frame1.png' '$T/p/frame1.png'"
check "photos above --max-memory are refused" 1 "$NEXP" scene --seed 7 --photos "$T/photos" --max-memory 16K \
  --out-dir "$T/m"
expect "the error names the photo and the limit" grep -q "one.png: .*above the memory limit" "$T/err"
check "a photo folder without photos" 1 "$NEXP" scene --seed 7 --photos "$T/a/flow.flo" --out-dir "$T/q"
expect "nothing is created" test ! -e "$T/q"
expect "the error names the folder" grep -q "photos:$T/a/flow.flo: cannot open the photo folder" "$T/err"
check "seed is required" 2 "$NEXP" scene --out-dir "$T/d"
check "out-dir is required" 2 "$NEXP" scene --seed 1
check "width must be a number" 2 "$NEXP" scene --seed 1 --width abc --out-dir "$T/d"
check "deformation is bounded" 2 "$NEXP" scene --seed 1 --deformation 0.9 --out-dir "$T/d"
check "unwritable folder" 1 "$NEXP" scene --seed 1 --out-dir /proc/nexp-no-such/dir
finish
