"""Geometric fidelity between two triangle surfaces, independent of the optimizer under test.

Method (symmetric, area-weighted):
  1. Sample `samples` points uniformly by area on each surface (seeded, so results are deterministic).
  2. For every sample on A (and up to `samples` vertices of A, so small detached parts are not missed), find the
     `candidates` nearest locators on B with a k-d tree (scipy cKDTree) over B's triangle centroids and area
     samples; the candidate triangles are the locators' triangles plus every triangle around the corners of the
     nearest one. The exact point-to-triangle distance (trimesh) to the closest candidate is an upper bound d.
     Then the search is made exact: a triangle within d of the point has its centroid within d + R of it, R the
     triangle's radius about its centroid, so every triangle whose centroid lies in that ball (k-d trees per
     radius class, smallest first, d shrinking as closer triangles are found) is measured too. Same for B -> A.
  3. Hausdorff = max over both directions; RMS = root mean square over the area samples of both directions.
  Both are reported as a percentage of the *input* bounding-box diagonal.

Every distance is the exact distance from the point to the other surface (zero-area triangles aside, which have no
surface). The Hausdorff value is a maximum over samples, so it can miss a narrow spike smaller than the sample
spacing (an underestimate); RMS converges as samples grow.
test_fidelity.py checks the method on cases with known answers.
"""

from __future__ import annotations

import numpy as np
import trimesh
from scipy.spatial import cKDTree


def load_surface(path: str) -> trimesh.Trimesh:
    """All triangles of a model file (OBJ, glTF, GLB), with node transforms applied, as one mesh.

    Points and lines are ignored. GLB outputs with KHR_mesh_quantization are dequantized by trimesh through the node
    transforms gltfpack writes.
    """
    scene = trimesh.load(path, force="scene", process=False)
    meshes = []
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        geometry = scene.geometry[name]
        if isinstance(geometry, trimesh.Trimesh) and len(geometry.faces):
            mesh = trimesh.Trimesh(vertices=np.asarray(geometry.vertices, dtype=np.float64),
                                   faces=np.asarray(geometry.faces), process=False)
            mesh.apply_transform(transform)
            meshes.append(mesh)
    if not meshes:
        raise ValueError(f"{path}: no triangles to compare")
    return trimesh.util.concatenate(meshes) if len(meshes) > 1 else meshes[0]


def sample_surface(mesh: trimesh.Trimesh, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` points uniform by area on `mesh` and the index of the triangle each lies on."""
    rng = np.random.default_rng(seed)
    triangles = mesh.vertices[mesh.faces]
    areas = 0.5 * np.linalg.norm(np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]),
                                 axis=1)
    total = areas.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("surface has no area")
    faces = np.searchsorted(np.cumsum(areas) / total, rng.random(count), side="right")
    faces = np.minimum(faces, len(areas) - 1)
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = triangles[faces]
    points = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
    return points, faces


def vertex_neighbours(mesh: trimesh.Trimesh, cap: int = 10) -> np.ndarray:
    """(F, 3 * cap) array: for each triangle, the triangles around its three corners (at most `cap` per corner),
    padded with the triangle itself.

    Corners are matched by position, so seams (split UVs or normals) do not break the neighbourhood.
    """
    unique, inverse = trimesh.grouping.unique_rows(mesh.vertices)
    faces = inverse[mesh.faces]
    corners = faces.reshape(-1)
    order = np.argsort(corners, kind="stable")
    sorted_corners = corners[order]
    rank = np.arange(len(corners)) - np.searchsorted(sorted_corners, sorted_corners, side="left")
    keep = rank < cap
    ring = np.full((len(unique), cap), -1, dtype=np.int64)
    ring[sorted_corners[keep], rank[keep]] = order[keep] // 3
    result = ring[faces].reshape(len(faces), -1)
    own = np.repeat(np.arange(len(faces))[:, None], result.shape[1], axis=1)
    return np.where(result < 0, own, result)


def vertex_subset(mesh: trimesh.Trimesh, limit: int) -> np.ndarray:
    """At most `limit` of the vertices used by triangles (every n-th, in index order)."""
    used = np.unique(mesh.faces.reshape(-1))
    return mesh.vertices[used[::max(1, -(-len(used) // limit))]]


class Surface:
    """A mesh prepared for distance queries: area samples and a vertex subset (the query points it contributes),
    a k-d tree over triangle centroids and area samples, and corner neighbourhoods."""

    def __init__(self, mesh: trimesh.Trimesh, samples: int, seed: int):
        self.mesh = mesh
        self.samples, sample_faces = sample_surface(mesh, samples, seed)
        self.vertices = vertex_subset(mesh, samples)
        self.points = np.concatenate([self.samples, self.vertices])
        # Locators: every triangle's centroid (finds small triangles) and the area samples (cover large ones).
        centroids = mesh.vertices[mesh.faces].mean(axis=1)
        self.locator_faces = np.concatenate([np.arange(len(mesh.faces)), sample_faces])
        self.tree = cKDTree(np.concatenate([centroids, self.samples]))
        self.neighbours = vertex_neighbours(mesh)
        # Radius classes for the exact pass: triangles by their radius about the centroid, in powers of two of the
        # median radius (most triangles fall in the first class; long thin ones in few, small later classes).
        triangles = mesh.vertices[mesh.faces]
        radius = np.linalg.norm(triangles - centroids[:, None, :], axis=2).max(axis=1)
        unit = max(float(np.median(radius)), 1e-30)
        level = np.maximum(0, np.floor(np.log2(np.maximum(radius, unit) / unit))).astype(np.int64)
        self.classes = []
        for k in np.unique(level):
            faces = np.nonzero(level == k)[0]
            self.classes.append((cKDTree(centroids[faces]), faces, float(radius[faces].max())))

    def distances(self, points: np.ndarray, candidates: int = 4, chunk: int = 40_000) -> np.ndarray:
        """Distance from each point to this surface: the nearest of the triangles of its `candidates` nearest
        locators (centroids or samples) and the triangles around the corners of the nearest one's triangle."""
        result = np.empty(len(points))
        for start in range(0, len(points), chunk):
            block = points[start:start + chunk]
            _, nearest = self.tree.query(block, k=candidates)
            nearest_faces = self.locator_faces[nearest.reshape(len(block), -1)]
            faces = np.concatenate([self.neighbours[nearest_faces[:, 0]], nearest_faces[:, 1:]], axis=1)
            triangles = self.mesh.vertices[self.mesh.faces[faces.reshape(-1)]]
            repeated = np.repeat(block, faces.shape[1], axis=0)
            closest = trimesh.triangles.closest_point(triangles, repeated)
            d = np.linalg.norm(closest - repeated, axis=1).reshape(len(block), -1)
            d[~np.isfinite(d)] = np.inf                         # degenerate (zero-area) candidate triangles
            result[start:start + chunk] = d.min(axis=1)
        return self.exact(points, result)

    def exact(self, points: np.ndarray, bound: np.ndarray, chunk: int = 4_000) -> np.ndarray:
        """The exact distances, given upper bounds: measures every triangle whose centroid lies within bound + R of
        the point (R the largest radius of the triangle's class), where the closest triangle must be."""
        best = bound.copy()
        for tree, faces, reach in self.classes:
            for start in range(0, len(points), chunk):
                block = points[start:start + chunk]
                limit = best[start:start + chunk]
                # A point whose bound is not finite (only degenerate candidates) searches its own spot only.
                radius = np.where(np.isfinite(limit), limit + reach, 0.0) * (1 + 1e-9) + 1e-12
                found = tree.query_ball_point(block, radius)
                counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
                if counts.sum() == 0:
                    continue
                owner = np.repeat(np.arange(len(block)), counts)
                which = faces[np.concatenate([np.asarray(f, dtype=np.int64) for f in found if f])]
                triangles = self.mesh.vertices[self.mesh.faces[which]]
                closest = trimesh.triangles.closest_point(triangles, block[owner])
                d = np.linalg.norm(closest - block[owner], axis=1)
                d[~np.isfinite(d)] = np.inf
                np.minimum.at(limit, owner, d)
                best[start:start + chunk] = limit
        return best


def compare(reference: trimesh.Trimesh | Surface, candidate: trimesh.Trimesh | Surface, samples: int = 200_000,
            seed: int = 1) -> dict:
    """Symmetric Hausdorff and RMS distance between two surfaces, in % of the reference bounding-box diagonal.

    Either side may be a prepared `Surface` (to reuse one reference for many candidates). RMS is over the area
    samples of both surfaces; the maxima also include up to `samples` vertices of each surface, so small detached
    parts (a stray triangle) are not missed by area sampling.
    """
    a = reference if isinstance(reference, Surface) else Surface(reference, samples, seed)
    b = candidate if isinstance(candidate, Surface) else Surface(candidate, samples, seed + 1)
    diagonal = float(np.linalg.norm(a.mesh.bounds[1] - a.mesh.bounds[0]))
    if diagonal <= 0:
        raise ValueError("reference has an empty bounding box")
    ab, ba = b.distances(a.points), a.distances(b.points)
    area = np.concatenate([ab[:len(a.samples)], ba[:len(b.samples)]])
    return {
        "hausdorff_pct": 100.0 * max(float(ab.max()), float(ba.max())) / diagonal,
        "rms_pct": 100.0 * float(np.sqrt(np.mean(area ** 2))) / diagonal,
        "forward_max_pct": 100.0 * float(ab.max()) / diagonal,
        "backward_max_pct": 100.0 * float(ba.max()) / diagonal,
        "diagonal": diagonal,
        "samples": len(a.samples),
    }


def compare_files(reference_path: str, candidate_path: str, samples: int = 200_000) -> dict:
    """`compare` on two model files."""
    return compare(load_surface(reference_path), load_surface(candidate_path), samples=samples)
