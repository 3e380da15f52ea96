#!/bin/bash
# bench/run_ode.sh — nexp's ODE integration and neural-ODE training against SciPy and PyTorch
# (results and settings: bench/ode.md).
#
# Usage: bench/run_ode.sh [BUILD_DIR (default build)] [SPIRAL_ITERS (default 2000)]
# BUILD_DIR must be configured with -DNEXP_BUILD_BENCH=ON (for bench/ode_integrate) and
# -DNEXP_BUILD_EXAMPLES=ON (for examples/node_spiral). Everything runs on one thread; times are
# CPU seconds of the process, which a busy shared machine distorts much less than wall time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
iters=${2:-2000}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
for bin in "$build/bench/ode_integrate" "$build/examples/node_spiral"; do
    [ -x "$bin" ] || { echo "run_ode.sh: $bin not found (configure with -DNEXP_BUILD_BENCH=ON)" >&2; exit 1; }
done
echo "== raw integration (ms per solve, CPU)"
"$build/bench/ode_integrate" 20
/usr/bin/python3 "$here/ode_scipy.py" 3
echo "== spiral neural ODE, $iters iterations (20 windows x 10 points, L1, RMSprop 1e-3)"
"$build/examples/node_spiral" "$iters" backprop | tail -1
"$build/examples/node_spiral" "$iters" adjoint | tail -1
/usr/bin/python3 "$here/node_spiral_torch.py" "$iters" 0 | tail -1
