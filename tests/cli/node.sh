#!/usr/bin/env bash
# nexp node fit / predict: short fits on the bundled lynx-hare counts, resume, predictions, errors.
. "$(dirname "$0")/lib.sh.inc"
LH="${NEXP_SOURCE_DIR:-$(dirname "$0")/../..}/examples/data/lynx_hare.csv"

check "help exits 0" 0 "$NEXP" node --help
expect "help has an example" grep -q "nexp node fit --data" "$T/out"
check "hybrid fit runs" 0 "$NEXP" node fit --data "$LH" --time year --states hare,lynx --physics lotka-volterra \
  --hidden 8 --iters 20 --lr 0.005 --ckpt "$T/lh.h5" --ckpt-every 10 --plot "$T/lh.png"
expect "checkpoint written" test -s "$T/lh.h5"
expect "plot written" test -s "$T/lh.png"
expect "physics parameters reported" grep -q "lotka-volterra parameters" "$T/err"
check "resume continues to 30 iterations" 0 "$NEXP" node fit --data "$LH" --time year --states hare,lynx \
  --iters 30 --ckpt "$T/lh.h5" --resume
expect "resume ran 10 iterations" grep -q "^nexp node: 10 iterations" "$T/err"
check "windows with backprop" 0 "$NEXP" node fit --data "$LH" --time year --states hare,lynx --hidden 8 \
  --gradient backprop --batch 4 --window 5 --loss l1 --optimizer rmsprop --iters 10 --ckpt "$T/w.h5" --quiet
expect "quiet prints nothing" test ! -s "$T/err"
check "an unwritable --plot folder fails before fitting" 1 "$NEXP" node fit --data "$LH" --time year \
  --states hare,lynx --hidden 8 --iters 10 --ckpt "$T/u.h5" --plot "$T/none/u.png" --quiet
expect "  ... naming the plot's folder, with no checkpoint written" sh -c "grep -q \"cannot create a temporary file in '$T/none'\" '$T/err' && test ! -e '$T/u.h5'"
check "predict from the checkpoint's data" 0 "$NEXP" node predict --ckpt "$T/lh.h5" --t1 1930 --n 31 --out "$T/p.csv"
expect "prediction has 31 rows and named columns" test "$(wc -l <"$T/p.csv")" -eq 32 -a "$(head -1 "$T/p.csv")" = "year,hare,lynx"
check "predict to h5 with y0" 0 "$NEXP" node predict --ckpt "$T/lh.h5" --t0 0 --t1 5 --y0 20,5 --out "$T/p.h5" --plot "$T/p.png"
check "simulate to h5" 0 "$NEXP" simulate lotka-volterra --t1 10 --n 21 --out "$T/lv.h5" --quiet
check "fit an h5 trajectory" 0 "$NEXP" node fit --data "$T/lv.h5" --time t --states prey,predator --physics lotka-volterra \
  --hidden 0 --iters 5 --ckpt "$T/lv_model.h5" --quiet
check "time-dependent network" 0 "$NEXP" node fit --data "$LH" --time year --states hare,lynx --hidden 4 --time-input \
  --iters 3 --ckpt "$T/ti.h5" --quiet
check "predict with the time-dependent network" 0 "$NEXP" node predict --ckpt "$T/ti.h5" --out "$T/ti.csv" --quiet
check "missing column is a runtime error" 1 "$NEXP" node fit --data "$LH" --time year --states hare,wolf --ckpt "$T/x.h5"
expect "names the column" grep -q "no column 'wolf'" "$T/err"
printf 't,x\n0,1\n2,2\n1,3\n' >"$T/unsorted.csv"
check "unsorted times are a runtime error" 1 "$NEXP" node fit --data "$T/unsorted.csv" --time t --states x --ckpt "$T/x.h5"
expect "says not increasing" grep -q "not increasing" "$T/err"
check "unknown physics is a usage error" 2 "$NEXP" node fit --data "$LH" --time year --states hare,lynx --physics magic --ckpt "$T/x.h5"
check "physics of the wrong size is a runtime error" 1 "$NEXP" node fit --data "$LH" --time year --states hare --physics lotka-volterra --ckpt "$T/x.h5"
check "window longer than the data is a usage error" 2 "$NEXP" node fit --data "$LH" --time year --states hare,lynx --batch 2 --window 50 --ckpt "$T/x.h5"
check "missing --ckpt is a usage error" 2 "$NEXP" node fit --data "$LH" --time year --states hare,lynx
check "predict from a non-checkpoint is a runtime error" 1 "$NEXP" node predict --ckpt "$LH" --out "$T/x.csv"
check "unknown subcommand is a usage error" 2 "$NEXP" node train
finish
