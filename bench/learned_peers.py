#!/usr/bin/env python3
"""OpenCV Navier-Stokes inpainting (cv2.inpaint, INPAINT_NS, per flow channel) on the masks that
bench/learned_eval wrote (MASK_DIR/<set>_<density>_<seed>.png, 255 = known), so its EPE sits in
the same table as nexp's homogeneous, EED and learned inpainting.

    build/bench/learned_eval data/inpaint-model.h5 3 /tmp/masks
    /usr/bin/python3 bench/learned_peers.py /tmp/masks [SHARED_DATA]
"""
import glob
import os
import sys

import cv2
import numpy as np


def read_flo(path):
    with open(path, "rb") as f:
        magic = np.fromfile(f, np.float32, 1)[0]
        assert abs(magic - 202021.25) < 1e-3, path
        w, h = np.fromfile(f, np.int32, 2)
        return np.fromfile(f, np.float32, 2 * w * h).reshape(h, w, 2)


def ns_inpaint(flow, known):
    """cv2.inpaint works on 8-bit or 32-bit float single-channel images; holes = mask != 0."""
    holes = (known == 0).astype(np.uint8)
    out = np.empty_like(flow)
    for c in range(2):
        out[..., c] = cv2.inpaint(flow[..., c].astype(np.float32), holes, 3, cv2.INPAINT_NS)
    return out


def main():
    mask_dir = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("NEXP_SHARED_DATA", "../shared/data")
    gts = {
        "sintel-clean": "flow/sintel-alley/flow_0002.flo",
        "sintel-final": "flow/sintel-alley/flow_0002.flo",
        "chairs-00001": "flow/chairs-crops/00001_flow.flo",
        "chairs-0000000": "flow/chairs-crops/0000000-flow_01.flo",
    }
    print(f"{'data':15s} {'density':>7s} {'opencv-ns':>12s}")
    for name, rel in gts.items():
        gt = read_flo(os.path.join(root, rel))
        for dens in (1, 5, 10):
            epes = []
            for path in sorted(glob.glob(os.path.join(mask_dir, f"{name}_{dens:02d}_*.png"))):
                known = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
                est = ns_inpaint(gt, known)
                epes.append(float(np.mean(np.sqrt(np.sum((est - gt) ** 2, axis=2)))))
            if epes:
                print(f"{name:15s} {dens:6d}% {np.mean(epes):12.4f}")


if __name__ == "__main__":
    main()
