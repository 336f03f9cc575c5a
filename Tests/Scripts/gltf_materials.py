#!/usr/bin/env python3
"""Print the material extension objects and texture transforms of a glTF/GLB file, in a comparable form.

Usage: gltf_materials.py FILE

Output: one JSON object {"materials": [...]}: for every material some mesh primitive uses (also through
KHR_materials_variants), its `extensions`
(except KHR_materials_unlit's empty object, which is listed as "unlit") and the KHR_texture_transform of every
textureInfo (core slots and those inside extensions). Texture references are resolved to the image's name
without its file extension (or "texture" when the image has no name), so files whose textures were renumbered,
merged or re-encoded compare equal. The list is sorted and free of duplicates (the optimizer merges equal
materials and drops unused ones), so two files carry the same material extensions when the outputs are equal.
Numbers are rounded to 6 significant digits.
"""
import json
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"glTF":
        length = struct.unpack_from("<I", data, 12)[0]
        return json.loads(data[20:20 + length])
    return json.loads(data.decode("utf-8-sig"))


def rounded(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return {k: rounded(v) for k, v in value.items()}


def main():
    doc = load(sys.argv[1])
    textures = doc.get("textures", [])
    images = doc.get("images", [])

    def image_name(texture_index):
        texture = textures[texture_index] if texture_index < len(textures) else {}
        source = texture.get("source")
        for ext in ("EXT_texture_webp", "KHR_texture_basisu"):
            source = texture.get("extensions", {}).get(ext, {}).get("source", source)
        name = images[source].get("name") or images[source].get("uri", "") if source is not None else ""
        return name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "texture"

    def texture_info(info):
        out = {k: v for k, v in info.items() if k not in ("index", "extensions")}
        out["image"] = image_name(info["index"])
        transform = info.get("extensions", {}).get("KHR_texture_transform")
        if transform is not None:
            out["transform"] = transform
        return out

    used = set()
    for mesh in doc.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            if "material" in primitive:
                used.add(primitive["material"])
            for mapping in primitive.get("extensions", {}).get("KHR_materials_variants", {}).get("mappings", []):
                used.add(mapping["material"])
    result = set()
    for index in sorted(used):
        material = doc["materials"][index]
        entry = {"transforms": {}, "extensions": {}}
        for slot_owner, slot in [(material.get("pbrMetallicRoughness", {}), "baseColorTexture"),
                                 (material.get("pbrMetallicRoughness", {}), "metallicRoughnessTexture"),
                                 (material, "normalTexture"), (material, "occlusionTexture"), (material, "emissiveTexture")]:
            if slot in slot_owner:
                transform = slot_owner[slot].get("extensions", {}).get("KHR_texture_transform")
                if transform is not None:
                    entry["transforms"][slot] = transform
        for name, ext in sorted(material.get("extensions", {}).items()):
            if name == "KHR_materials_unlit":
                entry["unlit"] = True
                continue
            entry["extensions"][name] = {
                key: texture_info(value) if key.endswith("Texture") and isinstance(value, dict) else value
                for key, value in ext.items()
            }
        result.add(json.dumps(rounded(entry), sort_keys=True))
    print(json.dumps({"materials": [json.loads(r) for r in sorted(result)]}, sort_keys=True))


if __name__ == "__main__":
    main()
