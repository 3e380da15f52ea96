#!/usr/bin/env bash
# Installs dependencies, builds nexp and runs the main job on built-in data:
#   1. a synthetic flow field: statistics, colour coding, .flo <-> .h5 round trip (examples/demo.sh);
#   2. a synthetic scene with exact flow, inpainted from 5 % known vectors by homogeneous diffusion,
#      image-guided EED and the learned model (data/inpaint-model.h5), EPE side by side
#      (examples/learned_inpaint.sh).
# Outputs go to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
echo "== nexp $(build/nexp --version | head -n 1 | cut -d' ' -f2): files, statistics and flow colours"
bash examples/demo.sh build/nexp demo-out
echo
echo "== Flow inpainting of a synthetic scene (exact ground truth), 5 % known vectors"
bash examples/learned_inpaint.sh build/nexp demo-out/scene 3 0.05
