#!/usr/bin/env bash
# Installs dependencies, builds nexp and runs the main job on built-in data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
bash examples/demo.sh build/nexp demo-out
