#!/usr/bin/env python3
"""Structural similarity of two images of the same size: ssim.py A.png B.png -> prints the score (0..1).

Luma (BT.601) of each image, Gaussian window (sigma 1.5), the constants of Wang et al. 2004 (K1 0.01, K2 0.03,
L 255), averaged over the image. Exit 2 on usage errors or different sizes.
"""
import sys

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter


def luma(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def ssim(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda x: gaussian_filter(x, 1.5, truncate=3.5)
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(index.mean())


def main(argv):
    if len(argv) != 2:
        print("usage: ssim.py A.png B.png", file=sys.stderr)
        return 2
    a, b = luma(argv[0]), luma(argv[1])
    if a.shape != b.shape:
        print(f"sizes differ: {a.shape[::-1]} vs {b.shape[::-1]}", file=sys.stderr)
        return 2
    print(f"{ssim(a, b):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
