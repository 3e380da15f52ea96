#!/usr/bin/env bash
# Installs the built nexp to a temporary prefix and builds a tiny external project against it twice:
# with find_package(nexp) and with pkg-config nexp; runs both.  Usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"; src="$2"
work="$(mktemp -d "${TMPDIR:-/tmp}/nexp-downstream.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir="$(ls -d "$work"/prefix/lib* | head -n 1)"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cmake -S "$src/tests/downstream" -B "$work/cm" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cm" >/dev/null
"$work/cm/downstream"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -o "$work/pc" "$src/tests/downstream/main.c" $(pkg-config --cflags --libs nexp)
"$work/pc"
"$work/prefix/bin/nexp" --version
echo "1 passed, 0 failed"
