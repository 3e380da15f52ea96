#!/usr/bin/env bash
# Resource limits: --max-memory bounds what a command allocates (exit 1, one line naming the size);
# files whose headers announce absurd sizes are refused before anything is allocated.
. "$(dirname "$0")/lib.sh.inc"
SINTEL="$DATA/flow/sintel-alley/flow_0002.flo"
FRAME="$DATA/flow/sintel-alley/clean/frame_0002.png"

check "convert within --max-memory 64M" 0 "$NEXP" convert "$SINTEL" "$T/a.h5" --max-memory 64M
check "convert above --max-memory 1M is a runtime error" 1 "$NEXP" convert "$SINTEL" "$T/b.h5" --max-memory 1M
expect "names the field, its size and the limit" \
  grep -q "^nexp convert: .*a 1024 x 436 x 2 field needs 3.4 MiB, above the memory limit of 1 MiB (see --max-memory)" "$T/err"
expect "no output after a refusal" test ! -e "$T/b.h5"
check "info above --max-memory 512K" 1 "$NEXP" info "$T/a.h5" --max-memory 512K
expect "info names the limit" grep -q "above the memory limit of 512 KiB" "$T/err"
check "diffuse above --max-memory 4M" 1 "$NEXP" diffuse "$FRAME" "$T/d.png" --time 2 --max-memory 4M --quiet
expect "diffuse names the limit" grep -q "above the memory limit of 4 MiB" "$T/err"
check "inpaint above --max-memory 2M" 1 "$NEXP" inpaint --flow "$SINTEL" --out "$T/i.flo" --max-memory 2M --quiet
check "learned inpaint above --max-memory 64M" 1 "$NEXP" inpaint --flow "$SINTEL" --image "$FRAME" \
  --method learned --out "$T/l.flo" --max-memory 64M --quiet
expect "learned inpaint names its workspace and the limit" \
  grep -q "the learned model's workspace needs .* MiB.*, above the memory limit of 64 MiB" "$T/err"
expect "no output after the refusal" test ! -e "$T/l.flo"
check "flowviz above --max-memory 1M" 1 "$NEXP" flowviz "$SINTEL" "$T/v.png" --max-memory 1M
check "simulate above --max-memory 16M" 1 "$NEXP" simulate lorenz --n 10000000 --out "$T/s.csv" --max-memory 16M --quiet
expect "simulate names its outputs" grep -q "the output times and states needs 305.2 MiB, above the memory limit of 16 MiB" "$T/err"
check "model init of a 64 GiB network above --max-memory 1G" 1 "$NEXP" model init \
  --mlp "2 65536:tanh 65536:tanh 2:identity" --out "$T/m.h5" --max-memory 1G
expect "model init names the parameter count" grep -q "an MLP of 4295360514 parameters needs 64.0 GiB" "$T/err"
check "node fit of a huge network above --max-memory 256M" 1 "$NEXP" node fit \
  --data "${NEXP_SOURCE_DIR:-$(dirname "$0")/../..}/examples/data/lynx_hare.csv" --time year --states hare,lynx \
  --hidden 4096 --layers 4 --ckpt "$T/n.h5" --max-memory 256M --quiet
expect "node fit names the limit" grep -q "above the memory limit of 256 MiB" "$T/err"
check "0 means no limit" 0 "$NEXP" convert "$SINTEL" "$T/c.flo" --max-memory 0
check "sizes take binary suffixes" 0 "$NEXP" convert "$SINTEL" "$T/c.flo" --max-memory 1.5GiB
check "a malformed size is a usage error" 2 "$NEXP" convert "$SINTEL" "$T/c.flo" --max-memory lots
expect "says what a size looks like" grep -q "is not a size (e.g. 512M, 4G)" "$T/err"
check "an unknown unit is a usage error" 2 "$NEXP" convert "$SINTEL" "$T/c.flo" --max-memory 4X
check "help lists --max-memory" 0 "$NEXP" diffuse --help
expect "with its default" grep -q "default: 3/4 of physical memory" "$T/out"

# Headers announcing absurd sizes: refused with a clear error, whatever the limit.
printf 'PIEH\x00\x94\x35\x77\x00\x94\x35\x77' >"$T/huge.flo"
check "a .flo announcing 2e9 x 2e9 pixels is refused" 1 "$NEXP" info "$T/huge.flo" --max-memory 0
expect "names the pixel limit" grep -q "exceed the limit of 1073741824 pixels" "$T/err"
printf 'P5\n30000 30000\n255\nabc' >"$T/huge.pgm"
check "a PGM announcing 30000 x 30000 with 3 bytes of pixels is refused" 1 "$NEXP" info "$T/huge.pgm" --max-memory 0
printf 'PF\n30000 30000\n-1.0\nabcdefgh' >"$T/huge.pfm"
check "a PFM announcing 30000 x 30000 with 8 bytes of pixels is refused" 1 "$NEXP" convert "$T/huge.pfm" "$T/x.flo"
printf 't,x\n' >"$T/empty.csv"
check "a CSV with a header and no rows is a runtime error" 1 "$NEXP" node fit --data "$T/empty.csv" --time t --states x \
  --ckpt "$T/e.h5" --quiet
finish
