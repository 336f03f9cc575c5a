#!/usr/bin/env bash
# Regenerates benchmarks/RESULTS.md, results.json and plots/: release build, then every benchmark run (about an hour
# on 2 cores; generated inputs are cached in .build/bench-inputs). Pass --quick for the small smoke run instead, or
# --full --only GROUPS --fresh to re-measure some groups (startup, models, ladder, sweep, threads, large, isolation,
# preview, budget, blender, fbx) and keep the others' records (without --fresh, runs journaled earlier are reused).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
swift build -c release --static-swift-stdlib --product optimize  # the binary the image ships
# Blender is a peer of the full run only (without it the report says so); `--only GROUPS` sets it up only when the
# groups include its own (blender, fbx).
if [[ "${1:---full}" == "--full" && ( "$*" != *--only* || "$*" == *blender* || "$*" == *fbx* ) ]]; then
    bash benchmarks/setup-blender.sh || echo "run.sh: Blender could not be set up; the full run goes on without it" >&2
fi
exec "$repo/.venv/bin/python" benchmarks/run.py "${@:---full}"
