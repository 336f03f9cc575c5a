#!/usr/bin/env bash
# Regenerates benchmarks/RESULTS.md, results.json and plots/: release build, then every benchmark run (about an hour
# on 2 cores; generated inputs are cached in .build/bench-inputs). Pass --quick for the small smoke run instead.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
swift build -c release --static-swift-stdlib --product optimize  # the binary the image ships
if [[ "${1:---full}" == "--full" ]]; then  # Blender is a peer of the full run only; without it the report says so
    bash benchmarks/setup-blender.sh || echo "run.sh: Blender could not be set up; the full run goes on without it" >&2
fi
exec "$repo/.venv/bin/python" benchmarks/run.py "${@:---full}"
