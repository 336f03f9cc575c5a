#!/bin/bash
# Regenerates Sources/CLI/link-order.txt: the functions `optimize` runs while converting small models, which the
# linker places first and together (lld --symbol-ordering-file). A small conversion then maps a few contiguous
# megabytes of code instead of pages scattered over the whole binary (the fixed cost, benchmarks/RESULTS.md).
# Run it after changes to the start-up or small-model path: stale names are ignored, so an old list only loses
# effect. Needs valgrind (apt-get install valgrind) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/optimize}
command -v valgrind >/dev/null || { echo "link-order.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Valgrind cannot read this toolchain's .debug_names; the symbol table is enough.
strip --strip-debug -o "$work/optimize" "$binary"
# Most common first: each run adds the functions the runs before it did not use, so the start-up and a plain OBJ or
# glTF conversion sit together at the front and rarer paths (compression, FBX, inspect) follow.
runs=(
    "--version"
    "fixtures/models/obj/spider/spider.obj -o $work/out.glb --report $work/report.json"
    "fixtures/models/glb/BoxTextured.glb -o $work/out.glb"
    "fixtures/models/gltf/BoxTextured/BoxTextured.gltf -o $work/out.glb"
    "fixtures/models/stl/soup.stl -o $work/out.glb"
    "fixtures/models/obj/spider/spider.obj -o $work/out.glb --preset web --ratio 0.5"
    "fixtures/models/glb/BoxTextured.glb -o $work/out.glb --quantize"
    "fixtures/models/ply/cube_binary.ply -o $work/out.glb --compress draco"
    "fixtures/models/fbx/global_settings.fbx -o $work/out.glb"
    "inspect fixtures/models/glb/BoxTextured.glb"
)
: >"$work/seen"
: >Sources/CLI/link-order.txt
for i in "${!runs[@]}"; do
    # shellcheck disable=SC2086 # each entry is a command line
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/run.$i" "$work/optimize" ${runs[$i]} \
        >/dev/null 2>&1
    # callgrind names a function once ("fn=(7) name"), then by number only; sorted within a run, so the list only
    # changes when the code does.
    sed -nE 's/^c?fn=\([0-9]+\) (.+)$/\1/p' "$work/run.$i" | grep -v '^0x' | LC_ALL=C sort -u >"$work/names"
    LC_ALL=C comm -23 "$work/names" "$work/seen" >>Sources/CLI/link-order.txt
    LC_ALL=C sort -u "$work/seen" "$work/names" -o "$work/seen"
done
echo "link-order.sh: $(wc -l <Sources/CLI/link-order.txt) functions in Sources/CLI/link-order.txt"
