#!/usr/bin/env bash
# Converts every fixture model with two `optimize` binaries under the same options and compares the GLB bytes:
# proof that a refactor changed no output. Prints one line per difference and a closing
# "N passed, N failed" line; exits 1 on any difference.
#   bash Tests/Scripts/compare-outputs.sh OLD_BINARY NEW_BINARY [-- EXTRA OPTIONS FOR BOTH]
set -uo pipefail
old=$1 new=$2
shift 2
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
option_sets=("" "--preset web" "--compress draco" "--ratio 0.5" "--quantize --texture-max 64")
while IFS= read -r -d '' model; do
    for options in "${option_sets[@]}"; do
        # shellcheck disable=SC2086
        "$old" "$model" -o "$work/old.glb" $options "${extra[@]}" >/dev/null 2>"$work/old.err"; a=$?
        # shellcheck disable=SC2086
        "$new" "$model" -o "$work/new.glb" $options "${extra[@]}" >/dev/null 2>"$work/new.err"; b=$?
        name="${model#"$repo"/} [${options:-defaults}]"
        if [[ $a -ne $b ]]; then
            echo "differs: $name: exit $a vs $b"; failed=$((failed + 1))
        elif [[ $a -eq 0 ]] && ! cmp -s "$work/old.glb" "$work/new.glb"; then
            echo "differs: $name: output bytes"; failed=$((failed + 1))
        else
            passed=$((passed + 1))
        fi
        rm -f "$work/old.glb" "$work/new.glb"
    done
done < <(find "$repo/fixtures/models" -type f \( -iname '*.fbx' -o -iname '*.obj' -o -iname '*.stl' -o -iname '*.ply' \
    -o -iname '*.dae' -o -iname '*.gltf' -o -iname '*.glb' \) -print0 | sort -z)
echo "compare-outputs: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
