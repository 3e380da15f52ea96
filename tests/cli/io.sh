#!/usr/bin/env bash
# nexp info / convert / flowviz: exit codes, --json, round trips, malformed files.
. "$(dirname "$0")/lib.sh.inc"
# Under the sanitizers a memory error must not pass for the expected runtime error (exit 1).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
SINTEL="$DATA/flow/sintel-alley/flow_0002.flo"
FRAME="$DATA/flow/sintel-alley/clean/frame_0002.png"
PPM="$DATA/flow/chairs-crops/00001_img1.ppm"

# stderr is exactly one line "nexp CMD: ..." naming the file
one_line_naming() {
  [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^nexp $1: .*$2" "$T/err"
}
# a JSON check on $T/out with python3: the expression sees the parsed object as j
json_ok() {
  python3 -c "import json,sys; j=json.load(open('$T/out')); sys.exit(0 if ($1) else 1)"
}

check "--version exits 0" 0 "$NEXP" --version
expect "its first line is the version" grep -qE "^nexp [0-9]+\.[0-9]+\.[0-9]+$" "$T/out"
expect "then the CPU path of the hot loops" grep -qE "^hot loops: (x86-64|one version).*, [0-9]+ threads$" "$T/out"

for cmd in info convert flowviz; do
  check "$cmd --help exits 0" 0 "$NEXP" "$cmd" --help
  expect "$cmd --help shows usage and an example" grep -q "Example" "$T/out"
done

check "info --json on Sintel flow" 0 "$NEXP" info "$SINTEL" --json
expect "info --json prints one JSON object with the documented facts" json_ok \
  "j['format']=='flo' and j['width']==1024 and j['height']==436 and j['channels']==2 and abs(j['max_flow']-10.65)<0.01 and abs(j['mean_flow']-2.98)<0.01 and j['unknown']==0 and len(j['stats'])==2"
expect "info --json is a single line" test "$(wc -l <"$T/out")" -eq 1
check "info text on an image" 0 "$NEXP" info "$PPM"
expect "info text names format and size" grep -q "50 x 50, 3 channels" "$T/out"
check "info --json on an image has no flow keys" 0 "$NEXP" info "$FRAME" --json
expect "image JSON has channels 3 and no max_flow" json_ok "j['channels']==3 and 'max_flow' not in j and j['bit_depth']==8"

check "info without a file is a usage error" 2 "$NEXP" info
check "info with an unknown option is a usage error" 2 "$NEXP" info "$SINTEL" --bogus
check "info with two files is a usage error" 2 "$NEXP" info "$SINTEL" "$SINTEL"
check "info --format without a value is a usage error" 2 "$NEXP" info "$SINTEL" --format
check "info --format with an unknown name is a usage error" 2 "$NEXP" info --format jpeg "$SINTEL"
check "info on a missing file" 1 "$NEXP" info "$T/missing.flo"
expect "missing file: one line naming it" one_line_naming info "missing.flo"

# malformed files
head -c 1000 "$SINTEL" >"$T/trunc.flo"
check "truncated .flo" 1 "$NEXP" info "$T/trunc.flo"
expect "truncated .flo: one line with expected and found sizes" one_line_naming info "trunc.flo.*3571724 bytes, found 1000"
{ cat "$SINTEL"; printf 'xy'; } >"$T/trail.flo"
check "trailing bytes after a .flo" 1 "$NEXP" info "$T/trail.flo"
expect "trailing .flo: one line" one_line_naming info "trail.flo.*trailing"
printf 'PIEX\001\000\000\000\001\000\000\000abcdefgh' >"$T/magic.flo"
check "wrong .flo magic" 1 "$NEXP" info "$T/magic.flo"
expect "wrong magic: one line" one_line_naming info "magic.flo.*magic"
printf 'PIEH\377\377\377\177\377\377\377\177abcdefgh' >"$T/huge.flo"
check "huge .flo dimensions" 1 "$NEXP" info "$T/huge.flo"
expect "huge dims: one line" one_line_naming info "huge.flo.*exceed"
printf 'this is not a PNG file' >"$T/fake.png"
check "non-PNG bytes named .png" 1 "$NEXP" info "$T/fake.png"
expect "fake png: one line" one_line_naming info "fake.png.*not a PNG"
head -c 5000 "$FRAME" >"$T/cut.png"
check "truncated PNG" 1 "$NEXP" info "$T/cut.png"
expect "truncated png: one line" one_line_naming info "cut.png"
printf 'P5\n2 2\n300000\nabcd' >"$T/maxval.pgm"
check "PGM with maxval out of range" 1 "$NEXP" info "$T/maxval.pgm"
expect "maxval: one line" one_line_naming info "maxval.pgm.*maxval"
printf 'Pf\n2 2\n0.0\n0123456789abcdef' >"$T/scale.pfm"
check "PFM with scale 0" 1 "$NEXP" info "$T/scale.pfm"
printf 'not hdf5 at all' >"$T/fake.h5"
check "non-HDF5 bytes named .h5" 1 "$NEXP" info "$T/fake.h5"
expect "fake h5: one line" one_line_naming info "fake.h5"
check "unknown extension" 1 "$NEXP" info "$T/trunc.txt"

# convert round trips
check "convert .flo -> .h5" 0 "$NEXP" convert "$SINTEL" "$T/flow.h5"
check "convert .h5 -> .flo" 0 "$NEXP" convert "$T/flow.h5" "$T/back.flo"
expect ".flo -> .h5 -> .flo is bit-identical" cmp -s "$SINTEL" "$T/back.flo"
check "convert with a dataset name" 0 "$NEXP" convert "$SINTEL" "$T/named.h5" --dataset gt/flow
check "read the named dataset back" 0 "$NEXP" convert "$T/named.h5" "$T/named.flo" --dataset gt/flow
expect "named dataset round trip is bit-identical" cmp -s "$SINTEL" "$T/named.flo"
check "missing dataset is a runtime error" 1 "$NEXP" convert "$T/named.h5" "$T/x.flo"
check "convert .png -> .ppm" 0 "$NEXP" convert "$FRAME" "$T/frame.ppm"
check "convert .ppm -> .png" 0 "$NEXP" convert "$T/frame.ppm" "$T/frame.png"
check "convert .png -> .pfm" 0 "$NEXP" convert "$T/frame.png" "$T/frame.pfm"
check "convert .pfm -> .ppm" 0 "$NEXP" convert "$T/frame.pfm" "$T/frame2.ppm"
expect "png -> ppm -> png -> pfm -> ppm keeps every pixel" cmp -s "$T/frame.ppm" "$T/frame2.ppm"
check "convert to 16-bit PPM" 0 "$NEXP" convert "$FRAME" "$T/frame16.ppm" --bit-depth 16
check "info on the 16-bit PPM" 0 "$NEXP" info "$T/frame16.ppm" --json
expect "16-bit PPM reports bit_depth 16" json_ok "j['bit_depth']==16"
check "convert --bit-depth 12 is a usage error" 2 "$NEXP" convert "$FRAME" "$T/x.png" --bit-depth 12
check "convert to an unknown extension is a usage error" 2 "$NEXP" convert "$FRAME" "$T/x.jpg"
check "convert with one argument is a usage error" 2 "$NEXP" convert "$FRAME"
check "convert flow to PNG is refused" 1 "$NEXP" convert "$SINTEL" "$T/flow.png"
expect "flow to png: one line" one_line_naming convert "flow.png.*flowviz"
check "convert RGB to PGM is refused" 1 "$NEXP" convert "$FRAME" "$T/grey.pgm"
check "convert a truncated file" 1 "$NEXP" convert "$T/trunc.flo" "$T/never.h5"
expect "a failed convert leaves no output" test ! -e "$T/never.h5"
cp "$T/back.flo" "$T/keep.flo"
check "a failed convert onto an existing file" 1 "$NEXP" convert "$T/fake.png" "$T/keep.flo"
expect "the existing file is untouched" cmp -s "$SINTEL" "$T/keep.flo"

# flowviz
check "flowviz of Sintel flow" 0 "$NEXP" flowviz "$SINTEL" "$T/viz.png"
check "info on the visualisation" 0 "$NEXP" info "$T/viz.png" --json
expect "visualisation is a 1024 x 436 8-bit RGB PNG" json_ok \
  "j['width']==1024 and j['height']==436 and j['channels']==3 and j['bit_depth']==8"
check "flowviz with --max-flow" 0 "$NEXP" flowviz "$SINTEL" "$T/viz20.png" --max-flow 20
check "flowviz of the .h5 copy" 0 "$NEXP" flowviz "$T/flow.h5" "$T/viz_h5.png"
expect "flowviz of .flo and of its .h5 copy are identical" cmp -s "$T/viz.png" "$T/viz_h5.png"
check "flowviz --max-flow -1 is a usage error" 2 "$NEXP" flowviz "$SINTEL" "$T/v.png" --max-flow -1
check "flowviz --max-flow abc is a usage error" 2 "$NEXP" flowviz "$SINTEL" "$T/v.png" --max-flow abc
check "flowviz to a non-PNG name is a usage error" 2 "$NEXP" flowviz "$SINTEL" "$T/v.ppm"
check "flowviz of an image is a runtime error" 1 "$NEXP" flowviz "$FRAME" "$T/v.png"
expect "flowviz of an image: one line" one_line_naming flowviz "frame_0002.png.*2"
check "flowviz of a truncated file" 1 "$NEXP" flowviz "$T/trunc.flo" "$T/v.png"

expect "no temporary files are left behind" test -z "$(find "$T" -name '*.tmp.*')"
finish
