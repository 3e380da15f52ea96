#!/usr/bin/env python3
"""PyTorch reference for the neural-ODE spiral demo, compared with examples/node_spiral.

  data:  dy/dt = (y^3) A, A = [[-0.1, 2], [-2, -0.1]], y(0) = (2, 0), 1000 points on [0, 25]
  model: dy/dt = f(y^3), f = Linear(2, 50) -> tanh -> Linear(50, 2), float64, Glorot-uniform
         weights and zero biases (the same initialisation scheme as nexp's MLP before tanh)
  fit:   20 windows of 10 consecutive points per iteration, stacked into one batch; L1 loss;
         RMSprop lr 1e-3 (torch defaults otherwise); gradients by autograd through an adaptive
         Dormand-Prince 5(4) solve (rtol 1e-7, atol 1e-9, the step controller of nexp's DOPRI5:
         safety 0.9, factor in [0.2, 5], steps ending on the observation times; step sizes are
         plain floats, i.e. constants for autograd, as in nexp)
  test:  mean |error| of the whole trajectory predicted from y(0)

One thread (torch.set_num_threads(1)). Usage: node_spiral_torch.py [ITERS] [SEED]
Prints wall and CPU seconds per iteration (CPU time is the fair measure on a shared machine)
and the test loss.
"""
import math
import sys
import time

import numpy as np
import torch
from scipy.integrate import solve_ivp

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

ITERS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 0
N, BATCH, WINDOW = 1000, 20, 10
RTOL, ATOL = 1e-7, 1e-9

A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
t_np = np.linspace(0.0, 25.0, N)
sol = solve_ivp(lambda t, y: (y ** 3) @ A, (0.0, 25.0), [2.0, 0.0], t_eval=t_np, method="DOP853",
                rtol=1e-12, atol=1e-12)
true_y = torch.tensor(sol.y.T)  # (N, 2)
t_all = torch.tensor(t_np)

# Dormand-Prince 5(4) tableau
C = [0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]
AT = [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
      [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
      [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
      [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
B = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0]
E = [71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40]


def dopri5(f, y0, ts):
    """Solution at the times ts (1-D tensor, ts[0] the start) with autograd through the stages."""
    out = [y0]
    y = y0
    t = float(ts[0])
    k1 = f(y)
    # Hairer, Norsett & Wanner's starting step (HINIT), as in nexp
    with torch.no_grad():
        sc = ATOL + RTOL * y.abs()
        d0 = float(((y / sc) ** 2).mean().sqrt())
        d1 = float(((k1 / sc) ** 2).mean().sqrt())
        h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        f1 = f(y + h0 * k1)
        d2 = float((((f1 - k1) / sc) ** 2).mean().sqrt()) / h0
        dm = max(d1, d2)
        h1 = max(1e-6, 1e-3 * h0) if dm <= 1e-15 else (0.01 / dm) ** 0.2
        h_prop = min(100.0 * h0, h1)
    for tend in ts[1:].tolist():
        while t < tend:
            h = min(h_prop, tend - t)
            clipped = h < h_prop
            while True:
                ks = [k1]
                for i in range(1, 7):
                    yi = y + h * sum(a * k for a, k in zip(AT[i], ks) if a != 0.0)
                    ks.append(f(yi))
                ynew = y + h * sum(b * k for b, k in zip(B, ks) if b != 0.0)
                with torch.no_grad():
                    err = h * sum(e * k for e, k in zip(E, ks) if e != 0.0)
                    sc = ATOL + RTOL * torch.maximum(y.abs(), ynew.abs())
                    en = float(((err / sc) ** 2).mean().sqrt())
                if not math.isfinite(en):
                    en = float("inf")
                fac = 5.0 if en == 0.0 else min(5.0, max(0.2, 0.9 * en ** -0.2))
                if en <= 1.0:
                    if not clipped or fac < 1.0:
                        h_prop = h * fac
                    break
                clipped = False
                h *= max(0.2, fac)
            y = ynew
            k1 = ks[6]
            t = tend if tend - (t + h) < 1e-13 * max(1.0, abs(tend)) else t + h
        out.append(y)
    return torch.stack(out)


class Func(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.Tanh(), torch.nn.Linear(50, 2))
        for m in self.net:
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                torch.nn.init.zeros_(m.bias)

    def forward(self, y):
        return self.net(y ** 3)


torch.manual_seed(SEED)
rng = np.random.default_rng(SEED)
func = Func()
opt = torch.optim.RMSprop(func.parameters(), lr=1e-3)


def get_batch():
    s = torch.from_numpy(rng.choice(np.arange(N - WINDOW + 1), BATCH, replace=True))
    batch_y0 = true_y[s]                       # (B, 2)
    batch_t = t_all[:WINDOW] - t_all[0]        # (W,)
    batch_y = torch.stack([true_y[s + i] for i in range(WINDOW)], dim=0)  # (W, B, 2)
    return batch_y0, batch_t, batch_y


start = time.perf_counter()
cpu0 = time.process_time()
for it in range(1, ITERS + 1):
    opt.zero_grad()
    by0, bt, by = get_batch()
    pred = dopri5(func, by0, bt)
    loss = torch.mean(torch.abs(pred - by))
    loss.backward()
    opt.step()
    if it % 100 == 0:
        print(f"iter {it:5d}  loss {loss.item():.6f}", flush=True)
secs = time.perf_counter() - start
cpu = time.process_time() - cpu0
with torch.no_grad():
    pred = dopri5(func, true_y[0], t_all)
    test = torch.mean(torch.abs(pred - true_y)).item()
print(f"torch: {ITERS} iterations in {secs:.3f} s wall ({secs / max(ITERS, 1):.3g} s/iteration), "
      f"{cpu:.3f} s CPU ({cpu / max(ITERS, 1):.3g} s/iteration), "
      f"test loss (mean |error| over the trajectory) {test:.5f}")
