#!/usr/bin/python3
"""PyTorch peer of bench/nn.c: the same shapes, the same operations, CPU, a given thread count.

(a) MLP 2 -> 50 -> 2 tanh on a batch of 20: y = f(x) with x.requires_grad, y.backward(v)
    (gradients for the input and every parameter).
(b) U-Net widths 12-24-48, depth 2, ReLU, replicate padding, bilinear upsampling
    (align_corners=False), skip concatenation, a 1x1 head with 4 channels, batch (4, 3, 128, 128):
    forward, then backward of sum(out * d).

Usage: nn_torch.py [--threads T] [--quick]; prints lines in the format of bench/nn.c.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="replicate")


class UNet(nn.Module):
    def __init__(self, cin=3, widths=(12, 24, 48), k=4):
        super().__init__()
        w0, w1, w2 = widths
        self.enc0 = conv(cin, w0)
        self.down1, self.conv1 = conv(w0, w1, 2), conv(w1, w1)
        self.down2, self.conv2 = conv(w1, w2, 2), conv(w2, w2)
        self.dec1 = conv(w2 + w1, w1)
        self.dec0 = conv(w1 + w0, w0)
        self.head = nn.Conv2d(w0, k, 1)

    def forward(self, x):
        e0 = F.relu(self.enc0(x))
        e1 = F.relu(self.conv1(F.relu(self.down1(e0))))
        e2 = F.relu(self.conv2(F.relu(self.down2(e1))))
        up = F.interpolate(e2, scale_factor=2, mode="bilinear", align_corners=False)
        d1 = F.relu(self.dec1(torch.cat([up, e1], 1)))
        up = F.interpolate(d1, scale_factor=2, mode="bilinear", align_corners=False)
        d0 = F.relu(self.dec0(torch.cat([up, e0], 1)))
        return self.head(d0)


def best_of(fn, reps, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"pytorch {torch.__version__} nn benchmark, {a.threads} thread(s)")

    mlp = nn.Sequential(nn.Linear(2, 50), nn.Tanh(), nn.Linear(50, 2)).double()
    x = torch.randn(20, 2, dtype=torch.float64, requires_grad=True)
    v = torch.randn(20, 2, dtype=torch.float64)

    def step_mlp():
        mlp.zero_grad(set_to_none=False)
        x.grad = None
        mlp(x).backward(v)

    nparams = sum(p.numel() for p in mlp.parameters())
    t = best_of(step_mlp, 200 if a.quick else 2000)
    print(f"mlp 2-50-2 tanh batch 20   params {nparams:6d}   {t * 1e6:10.2f} us per forward+backward")

    net = UNet()
    xi = torch.rand(4, 3, 128, 128)
    d = torch.randn(4, 4, 128, 128) / (4 * 4 * 128 * 128)

    def step_unet():
        net.zero_grad(set_to_none=False)
        (net(xi) * d).sum().backward()

    step_unet()
    nparams = sum(p.numel() for p in net.parameters())
    t = best_of(step_unet, 1 if a.quick else 3)
    print(f"unet 12-24-48 on 4x3x128x128 params {nparams:6d}   {t * 1e3:10.2f} ms per forward+backward")


if __name__ == "__main__":
    main()
