"""Checks fidelity.py on surfaces whose distances are known analytically. Run: .venv/bin/python benchmarks/test_fidelity.py

Exits non-zero when a check fails (run.py --quick runs it first).
"""

import math
import sys

import numpy as np
import trimesh

import fidelity
import generate


def unit_cube(scale: float = 1.0) -> trimesh.Trimesh:
    """An axis-aligned cube of edge `scale` centred on the origin, subdivided so triangles are small."""
    cube = trimesh.creation.box(extents=(scale, scale, scale))
    vertices, faces = trimesh.remesh.subdivide_to_size(cube.vertices, cube.faces, max_edge=scale / 8)
    return trimesh.Trimesh(vertices=vertices, faces=faces)  # process=True merges the split edges


def check(name: str, condition: bool, detail: str) -> bool:
    print(f"{'ok  ' if condition else 'FAIL'} {name}: {detail}")
    return condition


def main() -> int:
    ok = True
    diagonal = math.sqrt(3.0)

    # Identical surfaces: every sample lies on a triangle of the other surface.
    cube = unit_cube()
    r = fidelity.compare(cube, cube, samples=20_000)
    ok &= check("identical", r["hausdorff_pct"] < 1e-9, f"hausdorff={r['hausdorff_pct']:.2e}%")

    # A bumpy surface with many more triangles than samples against itself: exact, not limited by sample spacing.
    bumpy = generate.displaced(trimesh.creation.icosphere(subdivisions=3), 6, relief=0.02)
    r = fidelity.compare(bumpy, bumpy, samples=5_000)
    ok &= check("identical, dense", r["hausdorff_pct"] < 1e-9,
                f"{len(bumpy.faces)} triangles, 5000 samples: hausdorff={r['hausdorff_pct']:.2e}%")

    # The same surface with its triangles in another order, long thin triangles at the poles of a UV sphere: the
    # closest triangle of many samples is not next to the nearest centroid, so only the exact pass finds it.
    sphere = trimesh.creation.uv_sphere(count=[48, 48])
    shuffled = trimesh.Trimesh(vertices=sphere.vertices,
                               faces=sphere.faces[np.random.default_rng(3).permutation(len(sphere.faces))],
                               process=False)
    r = fidelity.compare(sphere, shuffled, samples=20_000)
    ok &= check("identical, thin triangles", r["hausdorff_pct"] < 1e-9, f"hausdorff={r['hausdorff_pct']:.2e}%")

    # Unit cube vs the same cube scaled by 1.01: faces are 0.005 apart; the farthest points are the outer cube's
    # corners, sqrt(3) * 0.005 from the inner cube. Most samples lie on face interiors (distance exactly 0.005).
    r = fidelity.compare(cube, unit_cube(1.01), samples=100_000)
    face, corner = 100 * 0.005 / diagonal, 100 * math.sqrt(3) * 0.005 / diagonal
    ok &= check("cube 1.01 hausdorff", face * 1.2 <= r["hausdorff_pct"] <= corner * 1.0001,
                f"{r['hausdorff_pct']:.5f}% in [{face * 1.2:.5f}, {corner:.5f}]")
    ok &= check("cube 1.01 rms", face <= r["rms_pct"] <= face * 1.02, f"{r['rms_pct']:.5f}% vs {face:.5f}%")
    ok &= check("cube 1.01 inner to outer", abs(r["forward_max_pct"] - face) < face * 1e-6,
                f"{r['forward_max_pct']:.6f}% vs {face:.6f}%")

    # Two parallel unit squares 0.01 apart: every distance is 0.01 except over the overhang of the shifted one.
    square = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], faces=[[0, 1, 2], [0, 2, 3]])
    lifted = square.copy()
    lifted.apply_translation([0, 0, 0.01])
    r = fidelity.compare(square, lifted, samples=20_000)
    expected = 100 * 0.01 / math.sqrt(2)
    ok &= check("offset plane", abs(r["hausdorff_pct"] - expected) < 1e-9 and abs(r["rms_pct"] - expected) < 1e-9,
                f"hausdorff={r['hausdorff_pct']:.6f}% rms={r['rms_pct']:.6f}% expected {expected:.6f}%")

    # A stray triangle far from the reference is found by the symmetric (backward) direction.
    stray = trimesh.Trimesh(vertices=[[0, 0, 2.0], [0.01, 0, 2.0], [0, 0.01, 2.0]], faces=[[0, 1, 2]])
    r = fidelity.compare(cube, trimesh.util.concatenate([cube, stray]), samples=50_000)
    expected = 100 * 1.5 / diagonal
    ok &= check("stray triangle", abs(r["hausdorff_pct"] - expected) < 0.01 * expected,
                f"{r['hausdorff_pct']:.4f}% vs {expected:.4f}%")

    # Deterministic: the same inputs give the same numbers.
    sphere = trimesh.creation.icosphere(subdivisions=4)
    coarse = trimesh.creation.icosphere(subdivisions=2)
    first = fidelity.compare(sphere, coarse, samples=30_000)
    second = fidelity.compare(sphere, coarse, samples=30_000)
    ok &= check("deterministic", first == second, f"{first['hausdorff_pct']:.6f}%")
    # A coarse sphere inscribed in the fine one deviates by at most the sagitta of its largest edge.
    edge = coarse.edges_unique_length.max()
    sagitta = 1 - math.sqrt(1 - (edge / math.sqrt(3)) ** 2)
    ok &= check("sphere bound", 0 < first["hausdorff_pct"] <= 100 * sagitta / 2 * 1.05,
                f"{first['hausdorff_pct']:.4f}% <= {100 * sagitta / 2:.4f}%")
    return 0 if ok else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
