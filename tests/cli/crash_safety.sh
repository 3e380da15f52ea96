#!/usr/bin/env bash
# Crash safety of long runs: 'nexp node fit' killed with SIGKILL at seeded random moments (the fresh
# run and then its first resume), resumed to the end, must leave only loadable checkpoints and end
# bit-identically to an uninterrupted run; SIGINT/SIGTERM stop after saving (exit 130/143);
# 'nexp simulate' killed while writing never leaves a partial file under the final name; 'nexp
# train-inpaint' killed and resumed ends bit-identically too.
# Temporary files ".NAME.tmp.PID.N" may survive a SIGKILL; nexp leaves them (it cannot tell a dead
# writer's file from a live one's on a shared file system), so only they may appear besides NAME.
. "$(dirname "$0")/lib.sh.inc"
LH="${NEXP_SOURCE_DIR:-$(dirname "$0")/../..}/examples/data/lynx_hare.csv"
RANDOM=20261125
TRIALS=20
if [ "${NEXP_VALGRIND:-0}" = 1 ]; then TRIALS=4; fi
FIT=(node fit --data "$LH" --time year --states hare,lynx --hidden 8 --iters 40 --lr 0.005 --ckpt-every 3
  --threads 1 --quiet)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# sleep_ms N: sleep N milliseconds.
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
# fingerprint CKPT: the parameters, optimiser moments and sampling state, every bit.
fingerprint() {
  h5dump -m %.17g -d /model/params -d /train/optim_m1 -d /train/optim_m2 -d /train/rng -a /train/iter "$1" |
    tail -n +2
}
# loads CKPT: the checkpoint is complete (predictions from it work).
loads() { "$NEXP_BIN" node predict --ckpt "$1" --out "$T/probe.csv" --quiet >/dev/null 2>&1; }
# only_final_or_temp DIR NAME: nothing but NAME and its temporary files in DIR.
only_final_or_temp() {
  local f
  for f in "$1"/* "$1"/.[!.]*; do
    [ -e "$f" ] || continue
    case "$(basename "$f")" in "$2" | ".$2.tmp."*) ;; *) echo "unexpected file $f"; return 1 ;; esac
  done
}
# run_killed DELAY_MS ARGS...: start nexp ARGS in the background, SIGKILL it after DELAY_MS; sets
# killed=1 when it was still running.
run_killed() {
  local delay="$1"; shift
  "$NEXP" "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep_ms "$delay"
  killed=0
  if kill -KILL "$pid" 2>/dev/null; then killed=1; fi
  wait "$pid" 2>/dev/null
}

start=$(now_ms)
check "uninterrupted reference fit" 0 "$NEXP" "${FIT[@]}" --ckpt "$T/ref.h5"
dur=$(($(now_ms) - start + 30))
fingerprint "$T/ref.h5" >"$T/ref.fp"
expect "reference fingerprint has the parameters" grep -q "/model/params" "$T/ref.fp"
"$NEXP_BIN" node predict --ckpt "$T/ref.h5" --out "$T/ref.csv" --quiet

kills=0 first_kills=0 corrupt=0 stray=0 differ=0 temps=0 ckpts=0
for i in $(seq 1 "$TRIALS"); do
  d="$T/trial$i"
  mkdir -p "$d"
  run_killed $((RANDOM % (dur * 9 / 10))) "${FIT[@]}" --ckpt "$d/m.h5"
  kills=$((kills + killed)) first_kills=$((first_kills + killed))
  if [ -e "$d/m.h5" ]; then
    loads "$d/m.h5" || { corrupt=$((corrupt + 1)); echo "trial $i: checkpoint after the first kill does not load"; }
    run_killed $((RANDOM % dur)) "${FIT[@]}" --ckpt "$d/m.h5" --resume
    kills=$((kills + killed))
  fi
  only_final_or_temp "$d" m.h5 || stray=$((stray + 1))
  if compgen -G "$d/.m.h5.tmp.*" >/dev/null; then temps=$((temps + 1)); fi
  if [ -e "$d/m.h5" ]; then
    ckpts=$((ckpts + 1))
    loads "$d/m.h5" || { corrupt=$((corrupt + 1)); echo "trial $i: checkpoint after the second kill does not load"; }
    "$NEXP" "${FIT[@]}" --ckpt "$d/m.h5" --resume >/dev/null 2>"$d/err.txt" || echo "trial $i: resume failed"
  else
    "$NEXP" "${FIT[@]}" --ckpt "$d/m.h5" >/dev/null 2>"$d/err.txt" || echo "trial $i: fresh run failed"
  fi
  rm -f "$d/err.txt"
  if ! fingerprint "$d/m.h5" 2>/dev/null | cmp -s - "$T/ref.fp"; then
    differ=$((differ + 1)); echo "trial $i: final checkpoint differs from the uninterrupted run"
  fi
  "$NEXP_BIN" node predict --ckpt "$d/m.h5" --out "$T/pred.csv" --quiet >/dev/null 2>&1
  cmp -s "$T/pred.csv" "$T/ref.csv" || { differ=$((differ + 1)); echo "trial $i: predictions differ"; }
done
echo "crash safety: $TRIALS trials, $kills SIGKILLs of running fits ($first_kills of fresh runs), $ckpts with a checkpoint to resume," \
  "$temps with a temporary file left, $corrupt corrupt, $stray stray, $differ differing"
expect "at least 20 trials (4 under valgrind)" test "$TRIALS" -ge 4
expect "at least half of the fresh runs were killed while running" test $((2 * first_kills)) -ge "$TRIALS"
expect "no checkpoint is corrupt after SIGKILL" test "$corrupt" -eq 0
expect "no stray files besides checkpoints and temporaries" test "$stray" -eq 0
expect "every resumed run ends bit-identically" test "$differ" -eq 0

# stop_with SIG NAME: SIGINT/SIGTERM once the first checkpoint exists; saves, exits 128 + signal.
stop_with() {
  local sig="$1" want="$2" d="$T/$1"
  mkdir -p "$d"
  "$NEXP" "${FIT[@]}" --ckpt "$d/m.h5" >/dev/null 2>"$d/err" &
  local pid=$! n=0
  while [ ! -e "$d/m.h5" ] && [ $n -lt 2000 ]; do sleep 0.005; n=$((n + 1)); done
  kill "-$sig" "$pid"
  wait "$pid"
  local rc=$?
  expect "$sig exits $want" test "$rc" -eq "$want"
  expect "$sig prints one line naming the checkpoint" grep -q "interrupted ($sig) at iteration .* saved to $d/m.h5" "$d/err"
  expect "$sig stopped before the end" grep -q "at iteration \([1-9]\|[1-3][0-9]\) of 40" "$d/err"
  expect "$sig leaves a checkpoint that loads" loads "$d/m.h5"
  expect "$sig leaves no temporary file" test -z "$(ls -A "$d" | grep -v '^m.h5$' | grep -v '^err$')"
  check "$sig run resumes" 0 "$NEXP" "${FIT[@]}" --ckpt "$d/m.h5" --resume
  fingerprint "$d/m.h5" >"$d/fp"
  expect "$sig run ends bit-identically after resuming" cmp -s "$d/fp" "$T/ref.fp"
}
stop_with SIGINT 130
stop_with SIGTERM 143

# simulate killed while writing an 11 MB CSV: the output is absent or complete, never partial.
SIM=(simulate lotka-volterra --t1 100 --n 200001 --quiet)
if [ "${NEXP_VALGRIND:-0}" = 1 ]; then SIM=(simulate lotka-volterra --t1 100 --n 20001 --quiet); fi
start=$(now_ms)
check "uninterrupted simulate" 0 "$NEXP" "${SIM[@]}" --out "$T/sim_ref.csv"
dur=$(($(now_ms) - start + 30))
partial=0 sim_kills=0 sim_stray=0 sim_done=0
for i in $(seq 1 $((TRIALS / 2))); do
  d="$T/sim$i"
  mkdir -p "$d"
  run_killed $((RANDOM % dur)) "${SIM[@]}" --out "$d/run.csv"
  sim_kills=$((sim_kills + killed))
  if [ -e "$d/run.csv" ]; then sim_done=$((sim_done + 1)); fi
  if [ -e "$d/run.csv" ] && ! cmp -s "$d/run.csv" "$T/sim_ref.csv"; then
    partial=$((partial + 1)); echo "simulate trial $i: partial output under the final name"
  fi
  only_final_or_temp "$d" run.csv || sim_stray=$((sim_stray + 1))
done
echo "simulate: $((TRIALS / 2)) trials, $sim_kills SIGKILLs of running runs, $sim_done complete outputs," \
  "$partial partial outputs"
expect "simulate kills leave no partial output" test "$partial" -eq 0
expect "simulate kills leave no stray files" test "$sim_stray" -eq 0

# train-inpaint killed with SIGKILL (fresh run, then its first resume), resumed to the end: the
# checkpoint always opens and the final weights, Adam moments and RNG equal an uninterrupted run's.
TRAIN=(train-inpaint --iters 60 --save-every 4 --val-every 0 --crop 24 --batch 1 --features 4 --levels 2
  --steps 6 --seed 5 --threads 1 --quiet)
tfingerprint() {
  h5dump -m %.17g -g /model -d /train/rng -d /train/adam_m1 -d /train/adam_m2 -a /train/iter "$1" | tail -n +2
}
start=$(now_ms)
check "uninterrupted reference training" 0 "$NEXP" "${TRAIN[@]}" --ckpt "$T/tref.h5"
dur=$(($(now_ms) - start + 30))
tfingerprint "$T/tref.h5" >"$T/tref.fp"
expect "training fingerprint has the weights" grep -q "/model" "$T/tref.fp"
tkills=0 tcorrupt=0 tstray=0 tdiffer=0
for i in $(seq 1 $((TRIALS / 2))); do
  d="$T/train$i"
  mkdir -p "$d"
  run_killed $((RANDOM % (dur * 9 / 10))) "${TRAIN[@]}" --ckpt "$d/m.h5"
  tkills=$((tkills + killed))
  if [ -e "$d/m.h5" ]; then
    h5dump -H "$d/m.h5" >/dev/null 2>&1 || { tcorrupt=$((tcorrupt + 1)); echo "train trial $i: corrupt checkpoint"; }
    run_killed $((RANDOM % dur)) "${TRAIN[@]}" --ckpt "$d/m.h5" --resume
    tkills=$((tkills + killed))
  fi
  only_final_or_temp "$d" m.h5 || tstray=$((tstray + 1))
  if [ -e "$d/m.h5" ]; then
    h5dump -H "$d/m.h5" >/dev/null 2>&1 || { tcorrupt=$((tcorrupt + 1)); echo "train trial $i: corrupt checkpoint"; }
    "$NEXP" "${TRAIN[@]}" --ckpt "$d/m.h5" --resume >/dev/null 2>&1 || echo "train trial $i: resume failed"
  else
    "$NEXP" "${TRAIN[@]}" --ckpt "$d/m.h5" >/dev/null 2>&1 || echo "train trial $i: fresh run failed"
  fi
  if ! tfingerprint "$d/m.h5" 2>/dev/null | cmp -s - "$T/tref.fp"; then
    tdiffer=$((tdiffer + 1)); echo "train trial $i: final checkpoint differs from the uninterrupted run"
  fi
done
echo "train-inpaint: $((TRIALS / 2)) trials, $tkills SIGKILLs of running trainings, $tcorrupt corrupt," \
  "$tstray stray, $tdiffer differing"
expect "no training checkpoint is corrupt after SIGKILL" test "$tcorrupt" -eq 0
expect "no stray files besides the training checkpoint and temporaries" test "$tstray" -eq 0
expect "every resumed training ends bit-identically" test "$tdiffer" -eq 0
finish
