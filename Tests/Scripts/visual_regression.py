#!/usr/bin/env python3
"""Visual regression: does `optimize` output look like its input in three.js r111 (headless Chromium)?

Usage: visual_regression.py OPTIMIZE_BINARY OUT_DIR [--table FILE.md] [--corpus] [--ratio-picture] [--against-assimp]
                            [MODEL ...]

For each model (default: every fixture under fixtures/models; with --corpus also the corpus's renderable
OBJ/glTF/GLB rows that are not tagged broken): convert it losslessly, with --quantize and with --quantize --flatten (all at ratio 1; with
--ratio-picture also --ratio 0.5, recorded but never failed), then render the input itself when three.js reads it
(glTF, GLB, OBJ), else the lossless output, next to the outputs with render.py's --compare (same camera). An OBJ
is compared twice, since three.js lights OBJ materials differently: shaded by depth (the geometry) and unlit in its
colors (`albedo`: MTL colors and textures, vertex colors). An output fails when SSIM < 0.95 or more than 2 % of
pixels differ visibly (> 24/255), or when it renders blank while the reference does not. A reference whose
lighting is undefined (zero-length normals) is compared by depth and albedo instead; an input of which three.js draws
nothing is replaced by the lossless output as the reference. Prints one line per
output, writes the table, exits 1 when anything failed.

--against-assimp compares importers instead: the lossless conversion through the default (native) reader against
the lossless conversion of the same file with `--importer assimp`, by the same measures, lit by the page's lights
only (files the native reader hands to Assimp are skipped: both would be Assimp's).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(REPO, "..", "shared", "corpus")
MODEL_EXTENSIONS = (".obj", ".gltf", ".glb", ".fbx", ".dae", ".ply", ".stl")
THREE_READS = (".obj", ".gltf", ".glb")
MIN_SSIM, MAX_DIFFER = 0.95, 0.02

sys.path.insert(0, HERE)
import render  # noqa: E402


def fixtures():
    root = os.path.join(REPO, "fixtures", "models")
    found = []
    for folder, _, files in os.walk(root):
        found += [os.path.join(folder, f) for f in files if f.lower().endswith(MODEL_EXTENSIONS)]
    return sorted(found)


def corpus():
    manifest = os.path.join(CORPUS, "MANIFEST.tsv")
    if not os.path.exists(manifest):
        return []
    with open(manifest) as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    col = {name: rows[0].index(name) for name in ("path", "format", "tags", "assimp_5_2_5", "triangles")}
    return sorted(os.path.join(CORPUS, r[col["path"]]) for r in rows[1:]
                  if r[col["format"]] in ("obj", "gltf") and "broken" not in r[col["tags"]].split(",")
                  and "points" not in r[col["tags"]].split(",") and r[col["assimp_5_2_5"]] == "OK"
                  and r[col["triangles"]] not in ("", "0"))


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    table = argv[argv.index("--table") + 1] if "--table" in argv else None
    if table:
        args.remove(table)
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary, out_dir, models = args[0], os.path.abspath(args[1]), args[2:]
    if not models:
        models = fixtures() + (corpus() if "--corpus" in argv else [])
    variants = [("lossless", []), ("quantize", ["--quantize"]), ("flatten", ["--quantize", "--flatten"])]
    against_assimp = "--against-assimp" in argv
    if against_assimp:
        variants = [("native", []), ("assimp", ["--importer", "assimp"])]
    if "--ratio-picture" in argv and not against_assimp:
        variants.append(("ratio 0.5 (recorded)", ["--quantize", "--ratio", "0.5"]))
    rows, failures = [], 0
    for n, model in enumerate(models):
        work = os.path.join(out_dir, f"{n:03d}-{os.path.basename(model)}")
        os.makedirs(work, exist_ok=True)
        outputs = []
        for name, options in variants:
            glb = os.path.join(work, name.split()[0] + (name.split()[1] if " " in name else "") + ".glb")
            done = subprocess.run([binary, model, "-o", glb, "--threads", "2"] + options, capture_output=True, text=True)
            if against_assimp and "read with Assimp instead" in done.stderr:
                print(f"{os.path.relpath(model, REPO)} [native] skipped: the native reader hands it to Assimp", flush=True)
                break
            if done.returncode != 0:
                rows.append((model, name, None, f"optimize failed: {done.stderr.strip()[:120]}"))
                failures += name != "ratio 0.5 (recorded)"
                print(f"{os.path.relpath(model, REPO)} [{name}] FAIL: optimize failed: {done.stderr.strip()[:200]}",
                      flush=True)
                continue
            outputs.append((name, glb))
        if not outputs:
            continue
        own = model.lower().endswith(THREE_READS) and not against_assimp
        if against_assimp:
            if [name for name, _ in outputs] != ["native", "assimp"]:
                continue  # handed to Assimp, or a failed conversion (already a row and a failure)
            outputs.reverse()  # the Assimp path's output is the reference
        reference = model if own else outputs[0][1]
        candidates = outputs if own else outputs[1:]
        shadings = ["depth", "albedo"] if model.lower().endswith(".obj") and not against_assimp else [""]
        while shadings:
            shading = shadings.pop(0)
            compared, versus = candidates, own
            results = compare(reference, compared, work, shading, against_assimp)
            if own and len(outputs) > 1 and results and all(r.get("reference_covered", 1) < 0.001 for r in results):
                # three.js draws nothing of the input (elements or an MTL opacity it reads otherwise): the lossless
                # output is the reference, as for a format it cannot read.
                compared, versus = outputs[1:], False
                results = compare(outputs[0][1], compared, work, shading, against_assimp)
            if shading == "" and any(r.get("unlit") for r in results):
                shadings += ["depth", "albedo"]  # the reference's lighting is undefined: geometry and colors instead
            failures += record(rows, model, compared, results, shading, versus, against_assimp)
        if table:
            write_table(table, rows)
    print(f"{failures} failure(s) over {len(models)} model(s)")
    return 1 if failures else 0


def compare(reference, candidates, work, shading, against_assimp):
    """render.compare's results for the named `candidates` in one shading ("", "depth" or "albedo"). Importers
    compared: the file's own lights are left out (Assimp 5.2.5 turns FBX lights with a PostRotation the wrong way;
    the FBX reader's unit tests check light directions)."""
    return list(render.compare(reference, work, [glb for _, glb in candidates], depth=shading == "depth",
                               albedo=shading == "albedo", file_lights=not against_assimp))


def record(rows, model, candidates, results, shading, own, against_assimp):
    """Adds a row and prints a line per compared output; returns the number of failures."""
    failures = 0
    for (name, _), result in zip(candidates, results):
        verdict = None
        if "skipped" in result:
            verdict = "skipped: " + result["skipped"]
        elif "error" in result:
            verdict = result["error"]
        elif result["reference_covered"] >= 0.001 and result["covered"] < 0.001:
            verdict = "blank"
        elif result["ssim"] < MIN_SSIM or result["differ"] > MAX_DIFFER:
            verdict = "visible difference"
        recorded = name.startswith("ratio") or "skipped" in result
        failures += verdict is not None and not recorded
        versus = "" if own else " vs assimp" if against_assimp else " vs lossless"
        rows.append((model, name + versus + (" " + shading if shading else ""), result, verdict))
        status = "ok" if verdict is None else ("recorded: " if recorded else "FAIL: ") + verdict
        print(f"{os.path.relpath(model, REPO)} [{name}{' ' + shading if shading else ''}] {status} "
              f"{json.dumps({k: round(v, 4) for k, v in result.items() if isinstance(v, float)})}", flush=True)
    return failures


def write_table(table, rows):
    """The Markdown table of every output compared so far."""
    with open(table, "w") as f:
        f.write("# Visual regression: input vs output in three.js r111\n\n"
                "Generated by `Tests/Scripts/visual_regression.py` (headless Chromium, 320×240, same camera for input and "
                "outputs). `differ` = fraction of pixels whose color differs by more than 24/255; SSIM over luminance, "
                f"7×7 windows. Fails below SSIM {MIN_SSIM} or above {MAX_DIFFER * 100:.0f} % differing pixels; an OBJ is "
                "compared twice, as three.js lights OBJ materials differently: `depth` = shaded by depth (the geometry), "
                "`albedo` = unlit in its colors (MTL colors and textures, vertex colors); `vs lossless` = three.js cannot read "
                "the input, so the lossless output is the reference.\n\n"
                "| model | output | covered % | reference covered % | differ % | SSIM | verdict |\n|---|---|---|---|---|---|---|\n")
        for model, name, result, verdict in rows:
            shown = os.path.relpath(model, REPO).replace("../shared/corpus/files/", "corpus: ")
            if result is None or "error" in result or "skipped" in result:
                f.write(f"| {shown} | {name} | | | | | {verdict} |\n")
            else:
                f.write(f"| {shown} | {name} | {result['covered'] * 100:.1f} | {result['reference_covered'] * 100:.1f} | "
                        f"{result['differ'] * 100:.2f} | {result['ssim']:.4f} | {verdict or 'ok'} |\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
