#!/usr/bin/env python3
"""SciPy peer of bench/ode_integrate.c: the same Lorenz and Robertson problems with solve_ivp.

  Lorenz:    RK45 (Dormand-Prince 5(4)) and LSODA, rtol = atol = 1e-8, 2001 outputs on [0, 20]
  Robertson: BDF with the exact Jacobian, rtol 1e-4, atol (1e-8, 1e-14, 1e-6), outputs 0.4 * 10^k

Usage: ode_scipy.py [REPEATS]   prints milliseconds per solve (CPU time) and the last state.
"""
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def lorenz(t, y):
    return [10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1], y[0] * y[1] - 8.0 / 3.0 * y[2]]


def rob(t, y):
    r1, r2, r3 = 0.04 * y[0], 1e4 * y[1] * y[2], 3e7 * y[1] * y[1]
    return [-r1 + r2, r1 - r2 - r3, r3]


def rob_jac(t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [0.0, 6e7 * y[1], 0.0]])


def run(label, f, span, y0, t_eval, reps, **kw):
    c0 = time.process_time()
    for _ in range(reps):
        sol = solve_ivp(f, span, y0, t_eval=t_eval, **kw)
    ms = 1e3 * (time.process_time() - c0) / reps
    print(f"{label:28s} {ms:9.3f} ms/solve  rhs {sol.nfev:7d}  y(end) = "
          + " ".join(f"{v:.6e}" for v in sol.y[:, -1]), flush=True)


tl = np.linspace(0.0, 20.0, 2001)
run("lorenz scipy RK45", lorenz, (0.0, 20.0), [1.0, 1.0, 1.0], tl, REPEATS, method="RK45", rtol=1e-8, atol=1e-8)
run("lorenz scipy LSODA", lorenz, (0.0, 20.0), [1.0, 1.0, 1.0], tl, REPEATS, method="LSODA", rtol=1e-8, atol=1e-8)
tr = 0.4 * 10.0 ** np.arange(12)
run("robertson scipy BDF", rob, (0.0, tr[-1]), [1.0, 0.0, 0.0], tr, REPEATS, method="BDF", rtol=1e-4,
    atol=[1e-8, 1e-14, 1e-6], jac=rob_jac)
