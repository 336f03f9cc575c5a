#!/usr/bin/env bash
# The one test command (README and .ci/run call it): installs what is missing, builds, runs every test target.
# Exits non-zero on any failure. Helper tools are required here (OPTIMIZE_TEST_REQUIRE_TOOLS=1): a missing
# venv or chromium fails the run instead of skipping tests.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

bash Tests/Scripts/setup.sh
swift build
OPTIMIZE_TEST_PYTHON="$repo/.venv/bin/python" OPTIMIZE_TEST_REQUIRE_TOOLS=1 swift test
bash Tests/Scripts/container-check.sh
