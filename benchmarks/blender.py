"""Blender (the `bpy` module) as a benchmark peer, run with the benchmark venv's Python (benchmarks/setup-blender.sh).

  python blender.py convert IN OUT.glb [--ratio R] [--draco]   # import → Decimate (collapse) → glTF export
  python blender.py export-fbx IN OUT.fbx                      # import → FBX export (the FBX benchmark inputs)

Every mesh object gets a Decimate modifier (collapse, the same ratio as the other tools' --ratio / -si), applied on
export; `--draco` turns on the glTF exporter's Draco compression (Blender's own defaults otherwise). The output is
written to a temporary name and renamed, so a failed run leaves nothing.
"""

from __future__ import annotations

import argparse
import os
import sys

import bpy

IMPORTERS = {
    ".obj": lambda path: bpy.ops.wm.obj_import(filepath=path),
    ".ply": lambda path: bpy.ops.wm.ply_import(filepath=path),
    ".stl": lambda path: bpy.ops.wm.stl_import(filepath=path),
    ".fbx": lambda path: bpy.ops.import_scene.fbx(filepath=path),
    ".gltf": lambda path: bpy.ops.import_scene.gltf(filepath=path),
    ".glb": lambda path: bpy.ops.import_scene.gltf(filepath=path),
}


def load(path: str) -> None:
    """An empty scene with `path` imported into it."""
    importer = IMPORTERS.get(os.path.splitext(path)[1].lower())
    if importer is None:
        raise SystemExit(f"blender.py: {path}: no Blender importer for this extension")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if importer(os.path.abspath(path)) != {"FINISHED"}:
        raise SystemExit(f"blender.py: {path}: Blender's importer failed")


def convert(source: str, output: str, ratio: float, draco: bool) -> None:
    load(source)
    if ratio < 1:
        for obj in bpy.context.scene.objects:
            if obj.type == "MESH":
                modifier = obj.modifiers.new(name="Decimate", type="DECIMATE")
                modifier.decimate_type = "COLLAPSE"
                modifier.ratio = ratio
    temporary = output + ".tmp.glb"
    result = bpy.ops.export_scene.gltf(filepath=temporary, export_format="GLB", export_apply=True,
                                       export_draco_mesh_compression_enable=draco)
    if result != {"FINISHED"}:
        raise SystemExit(f"blender.py: {output}: Blender's glTF exporter failed")
    os.replace(temporary, output)


def export_fbx(source: str, output: str) -> None:
    load(source)
    temporary = output + ".tmp.fbx"
    if bpy.ops.export_scene.fbx(filepath=temporary) != {"FINISHED"}:
        raise SystemExit(f"blender.py: {output}: Blender's FBX exporter failed")
    os.replace(temporary, output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    conversion = commands.add_parser("convert")
    conversion.add_argument("input")
    conversion.add_argument("output")
    conversion.add_argument("--ratio", type=float, default=1.0)
    conversion.add_argument("--draco", action="store_true")
    fbx = commands.add_parser("export-fbx")
    fbx.add_argument("input")
    fbx.add_argument("output")
    args = parser.parse_args()
    if args.command == "convert":
        convert(args.input, args.output, args.ratio, args.draco)
    else:
        export_fbx(args.input, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
