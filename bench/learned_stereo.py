#!/usr/bin/python3
"""learned_stereo -- a real-data check for choosing learned inpainting models without ../shared/data.

The Middlebury 2014 'motorcycle' pair that python3-skimage ships (motorcycle_left.png, 741 x 500, with
its ground-truth disparity motorcycle_disp.npz) is real footage with exact correspondences: the left
image's pixel x matches x - d in the right image, i.e. the flow (u, v) = (-d, 0), with the disparity's
unknown pixels (occlusions, no data) left out. It is inpainted from seeded Bernoulli masks (nexp mask)
at 1, 5 and 10 % density by homogeneous diffusion, guided EED (nexp's tuned defaults) and each model
given, and scored by mean EPE (nexp eval) over the valid pixels, known ones included as in learned_eval.

Unlike the evaluation data in ../shared/data (Sintel, the chairs crops), this pair may be used to choose
a model. Caveat: the same two photos are among the textures of `--data photos:` / `mixed:` scenes when
those point at skimage's data folder, so a model has seen the images, though never their disparity.

    /usr/bin/python3 bench/learned_stereo.py BUILD/nexp MODEL.h5 [MODEL2.h5 ...] [--seeds N]

Prints one row per density: EPE of each method (mean over the masks), then each model's EPE as a share
of EED's; the last line is the mean of those shares over the densities (lower is better).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    sys.exit("learned_stereo: needs NumPy (NEXP_WITH_PEERS=1 bash scripts/install-deps.sh)")

SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
DENSITIES = (0.01, 0.05, 0.10)


def write_flo(path, u, v):
    """Middlebury .flo: 'PIEH', width, height, then interleaved float32 (u, v) rows."""
    h, w = u.shape
    with open(path, "wb") as f:
        f.write(b"PIEH")
        np.array([w, h], dtype="<i4").tofile(f)
        np.dstack([u, v]).astype("<f4").tofile(f)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"learned_stereo: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("nexp")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--seeds", type=int, default=3, help="masks per density (seeds 1..N)")
    ap.add_argument("--photos", default=SKIMAGE_DATA, help="folder with the motorcycle files")
    a = ap.parse_args()
    left = os.path.join(a.photos, "motorcycle_left.png")
    disp_path = os.path.join(a.photos, "motorcycle_disp.npz")
    for p in (left, disp_path):
        if not os.path.exists(p):
            sys.exit(f"learned_stereo: {p} not found (install python3-skimage or pass --photos)")
    for m in a.models:
        if not os.path.exists(m):
            sys.exit(f"learned_stereo: model {m} not found")
    disp = np.load(disp_path)["arr_0"].astype(np.float32)
    valid = np.isfinite(disp)
    u = np.where(valid, -disp, np.float32(1e10)).astype(np.float32)
    v = np.where(valid, np.float32(0.0), np.float32(1e10)).astype(np.float32)
    methods = [("homogeneous", ["--method", "homogeneous"]), ("eed", ["--method", "eed", "--image", left])]
    methods += [(f"model{i + 1}", ["--method", "learned", "--image", left, "--model", m])
                for i, m in enumerate(a.models)]
    print(f"Middlebury 2014 motorcycle, {disp.shape[1]} x {disp.shape[0]}, {valid.sum()} valid pixels, "
          f"disparity {disp[valid].min():.1f}..{disp[valid].max():.1f} px; EPE (px), mean over {a.seeds} masks")
    for i, m in enumerate(a.models):
        print(f"  model{i + 1}: {m}")
    print(f"{'density':>8}" + "".join(f"{n:>13}" for n, _ in methods)
          + "".join(f"{'/eed ' + n:>14}" for n, _ in methods[2:]))
    shares = np.zeros((len(DENSITIES), len(a.models)))
    with tempfile.TemporaryDirectory() as tmp:
        gt = os.path.join(tmp, "gt.flo")
        write_flo(gt, u, v)
        for di, d in enumerate(DENSITIES):
            epe = np.zeros(len(methods))
            for s in range(1, a.seeds + 1):
                mask = os.path.join(tmp, "mask.png")
                run([a.nexp, "mask", "--like", gt, "--density", str(d), "--seed", str(s), "-q", mask])
                for k, (_, opts) in enumerate(methods):
                    out = os.path.join(tmp, "out.flo")
                    run([a.nexp, "inpaint", "--flow", gt, "--mask", mask, "--out", out, "-q"] + opts)
                    epe[k] += json.loads(run([a.nexp, "eval", out, gt, "--json"]))["epe"] / a.seeds
            shares[di] = epe[2:] / epe[1]
            print(f"{100 * d:>7.0f}%" + "".join(f"{e:>13.4f}" for e in epe)
                  + "".join(f"{r:>14.4f}" for r in shares[di]), flush=True)
    print(f"{'mean EPE / EED':>8}" + " " * (13 * len(methods) - 6) + "".join(f"{r:>14.4f}" for r in shares.mean(0)))


if __name__ == "__main__":
    main()
