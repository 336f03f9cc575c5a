"""Bytes against gltfpack on untextured models, by hand (not part of run.sh): `optimize --quantize` vs plain
`gltfpack`, `optimize --quantize --flatten` (gltfpack's default layout: meshes merged, hierarchy flattened) vs plain
`gltfpack`, `optimize --preset web` vs `gltfpack -cc`, optionally at a ratio (`--ratio R` vs `-si R`) with
triangle counts and fidelity.py's Hausdorff/RMS.

Each row also says what the input carries that gltfpack's output lacks and ours keeps (`dropped`, read from the two
outputs' JSON); the geometric means are given over all models and over those where nothing is dropped.

Usage: .venv/bin/python benchmarks/bytes.py OPTIMIZE_BINARY [--ratio R] [--fidelity] [MODEL ...]
Without models: the untextured fixtures plus a fixed list of corpus models (skipped when ../shared is absent).
Prints one row per model and the geometric means; models where gltfpack writes images are skipped (it keeps them
external, so bytes would not compare geometry).
"""
import json
import math
import os
import statistics
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


def dropped(ours, theirs):
    """What `ours` (a glTF document) carries that `theirs` lacks: vertex colours, lines or points, material
    colours, node extras."""
    def prims(doc):
        return [p for m in doc.get("meshes", []) for p in m["primitives"]]

    def colours(doc):
        return {tuple(m.get("pbrMetallicRoughness", {}).get("baseColorFactor", [1, 1, 1, 1]))
                for m in doc.get("materials", [])}
    found = []
    if (any("COLOR_0" in p["attributes"] for p in prims(ours))
            and not any("COLOR_0" in p["attributes"] for p in prims(theirs))):
        found.append("vertex colours")
    if {p.get("mode", 4) for p in prims(ours)} - {p.get("mode", 4) for p in prims(theirs)}:
        found.append("lines/points")
    if len(colours(ours)) > len(colours(theirs)):
        found.append("material colours")
    if any("extras" in n for n in ours.get("nodes", [])) and not any("extras" in n for n in theirs.get("nodes", [])):
        found.append("node extras")
    return found


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
    quantized, flattened, compressed, same = [], [], [], []
    errors = []  # (Hausdorff ours, gltfpack, RMS ours, gltfpack) per model
    print("| model | tris in | optimize --quantize | gltfpack | × | --quantize --flatten | × | --preset web | gltfpack -cc | × |"
          " tris ours | tris gltfpack |" + (" HD ours % | HD gltfpack % | RMS ours % | RMS gltfpack % |" if fidelity else "")
          + " dropped by gltfpack |")
    with tempfile.TemporaryDirectory() as work:
        for model in models:
            name = os.path.basename(model)
            simplify = ["--ratio", str(ratio)] if ratio else []
            gsimplify = ["-si", str(ratio)] if ratio else []
            outs = {k: os.path.join(work, k + ".glb") for k in ("q", "qf", "w", "g", "gc")}
            ok = (run([binary, model, "-o", outs["q"], "--quantize", "--threads", "2"] + simplify)
                  and run([binary, model, "-o", outs["qf"], "--quantize", "--flatten", "--threads", "2"] + simplify)
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
            flattened.append(b["qf"] / b["g"])
            compressed.append(b["w"] / b["gc"])
            lost = sorted(set(dropped(glb_json(outs["q"]), glb_json(outs["g"])))
                          | set(dropped(glb_json(outs["w"]), glb_json(outs["gc"]))))
            if not lost:
                same.append(len(compressed) - 1)
            row = (f"| {name} | {triangles(outs['g']) if not ratio else ''} | {b['q']} | {b['g']} | {b['q'] / b['g']:.2f} | "
                   f"{b['qf']} | {b['qf'] / b['g']:.2f} | "
                   f"{b['w']} | {b['gc']} | {b['w'] / b['gc']:.2f} | {triangles(outs['q'])} | {triangles(outs['g'])} |")
            if fidelity:
                try:
                    ref = fid.Surface(fid.load_surface(model), 10_000, 1)
                    ours = fid.compare(ref, fid.load_surface(outs["q"]), samples=10_000)
                    theirs = fid.compare(ref, fid.load_surface(outs["g"]), samples=10_000)
                    row += (f" {ours['hausdorff_pct']:.4f} | {theirs['hausdorff_pct']:.4f} | {ours['rms_pct']:.4f} |"
                            f" {theirs['rms_pct']:.4f} |")
                    errors.append((ours['hausdorff_pct'], theirs['hausdorff_pct'], ours['rms_pct'], theirs['rms_pct']))
                except Exception as e:  # noqa: BLE001 - a model trimesh cannot read
                    row += f" {type(e).__name__} | | | |"
            print(row + f" {', '.join(lost) or '–'} |", flush=True)
    print(f"geometric mean ×: quantized {geomean(quantized):.3f}, quantized and flattened {geomean(flattened):.3f},"
          f" compressed {geomean(compressed):.3f} over {len(quantized)} models")
    print(f"where gltfpack drops nothing ours keeps: quantized {geomean([quantized[i] for i in same]):.3f},"
          f" quantized and flattened {geomean([flattened[i] for i in same]):.3f},"
          f" compressed {geomean([compressed[i] for i in same]):.3f} over {len(same)} models")
    if errors:
        hd, hd_g, rms, rms_g = (statistics.median(column) for column in zip(*errors))
        print(f"medians over {len(errors)} models: Hausdorff {hd:.4f} % (gltfpack {hd_g:.4f} %),"
              f" RMS {rms:.4f} % (gltfpack {rms_g:.4f} %)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
