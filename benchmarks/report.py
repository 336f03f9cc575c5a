"""Writes benchmarks/RESULTS.md and benchmarks/plots/*.png from the records run.py collected (results.json)."""

from __future__ import annotations

import math
import os
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _find(records, **keys):
    return [r for r in records if all(r.get(k) == v for k, v in keys.items())]


def _one(records, **keys):
    found = _find(records, **keys)
    return found[0] if found else None


def _ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


# The order the pipeline runs its stages in (results.json stores them sorted by name).
PIPELINE = ["import", "prune", "deduplicate", "instance", "prune attributes", "flatten", "merge primitives", "weld",
            "simplify", "optimizeOrder", "textures", "encode", "validate", "write", "preview"]


def _pipeline_order(stages: dict) -> list[str]:
    """Stage names in pipeline order; names this list does not know come last, sorted."""
    return sorted(stages, key=lambda name: (PIPELINE.index(name) if name in PIPELINE else len(PIPELINE), name))


def _fmt(value, digits=2):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _mib(value):
    return None if value is None else value / 2 ** 20


def _geomean(values):
    values = [v for v in values if v is not None and v > 0]
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else None


def slope(points):
    """Least-squares slope of log(y) over log(x)."""
    points = [(x, y) for x, y in points if x and y]
    if len(points) < 2:
        return None
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def _models_per_model(records, add, quantized):
    """The models set per model, where optimize is above gltfpack: triangle targets missed (and the reasons optimize's
    report gives), quantized bytes over gltfpack's, and Hausdorff or RMS error over gltfpack's at ratio 0.5 and 0.1."""
    rows = []
    for ratio in (0.5, 0.1):
        for o in _find(records, group="models", variant="optimize", ratio=ratio):
            g = _one(records, group="models", variant="gltfpack", ratio=ratio, input=o["input"])
            q = _one(records, group="models", variant=quantized, ratio=ratio, input=o["input"])
            if not (g and q and o.get("triangles_in") and "triangles" in o and "triangles" in g):
                continue
            requested = max(1, math.floor(o["triangles_in"] * ratio + 0.5))  # as optimize rounds, at least 1
            missed = o["triangles"] > requested * 1.02
            heavier = "bytes" in q and "bytes" in g and q["bytes"] > g["bytes"] * 1.02
            errors = [(q.get(k), g.get(k)) for k in ("hausdorff_pct", "rms_pct")]
            further = any(a is not None and b is not None and a > b * 1.05 + 1e-4 for a, b in errors)
            if missed or heavier or further:
                rows.append((o, g, q, ratio, requested, missed))
    if not rows:
        return
    add("### Models set, per model: where optimize is above gltfpack\n")
    add("Ratio 0.5 and 0.1; triangles as drawn. A row is listed when optimize misses its target by more than 2 % "
        "(with the reasons its report gives: the error bound, a border lock, or a simplifier that stalled), writes "
        f"over 2 % more bytes than gltfpack (`{quantized}` against plain gltfpack), or deviates over 5 % more "
        "(Hausdorff or RMS, % of the diagonal). Textured models are heavier because gltfpack keeps images external.\n")
    add("| model | ratio | requested | optimize | gltfpack | target | reasons | bytes × | Hausdorff ours / gltfpack % | "
        "RMS ours / gltfpack % |")
    add("|---|---|---|---|---|---|---|---|---|---|")
    for o, g, q, ratio, requested, missed in rows:
        target = ("missed, gltfpack too" if g["triangles"] > requested * 1.02 else "missed, gltfpack met") if missed \
            else "met"
        add(f"| {os.path.basename(o['input'])} | {ratio:g} | {requested} | {o['triangles']} | {g['triangles']} | "
            f"{target} | {', '.join(o.get('simplify_reasons', [])) or '–'} | "
            f"{_fmt(_ratio(q.get('bytes'), g.get('bytes')))} | "
            f"{_fmt(q.get('hausdorff_pct'), 4)} / {_fmt(g.get('hausdorff_pct'), 4)} | "
            f"{_fmt(q.get('rms_pct'), 4)} / {_fmt(g.get('rms_pct'), 4)} |")
    add(f"\n{len(rows)} rows; {sum(1 for r in rows if r[5])} missed targets, "
        f"{sum(1 for r in rows if r[5] and r[1]['triangles'] <= r[4] * 1.02)} of them met by gltfpack.\n")


def _large_inputs(records, add):
    """The large-input set: OBJ, binary PLY, binary STL and GLB at 1-10 M triangles, `--ratio 0.5 --preset web`
    through the native readers and the Assimp route against `gltfpack -si 0.5 -cc`, and plain conversions against
    `gltfpack -noq` (gltfpack on the OBJ twin for PLY/STL)."""
    if not _find(records, group="large", variant="optimize --preset web"):
        return
    add("## Large inputs: `--ratio 0.5 --preset web` vs `gltfpack -si 0.5 -cc`\n")
    add("The four formats of a size run in turn, each a median of the runs (the Assimp route: one run each). "
        "gltfpack reads only OBJ and glTF, so PLY and STL rows compare with its run "
        "on the OBJ twin of the same mesh. Ratios below 1 mean optimize is faster / leaner. Import is the import stage's share of the "
        "wall time (from `--report`); per triangle is also given against the smallest OBJ input's.\n")
    _large_table(records, add, "optimize --preset web", "gltfpack -cc", 0.5,
                 assimp="optimize --preset web --importer assimp")
    if _find(records, group="large", variant="optimize"):
        add("## Large inputs: plain conversion, `optimize` vs `gltfpack -noq`\n")
        add("No simplification, quantization or compression on either side (float attributes). Runs as above; PLY "
            "and STL rows compare with gltfpack's run on the OBJ twin.\n")
        _large_table(records, add, "optimize", "gltfpack -noq", 1.0)


def _large_table(records, add, ours, theirs, ratio, assimp=None):
    """One row per large input of variant `ours` at `ratio`: wall, RSS, import seconds and share, µs per input
    triangle (and that against the smallest OBJ input's), the Assimp route's wall and RSS when `assimp` is given,
    and `theirs` on the OBJ/GLB twin."""
    rows = [r for r in _find(records, group="large", variant=ours) if r["ratio"] == ratio]
    obj_rows = [r for r in rows if r["input"].endswith(".obj") and r.get("triangles_in")]
    smallest = min(obj_rows, key=lambda r: r["triangles_in"]) if obj_rows else None
    base = smallest["wall"] / smallest["triangles_in"] if smallest else None
    via = " via Assimp wall s | via Assimp MiB |" if assimp else ""
    add("| input | triangles in | wall s | MiB | import s | import share | µs / triangle | × smallest OBJ |" + via
        + f" {theirs} wall s | {theirs} MiB | wall ratio | RSS ratio |")
    add("|---|---|---|---|---|---|---|---|" + ("---|---|" if assimp else "") + "---|---|---|---|")
    for r in rows:
        source = r["input"]
        twin = source if source.endswith((".obj", ".glb")) else os.path.splitext(source)[0] + ".obj"
        peer = _one(records, group="large", variant=theirs, input=twin)
        imported = (r.get("stages") or {}).get("import")
        per = r["wall"] / r["triangles_in"] if r.get("triangles_in") else None
        row = (f"| {os.path.basename(source)} | {_fmt(r.get('triangles_in'))} | {_fmt(r['wall'])} | "
               f"{_fmt(_mib(r['rss']), 0)} | {_fmt(imported)} | {_fmt(imported and imported / r['wall'])} | "
               f"{_fmt(per and per * 1e6)} | {_fmt(per and base and per / base)} |")
        if assimp:
            other = _one(records, group="large", variant=assimp, input=source)
            row += f" {_fmt(other and other['wall'])} | {_fmt(_mib(other and other['rss']), 0)} |"
        add(row + f" {_fmt(peer and peer['wall'])} | {_fmt(_mib(peer and peer['rss']), 0)} | "
            f"{_fmt(_ratio(r['wall'], peer and peer['wall']))} | {_fmt(_ratio(r['rss'], peer and peer['rss']))} |")
    add("")


def _blender(records, add, version):
    """Blender's import → Decimate → glTF export beside optimize, and the FBX inputs Blender wrote."""
    rows = _find(records, group="blender", variant="blender")
    if rows:
        add(f"## Blender {version} (bpy) beside optimize: ratio 0.5\n")
        add("`blender.py convert IN OUT.glb --ratio 0.5 [--draco]`: Blender's importer, a Decimate modifier (collapse) "
            "on every mesh, the glTF exporter with modifiers applied (`--draco`: its Draco compression). optimize "
            "runs `--ratio 0.5 --preset web` (meshopt compression); its columns are the large-input rows above, so when "
            "only some groups were re-measured they may come from another run than Blender's. One run each.\n")
        add("| input | triangles in | Blender wall s | Blender MiB | Blender bytes | Blender --draco wall s | "
            "Blender --draco bytes | optimize wall s | optimize MiB | optimize bytes | wall Blender / optimize |")
        add("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            draco = _one(records, group="blender", variant="blender --draco", input=r["input"])
            ours = _one(records, group="large", variant="optimize --preset web", input=r["input"])
            add(f"| {os.path.basename(r['input'])} | {_fmt(ours and ours.get('triangles_in'))} | {_fmt(r['wall'])} | "
                f"{_fmt(_mib(r['rss']), 0)} | {_fmt(r.get('bytes'))} | {_fmt(draco and draco['wall'])} | "
                f"{_fmt(draco and draco.get('bytes'))} | {_fmt(ours and ours['wall'])} | "
                f"{_fmt(_mib(ours and ours['rss']), 0)} | {_fmt(ours and ours.get('bytes'))} | "
                f"{_fmt(_ratio(r['wall'], ours and ours['wall']))} |")
        add("")
    fbx = [r for r in _find(records, group="fbx", variant="optimize --preset web") if r["input"].endswith(".fbx")]
    if fbx:
        add("## FBX written by Blender: the native FBX reader vs the OBJ path, and Blender's own FBX → GLB\n")
        add("The large set's OBJ files exported to binary FBX by Blender (`blender.py export-fbx`); every run is "
            "`--ratio 0.5 --preset web` (Blender: ratio 0.5, no compression). Ratios compare the FBX run with "
            "optimize's run on the OBJ of the same mesh, the two taken in turn (FBX, OBJ, FBX, OBJ, …; medians of "
            "five runs each).\n")
        add("| input | triangles in | FBX wall s | FBX MiB | OBJ wall s | OBJ MiB | wall FBX / OBJ | RSS FBX / OBJ | "
            "Blender FBX → GLB wall s | Blender MiB |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for r in fbx:
            twin = os.path.splitext(r["input"])[0] + ".obj"
            obj = _one(records, group="fbx", variant="optimize --preset web", input=twin)
            theirs = _one(records, group="fbx", variant="blender", input=r["input"])
            add(f"| {os.path.basename(r['input'])} | {_fmt(r.get('triangles_in'))} | {_fmt(r['wall'])} | "
                f"{_fmt(_mib(r['rss']), 0)} | {_fmt(obj and obj['wall'])} | {_fmt(_mib(obj and obj['rss']), 0)} | "
                f"{_fmt(_ratio(r['wall'], obj and obj['wall']))} | {_fmt(_ratio(r['rss'], obj and obj['rss']))} | "
                f"{_fmt(theirs and theirs['wall'])} | {_fmt(_mib(theirs and theirs['rss']), 0)} |")
        add("")


def _startup(records, add):
    """The fixed cost of one run: a 12-triangle model, optimize against gltfpack."""
    ours = _one(records, group="startup", variant="optimize")
    theirs = _one(records, group="startup", variant="gltfpack")
    if not ours or not theirs:
        return
    add("## Fixed cost: a 12-triangle model\n")
    add(f"`{ours['command']}` against `{theirs['command']}`, median of {ours['reps']} runs (wall time includes "
        "starting GNU time, which measures the peak RSS).\n")
    add("| tool | wall ms | peak RSS MiB |\n|---|---|---|")
    for r in (ours, theirs):
        add(f"| {r['variant']} | {_fmt(r['wall'] * 1000, 1)} | {_fmt(_mib(r['rss']), 1)} |")
    add(f"\noptimize / gltfpack: time {_fmt(_ratio(ours['wall'], theirs['wall']))}×, "
        f"RSS {_fmt(_ratio(ours['rss'], theirs['rss']))}×.\n")


def _features(records, add):
    """Importer isolation, the preview and the output-size budget: what each costs."""
    isolation = _find(records, group="isolation")
    if isolation:
        add("## Importer isolation: the Assimp route in a child process vs in-process\n")
        add("`optimize IN -o OUT.glb --importer assimp` with and without `--no-isolation` (median of the runs; CPU and "
            "peak RSS include the reaped import child).\n")
        add("| input | isolated wall s | in-process wall s | added s | isolated CPU s | in-process CPU s | "
            "isolated MiB | in-process MiB |")
        add("|---|---|---|---|---|---|---|---|")
        for source in dict.fromkeys(r["input"] for r in isolation):
            a = _one(isolation, input=source, variant="optimize assimp isolated")
            b = _one(isolation, input=source, variant="optimize assimp in-process")
            if a and b:
                add(f"| {os.path.basename(source)} | {_fmt(a['wall'], 3)} | {_fmt(b['wall'], 3)} | "
                    f"{_fmt(a['wall'] - b['wall'], 3)} | {_fmt(a['cpu'], 3)} | {_fmt(b['cpu'], 3)} | "
                    f"{_fmt(_mib(a['rss']), 0)} | {_fmt(_mib(b['rss']), 0)} |")
        add("")
    preview = _one(records, group="preview", variant="optimize --preset web --preview")
    if preview:
        plain = _one(records, group="preview", variant="optimize --preset web")
        add("## Preview: 512 × 512 of a ~1 M-triangle model\n")
        add(f"`optimize {os.path.basename(preview['input'])} -o OUT.glb --preset web --preview P.png "
            f"--preview-size 512` ({_fmt(preview.get('triangles_in'))} triangles in, "
            f"{_fmt(preview.get('triangles'))} drawn): the preview stage took "
            f"**{_fmt(preview.get('stages', {}).get('preview'), 3)} s**; the whole run {_fmt(preview['wall'])} s "
            f"against {_fmt(plain and plain['wall'])} s without a preview.\n")
    budget = _find(records, group="budget")
    if budget:
        add("## Output-size budget: the search's cost\n")
        add("`--max-bytes` at 50 % and 20 % of the plain output's size, against one plain conversion of the same "
            "input (median wall time). `met` is the report's `budgetMet` (false only where even the floor does not "
            "fit); `attempts` counts the encodings tried.\n")
        add("| input | plain wall s | plain bytes | 50 %: wall s | × plain | bytes | met | attempts | "
            "20 %: wall s | × plain | bytes | met | attempts |")
        add("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        ratios = []
        for source in dict.fromkeys(r["input"] for r in budget):
            plain = _one(budget, input=source, variant="optimize")
            if not plain or "bytes" not in plain:
                continue
            cells = [os.path.basename(source), _fmt(plain["wall"], 3), _fmt(plain["bytes"])]
            for share in ("0.5", "0.2"):
                r = _one(budget, input=source, variant=f"optimize --max-bytes {share}")
                info = (r or {}).get("budget", {})
                times = _ratio(r and r["wall"], plain["wall"])
                ratios.append(times)
                cells += [_fmt(r and r["wall"], 3), _fmt(times), _fmt(r and r.get("bytes")),
                          _fmt(info.get("budgetMet")), _fmt(info.get("attempts"))]
            add("| " + " | ".join(cells) + " |")
        known = [t for t in ratios if t is not None]
        if known:
            add(f"\nSearch time over plain conversion: geometric mean {_fmt(_geomean(known))}×, "
                f"largest {_fmt(max(known))}×.\n")
        add("")


def write(results: dict, folder: str) -> None:
    records = results["records"]
    plots = os.path.join(folder, "plots")
    os.makedirs(plots, exist_ok=True)
    lines = []
    add = lines.append
    m, v = results["machine"], results["versions"]
    add("# Benchmark results\n")
    add("Regenerate everything (inputs, runs, this file, plots) with `bash benchmarks/run.sh` (release build + "
        "`.venv/bin/python benchmarks/run.py --full`); `--report-only` rewrites this file and the plots from "
        "`benchmarks/results.json`.\n")
    add("Visual regression (input vs lossless and `--quantize` outputs rendered in three.js, pixel difference and "
        "SSIM): [VISUAL.md](VISUAL.md), from `Tests/Scripts/visual_regression.py`. Bytes against gltfpack after the "
        "attribute pruning, merging and ordering work (by hand, `benchmarks/bytes.py`): [BYTES.md](BYTES.md).\n")
    add(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, Python {m['python']}. "
        f"Tools: optimize {v['optimize']}, {v['gltfpack']}, assimp {v['assimp']}.\n")
    for run in results.get("remeasured", []):
        add(f"Rows of the groups {', '.join(run['groups'])}: re-measured on {run['date']} with `run.sh --full --only` "
            "(same machine type, another instance); rows of groups not named in such a line are from the earlier "
            "full run.\n")
    add(f"Each number is the median of {results['reps']} runs (1 run for the ladder's inputs over 300 MB, the "
        "ratio sweep and the large set's Assimp route); ratios compare tools within this one run. Wall time, user+sys CPU and peak RSS are those of the "
        "child process (os.wait4 rusage; RSS through GNU time, see run.py). Triangles are counted from the output "
        "GLB's JSON. `optimize` runs with `--threads 2` unless stated. Each input is read once before its runs, so "
        "none of them reads the disk.\n")
    add("## What was compared\n")
    add("| tool | command | notes |\n|---|---|---|")
    add("| optimize | `optimize IN -o OUT.glb --threads 2 --report R.json [--ratio R]` | float32 attributes, "
        "no compression |")
    if "optimize --quantize" in results["optimize_variants"]:
        add("| optimize --quantize | `optimize IN -o OUT.glb [--ratio R] --quantize` | KHR_mesh_quantization with "
            "default bits (14/8/12, like gltfpack's default): the like-for-like peer of plain gltfpack |")
    for variant in results["optimize_variants"]:
        if variant not in ("optimize", "optimize --quantize"):
            add(f"| {variant} | `{variant.replace('optimize', 'optimize IN -o OUT.glb [--ratio R]', 1)}` | "
                "compressed: bytes only (fidelity not decoded) |")
    add("| gltfpack | `gltfpack -i IN -o OUT.glb [-si R]` | default quantization (KHR_mesh_quantization: 14-bit "
        "positions, 8-bit normals, 12-bit UVs) |")
    add("| gltfpack -c / -cc | `gltfpack -i IN -o OUT.glb [-si R] -c` (`-cc`) | EXT_meshopt_compression: bytes "
        "only; the geometry equals the uncompressed run's |")
    add("| assimp export | `assimp export IN OUT.glb -fglb2` | conversion baseline (ratio 1 only) |")
    add("")
    add("Variants of optimize are taken from `optimize convert --help` at run time (every `--compress` value, "
        f"`--preset web` when offered); this run had: {', '.join(results['optimize_variants'])}. Plain optimize "
        "writes float32 attributes while gltfpack quantizes by default, so uncompressed byte ratios are not "
        "like-for-like; the compressed columns show what compression adds.\n")
    if "blender" not in results["versions"]:
        add("Blender was not run: its venv is missing (`bash benchmarks/setup-blender.sh` installs it).\n")
    add("Fidelity (`fidelity.py`, tested by `test_fidelity.py`): symmetric Hausdorff and RMS distance between the "
        "input surface and the output surface read back by trimesh (independent of both tools), as % of the "
        "input's bounding-box diagonal, from 50,000 (ladder) or 10,000 (models) area samples (not measured at ratio 1, a plain conversion) plus up to as many vertices (for the maxima) per surface, every triangle centroid as a locator with "
        "exact point-to-triangle distances to candidate triangles found through a k-d tree. Distances are never "
        "below the true ones; the Hausdorff maximum can miss spikes narrower than the sample spacing. Note that "
        "gltfpack's error includes its 14-bit position quantization.\n")

    # Ladder table.
    ladder = results["ladder"]
    packed = next((v for v in ("optimize --preset web", "optimize --compress meshopt")
                   if v in results["optimize_variants"]), None)
    quantized = "optimize --quantize" if "optimize --quantize" in results["optimize_variants"] else "optimize"
    add(f"## Scaling: one mesh, {results['base']} subdivided and displaced\n")
    add("Inputs are generated into `.build/bench-inputs` (`generate.py`: each triangle split k×k with shared edge "
        "points, then displaced along normals); they are not committed.\n")
    add("| input | triangles | ratio | optimize s | gltfpack s | time × | optimize MiB | gltfpack MiB | RSS × | "
        f"optimize bytes | {quantized} bytes | gltfpack bytes | bytes × | {packed or 'optimize compressed'} bytes | "
        f"gltfpack -cc bytes | optimize HD % | {quantized} HD % | gltfpack HD % | optimize RMS % | {quantized} RMS % | "
        "gltfpack RMS % |")
    add("|" + "---|" * 21)
    for source in ladder:
        for ratio in (1.0, 0.5, 0.1):
            o = _one(records, input=source, variant="optimize", ratio=ratio, group="ladder")
            g = _one(records, input=source, variant="gltfpack", ratio=ratio, group="ladder")
            cc = _one(records, input=source, variant="gltfpack -cc", ratio=ratio, group="ladder")
            oc = _one(records, input=source, variant=packed, ratio=ratio, group="ladder") if packed else None
            q = _one(records, input=source, variant=quantized, ratio=ratio, group="ladder") or {}
            if not o or not g:
                continue
            add("| " + " | ".join([
                os.path.basename(source), _fmt(o.get("triangles_in")), f"{ratio:g}",
                _fmt(o["wall"]), _fmt(g["wall"]), _fmt(_ratio(o["wall"], g["wall"])),
                _fmt(_mib(o["rss"]), 0), _fmt(_mib(g["rss"]), 0), _fmt(_ratio(o["rss"], g["rss"])),
                _fmt(o.get("bytes")), _fmt(q.get("bytes")), _fmt(g.get("bytes")),
                _fmt(_ratio(q.get("bytes"), g.get("bytes"))),
                _fmt(oc.get("bytes") if oc else None), _fmt(cc.get("bytes") if cc else None),
                _fmt(o.get("hausdorff_pct"), 4), _fmt(q.get("hausdorff_pct"), 4), _fmt(g.get("hausdorff_pct"), 4),
                _fmt(o.get("rms_pct"), 4), _fmt(q.get("rms_pct"), 4), _fmt(g.get("rms_pct"), 4)]) + " |")
    add("")
    sizes = {r["input"]: r.get("triangles_in") for r in _find(records, group="ladder", variant="optimize")}
    for variant in ("optimize", "gltfpack"):
        points = [(sizes.get(r["input"]), r["wall"]) for r in _find(records, group="ladder", variant=variant,
                                                                     ratio=0.5)]
        add(f"- {variant}: wall time grows as triangles^{_fmt(slope(points))} (log-log fit, ratio 0.5, "
            f"{len(points)} sizes).")
    add("")

    # Summary ratios.
    add("## Ratios optimize / gltfpack (geometric mean over inputs)\n")
    add(f"Time and memory: plain optimize vs plain gltfpack. Bytes and error: {quantized} vs plain gltfpack "
        f"({'both quantized' if quantized != 'optimize' else 'float32 vs quantized'}, uncompressed); "
        f"compressed bytes: {packed or '–'} vs gltfpack -cc.\n")
    add("| set | ratio | wall time × | peak RSS × | bytes × | compressed bytes × | Hausdorff optimize % | "
        "Hausdorff gltfpack % | RMS optimize % | RMS gltfpack % | inputs |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    for group in ("models", "ladder"):
        for ratio in (1.0, 0.5, 0.1):
            rows = []
            for o in _find(records, group=group, variant="optimize", ratio=ratio):
                g = _one(records, group=group, variant="gltfpack", ratio=ratio, input=o["input"])
                q = _one(records, group=group, variant=quantized, ratio=ratio, input=o["input"])
                if g and q and "bytes" in o and "bytes" in g and "bytes" in q:
                    oc = _one(records, group=group, variant=packed, ratio=ratio, input=o["input"]) if packed else None
                    cc = _one(records, group=group, variant="gltfpack -cc", ratio=ratio, input=o["input"])
                    rows.append((o, q, g, oc, cc))
            if not rows:
                continue

            def median(values):
                values = [v for v in values if v is not None]
                return statistics.median(values) if values else None

            add("| " + " | ".join([
                group, f"{ratio:g}",
                _fmt(_geomean([o["wall"] / g["wall"] for o, _, g, _, _ in rows])),
                _fmt(_geomean([o["rss"] / g["rss"] for o, _, g, _, _ in rows if g["rss"]])),
                _fmt(_geomean([q["bytes"] / g["bytes"] for _, q, g, _, _ in rows])),
                _fmt(_geomean([oc["bytes"] / cc["bytes"] for _, _, _, oc, cc in rows
                               if oc and cc and "bytes" in oc and "bytes" in cc])),
                _fmt(median([q.get("hausdorff_pct") for _, q, _, _, _ in rows]), 4),
                _fmt(median([g.get("hausdorff_pct") for _, _, g, _, _ in rows]), 4),
                _fmt(median([q.get("rms_pct") for _, q, _, _, _ in rows]), 4),
                _fmt(median([g.get("rms_pct") for _, _, g, _, _ in rows]), 4),
                str(len(rows))]) + " |")
    add("\nError columns are medians. `models` = fixtures plus the corpus's OBJ/glTF/GLB rows that are not "
        "broken; textured models differ in bytes for reasons other than geometry (gltfpack keeps images as "
        "external references, optimize embeds them).\n")
    _models_per_model(records, add, quantized)

    # Threads.
    add("## Parallel speed-up\n")
    for source in dict.fromkeys(r["input"] for r in _find(records, group="threads")):
        t1 = _one(records, group="threads", threads=1, input=source)
        t2 = _one(records, group="threads", threads=2, input=source)
        if not (t1 and t2):
            continue
        what = ("16 copies of one mesh as separate meshes" if source == results.get("multi")
                else "one mesh (the ladder's scan)")
        add(f"`{source}`: {what} ({_fmt(t1.get('triangles_in'))} triangles), `optimize --ratio 0.5`; medians of "
            f"{t1.get('reps')} runs per thread count, the two counts taken in turn.\n")
        add("| threads | wall s | CPU s | peak MiB |\n|---|---|---|---|")
        for r in (t1, t2):
            add(f"| {r['threads']} | {_fmt(r['wall'])} | {_fmt(r['cpu'])} | {_fmt(_mib(r['rss']), 0)} |")
        add(f"\nSpeed-up 1 → 2 threads: {_fmt(_ratio(t1['wall'], t2['wall']))}×.\n")
        stages = _pipeline_order(t1.get("stages", {}))
        if stages:
            add("| stage | 1 thread s | 2 threads s |\n|---|---|---|")
            for s in stages:
                add(f"| {s} | {_fmt(t1['stages'][s], 3)} | {_fmt(t2.get('stages', {}).get(s), 3)} |")
            add("")

    # Stage breakdown for the largest ladder input.
    big = [r for r in _find(records, group="ladder", variant="optimize", ratio=0.5) if "stages" in r]
    if big:
        add("## Where optimize spends its time (ratio 0.5, from `--report`)\n")
        names = _pipeline_order(big[0]["stages"])
        add("| input | triangles | " + " | ".join(names) + " | total wall |")
        add("|---|---|" + "---|" * (len(names) + 1))
        for r in big:
            add(f"| {os.path.basename(r['input'])} | {_fmt(r.get('triangles_in'))} | "
                + " | ".join(_fmt(r["stages"].get(n), 3) for n in names) + f" | {_fmt(r['wall'])} |")
        add("")

    _large_inputs(records, add)
    _blender(records, add, results["versions"].get("blender"))
    _startup(records, add)
    _features(records, add)

    # All runs.
    add("## Every run\n")
    add("| set | input | tool | ratio | thr | exit | wall s | CPU s | MiB | bytes | tris | valid | HD % | RMS % |")
    add("|" + "---|" * 14)
    for r in records:
        add("| " + " | ".join([r["group"], os.path.basename(r["input"]), r["variant"], f"{r['ratio']:g}",
                               str(r["threads"]), str(r["exit"]), _fmt(r["wall"], 3), _fmt(r["cpu"], 3),
                               _fmt(_mib(r["rss"]), 0), _fmt(r.get("bytes")), _fmt(r.get("triangles")),
                               _fmt(r.get("valid")), _fmt(r.get("hausdorff_pct"), 4),
                               _fmt(r.get("rms_pct"), 4)]) + " |")
    add("")
    add("`valid` is `optimize validate` on the output; peers' outputs can fail it for their own reasons (zero-length "
        "normals copied from the input, images referenced by a URI outside the GLB). The exact command of every run "
        "is in `results.json`.\n")
    if results["failures"]:
        add("## Failures\n")
        for f in results["failures"]:
            add(f"- {f}")
        add("")
    with open(os.path.join(folder, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))

    _plots(records, ladder, plots)


def _plots(records, ladder, folder):
    colors = {"optimize": "tab:blue", "gltfpack": "tab:orange", "gltfpack -cc": "tab:green",
              "assimp export": "tab:gray"}
    spare = iter(["tab:purple", "tab:brown", "tab:pink", "tab:olive"])
    for r in records:
        if r["group"] == "ladder" and r["variant"].startswith("optimize ") and r["variant"] not in colors:
            colors[r["variant"]] = next(spare, "black")
    sizes = {}
    for source in ladder:
        r = _one(records, input=source, variant="optimize", group="ladder", ratio=1.0)
        if r and r.get("triangles_in"):
            sizes[source] = r["triangles_in"]
    for key, label, name in (("wall", "wall time (s)", "time_vs_triangles.png"),
                             ("rss", "peak RSS (MiB)", "memory_vs_triangles.png")):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for variant, color in colors.items():
            for ratio, style in ((1.0, "--"), (0.5, "-"), (0.1, ":")):
                pts = sorted((sizes[r["input"]], r[key] / (2 ** 20 if key == "rss" else 1))
                             for r in _find(records, group="ladder", variant=variant, ratio=ratio)
                             if r["input"] in sizes and r["exit"] == 0)
                if pts:
                    ax.plot(*zip(*pts), style, marker="o", color=color, label=f"{variant} ratio {ratio:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("input triangles")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(folder, name), dpi=110)
        plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, key, label in ((axes[0], "hausdorff_pct", "Hausdorff (% of bbox diagonal)"),
                           (axes[1], "rms_pct", "RMS (% of bbox diagonal)")):
        for variant in ("optimize", "gltfpack"):
            for source in ladder:
                pts = sorted((r["ratio"], r[key]) for r in records if r["input"] == source
                             and r["variant"] == variant and key in r)
                if len(pts) > 1:
                    ax.plot(*zip(*pts), marker="o", color=colors[variant], alpha=0.8,
                            label=f"{variant} {os.path.basename(source)}")
        ax.set_xscale("log")
        ax.set_xlabel("triangle ratio kept")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(folder, "error_vs_ratio.png"), dpi=110)
    plt.close(fig)
