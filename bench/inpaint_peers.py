#!/usr/bin/python3
"""Flow inpainting: nexp against its peers, on the same masks, in one run.

For each scene (Sintel alley clean and final, the two FlyingChairs crops) and density (1, 5, 10 %),
a Bernoulli mask is drawn with `nexp mask` (fixed seed), and every method fills in the flow:

  nexp homogeneous   `nexp inpaint --method homogeneous` (Laplace, PCG + multigrid, rel. res. 1e-6)
  nexp EED           `nexp inpaint --method eed --image REF` (guided EED, coarse to fine)
  exact Laplace      the same discrete Laplace system solved by SciPy's sparse direct solver
  OpenCV NS, Telea   cv2.inpaint per channel, radius 5, on float32 values and on 8-bit values
                     scaled to each channel's range (OpenCV 4.6 gives poor results for Telea on
                     float32 input, so both are shown)
  biharmonic         skimage.restoration.inpaint_biharmonic (both channels)

EPE is the mean endpoint error over all pixels (the Sintel/Chairs flows have no invalid vectors),
computed here with one NumPy formula for every method. Seconds: nexp's own solver time as it
reports it (file reading and writing excluded, like the peers' timings, which cover only the
call). Usage: bench/inpaint_peers.py NEXP_BINARY [--data DIR] [--skip-biharmonic-above N]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from skimage.restoration import inpaint_biharmonic


def read_flo(path):
    with open(path, "rb") as f:
        magic = np.fromfile(f, np.float32, 1)[0]
        assert abs(magic - 202021.25) < 1e-3, path
        w, h = np.fromfile(f, np.int32, 2)
        data = np.fromfile(f, np.float32, 2 * w * h).reshape(h, w, 2)
    return data


def epe(est, gt):
    return float(np.mean(np.sqrt(np.sum((est - gt) ** 2, axis=2))))


def laplace_exact(flow, known):
    """Solve the 5-point Laplace equation on the unknown pixels (reflecting border) directly."""
    h, w = known.shape
    unknown = ~known
    idx = -np.ones((h, w), np.int64)
    idx[unknown] = np.arange(unknown.sum())
    n = int(unknown.sum())
    rows, cols, vals = [], [], []
    diag = np.zeros((h, w))
    rhs = np.zeros((n, 2))
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        ys, xs = np.nonzero(unknown)
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        ys, xs, ny, nx = ys[inside], xs[inside], ny[inside], nx[inside]
        diag[ys, xs] += 1
        nb_unknown = unknown[ny, nx]
        rows.append(idx[ys[nb_unknown], xs[nb_unknown]])
        cols.append(idx[ny[nb_unknown], nx[nb_unknown]])
        vals.append(-np.ones(int(nb_unknown.sum())))
        k = ~nb_unknown
        np.add.at(rhs, idx[ys[k], xs[k]], flow[ny[k], nx[k]])
    ys, xs = np.nonzero(unknown)
    rows.append(idx[ys, xs])
    cols.append(idx[ys, xs])
    vals.append(diag[ys, xs])
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    sol = spla.spsolve(A, rhs)
    out = flow.copy()
    out[unknown] = sol
    return out


def cv_inpaint(flow, known, method, eight_bit):
    """cv2.inpaint per channel: on float32 values, or on 8-bit values scaled to the channel's known
    range (OpenCV's home ground; adds a quantisation error of about range / 1000 px)."""
    hole = (~known).astype(np.uint8)
    out = np.empty_like(flow)
    for c in range(2):
        ch = np.ascontiguousarray(flow[:, :, c])
        if not eight_bit:
            out[:, :, c] = cv2.inpaint(ch, hole, 5, method)
            continue
        lo, hi = float(ch[known].min()), float(ch[known].max())
        scale = 255.0 / max(hi - lo, 1e-6)
        q = np.clip(np.round((ch - lo) * scale), 0, 255).astype(np.uint8)
        out[:, :, c] = cv2.inpaint(q, hole, 5, method).astype(np.float32) / scale + lo
    return out


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_nexp(nexp, args, tmp):
    out = os.path.join(tmp, "dense.flo")
    r = subprocess.run([nexp, "inpaint"] + args + ["--out", out], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    m = re.search(r"([0-9.]+) s$", r.stderr.strip())
    return read_flo(out), float(m.group(1)) if m else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nexp")
    ap.add_argument("--data", default=os.environ.get("NEXP_SHARED_DATA",
                                                      os.path.join(os.path.dirname(__file__), "../../shared/data")))
    ap.add_argument("--densities", default="0.01,0.05,0.10")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--skip-biharmonic-above", type=int, default=100000,
                    help="skip inpaint_biharmonic on larger images (pixels); it takes minutes there")
    ap.add_argument("--eed-args", default="", help="extra nexp inpaint options for EED")
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args()
    d = a.data
    scenes = [
        ("sintel-clean", f"{d}/flow/sintel-alley/flow_0002.flo", f"{d}/flow/sintel-alley/clean/frame_0002.png"),
        ("sintel-final", f"{d}/flow/sintel-alley/flow_0002.flo", f"{d}/flow/sintel-alley/final/frame_0002.png"),
        ("chairs-00001", f"{d}/flow/chairs-crops/00001_flow.flo", f"{d}/flow/chairs-crops/00001_img1.ppm"),
        ("chairs-0000000", f"{d}/flow/chairs-crops/0000000-flow_01.flo", f"{d}/flow/chairs-crops/0000000-img_0.png"),
    ]
    densities = [float(x) for x in a.densities.split(",")]
    rows = []
    cv2.setNumThreads(2)
    with tempfile.TemporaryDirectory() as tmp:
        for name, flo, img in scenes:
            gt = read_flo(flo)
            h, w, _ = gt.shape
            for dens in densities:
                mpath = os.path.join(tmp, "mask.png")
                subprocess.run([a.nexp, "mask", "--like", flo, "--density", str(dens), "--seed", str(a.seed),
                                "-q", mpath], check=True)
                known = cv2.imread(mpath, cv2.IMREAD_GRAYSCALE) > 0
                sparse = np.where(known[:, :, None], gt, 0).astype(np.float32)
                res = {}
                res["nexp homogeneous"] = run_nexp(a.nexp, ["--flow", flo, "--mask", mpath, "--method",
                                                            "homogeneous"], tmp)
                try:
                    res["nexp EED"] = run_nexp(a.nexp, ["--flow", flo, "--mask", mpath, "--image", img,
                                                        "--method", "eed"] + a.eed_args.split(), tmp)
                except RuntimeError as e:
                    print(f"# nexp EED unavailable: {e}", file=sys.stderr)
                res["exact Laplace (SciPy)"] = timed(lambda: laplace_exact(sparse, known))
                res["OpenCV NS float32"] = timed(lambda: cv_inpaint(sparse, known, cv2.INPAINT_NS, False))
                res["OpenCV NS 8-bit"] = timed(lambda: cv_inpaint(sparse, known, cv2.INPAINT_NS, True))
                res["OpenCV Telea float32"] = timed(lambda: cv_inpaint(sparse, known, cv2.INPAINT_TELEA, False))
                res["OpenCV Telea 8-bit"] = timed(lambda: cv_inpaint(sparse, known, cv2.INPAINT_TELEA, True))
                if h * w <= a.skip_biharmonic_above:
                    res["skimage biharmonic"] = timed(
                        lambda: inpaint_biharmonic(sparse.astype(np.float64), ~known, channel_axis=-1))
                for meth, (est, sec) in res.items():
                    row = {"scene": name, "density": dens, "method": meth, "epe": epe(est, gt), "seconds": sec}
                    rows.append(row)
                    print(f"{name:15s} {100 * dens:4.0f} %  {meth:24s} EPE {row['epe']:8.4f}  {sec:8.3f} s",
                          flush=True)
                ex = res["exact Laplace (SciPy)"]
                ho = res["nexp homogeneous"]
                print(f"{'':15s} {'':6s} nexp homogeneous vs exact: EPE {100 * (epe(ho[0], gt) / epe(ex[0], gt) - 1):+.3f} %,"
                      f" speed-up {ex[1] / ho[1]:.1f}x", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
