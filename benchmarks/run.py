"""Benchmark harness: `optimize` side by side with gltfpack and `assimp export` on the same inputs.

  .venv/bin/python benchmarks/run.py --full    # everything; writes benchmarks/RESULTS.md, results.json, plots/
  .venv/bin/python benchmarks/run.py --quick   # small inputs, a few minutes; fails only on errors/invalid output

`bash benchmarks/run.sh` builds the release binary first and runs --full. Every child is measured with os.wait4
(wall time, user+sys CPU, peak RSS); outputs are checked with `optimize validate` and their triangles counted from
the GLB JSON; fidelity (fidelity.py) compares output and input surfaces with an independent reader (trimesh).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import fidelity  # noqa: E402
import generate  # noqa: E402

CORPUS = os.path.join(os.path.dirname(REPO), "shared", "corpus")
BLENDER_PYTHON = os.path.join(REPO, ".build", "blender-venv", "bin", "python")
MODEL_EXTENSIONS = (".obj", ".gltf", ".glb")


# ---------------------------------------------------------------- running and measuring one child


def warm(source: str) -> None:
    """Reads `source` once (a .gltf with the files of its folder), so that no timed run pays for reading the disk:
    inputs that were just generated are in the page cache, those of an earlier session may not be."""
    paths = [source]
    if source.lower().endswith(".gltf"):
        folder = os.path.dirname(source)
        paths += [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
    for path in paths:
        if os.path.isfile(path):
            with open(path, "rb") as file:
                while file.read(8 << 20):
                    pass


def measure(command: list[str], log: str, timeout: float) -> dict:
    """Runs `command`, returning exit status, wall seconds, user+sys CPU seconds and peak RSS bytes of the child.

    The child is started through GNU time (`/usr/bin/time`, ~2 MB) rather than straight from Python: on Linux a
    process's peak RSS (ru_maxrss) starts from that of the process it was forked from, so a child forked from this
    several-hundred-MB interpreter would report at least our size. CPU comes from os.wait4's rusage (which includes
    the waited-for grandchild); peak RSS is the child's own ru_maxrss as GNU time reads it from its wait4.
    """
    rss_file = log + ".rss"
    with open(log, "wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file, "--"] + command, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
    with open(log, "rb") as f:
        tail = f.read()[-600:].decode("utf-8", "replace").strip()
    with open(rss_file) as f:
        lines = [line for line in f.read().split() if line.isdigit()]
    return {"exit": child.returncode, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": int(lines[-1]) * 1024 if lines else 0, "log": tail}


def glb_triangles(path: str) -> int:
    """Triangles drawn by a GLB, from its JSON (index or POSITION counts; works for compressed buffers too)."""
    with open(path, "rb") as f:
        header = f.read(20)
        length = struct.unpack("<I", header[12:16])[0]
        doc = json.loads(f.read(length).decode("utf-8", "replace"))  # assimp can write invalid UTF-8 names
    accessors, meshes, nodes = doc.get("accessors", []), doc.get("meshes", []), doc.get("nodes", [])

    def mesh_triangles(index: int) -> int:
        total = 0
        for primitive in meshes[index].get("primitives", []):
            if primitive.get("mode", 4) != 4:
                continue
            accessor = primitive.get("indices", primitive["attributes"].get("POSITION"))
            total += accessors[accessor]["count"] // 3
        return total

    def walk(node: int) -> int:
        n = nodes[node]
        return (mesh_triangles(n["mesh"]) if "mesh" in n else 0) + sum(walk(c) for c in n.get("children", []))

    scene = doc.get("scenes", [{}])[doc.get("scene", 0)] if doc.get("scenes") else {"nodes": []}
    return sum(walk(n) for n in scene.get("nodes", []))


class Tools:
    """The command lines of the compared tools; optimize's variants are chosen from its --help at run time."""

    def __init__(self, optimize: str):
        self.optimize = optimize
        help_text = subprocess.run([optimize, "convert", "--help"], capture_output=True, text=True).stdout
        self.optimize_variants = {"optimize": []}
        if "--quantize" in help_text:
            self.optimize_variants["optimize --quantize"] = ["--quantize"]
        codecs = re.search(r"--compress <\w+>.*?\(values: ([^;)]*)", help_text, re.DOTALL)
        for codec in (codecs.group(1).replace(",", " ").split() if codecs else []):
            if codec != "none":
                self.optimize_variants[f"optimize --compress {codec}"] = ["--compress", codec]
        if "--preset" in help_text:
            self.optimize_variants["optimize --preset web"] = ["--preset", "web"]
            if "--importer" in help_text:
                self.optimize_variants["optimize --preset web --importer assimp"] = ["--preset", "web", "--importer", "assimp"]
        # Blender (bpy) in its own venv (benchmarks/setup-blender.sh), for the full run only.
        self.blender = BLENDER_PYTHON if os.access(BLENDER_PYTHON, os.X_OK) else None
        self.versions = {
            "optimize": subprocess.run([optimize, "--version"], capture_output=True, text=True).stdout.strip(),
            "gltfpack": subprocess.run(["gltfpack", "-v"], capture_output=True, text=True).stdout.strip(),
            "assimp": next((line.strip() for line in subprocess.run(["assimp", "version"], capture_output=True,
                                                                    text=True).stdout.splitlines()
                            if line.startswith("Version")), "?"),
        }
        if self.blender:
            self.versions["blender"] = subprocess.run(
                [self.blender, "-c", "import bpy; print(bpy.app.version_string)"], capture_output=True,
                text=True).stdout.strip() or "?"

    def command(self, variant: str, source: str, output: str, ratio: float, threads: int, report: str) -> list[str]:
        if variant.startswith("optimize"):
            extra = ["--ratio", f"{ratio:g}"] if ratio < 1 else []
            return ([self.optimize, source, "-o", output, "--threads", str(threads), "--report", report] + extra
                    + self.optimize_variants.get(variant, []))
        if variant.startswith("gltfpack"):
            extra = ["-si", f"{ratio:g}"] if ratio < 1 else []
            return ["gltfpack", "-i", source, "-o", output] + extra + variant.split()[1:]
        if variant == "assimp export":
            return ["assimp", "export", source, output, "-fglb2"]
        if variant.startswith("blender") and self.blender:
            return ([self.blender, os.path.join(HERE, "blender.py"), "convert", source, output, "--ratio", f"{ratio:g}"]
                    + (["--draco"] if variant == "blender --draco" else []))
        raise ValueError(variant)


def variants(tools: Tools, ratio: float, compressed: bool) -> list[str]:
    """The tool variants run at `ratio`: uncompressed (optimize plain and quantized, gltfpack) always, compressed
    ones when asked; assimp only at 1."""
    names = ["optimize"] + [v for v in tools.optimize_variants if v == "optimize --quantize"] + ["gltfpack"]
    if compressed:
        names += [v for v in tools.optimize_variants if v not in names] + ["gltfpack -c", "gltfpack -cc"]
    if ratio >= 1:
        names.append("assimp export")
    return names


# ---------------------------------------------------------------- one benchmark case


class Bench:
    def __init__(self, tools: Tools, work: str, reps: int, samples: int, log):
        self.tools, self.work, self.reps, self.samples, self.log = tools, work, reps, samples, log
        self.records: list[dict] = []
        self.failures: list[str] = []
        self._reference: tuple[str, fidelity.Surface] | None = None
        # --full journals every finished run, so an interrupted run resumes (--fresh starts over).
        self.journal: str | None = None
        self.cache: dict[str, dict] = {}
        # --only: the groups measured now; every other case takes its record from the previous results.json.
        self.only: set[str] | None = None
        self.kept: dict[tuple, dict] = {}

    def keep(self, previous: list[dict], only: set[str]) -> None:
        self.only = only
        self.kept = {self._case_id(r["group"], r["input"], r["variant"], r["ratio"], r["threads"]): r
                     for r in previous}

    @staticmethod
    def _case_id(group: str, source: str, variant: str, ratio: float, threads: int) -> tuple:
        return (group, os.path.relpath(source, REPO) if source.startswith(REPO) else source, variant, ratio, threads)

    def resume(self, journal: str, fresh: bool) -> None:
        self.journal = journal
        if fresh and os.path.exists(journal):
            os.remove(journal)
        if os.path.exists(journal):
            with open(journal) as f:
                for line in f:
                    entry = json.loads(line)
                    self.cache[entry["key"]] = entry["record"]

    def reference(self, source: str) -> fidelity.Surface:
        """The input surface read by trimesh, prepared once per input."""
        if self._reference is None or self._reference[0] != source:
            self._reference = None
            mesh = fidelity.load_surface(source)
            self._reference = (source, fidelity.Surface(mesh, self.samples, 1))
        return self._reference[1]

    def run(self, group: str, source: str, variant: str, ratio: float, threads: int = 2, reps: int | None = None,
            measure_fidelity: bool = True, extra: tuple[str, ...] = ()) -> dict:
        """One measured case; `extra` arguments are appended to the command (`variant` then only labels it)."""
        return self.run_alternating(group, [source], variant, ratio, threads, reps, measure_fidelity, extra)[0]

    def run_alternating(self, group: str, sources: list, variant: str, ratio: float, threads: int = 2,
                        reps: int | None = None, measure_fidelity: bool = True, extra: tuple[str, ...] = ()) -> list:
        """One case per source, their runs taken in turn (A B A B …) so that the machine's drift during the runs
        falls on every source alike; one record each (medians of `reps` runs). A source may be a (path, threads)
        pair, to alternate thread counts."""
        reps = reps or self.reps
        pairs = [(s, threads) if isinstance(s, str) else s for s in sources]
        if self.only is not None and group not in self.only:
            return [self.kept.get(self._case_id(group, os.path.abspath(s), variant, ratio, t), {}) for s, t in pairs]
        cases = []
        for source, threads in pairs:
            key = json.dumps([group, source, variant, ratio, threads, reps, measure_fidelity, self.samples]
                             + ([list(extra)] if extra else []))
            name = os.path.basename(source).replace(".", "_")  # an input and its twin of another format differ
            tag = f"{name}-{variant.replace(' ', '_').replace('-', '')}-r{ratio:g}-t{threads}"
            output = os.path.join(self.work, tag + ".glb")
            report = os.path.join(self.work, tag + ".report.json")
            command = self.tools.command(variant, source, output, ratio, threads, report) + list(extra)
            cases.append({"key": key, "source": source, "tag": tag, "output": output, "report": report,
                          "command": command, "runs": [], "threads": threads})
        pending = [c for c in cases if c["key"] not in self.cache]   # others finished in an interrupted earlier run
        for case in pending:
            warm(case["source"])
        for _ in range(reps):
            for case in pending:
                if case["runs"] and case["runs"][-1]["exit"] != 0:
                    continue
                if os.path.exists(case["output"]):
                    os.remove(case["output"])
                case["runs"].append(measure(case["command"], os.path.join(self.work, case["tag"] + ".log"),
                                            timeout=3600))
        records = []
        for case in cases:
            if case["key"] in self.cache:
                self.records.append(self.cache[case["key"]])
                records.append(self.cache[case["key"]])
            else:
                records.append(self._record(group, case, variant, ratio, case["threads"], measure_fidelity))
        return records

    def _record(self, group: str, case: dict, variant: str, ratio: float, threads: int,
                measure_fidelity: bool) -> dict:
        """The record of one measured case (medians of its runs, output checks), journaled."""
        source, output, report, command, runs, key = (case[k] for k in ("source", "output", "report", "command",
                                                                         "runs", "key"))
        record = {"group": group, "input": os.path.relpath(source, REPO) if source.startswith(REPO) else source,
                  "variant": variant, "ratio": ratio, "threads": threads, "reps": len(runs),
                  "command": " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(command)),
                  "exit": runs[-1]["exit"]}
        for measure_name in ("wall", "cpu", "rss"):
            record[measure_name] = statistics.median(r[measure_name] for r in runs)
        ok = record["exit"] == 0 and os.path.exists(output)
        if not ok:
            record["error"] = runs[-1]["log"][-300:]
            self.failures.append(f"{variant} {source} (ratio {ratio}): exit {record['exit']}: {record['error']}")
        else:
            record["bytes"] = os.path.getsize(output)
            try:
                record["triangles"] = glb_triangles(output)
            except (ValueError, KeyError, IndexError, struct.error) as error:
                record["triangles_error"] = f"{type(error).__name__}: {error}"[:200]
            check = subprocess.run([self.tools.optimize, "validate", output], capture_output=True, text=True)
            record["valid"] = check.returncode == 0
            if not record["valid"]:
                record["validation"] = (check.stdout + check.stderr).strip()[-300:]
                if variant.startswith("optimize"):
                    self.failures.append(f"{variant} {source}: invalid output: {record['validation']}")
            if variant.startswith("optimize") and os.path.exists(report):
                with open(report) as f:
                    data = json.load(f)
                # As drawn (a mesh on two nodes counts twice), like `triangles` from the output.
                record["triangles_in"] = data["before"].get("instancedTriangles", data["before"]["triangles"])
                record["stages"] = {s["stage"]: s["seconds"] for s in data.get("stages", [])}
                reasons = sorted({m["reason"] for m in data.get("simplification", []) if m.get("reason")})
                if reasons:
                    record["simplify_reasons"] = reasons
                if data.get("budget"):
                    record["budget"] = data["budget"]
            compressed = " -c" in variant or "--compress" in variant or "--preset" in variant
            if measure_fidelity and not compressed and variant != "assimp export":
                try:
                    record.update(fidelity.compare(self.reference(source),
                                                   fidelity.Surface(fidelity.load_surface(output), self.samples, 2)))
                except Exception as error:  # an input trimesh cannot read: record it, keep benchmarking
                    record["fidelity_error"] = f"{type(error).__name__}: {error}"[:200]
        self.records.append(record)
        self.log(record)
        if self.journal:
            with open(self.journal, "a") as f:
                f.write(json.dumps({"key": key, "record": record}) + "\n")
        return record


# ---------------------------------------------------------------- inputs


def fixture_inputs() -> list[str]:
    root = os.path.join(REPO, "fixtures", "models")
    found = []
    for folder, _, files in os.walk(root):
        found += [os.path.join(folder, f) for f in files if f.lower().endswith(MODEL_EXTENSIONS)]
    return sorted(found)


def corpus_inputs() -> list[str]:
    """OBJ/glTF/GLB corpus rows that are not tagged broken and that Assimp 5.2.5 reads (empty without the corpus)."""
    manifest = os.path.join(CORPUS, "MANIFEST.tsv")
    if not os.path.exists(manifest):
        return []
    with open(manifest) as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    header = rows[0]
    col = {name: header.index(name) for name in ("path", "format", "tags", "assimp_5_2_5", "triangles")}
    picked = []
    for row in rows[1:]:
        tags = row[col["tags"]].split(",")
        if (row[col["format"]] in ("obj", "gltf") and "broken" not in tags and "points" not in tags
                and row[col["assimp_5_2_5"]] == "OK" and row[col["triangles"]] not in ("", "0")):
            picked.append(os.path.join(CORPUS, row[col["path"]]))
    return sorted(picked)


# ---------------------------------------------------------------- modes


def quick(tools: Tools, work: str) -> int:
    """Small inputs through every tool once; non-zero when a run fails or an optimize output is invalid."""
    check = subprocess.run([sys.executable, os.path.join(HERE, "test_fidelity.py")], cwd=HERE)
    bench = Bench(tools, work, reps=1, samples=20_000, log=print_record)
    _, (sphere,) = generate.ladder(os.path.join(work, "inputs"), None, [2])
    for source in fixture_inputs() + [sphere]:
        for ratio in (1.0, 0.5):
            for variant in variants(tools, ratio, compressed=True):
                bench.run("quick", source, variant, ratio, measure_fidelity=(source == sphere))
    if check.returncode != 0:
        bench.failures.append("test_fidelity.py failed")
    for failure in bench.failures:
        print("FAIL", failure, file=sys.stderr)
    print(f"quick benchmark: {len(bench.records)} runs, {len(bench.failures)} failures")
    return 1 if bench.failures else 0


def full(tools: Tools, work: str, reps: int, fresh: bool, only: set[str] | None = None,
         previous: dict | None = None) -> dict:
    inputs_folder = os.path.join(REPO, ".build", "bench-inputs")
    factors = [1, 2, 4, 8, 12]
    label, ladder = generate.ladder(inputs_folder, CORPUS if os.path.isdir(CORPUS) else None, factors)
    multi = generate.multi_mesh(inputs_folder, CORPUS if os.path.isdir(CORPUS) else None, k=2, copies=16)
    bench = Bench(tools, work, reps=reps, samples=50_000, log=print_record)
    bench.resume(os.path.join(work, "journal.jsonl"), fresh)
    if only is not None:
        bench.keep((previous or {}).get("records", []), only)

    bench.samples = 10_000                                      # small models: centroids already cover them
    for variant in ("optimize", "gltfpack"):                    # the fixed cost: start-up, import, write
        bench.run("startup", generate.cube(inputs_folder), variant, 1.0, reps=21, measure_fidelity=False)
    for source in fixture_inputs() + corpus_inputs():
        for ratio in (1.0, 0.5, 0.1):
            for variant in variants(tools, ratio, compressed=(ratio == 0.5)):
                bench.run("models", source, variant, ratio, measure_fidelity=ratio < 1)
    bench.samples = 50_000
    for source in ladder:
        big = os.path.getsize(source) > 300_000_000
        for ratio in (1.0, 0.5, 0.1):
            for variant in variants(tools, ratio, compressed=(ratio == 0.5)):
                bench.run("ladder", source, variant, ratio, reps=1 if big else reps, measure_fidelity=ratio < 1)
    sweep = ladder[1]
    for ratio in (0.25, 0.05, 0.02):
        for variant in ("optimize", "gltfpack"):
            bench.run("sweep", sweep, variant, ratio, reps=1)
    # The 1 → 2 thread speed-up: a 16-mesh scene, and one 4.4 M-triangle mesh (the simplify and reorder stages cut
    # it into regions, the weld compares its vertices in pools).
    # The two thread counts alternate (1 2 1 2 …, five runs each), so the machine's drift falls on both alike.
    for source in (multi, ladder[3]):
        bench.run_alternating("threads", [(source, 1), (source, 2)], "optimize", 0.5, reps=5, measure_fidelity=False)
    # Large inputs: the scan at about 1, 2, 5 and 10 M triangles as OBJ, binary PLY, binary STL and GLB, at ratio 0.5
    # compressed and as a plain conversion; gltfpack reads only OBJ and glTF, so PLY and STL rows are compared with
    # its run on the OBJ twin. The formats of one size are run in turn (OBJ PLY STL GLB OBJ …), so the machine's drift
    # falls on all four alike; medians of `reps` runs (the Assimp route: one).
    large = generate.large_set(inputs_folder, CORPUS if os.path.isdir(CORPUS) else None, [4, 5, 9, 12])
    for size in [large[k:k + 4] for k in range(0, len(large), 4)]:
        twins = [p for p in size if p.endswith((".obj", ".glb"))]
        if "optimize --preset web" in tools.optimize_variants:
            bench.run_alternating("large", size, "optimize --preset web", 0.5, reps=reps, measure_fidelity=False)
        if "optimize --preset web --importer assimp" in tools.optimize_variants:
            for source in size:
                bench.run("large", source, "optimize --preset web --importer assimp", 0.5, reps=1,
                          measure_fidelity=False)
        bench.run_alternating("large", twins, "gltfpack -cc", 0.5, reps=reps, measure_fidelity=False)
        # Plain conversion (float attributes, no simplification) against gltfpack's unquantized output.
        bench.run_alternating("large", size, "optimize", 1.0, reps=reps, measure_fidelity=False)
        bench.run_alternating("large", twins, "gltfpack -noq", 1.0, reps=reps, measure_fidelity=False)
    features(bench, large)
    if tools.blender and (only is None or only & {"blender", "fbx"}):
        blender(bench, inputs_folder, large)
    if only is not None:  # the groups not measured now keep their earlier records (Blender's too when it is absent)
        bench.records = [r for r in (previous or {}).get("records", []) if r["group"] not in only] + bench.records
        tools.versions = {**(previous or {}).get("versions", {}), **tools.versions}
    remeasured = (previous or {}).get("remeasured", []) if only is not None else []
    if only is not None:
        remeasured = [{**r, "groups": [g for g in r["groups"] if g not in only]} for r in remeasured]
        remeasured = [r for r in remeasured if r["groups"]]
        remeasured.append({"date": time.strftime("%Y-%m-%d"), "groups": sorted(only)})
    return {"records": bench.records, "failures": bench.failures, "base": label,
            "ladder": [os.path.relpath(p, REPO) for p in ladder], "multi": os.path.relpath(multi, REPO),
            "machine": machine(), "versions": tools.versions, "reps": reps,
            "optimize_variants": list(tools.optimize_variants), "remeasured": remeasured}


def blender(bench: Bench, inputs_folder: str, large: list[str]) -> None:
    """Blender beside optimize: its import → Decimate → glTF export (plain and Draco) on the large set's 1 and 2 M
    triangle inputs, and the FBX versions of the large set, written by Blender, through optimize (native FBX reader;
    compared with its OBJ twin, runs taken in turn, medians of five each) and through Blender's own FBX → GLB."""
    for source in [p for p in large if re.search(r"-k[45]\.", os.path.basename(p))]:
        for variant in ("blender", "blender --draco"):
            bench.run("blender", source, variant, 0.5, reps=1, measure_fidelity=False)
    for source in generate.fbx_twins(inputs_folder, [p for p in large if p.endswith(".obj")], bench.tools.blender,
                                     os.path.join(HERE, "blender.py")):
        # The FBX and its OBJ twin in turn, five runs each: their ratio is the FBX reader's cost.
        bench.run_alternating("fbx", [source, os.path.splitext(source)[0] + ".obj"], "optimize --preset web", 0.5,
                              reps=5, measure_fidelity=False)
        bench.run("fbx", source, "blender", 0.5, reps=1, measure_fidelity=False)


def textured_inputs() -> list[str]:
    """Fixture and corpus models with textures (the output-size budget's cases)."""
    models = os.path.join(REPO, "fixtures", "models")
    picked = [os.path.join(models, p) for p in (
        "glb/BoxTextured.glb", "gltf/BoxTextured/BoxTextured.gltf", "obj/spider/spider.obj",
        "fbx/blender_293_embedded_textures_7400_binary.fbx", "fbx/box_orphant_embedded_texture.fbx")]
    manifest = os.path.join(CORPUS, "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest) as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
        col = {name: rows[0].index(name) for name in ("path", "format", "tags")}
        for row in rows[1:]:
            tags = row[col["tags"]].split(",")
            if row[col["format"]] in ("obj", "gltf", "fbx", "dae") and "tex" in tags and "broken" not in tags:
                picked.append(os.path.join(CORPUS, row[col["path"]]))
    return picked


def features(bench: Bench, large: list[str]) -> None:
    """The pipeline features' costs: importer isolation (Assimp route in a child vs in-process) on a small model
    and a 2.5 M-triangle one, the preview of a ~1 M-triangle model at 512 × 512, and the output-size search at 50 %
    and 20 % of the plain output against one plain conversion."""
    small = os.path.join(REPO, "fixtures", "models", "fbx", "huesitos.fbx")
    # The scan subdivided 6 × 6 (about 2.5 M triangles): the "2 M-triangle model" of the isolation cost.
    extra_large = generate.large_set(os.path.join(REPO, ".build", "bench-inputs"),
                                     CORPUS if os.path.isdir(CORPUS) else None, [6])
    two_million = next((p for p in extra_large if p.endswith(".obj")), None)
    for source in [small] + ([two_million] if two_million else []):
        for label, extra in (("optimize assimp isolated", ("--importer", "assimp")),
                             ("optimize assimp in-process", ("--importer", "assimp", "--no-isolation"))):
            bench.run("isolation", source, label, 1.0, measure_fidelity=False, extra=extra)
    million = next((p for p in large if "-k4." in p and p.endswith(".glb")), None)
    if million:
        png = os.path.join(bench.work, "preview-1m.png")
        bench.run("preview", million, "optimize --preset web", 1.0, measure_fidelity=False)
        bench.run("preview", million, "optimize --preset web --preview", 1.0, measure_fidelity=False,
                  extra=("--preset", "web", "--preview", png, "--preview-size", "512"))
    for source in textured_inputs():
        plain = bench.run("budget", source, "optimize", 1.0, measure_fidelity=False)
        if "bytes" not in plain:
            continue
        for share in (0.5, 0.2):
            bench.run("budget", source, f"optimize --max-bytes {share:g}", 1.0, measure_fidelity=False,
                      extra=("--max-bytes", str(int(plain["bytes"] * share))))


def machine() -> dict:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        memory = int(f.readline().split()[1]) * 1024
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory / 2 ** 30, 1),
            "os": platform.platform(), "python": platform.python_version()}


def print_record(record: dict) -> None:
    fields = [record["variant"], os.path.basename(record["input"]), f"r={record['ratio']:g}",
              f"t={record['threads']}", f"exit={record['exit']}", f"wall={record['wall']:.3f}s",
              f"rss={record['rss'] / 2 ** 20:.0f}MiB"]
    if "bytes" in record:
        fields += [f"bytes={record['bytes']}", f"tris={record['triangles']}", f"valid={record['valid']}"]
    if "hausdorff_pct" in record:
        fields += [f"hd={record['hausdorff_pct']:.4f}%", f"rms={record['rms_pct']:.4f}%"]
    print(" ".join(fields), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="small inputs; exit 1 on a failed run or invalid output")
    mode.add_argument("--full", action="store_true", help="everything; writes RESULTS.md, results.json, plots/")
    mode.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md and plots from results.json")
    parser.add_argument("--optimize", default=os.path.join(REPO, ".build", "release", "optimize"),
                        help="the optimize binary (default: .build/release/optimize)")
    parser.add_argument("--fresh", action="store_true", help="--full: ignore runs journaled by an interrupted run")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per run (median); 1 above 300 MB inputs")
    parser.add_argument("--only", help="--full: measure only these groups (comma-separated, e.g. large,startup); "
                        "the others keep their records from results.json")
    args = parser.parse_args()
    results_path = os.path.join(HERE, "results.json")
    if args.report_only:
        with open(results_path) as f:
            import report
            report.write(json.load(f), HERE)
        return 0
    for tool in ("gltfpack", "assimp", "/usr/bin/time"):
        if shutil.which(tool) is None:
            print(f"run.py: {tool} is not installed (bash Tests/Scripts/setup.sh)", file=sys.stderr)
            return 2
    if not os.access(args.optimize, os.X_OK):
        print(f"run.py: {args.optimize}: no optimize binary (swift build -c release)", file=sys.stderr)
        return 2
    if args.quick:
        with tempfile.TemporaryDirectory(prefix="optimize-bench-") as work:
            return quick(Tools(args.optimize), work)
    work = os.path.join(REPO, ".build", "bench-outputs")
    os.makedirs(work, exist_ok=True)
    # Run a private copy: a rebuild during the hour-long run must neither change nor be blocked by the binary.
    binary = os.path.join(work, "optimize")
    shutil.copy2(args.optimize, binary)
    tools = Tools(binary)
    previous = None
    if args.only:
        with open(results_path) as f:
            previous = json.load(f)
    results = full(tools, work, args.reps, args.fresh, set(args.only.split(",")) if args.only else None, previous)
    with open(results_path, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    import report
    report.write(results, HERE)
    for failure in results["failures"]:
        print("FAIL", failure, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
