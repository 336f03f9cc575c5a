#!/usr/bin/env bash
# Installs what the build and the tests need. Idempotent: re-runs only check and return.
#   - Debian packages from container/packages-build.txt and container/packages-test.txt
#     (apt-get only when dpkg says something is missing; as root, or through sudo);
#   - a Python venv at <repo>/.venv with Tests/Scripts/requirements.txt (reinstalled when that file changes).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"

# Package names from the lists, without comments and blank lines.
wanted=$(sed -e 's/#.*//' "$repo/container/packages-build.txt" "$repo/container/packages-test.txt" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
# shellcheck disable=SC2086  # one word per package name
bash "$repo/Tests/Scripts/install-packages.sh" $wanted

# The venv is built from Debian's interpreter so it does not depend on whatever python3 is first on PATH.
python=/usr/bin/python3
[[ -x "$python" ]] || python=$(command -v python3)
venv="$repo/.venv"
requirements="$repo/Tests/Scripts/requirements.txt"
stamp="$venv/.requirements.sha256"
want_hash=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup: creating $venv"
    "$python" -m venv "$venv"
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want_hash" ]]; then
    echo "setup: installing Python packages from $requirements"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    echo "$want_hash" > "$stamp"
fi
echo "setup: ok"
