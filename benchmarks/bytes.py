"""Bytes against gltfpack on untextured models, by hand (not part of run.sh): `optimize --quantize` vs plain
`gltfpack`, `optimize --preset web` vs `gltfpack -cc`, optionally at a ratio (`--ratio R` vs `-si R`) with
triangle counts and fidelity.py's Hausdorff/RMS.

Usage: .venv/bin/python benchmarks/bytes.py OPTIMIZE_BINARY [--ratio R] [--fidelity] [MODEL ...]
Without models: the untextured fixtures plus a fixed list of corpus models (skipped when ../shared is absent).
Prints one row per model and the geometric means; models where gltfpack writes images are skipped (it keeps them
external, so bytes would not compare geometry).
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "..", "shared", "corpus", "files")
CORPUS_MODELS = [
    "obj/trimesh__chair_model.obj", "obj/trimesh__quadknot.obj", "obj/assimp__regr01/regr01.obj",
    "gltf/trimesh__mode5.gltf", "obj/c3d__beast.obj", "gltf/bevy__Mountains/Mountains.gltf", "obj/assimp__WusonOBJ.obj",
    "gltf/bevy__torus.gltf", "obj/trimesh__groups.obj", "gltf/trimesh__monkey.glb", "obj/trimesh__noimg.obj",
    "obj/assimp__testmixed.obj", "gltf/bevy__alien.glb", "gltf/khr__AnimatedMorphSphere/AnimatedMorphSphere.gltf",
    "obj/assimp__cube_with_vertexcolors.obj", "gltf/assimp__simple_skin.gltf", "gltf/assimp__simple_skin_quad_skin.glb",
    "obj/c3d__cow.obj", "obj/c3d__fandisk.obj", "obj/nonbsd__segment/segment.obj", "gltf/trimesh__boolean.glb",
    "gltf/bevy__faces.glb", "gltf/trimesh__TestScene/TestScene.gltf", "obj/trimesh__nancolor.obj",
    "gltf/assimp__cameras/Cameras.gltf", "obj/c3d__teapot.obj", "obj/c3d__beetle.obj",
]
# gltfpack reads OBJ/glTF/GLB only; today's such fixtures are all textured, so they are skipped below.
FIXTURES = ["fixtures/models/obj/spider/spider.obj", "fixtures/models/glb/BoxTextured.glb"]


def glb_json(path):
    with open(path, "rb") as f:
        data = f.read()
    length = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + length])


def triangles(path):
    doc = glb_json(path)
    total = 0
    for mesh in doc.get("meshes", []):
        for p in mesh["primitives"]:
            if p.get("mode", 4) == 4:
                total += (doc["accessors"][p["indices"]]["count"] if "indices" in p
                          else doc["accessors"][p["attributes"]["POSITION"]]["count"]) // 3
    return total


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    return result.returncode == 0


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main(argv):
    binary = argv[0]
    ratio = None
    fidelity = "--fidelity" in argv
    if "--ratio" in argv:
        ratio = float(argv[argv.index("--ratio") + 1])
    skip = {argv.index("--ratio") + 1} if ratio else set()
    models = [a for i, a in enumerate(argv) if i > 0 and i not in skip and not a.startswith("--")]
    if not models:
        models = [os.path.join(REPO, f) for f in FIXTURES]
        if os.path.isdir(CORPUS):
            models += [os.path.join(CORPUS, m) for m in CORPUS_MODELS]
    if fidelity:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import fidelity as fid
    quantized, compressed = [], []
    print("| model | tris in | optimize --quantize | gltfpack | × | --preset web | gltfpack -cc | × | tris ours | tris gltfpack |"
          + (" HD ours % | HD gltfpack % | RMS ours % | RMS gltfpack % |" if fidelity else ""))
    with tempfile.TemporaryDirectory() as work:
        for model in models:
            name = os.path.basename(model)
            simplify = ["--ratio", str(ratio)] if ratio else []
            gsimplify = ["-si", str(ratio)] if ratio else []
            outs = {k: os.path.join(work, k + ".glb") for k in ("q", "w", "g", "gc")}
            ok = (run([binary, model, "-o", outs["q"], "--quantize", "--threads", "2"] + simplify)
                  and run([binary, model, "-o", outs["w"], "--preset", "web", "--threads", "2"] + simplify)
                  and run(["gltfpack", "-i", model, "-o", outs["g"]] + gsimplify)
                  and run(["gltfpack", "-i", model, "-o", outs["gc"], "-cc"] + gsimplify))
            if not ok:
                print(f"| {name} | failed |")
                continue
            if glb_json(outs["g"]).get("images"):
                continue
            b = {k: os.path.getsize(v) for k, v in outs.items()}
            quantized.append(b["q"] / b["g"])
            compressed.append(b["w"] / b["gc"])
            row = (f"| {name} | {triangles(outs['g']) if not ratio else ''} | {b['q']} | {b['g']} | {b['q'] / b['g']:.2f} | "
                   f"{b['w']} | {b['gc']} | {b['w'] / b['gc']:.2f} | {triangles(outs['q'])} | {triangles(outs['g'])} |")
            if fidelity:
                try:
                    ref = fid.Surface(fid.load_surface(model), 10_000, 1)
                    ours = fid.compare(ref, fid.load_surface(outs["q"]), samples=10_000)
                    theirs = fid.compare(ref, fid.load_surface(outs["g"]), samples=10_000)
                    row += (f" {ours['hausdorff_pct']:.4f} | {theirs['hausdorff_pct']:.4f} | {ours['rms_pct']:.4f} |"
                            f" {theirs['rms_pct']:.4f} |")
                except Exception as e:  # noqa: BLE001 - a model trimesh cannot read
                    row += f" {type(e).__name__} | | | |"
            print(row, flush=True)
    print(f"geometric mean ×: quantized {geomean(quantized):.3f}, compressed {geomean(compressed):.3f} over {len(quantized)} models")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
