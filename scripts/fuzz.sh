#!/usr/bin/env bash
# Fuzzes every nexp reader with libFuzzer (clang, ASan + UBSan) and prints a summary table.
#   bash scripts/fuzz.sh                      # 60 s for each target
#   bash scripts/fuzz.sh 600 h5_array png     # 10 min each for two targets
#   NEXP_FUZZ_JOBS=2 bash scripts/fuzz.sh 120 # two targets at a time
# Targets: flo png pnm pfm kitti h5_field h5_array checkpoint node csv spec (tests/fuzz/fuzz_<target>.c).
# The build goes to build-fuzz/ (CC=clang, NEXP_BUILD_FUZZ=ON); the work directory
# (NEXP_FUZZ_WORK, default build-fuzz/fuzz-work) keeps per target: seeds/ (remade from nexp's
# writers by make_corpus on every run), corpus/ (grown by the fuzzer, kept between runs),
# artifacts/ (crash-*, leak-*, oom-*, timeout-* inputs) and logs/. Reproduce a finding with
#   build-fuzz/tests/fuzz/fuzz_<target> <artifact>
# Each target runs in libFuzzer's fork mode with -ignore_crashes=1, so a crash is saved and the
# fuzzing goes on; the table then sorts the saved inputs by where they crash: in nexp's code or
# inside libhdf5 itself (a bug of the system HDF5, reported separately, not fixable in nexp).
# Exit status: 0 if no target crashed or reported a sanitizer error, 1 otherwise, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all_targets=(flo png pnm pfm kitti h5_field h5_array checkpoint node csv spec)
secs=${1:-60}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]  (targets: ${all_targets[*]})" >&2
  exit 2
fi
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
  if [[ ! " ${all_targets[*]} " =~ " $t " ]]; then
    echo "fuzz.sh: unknown target '$t' (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done
jobs=${NEXP_FUZZ_JOBS:-1}
build=$root/build-fuzz
work=${NEXP_FUZZ_WORK:-$build/fuzz-work}

# ---- build ---------------------------------------------------------------------------------
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNEXP_BUILD_FUZZ=ON \
  -DNEXP_BUILD_TESTS=OFF -DNEXP_BUILD_EXAMPLES=OFF >/dev/null
build_targets=(make_corpus)
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
for bt in "${build_targets[@]}"; do
  cmake --build "$build" -j 2 --target "$bt" >/dev/null
done

# ---- seeds from nexp's own writers ---------------------------------------------------------
rm -rf "$work/seeds"
mkdir -p "$work/seeds" "$work/logs"
"$build/tests/fuzz/make_corpus" "$work/seeds"

max_len() {
  case $1 in
    h5_field | h5_array | checkpoint | node) echo 32768 ;;
    png | kitti) echo 2048 ;;
    *) echo 4096 ;;
  esac
}
dict() {
  case $1 in
    h5_field | h5_array | checkpoint | node) echo "$root/tests/fuzz/dict/h5.dict" ;;
    *) echo "$root/tests/fuzz/dict/$1.dict" ;;
  esac
}

export OMP_NUM_THREADS=1
# allocator_may_return_null: an impossible allocation (a size read from a damaged file) fails as
# it does with glibc, instead of ending the run; libFuzzer still reports any malloc > 2 GiB.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

run_one() {
  local t=$1
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  touch "$work/logs/$t.before"
  sleep 1
  local opts=(-max_total_time="$secs" -rss_limit_mb=2048 -max_len="$(max_len "$t")" -timeout=10
              -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
              -artifact_prefix="$work/artifacts/$t/")
  if [ -f "$(dict "$t")" ]; then
    opts+=(-dict="$(dict "$t")")
  fi
  mkdir -p "$work/seeds/$t"
  (cd "$work" && "$build/tests/fuzz/fuzz_$t" "${opts[@]}" "$work/corpus/$t" "$work/seeds/$t") \
    >"$work/logs/$t.log" 2>&1 || true
}

echo "fuzzing ${targets[*]} for ${secs} s each (${jobs} at a time); logs in $work/logs"
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

# ---- summary -------------------------------------------------------------------------------
# Where a saved input crashes: "libhdf5" if the innermost frame of the report, past allocator,
# sanitizer, libc and libFuzzer frames, is inside the HDF5 library; "nexp" otherwise (nexp's code,
# or a sanitizer report such as a leak or UB found in it); "none" if it no longer fails when rerun
# alone (fixed since, or it depended on state left by earlier inputs of its fuzzing job). Reports
# are rerun with full unwinding.
report() {
  ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0:fast_unwind_on_fatal=0" \
    timeout -s KILL 120 "$build/tests/fuzz/fuzz_$1" -runs=1 -timeout=20 -rss_limit_mb=2048 "$2" 2>&1 || true
}
classify() {
  if ! echo "$1" | grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^nexp fuzz:'; then
    echo none
  elif echo "$1" | grep -E '^ *#[0-9]+ ' |
    grep -vE ' in (malloc|calloc|realloc|free|posix_memalign|__interceptor_|__asan|__sanitizer|__ubsan|__lsan|__mem|__str|mem(cpy|move|set)|str[a-z]*|__libc|raise|abort|fuzzer::)' |
    grep -vE '/(libc|libpthread|libstdc\+\+)\.so|libc_start' | head -1 | grep -q 'libhdf5'; then
    echo libhdf5
  else
    echo nexp
  fi
}

status=0
printf '%-12s %12s %10s %8s %10s %8s %9s\n' target executions exec/s crashes sanitizer libhdf5 not-repro
for t in "${targets[@]}"; do
  log=$work/logs/$t.log
  line=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
  execs=$(echo "$line" | sed -n 's/^#\([0-9]*\):.*/\1/p')
  before=$(cat "$work/logs/$t.before")
  nexp_crashes=0
  hdf5_crashes=0
  gone=0
  reports=0
  while IFS= read -r input; do
    out=$(report "$t" "$input")
    echo "$out" >"$input.report"
    kind=$(classify "$out")
    if [ "$kind" = libhdf5 ]; then
      hdf5_crashes=$((hdf5_crashes + 1))
    elif [ "$kind" = none ]; then
      gone=$((gone + 1))
    else
      nexp_crashes=$((nexp_crashes + 1))
      reports=$((reports + $(echo "$out" | grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|^nexp fuzz:' || true)))
    fi
  done < <(find "$work/artifacts/$t" -type f -newer "$work/logs/$t.before" ! -name '*.report' | sort)
  if [ -z "$execs" ]; then
    echo "fuzz.sh: $t: no statistics in $log" >&2
    execs=0
    status=1
  fi
  if [ $((nexp_crashes + hdf5_crashes)) -gt 0 ]; then
    status=1
  fi
  printf '%-12s %12s %10s %8s %10s %8s %9s\n' "$t" "$execs" $((execs / secs)) "$nexp_crashes" "$reports" "$hdf5_crashes" "$gone"
done
if [ "$status" -ne 0 ]; then
  echo "inputs that crash are in $work/artifacts/<target>/ (newer than logs/<target>.before), each with"
  echo "its sanitizer report beside it (<input>.report)"
fi
exit $status
