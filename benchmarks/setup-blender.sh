#!/usr/bin/env bash
# Installs Blender as a benchmark peer: the `bpy` module (PyPI, bpy 5.0.1 for Python 3.11, ~375 MB) in its own venv
# at <repo>/.build/blender-venv, and the Debian libraries it loads. Idempotent; the full benchmark run calls it, the
# tests and CI's quick benchmark do not need it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.build/blender-venv"
packages=(libgl1 libsm6 libx11-6 libxext6 libxfixes3 libxi6 libxkbcommon0 libxrender1)
bash "$repo/Tests/Scripts/install-packages.sh" "${packages[@]}"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup-blender: creating $venv"
    /usr/bin/python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import bpy" 2>/dev/null; then
    echo "setup-blender: installing bpy 5.0.1"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "bpy==5.0.1"
fi
"$venv/bin/python" -c "import bpy; print('setup-blender: Blender', bpy.app.version_string)"
