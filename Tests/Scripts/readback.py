#!/usr/bin/env python3
"""Read a GLB/glTF with independent readers and print one JSON object.

Usage: readback.py FILE.glb

Output: {"file": ..., "readers": {"pygltflib": {...}, "trimesh": {...}, "assimp": {...}}}
Every reader entry has "ok" (bool) and, on failure, "error". What each reader reports, and how it compares
with `optimize inspect --json`:

- pygltflib (JSON + our own accessor decoding with numpy): the file as written.
  nodes, meshes, primitives, materials = array lengths in the file; triangles = per mesh (each mesh once,
  like inspect's "triangles"); instancedTriangles = per node reachable from the default scene that uses a mesh
  (like inspect's "instancedTriangles"). Triangles come from the index accessor count (or POSITION count when
  unindexed): TRIANGLES n/3, TRIANGLE_STRIP/FAN n-2, points/lines 0. bounds = world-space AABB of every
  decoded POSITION (dequantized: normalized integers are mapped back to floats), through the node hierarchy.
- trimesh (trimesh.load, process=False): the scene graph as trimesh sees it. Only instancedTriangles (faces
  summed over graph nodes that reference a triangle geometry) and bounds (of those triangle geometries) are
  comparable: trimesh adds its own root node, drops nodes it does not need, turns point/line primitives into
  PointCloud/Path3D (not counted here), and may merge or rename materials, so nodes/materials are not reported.
- assimp (`assimp info FILE --raw`, Assimp 5.2.5): a separate C++ importer. Each glTF primitive becomes one
  aiMesh, so "meshes" here is comparable with primitives; triangles = faces of triangle-only meshes, each mesh
  once (like inspect's "triangles"). Assimp only keeps materials some primitive uses and appends a default
  material when a primitive has none: compare "materials" with pygltflib's usedMaterials (+0 or +1). It adds a
  root node when the scene has several roots (nodes = file nodes + 0 or 1). No bounds: `assimp info` applies
  rotated node transforms wrongly (a -90° X root came out as +90°) and reads quantized positions as floats.
"""
import json
import os
import re
import subprocess
import sys

import numpy as np

COMPONENT = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
NORMALIZE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


def triangles_in(mode, count):
    """Triangles drawn by a primitive with `count` indices (or vertices) in glTF mode `mode`."""
    if mode == 4:
        return count // 3
    if mode in (5, 6):
        return max(count - 2, 0)
    return 0


def node_matrix(node):
    """The node's local transform as a 4x4 numpy matrix (glTF column-major matrix or TRS)."""
    if node.matrix is not None:
        return np.array(node.matrix, dtype=np.float64).reshape(4, 4).T
    t = np.array(node.translation if node.translation is not None else [0, 0, 0], dtype=np.float64)
    x, y, z, w = node.rotation if node.rotation is not None else [0, 0, 0, 1]
    s = np.array(node.scale if node.scale is not None else [1, 1, 1], dtype=np.float64)
    r = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    m = np.eye(4)
    m[:3, :3] = r * s
    m[:3, 3] = t
    return m


def scene_instances(gltf):
    """(node index, world matrix) for every node reachable from the default scene (or scene 0)."""
    if not gltf.scenes:
        return []
    scene = gltf.scenes[gltf.scene if gltf.scene is not None else 0]
    out, stack, seen = [], [(n, np.eye(4)) for n in (scene.nodes or [])], set()
    while stack:
        index, parent = stack.pop()
        if index in seen:
            raise ValueError(f"node {index} is reachable twice (cycle or shared child)")
        seen.add(index)
        world = parent @ node_matrix(gltf.nodes[index])
        out.append((index, world))
        stack.extend((c, world) for c in (gltf.nodes[index].children or []))
    return out


def read_accessor(gltf, blob, index):
    """Decode accessor `index` into a float64 array of shape (count, width); dequantizes normalized ints."""
    acc = gltf.accessors[index]
    if acc.sparse is not None:
        raise ValueError(f"accessor {index} is sparse (not decoded here)")
    dtype = np.dtype(COMPONENT[acc.componentType]).newbyteorder("<")
    width = WIDTH[acc.type]
    if acc.bufferView is None:
        return np.zeros((acc.count, width))
    view = gltf.bufferViews[acc.bufferView]
    if view.extensions and "EXT_meshopt_compression" in view.extensions:
        raise ValueError(f"bufferView {acc.bufferView} uses EXT_meshopt_compression (not decoded here)")
    data = buffer_bytes(gltf, blob, view.buffer)
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    elem = dtype.itemsize * width
    stride = view.byteStride or elem
    if acc.count and start + stride * (acc.count - 1) + elem > len(data):
        raise ValueError(f"accessor {index} runs past the end of buffer {view.buffer}")
    raw = np.lib.stride_tricks.as_strided(
        np.frombuffer(data, dtype=np.uint8, count=len(data) - start, offset=start),
        shape=(acc.count, elem), strides=(stride, 1)).copy()
    values = raw.view(dtype).reshape(acc.count, width).astype(np.float64)
    if acc.normalized and acc.componentType in NORMALIZE:
        values = np.maximum(values / NORMALIZE[acc.componentType], -1.0)
    return values


_buffers = {}


def buffer_bytes(gltf, blob, index):
    """Bytes of buffer `index`: the GLB BIN chunk, a data: URI or a file next to the glTF."""
    if index in _buffers:
        return _buffers[index]
    buf = gltf.buffers[index]
    if buf.uri is None:
        data = blob
    elif buf.uri.startswith("data:"):
        import base64
        data = base64.b64decode(buf.uri.split(",", 1)[1])
    else:
        from urllib.parse import unquote
        with open(os.path.join(_base_dir, unquote(buf.uri)), "rb") as f:
            data = f.read()
    if data is None or len(data) < buf.byteLength:
        raise ValueError(f"buffer {index} is shorter than its byteLength {buf.byteLength}")
    _buffers[index] = data
    return data


_base_dir = "."


def read_pygltflib(path):
    import pygltflib
    gltf = pygltflib.GLTF2().load(path)
    blob = gltf.binary_blob()
    meshes = gltf.meshes or []

    def prim_triangles(p):
        count = gltf.accessors[p.indices].count if p.indices is not None else (
            gltf.accessors[p.attributes.POSITION].count if p.attributes.POSITION is not None else 0)
        return triangles_in(p.mode if p.mode is not None else 4, count)

    per_mesh = [sum(prim_triangles(p) for p in m.primitives) for m in meshes]
    instances = scene_instances(gltf)
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    instanced = 0
    for index, world in instances:
        node = gltf.nodes[index]
        if node.mesh is None:
            continue
        instanced += per_mesh[node.mesh]
        for p in meshes[node.mesh].primitives:
            if p.attributes.POSITION is None:
                continue
            pos = read_accessor(gltf, blob, p.attributes.POSITION)
            if len(pos) == 0:
                continue
            w = pos @ world[:3, :3].T + world[:3, 3]
            lo, hi = np.minimum(lo, w.min(axis=0)), np.maximum(hi, w.max(axis=0))
    return {
        "nodes": len(gltf.nodes or []),
        "meshes": len(meshes),
        "primitives": sum(len(m.primitives) for m in meshes),
        "materials": len(gltf.materials or []),
        "usedMaterials": len({p.material for m in meshes for p in m.primitives if p.material is not None}),
        "textures": len(gltf.textures or []),
        "images": len(gltf.images or []),
        "skins": len(gltf.skins or []),
        "animations": len(gltf.animations or []),
        "triangles": sum(per_mesh),
        "instancedTriangles": instanced,
        "extensionsUsed": sorted(gltf.extensionsUsed or []),
        "bounds": bounds_json(lo, hi),
    }


def read_trimesh(path):
    import trimesh
    scene = trimesh.load(path, force="scene", process=False)
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    instanced = 0
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        geom = scene.geometry[name]
        if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) == 0:
            continue
        instanced += len(geom.faces)
        w = trimesh.transformations.transform_points(geom.vertices, transform)
        lo, hi = np.minimum(lo, w.min(axis=0)), np.maximum(hi, w.max(axis=0))
    return {"instancedTriangles": instanced, "bounds": bounds_json(lo, hi)}


def read_assimp(path):
    proc = subprocess.run(["assimp", "info", path, "--raw"], capture_output=True, text=True,
                          errors="replace", timeout=120)
    out = proc.stdout
    if proc.returncode != 0 or "Nodes:" not in out:
        last = (proc.stderr.strip() or out.strip()).splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"assimp info exited {proc.returncode}: {last[0]}")

    def number(label):
        m = re.search(rf"^{label}:\s+(\d+)", out, re.M)
        return int(m.group(1)) if m else None

    triangles = 0
    for m in re.finditer(r"^\s+\d+ \(.*\): \[(\d+) / (\d+) / (\d+) \| (\w+)\]$", out, re.M):
        if m.group(4) == "triangle":
            triangles += int(m.group(3))

    return {
        "nodes": number("Nodes"),
        "meshes": number("Meshes"),
        "materials": number("Materials"),
        "animations": number("Animations"),
        "faces": number("Faces"),
        "triangles": triangles,
        "primitiveTypes": (re.search(r"^Primitive Types:\s+(\S*)", out, re.M) or [None, None])[1],
    }


def bounds_json(lo, hi):
    if not np.all(lo <= hi):
        return None
    return {"min": [float(v) for v in lo], "max": [float(v) for v in hi]}


def main():
    if len(sys.argv) != 2:
        print("usage: readback.py FILE.glb", file=sys.stderr)
        return 2
    global _base_dir
    path = sys.argv[1]
    _base_dir = os.path.dirname(os.path.abspath(path))
    readers = {}
    for name, fn in (("pygltflib", read_pygltflib), ("trimesh", read_trimesh), ("assimp", read_assimp)):
        try:
            readers[name] = {"ok": True, **fn(path)}
        except Exception as e:  # a reader failing is a result, reported per reader
            readers[name] = {"ok": False, "error": f"{type(e).__name__}: {e}".splitlines()[0][:300]}
    json.dump({"file": path, "readers": readers}, sys.stdout, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
