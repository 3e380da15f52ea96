#!/bin/bash
# bench/run_nn.sh — nexp nn vs PyTorch (CPU), forward + backward, same shapes and thread count.
#
# Usage: bench/run_nn.sh [BUILD_DIR (default build)] [THREADS (default 1)]
# Needs a build configured with -DNEXP_BUILD_BENCH=ON and Debian's python3-torch. Both programs
# run twice, interleaved, so that a busy machine affects both alike; the best times are compared.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
threads=${2:-1}
bin="$build/bench/nn"
[ -x "$bin" ] || { echo "run_nn.sh: $bin not found (cmake -DNEXP_BUILD_BENCH=ON, then build)" >&2; exit 1; }
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in 1 2; do
    "$bin" --threads "$threads" | sed -n 's/^\(mlp\|unet\).* \([0-9.]*\) \(us\|ms\) per.*/nexp \1 \2 \3/p' >>"$out"
    /usr/bin/python3 "$here/nn_torch.py" --threads "$threads" |
        sed -n 's/^\(mlp\|unet\).* \([0-9.]*\) \(us\|ms\) per.*/torch \1 \2 \3/p' >>"$out"
done
awk -v threads="$threads" '
    { key = $1 " " $2; if (!(key in best) || $3 < best[key]) { best[key] = $3; unit[$2] = $4 } }
    END {
        printf "forward + backward, %d thread(s), best of 2 runs x 5 repetitions\n", threads
        printf "| case | nexp | PyTorch | speed-up (PyTorch time / nexp time) |\n|---|---|---|---|\n"
        split("mlp unet", cases, " ")
        names["mlp"] = "MLP 2-50-2 tanh, batch 20 (float64)"
        names["unet"] = "U-Net 12-24-48 (58.9k params), 4x3x128x128 (float32)"
        for (i = 1; i <= 2; i++) {
            c = cases[i]
            printf "| %s | %.2f %s | %.2f %s | %.2fx |\n", names[c], best["nexp " c], unit[c], best["torch " c], unit[c],
                   best["torch " c] / best["nexp " c]
        }
    }' "$out"
