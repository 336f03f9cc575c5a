#!/usr/bin/env bash
# The one test command (README and .ci/run call it): installs what is missing, builds, runs every test target.
# Exits non-zero on any failure. Helper tools are required here (OPTIMIZE_TEST_REQUIRE_TOOLS=1): a missing
# venv or chromium fails the run instead of skipping tests.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

bash Tests/Scripts/setup.sh
# The tree stays formatted (.swift-format): `swift format format --configuration .swift-format -r -i Sources Tests`.
swift format lint --strict --configuration .swift-format -r Sources Tests Package.swift
swift build
OPTIMIZE_TEST_PYTHON="$repo/.venv/bin/python" OPTIMIZE_TEST_REQUIRE_TOOLS=1 swift test
# Fuzzing, quick mode: 300 mutated inputs through the CLI and the job (about 2-3 minutes on 2 cores); any crash,
# hang or memory peak fails the run (reproducers in .build/fuzz-quick/findings).
"$repo/.venv/bin/python" benchmarks/fuzz/fuzz.py --quick --binary .build/debug/optimize --out .build/fuzz-quick
bash Tests/Scripts/container-check.sh
