# nexp diffuse: models, schemes, guided mode, errors.
. "$(dirname "$0")/lib.sh.inc"
F="$DATA/flow/sintel-alley/clean/frame_0002.png"
check "help exits 0" 0 "$NEXP" diffuse --help
expect "help shows an example" grep -q "nexp diffuse" "$T/out"
"$NEXP" convert "$F" "$T/frame.pfm" >/dev/null 2>&1
check "homogeneous explicit with the default tau" 0 "$NEXP" diffuse "$F" "$T/h.png" --time 2 --scheme explicit --quiet
expect "output exists" test -s "$T/h.png"
check "eed fed on pfm" 0 "$NEXP" diffuse "$T/frame.pfm" "$T/e.pfm" --model eed --lambda 3 --time 4 --threads 2 --quiet
check "eed with 1 thread" 0 "$NEXP" diffuse "$T/frame.pfm" "$T/t1.pfm" --model eed --sigma 1.5 --time 3 --threads 1 --quiet
check "eed with 2 threads" 0 "$NEXP" diffuse "$T/frame.pfm" "$T/t2.pfm" --model eed --sigma 1.5 --time 3 --threads 2 --quiet
expect "1 and 2 threads give identical files (threaded FFTW included)" cmp -s "$T/t1.pfm" "$T/t2.pfm"
check "ced fsi" 0 "$NEXP" diffuse "$T/frame.pfm" "$T/c.pfm" --model ced --lambda 10 --rho 2 --time 3 --scheme fsi --quiet
check "guided eed on a flow field" 0 "$NEXP" diffuse "$DATA/flow/sintel-alley/flow_0002.flo" "$T/f.flo" --model eed --guide "$F" --time 5 --quiet
expect "flow output exists" test -s "$T/f.flo"
check "progress goes to stderr" 0 "$NEXP" diffuse "$F" "$T/p.png" --time 1
expect "summary names the model" grep -q "homogeneous, fed scheme" "$T/err"
check "tau above the bound is a runtime error" 1 "$NEXP" diffuse "$F" "$T/x.png" --time 1 --tau 0.3 --scheme explicit
expect "message states the bound" grep -q "stability bound 1 / (4 (1 - alpha)) = 0.25" "$T/err"
check "missing --time is a usage error" 2 "$NEXP" diffuse "$F" "$T/x.png"
check "negative sigma is a usage error" 2 "$NEXP" diffuse "$F" "$T/x.png" --time 1 --sigma -1
check "zero lambda is a usage error" 2 "$NEXP" diffuse "$F" "$T/x.png" --time 1 --model pm --lambda 0
check "unknown model is a usage error" 2 "$NEXP" diffuse "$F" "$T/x.png" --time 1 --model foo
check "guide of another size is a runtime error" 1 "$NEXP" diffuse "$F" "$T/x.png" --time 1 --model eed --guide "$DATA/flow/chairs-crops/00001_img1.ppm"
check "missing input is a runtime error" 1 "$NEXP" diffuse "$T/none.png" "$T/x.png" --time 1
expect "no output on failure" test ! -e "$T/x.png"
finish
