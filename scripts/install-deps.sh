#!/usr/bin/env bash
# Installs nexp's build and run-time dependencies from Debian 12 packages (run as root).
# Quick and silent when everything is already present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  python3                 # the CLI tests check JSON output with its json module
  libfftw3-dev            # FFTW3 (float + double, with the OpenMP threads libraries)
  libsundials-dev         # SUNDIALS 6.4: CVODE, CVODES, ARKODE
  libhdf5-dev hdf5-tools  # HDF5 C library, h5dump
  libcunit1-dev           # CUnit test framework
  libomp-dev              # OpenMP runtime (clang); GCC's libgomp comes with gcc
  libpng-dev              # PNG
  libopenblas-dev         # CBLAS
  libcairo2-dev libfontconfig-dev  # plots of data vs. fit (PNG)
  valgrind                # memcheck of the CLI tests in CI
)
if [ "${NEXP_WITH_PEERS:-0}" = 1 ]; then
  # Peers for the hand-run benchmarks in bench/ (Debian's python3 packages).
  PACKAGES+=(python3-numpy python3-scipy python3-opencv python3-skimage python3-h5py python3-torch)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "nexp: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
