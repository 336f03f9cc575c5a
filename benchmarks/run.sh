#!/usr/bin/env bash
# Regenerates benchmarks/RESULTS.md, results.json and plots/: release build, then every benchmark run (about an hour
# on 2 cores; generated inputs are cached in .build/bench-inputs). Pass --quick for the small smoke run instead.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
swift build -c release --static-swift-stdlib --product optimize  # the binary the image ships
exec "$repo/.venv/bin/python" benchmarks/run.py "${@:---full}"
