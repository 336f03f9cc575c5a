#!/usr/bin/env python3
"""The cost of running the Assimp import in a child process: `optimize IN -o OUT.glb --importer assimp` with and
without `--no-isolation`, median of N runs each (alternating), wall time, user+sys CPU and peak RSS from os.wait4
(which includes the reaped import child). Prints a Markdown table for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/isolation.py --binary .build/release/optimize SMALL.fbx LARGE.obj [--runs 5]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time


def measure(argv):
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return time.monotonic() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    out = os.path.join(tempfile.mkdtemp(prefix="optimize-isolation-"), "out.glb")
    print("| input | bytes | isolated s | in-process s | added s | isolated CPU s | in-process CPU s | isolated MiB | in-process MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in args.inputs:
        rows = {"iso": [], "in": []}
        for _ in range(args.runs):
            for mode, extra in (("iso", []), ("in", ["--no-isolation"])):
                rows[mode].append(measure([args.binary, path, "-o", out, "--importer", "assimp", "--threads", "2"] + extra))
        med = {m: [statistics.median(r[k] for r in rows[m]) for k in range(3)] for m in rows}
        print(f"| {os.path.basename(path)} | {os.path.getsize(path)} | {med['iso'][0]:.2f} | {med['in'][0]:.2f} | "
              f"{med['iso'][0] - med['in'][0]:+.2f} | {med['iso'][1]:.2f} | {med['in'][1]:.2f} | "
              f"{med['iso'][2]:.0f} | {med['in'][2]:.0f} |")


if __name__ == "__main__":
    main()
