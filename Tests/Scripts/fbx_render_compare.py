#!/usr/bin/env python3
"""Render FBX files converted through the native reader and through Assimp in headless Chromium; print the share of
pixels that differ (any channel by more than 16) between the two renders.

Usage: fbx_render_compare.py OPTIMIZE OUTDIR FILE.fbx...   (PNGs land in OUTDIR as NAME.native.png / NAME.assimp.png)
"""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    optimize, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    worst = 0.0
    for fbx in sys.argv[3:]:
        name = os.path.splitext(os.path.basename(fbx))[0]
        pngs = []
        for importer in ("native", "assimp"):
            glb = os.path.join(out, f"{name}.{importer}.glb")
            png = os.path.join(out, f"{name}.{importer}.png")
            subprocess.run([optimize, fbx, "-o", glb, "--importer", importer], check=True, capture_output=True)
            subprocess.run([sys.executable, os.path.join(HERE, "render.py"), glb, png], check=True)
            pngs.append(np.asarray(Image.open(png).convert("RGB"), dtype=np.int16))
        diff = np.abs(pngs[0] - pngs[1]).max(axis=2) > 16
        share = float(diff.mean())
        worst = max(worst, share)
        print(f"{name}: {share * 100:.2f} % of pixels differ")
    print(f"worst: {worst * 100:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
