#!/usr/bin/python3
"""The given-tensor delta-stencil step of nexp (solvers/stencil.c) written in NumPy, timed on the same
size: u_next = u + tau * A u with precomputed edge weights wx, wy, wp, wm (see stencil_internal.h).
Prints one line: 'numpy <channels> <MPix-steps/s>' per channel count."""
import sys
import time

import numpy as np


def step(u, wx, wy, wp, wm, tau):
    """u: (C, H, W) float32; weights (H, W) float32 (zero on edges leaving the image)."""
    p = np.pad(u, ((0, 0), (1, 1), (1, 1)), mode="edge")
    c = u
    s = np.zeros_like(u)
    zx = np.pad(wx, ((0, 0), (1, 0)))[:, :-1]          # wx[y][x-1]
    zy = np.pad(wy, ((1, 0), (0, 0)))[:-1, :]          # wy[y-1][x]
    zp = np.pad(wp, ((1, 0), (1, 0)))[:-1, :-1]        # wp[y-1][x-1]
    zm_l = np.pad(wm, ((0, 0), (1, 0)))[:, :-1]        # wm[y][x-1]
    zm_u = np.pad(wm, ((1, 0), (0, 0)))[:-1, :]        # wm[y-1][x]
    s += wx * (p[:, 1:-1, 2:] - c) + zx * (p[:, 1:-1, :-2] - c)
    s += wy * (p[:, 2:, 1:-1] - c) + zy * (p[:, :-2, 1:-1] - c)
    s += wp * (p[:, 2:, 2:] - c) + zp * (p[:, :-2, :-2] - c)
    s += zm_l * (p[:, 2:, :-2] - c) + zm_u * (p[:, :-2, 2:] - c)
    return c + np.float32(tau) * s


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    rng = np.random.default_rng(7)
    w = [rng.uniform(0, 0.25, (n, n)).astype(np.float32) for _ in range(4)]
    for k in range(4):
        w[k][:, -1] = 0
    for k in (1, 2, 3):
        w[k][-1, :] = 0
    for ch in (1, 2):
        u = rng.uniform(0, 255, (ch, n, n)).astype(np.float32)
        step(u, *w, 0.3)
        best = 1e30
        for _ in range(5):
            t0 = time.perf_counter()
            step(u, *w, 0.3)
            best = min(best, time.perf_counter() - t0)
        print(f"numpy {ch} {n * n / best / 1e6:.2f}")


if __name__ == "__main__":
    main()
