#!/usr/bin/env python3
"""Mutation fuzzer for `optimize`: mutates seed models (fixtures/ and ../shared/corpus) per format and runs each
mutant through the CLI (and, every Nth run, through `optimize job`) in a bounded loop.

A finding is a run that died by a signal, ran longer than --hang seconds, peaked above --memory-peak bytes of RSS
(the process and its waited-for children), or (job mode) ended with an exit code outside the documented set.
Each is saved under OUT/findings/ with the mutant, the seed that made it (`--replay SEED` rebuilds it) and a JSON
line in OUT/findings.jsonl. OUT/summary.json and the printed table give the figures per format.

    python benchmarks/fuzz/fuzz.py --quick                 # ~300 runs, what the test suite runs
    python benchmarks/fuzz/fuzz.py --runs 12000 --jobs 2   # the long mode (see benchmarks/fuzz/README.md)
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = {".fbx": "fbx", ".obj": "obj", ".stl": "stl", ".ply": "ply", ".dae": "dae", ".gltf": "gltf",
              ".glb": "glb", ".usd": "usd", ".usda": "usd", ".usdc": "usd", ".usdz": "usd", ".abc": "abc"}
TEXT_FORMATS = {"obj", "dae", "gltf"}
CLI_EXITS = {0, 2, 3, 4, 5}          # 70 (our output failed validation) is a bug worth saving too
JOB_EXITS = {0, 2, 3, 4, 5, 75, 77, 143}
INTERESTING_INTS = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                    0xFFFFFFF0, 0x10000, 100000, 1 << 24]
INTERESTING_NUMBERS = [b"0", b"-1", b"1e308", b"-1e308", b"1e39", b"nan", b"inf", b"4294967295", b"2147483648",
                       b"99999999", b"300000000", b"-2147483649", b"1e-45", b"65536", b"3"]


def seeds(max_bytes):
    """Seed files by format: every fixture model, plus corpus files under max_bytes marked not restricted."""
    found = defaultdict(list)
    for path in sorted((ROOT / "fixtures").rglob("*")):
        fmt = EXTENSIONS.get(path.suffix.lower())
        if fmt and path.is_file() and path.stat().st_size <= max_bytes:
            found[fmt].append(path)
    corpus = ROOT.parent / "shared" / "corpus"
    manifest = corpus / "MANIFEST.tsv"
    if manifest.exists():
        rows = manifest.read_text(encoding="utf-8").splitlines()
        header = rows[0].split("\t")
        for row in rows[1:]:
            fields = dict(zip(header, row.split("\t")))
            path = corpus / fields["path"]
            fmt = EXTENSIONS.get(path.suffix.lower())
            if fmt and path.is_file() and path.stat().st_size <= max_bytes and "broken" not in fields.get("tags", ""):
                found[fmt].append(path)
    return found


# ---- mutation strategies ---------------------------------------------------------------------------------------

def flip_bits(data, rng):
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return "flip"


def set_bytes(data, rng):
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] = rng.choice([0, 0xFF, 0x7F, 0x80, 0x20, 0x0A])
    return "bytes"


def smash_int(data, rng):
    if len(data) < 8:
        return flip_bits(data, rng)
    for _ in range(rng.randint(1, 3)):
        size = rng.choice([2, 4, 4, 8])
        i = rng.randrange(0, len(data) - size) & ~(min(size, 4) - 1)
        value = rng.choice(INTERESTING_INTS) & ((1 << (8 * size)) - 1)
        data[i:i + size] = value.to_bytes(size, "little")
    return "int"


def truncate(data, rng):
    cut = rng.randrange(1, len(data))
    del data[cut:]
    return "truncate"


def splice(data, rng):
    a, b = sorted(rng.randrange(len(data)) for _ in range(2))
    chunk = bytes(data[a:b][:4096])
    if rng.random() < 0.5:
        del data[a:b]
        return "delete"
    at = rng.randrange(len(data) + 1)
    data[at:at] = chunk * rng.randint(1, 3)
    return "duplicate"


NUMBER = re.compile(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def smash_number(data, rng):
    matches = list(NUMBER.finditer(bytes(data[:1 << 20])))
    if not matches:
        return flip_bits(data, rng)
    for m in rng.sample(matches, min(len(matches), rng.randint(1, 3))):
        replacement = rng.choice(INTERESTING_NUMBERS)
        data[m.start():m.end()] = replacement
        break  # offsets shift after the first replacement
    return "number"


def shuffle_lines(data, rng):
    lines = bytes(data).split(b"\n")
    if len(lines) < 3:
        return flip_bits(data, rng)
    i = rng.randrange(len(lines))
    action = rng.choice(["drop", "dup", "swap"])
    if action == "drop":
        del lines[i]
    elif action == "dup":
        lines[i:i] = [lines[i]] * rng.randint(1, 50)
    else:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    data[:] = b"\n".join(lines)
    return "lines-" + action


def gltf_json(data, rng):
    """Structured glTF mutation: a numeric leaf of the JSON set to an extreme or out-of-range value."""
    try:
        doc = json.loads(bytes(data))
    except ValueError:
        return smash_number(data, rng)
    leaves = []
    stack = [(doc, None, None)]
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, dict):
            stack += [(v, value, k) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, value, k) for k, v in enumerate(value)]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            leaves.append((parent, key))
    if not leaves:
        return smash_number(data, rng)
    for parent, key in rng.sample(leaves, min(len(leaves), rng.randint(1, 3))):
        parent[key] = rng.choice([-1, 0, 2**31, 2**32 - 1, 3 * 10**8, 1e39, 10**6, 7, 5125, 5126, 1e308])
    data[:] = json.dumps(doc).encode()
    return "json"


BINARY = [flip_bits, set_bytes, smash_int, smash_int, truncate, splice]
TEXT = [flip_bits, smash_number, smash_number, shuffle_lines, truncate, splice]
STRATEGIES = {"fbx": BINARY + [smash_number], "obj": TEXT, "stl": BINARY + [smash_number], "ply": BINARY + TEXT,
              "dae": TEXT, "gltf": TEXT + [gltf_json, gltf_json], "glb": BINARY, "usd": BINARY + [smash_number],
              "abc": BINARY}


def mutate(seed_bytes, fmt, rng):
    data = bytearray(seed_bytes)
    names = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not data:
            break
        names.append(rng.choice(STRATEGIES[fmt])(data, rng))
    return bytes(data), "+".join(names)


_folder_sizes = {}


def small_folder(folder):
    if folder not in _folder_sizes:
        files = [p for p in folder.rglob("*") if p.is_file()]
        _folder_sizes[folder] = len(files) <= 60 and sum(p.stat().st_size for p in files) <= 8_000_000
    return _folder_sizes[folder]


# ---- running ---------------------------------------------------------------------------------------------------

def run_once(argv, cwd, hang, address_limit):
    def limit():
        os.setsid()
        if address_limit:
            resource.setrlimit(resource.RLIMIT_AS, (address_limit, address_limit))
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=limit)
    timer = threading.Timer(hang, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - start
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything it left in its group
    except ProcessLookupError:
        pass
    return proc.returncode, elapsed, usage.ru_maxrss * 1024, stderr.decode("utf-8", "replace").strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "debug" / "optimize"))
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--quick", action="store_true", help="300 runs, small seeds only")
    parser.add_argument("--seed", type=int, default=1, help="master seed; run i uses seed*1000003+i")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--hang", type=float, default=30, help="seconds before a run counts as a hang")
    parser.add_argument("--memory-peak", type=int, default=2 << 30, help="RSS bytes above which a run is a finding")
    parser.add_argument("--address-limit", type=int, default=4 << 30, help="RLIMIT_AS of each run (prlimit)")
    parser.add_argument("--job-every", type=int, default=10, help="every Nth run goes through `optimize job` (0: never)")
    parser.add_argument("--minutes", type=float, help="stop starting runs after this long (the summary counts what ran)")
    parser.add_argument("--formats", default=",".join(sorted(STRATEGIES)))
    parser.add_argument("--max-seed-bytes", type=int, default=2_000_000)
    parser.add_argument("--out", default=str(ROOT / ".build" / "fuzz"))
    parser.add_argument("--replay", type=int, help="rebuild the mutant of one run seed into --out and stop")
    args = parser.parse_args()
    args.binary = str(Path(args.binary).resolve())  # runs start in their own folders
    if args.quick:
        args.runs = min(args.runs, 300)
        args.max_seed_bytes = min(args.max_seed_bytes, 300_000)

    formats = [f for f in args.formats.split(",") if f]
    pool = seeds(args.max_seed_bytes)
    plan = [(fmt, path) for fmt in formats for path in pool.get(fmt, [])]
    if not plan:
        sys.exit("no seed files found")
    out = Path(args.out)
    (out / "findings").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="optimize-fuzz-"))
    # The USD plugin needs usd-core: the repo's venv has it.
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists():
        os.environ.setdefault("OPTIMIZE_USD_PYTHON", str(venv_python))
    os.environ.setdefault("OPTIMIZE_PLUGIN_PATH", str(ROOT / "Sources" / "Plugins"))
    by_format = {fmt: [p for f, p in plan if f == fmt] for fmt in formats if pool.get(fmt)}

    def mutant_for(run_seed):
        rng = random.Random(run_seed)
        fmt = rng.choice(sorted(by_format))
        source = rng.choice(by_format[fmt])
        data, strategy = mutate(source.read_bytes(), fmt, rng)
        return fmt, source, data, strategy

    if args.replay is not None:
        fmt, source, data, strategy = mutant_for(args.replay)
        target = out / f"replay-{args.replay}{source.suffix}"
        target.write_bytes(data)
        print(f"{target} ({fmt}, from {source}, {strategy})")
        return

    stats = defaultdict(Counter)
    findings = []
    lock = threading.Lock()
    started = time.monotonic()
    log = (out / "findings.jsonl").open("a")

    def worker(slot, indices):
        folder = work / f"w{slot}"
        for i in indices:
            if args.minutes and time.monotonic() - started > args.minutes * 60:
                return
            run_seed = args.seed * 1000003 + i
            fmt, source, data, strategy = mutant_for(run_seed)
            shutil.rmtree(folder, ignore_errors=True)
            # The seed's folder (textures, .bin, .mtl) beside the mutant when small, so references still resolve.
            if small_folder(source.parent):
                shutil.copytree(source.parent, folder)
            else:
                folder.mkdir()
            mutant = folder / source.name
            mutant.unlink(missing_ok=True)
            mutant.write_bytes(data)
            as_job = args.job_every and i % args.job_every == args.job_every - 1
            if as_job:
                argv = [args.binary, "job", "--input", str(mutant), "--output", str(folder / "jobout") + "/",
                        "--timeout", str(max(args.hang - 5, 5)), "--termination-log", str(folder / "termination.log"),
                        "--", "--import-memory", "2G"]  # the CLI runs' limit, so --memory-peak means the same
                allowed = JOB_EXITS
            else:
                argv = [args.binary, str(mutant), "-o", str(folder / "out.glb"), "--import-memory", "2G",
                        "--import-timeout", str(max(args.hang - 10, 5))]
                allowed = CLI_EXITS
            code, seconds, peak, stderr = run_once(argv, folder, args.hang, args.address_limit)
            kind = None
            if seconds >= args.hang:
                kind = "hang"
            elif code < 0:
                kind = "signal-" + signal.Signals(-code).name
            elif peak > args.memory_peak:
                kind = "memory"
            elif code not in allowed:
                kind = f"exit-{code}"
            with lock:
                key = fmt + (" (job)" if as_job else "")
                stats[key]["runs"] += 1
                stats[key][f"exit {code}"] += 1
                stats[key]["seconds"] += seconds
                stats[key]["peak"] = max(stats[key]["peak"], peak)
                if kind:
                    stats[key][kind] += 1
                    name = f"{fmt}-{kind}-{run_seed}{source.suffix}"
                    (out / "findings" / name).write_bytes(data)
                    record = {"seed": run_seed, "format": fmt, "kind": kind, "job": bool(as_job), "source": str(source),
                              "strategy": strategy, "exit": code, "seconds": round(seconds, 2), "peak": peak,
                              "stderr": stderr[-300:], "file": name}
                    findings.append(record)
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    print(f"FINDING {kind}: {name} ({strategy}; {stderr[-120:]})", flush=True)
                done = sum(s["runs"] for s in stats.values())
                if done % 100 == 0:
                    print(f"{done}/{args.runs} runs, {len(findings)} findings, {time.monotonic() - started:.0f} s",
                          flush=True)

    threads = [threading.Thread(target=worker, args=(k, range(k, args.runs, args.jobs))) for k in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shutil.rmtree(work, ignore_errors=True)
    wall = time.monotonic() - started

    summary = {"runs": sum(s["runs"] for s in stats.values()), "seconds": round(wall, 1), "findings": len(findings), "master_seed": args.seed,
               "formats": {k: dict(v) for k, v in sorted(stats.items())}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{'format':12} {'runs':>6} {'exit0':>6} {'exit3':>6} {'exit5':>6} {'other':>6} {'signal':>6} {'hang':>5} "
          f"{'mem':>4} {'max RSS MB':>10} {'mean s':>7}")
    for key, s in sorted(stats.items()):
        other = s["runs"] - s["exit 0"] - s["exit 3"] - s["exit 5"]
        signals = sum(v for k, v in s.items() if k.startswith("signal-"))
        print(f"{key:12} {s['runs']:6} {s['exit 0']:6} {s['exit 3']:6} {s['exit 5']:6} {other:6} {signals:6} "
              f"{s['hang']:5} {s['memory']:4} {s['peak'] / 1e6:10.0f} {s['seconds'] / s['runs']:7.2f}")
    print(f"{summary['runs']} runs in {wall:.0f} s, {len(findings)} findings (saved in {out / 'findings'})")
    if summary["runs"] == 0:
        sys.exit("fuzz: no run completed (is --binary right?)")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
