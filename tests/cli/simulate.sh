#!/usr/bin/env bash
# nexp simulate: built-in systems to CSV/HDF5, plots, usage and runtime errors.
. "$(dirname "$0")/lib.sh.inc"

check "help exits 0" 0 "$NEXP" simulate --help
expect "help lists the systems" grep -q robertson "$T/out"
check "lorenz with dopri5 to csv and png" 0 "$NEXP" simulate lorenz --t1 5 --n 101 --method dopri5 --out "$T/l.csv" --plot "$T/l.png" --quiet
expect "csv has a header and 101 rows" test "$(wc -l <"$T/l.csv")" -eq 102
expect "csv header names the states" test "$(head -1 "$T/l.csv")" = "t,x,y,z"
expect "png was written" test -s "$T/l.png"
check "robertson with bdf to h5 with stats" 0 "$NEXP" simulate robertson --t1 40 --n 3 --rtol 1e-4 --stats --out "$T/r.h5"
expect "stats are printed" grep -q "steps" "$T/err"
expect "h5 file was written" test -s "$T/r.h5"
check "robertson reference at t = 40" 0 "$NEXP" simulate robertson --t1 40 --n 2 --rtol 1e-8 --atol 1e-12 --out "$T/r.csv"
expect "y1(40) = 0.7158" awk -F, 'NR==3 { exit !($2 > 0.71575 && $2 < 0.71585) }' "$T/r.csv"
check "parameters and y0 are used" 0 "$NEXP" simulate linear --params 0,1,-1,0 --y0 1,0 --t1 3.14159265358979 --n 2 --rtol 1e-10 --atol 1e-12 --out "$T/lin.csv"
expect "half a rotation flips y1" awk -F, 'NR==3 { exit !($2 < -0.999999 && $2 > -1.000001) }' "$T/lin.csv"
check "an ARKODE table by name" 0 "$NEXP" simulate pendulum --method erk:ARKODE_VERNER_8_5_6 --out "$T/p.csv"
check "unknown system is a usage error" 2 "$NEXP" simulate brusselator --out "$T/x.csv"
check "missing --out is a usage error" 2 "$NEXP" simulate lorenz
check "wrong parameter count is a usage error" 2 "$NEXP" simulate lorenz --params 1,2 --out "$T/x.csv"
check "unknown method is a usage error" 2 "$NEXP" simulate lorenz --method rk45 --out "$T/x.csv"
check "bad extension is a usage error" 2 "$NEXP" simulate lorenz --out "$T/x.txt"
check "t1 before t0 is a usage error" 2 "$NEXP" simulate lorenz --t0 5 --t1 1 --out "$T/x.csv"
check "too few steps is a runtime error" 1 "$NEXP" simulate lorenz --max-steps 3 --out "$T/x.csv"
expect "the solver flag is named" grep -q "CV_TOO_MUCH_WORK" "$T/err"
expect "no output after a failure" test ! -e "$T/x.csv"
check "unwritable output is a runtime error" 1 "$NEXP" simulate lorenz --out "$T/no/such/dir/x.csv"
finish
