#!/bin/sh
# Runs usd_to_glb.py with the first Python that has usd-core, so no environment variable is needed:
# $OPTIMIZE_USD_PYTHON, then the repository's .venv (Tests/Scripts/setup.sh), then the image's /opt/usd, then python3.
here=$(cd "$(dirname "$0")" && pwd)
for python in "$OPTIMIZE_USD_PYTHON" "$here/../../../.venv/bin/python" /opt/usd/bin/python python3; do
    [ -n "$python" ] && command -v "$python" >/dev/null 2>&1 || continue
    if "$python" -c "import pxr, numpy" >/dev/null 2>&1; then
        exec "$python" "$here/usd_to_glb.py" "$@"
    fi
done
echo "the USD plugin needs usd-core (pxr) and numpy in a Python: pip install usd-core numpy, or set OPTIMIZE_USD_PYTHON" >&2
exit 4
