#!/usr/bin/env bash
# Flow inpainting benchmark: nexp homogeneous and EED against SciPy's exact Laplace solve, OpenCV's
# cv2.inpaint (Navier-Stokes and Telea) and scikit-image's biharmonic inpainting on Sintel alley_1
# (clean, final) and the FlyingChairs crops at 1, 5 and 10 % density (fixed seed).
#   bench/run_inpaint.sh [BUILD_DIR]        # default: build; needs a Release build of nexp
# Writes the table to stdout and the rows to BUILD_DIR/inpaint_peers.json. Takes about 10 minutes
# on 2 cores (OpenCV NS and Telea need ~30 s each per channel on the Sintel frame).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
data="${NEXP_SHARED_DATA:-$here/../../shared/data}"
[ -x "$build/nexp" ] || { echo "run_inpaint.sh: $build/nexp not found; build first" >&2; exit 1; }
exec /usr/bin/python3 "$here/inpaint_peers.py" "$build/nexp" --data "$data" --json "$build/inpaint_peers.json"
