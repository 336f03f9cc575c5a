#!/usr/bin/env python3
"""USD → GLB converter: optimize's external importer plugin for USD (usda, usdc, usdz), built on Pixar's usd-core.

Usage: usd_to_glb.py INPUT OUTPUT.glb     convert; exit 0, or 3 with "error: ..." as the last stderr line
       usd_to_glb.py --check              print the usd-core version; exit 0 when pxr and numpy import

What it reads: the stage with every payload loaded, references and variants composed at their defaults, at the
earliest authored time. Every visible, non-guide UsdGeomMesh (native instances and PointInstancers expanded) becomes
one glTF node carrying its world transform (Z-up stages are turned Y-up, metersPerUnit scales to meters); meshes
shared through instancing are written once. Faces are fan-triangulated (holes dropped, leftHanded winding flipped).
Primvars normals, st (or the material's st primvar) and displayColor/displayOpacity keep their interpolation
(constant, uniform, vertex, varying, faceVarying; indexed primvars are flattened). UsdPreviewSurface materials (also
on GeomSubsets) become glTF metallic-roughness materials; textures are read through Ar, so images inside a usdz work.
Skinned meshes are written at their authored (rest) points; skeletons and animations are dropped with a warning.
Warnings go to stderr as "warning: ..." lines.
"""
import json
import math
import struct
import sys


def fail(message, code=3):
    sys.stderr.write("error: " + " ".join(str(message).split()) + "\n")
    sys.exit(code)


try:
    import numpy as np
    from pxr import Ar, Gf, Sdf, Tf, Usd, UsdGeom, UsdShade
except ImportError as error:  # the plugin is unavailable, not the input bad
    fail("the USD plugin needs usd-core (pxr) and numpy in this Python (set OPTIMIZE_USD_PYTHON): %s" % error, 4)

warnings = []


def warn(message):
    if message not in warnings:
        warnings.append(message)


# ---------------------------------------------------------------------------------------------------------------
# Binary glTF assembly


class GLBBuilder:
    """Collects accessors, meshes, materials and images; writes one GLB with a single buffer."""

    def __init__(self):
        self.blob = bytearray()
        self.doc = {"asset": {"version": "2.0", "generator": "optimize usd_to_glb (usd-core %s)" % usd_version()},
                    "scene": 0, "scenes": [{"nodes": []}], "nodes": [], "meshes": [], "accessors": [],
                    "bufferViews": [], "materials": [], "textures": [], "images": [], "samplers": []}

    def view(self, data, target=None):
        while len(self.blob) % 4:
            self.blob.append(0)
        entry = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if target:
            entry["target"] = target
        self.blob.extend(data)
        self.doc["bufferViews"].append(entry)
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array, kind, bounds=False, indices=False):
        array = np.ascontiguousarray(array, dtype=np.uint32 if indices else np.float32)
        accessor = {"bufferView": self.view(array.tobytes(), 34963 if indices else 34962),
                    "componentType": 5125 if indices else 5126, "count": int(array.shape[0]), "type": kind}
        if bounds:
            accessor["min"] = [float(v) for v in array.min(axis=0)]
            accessor["max"] = [float(v) for v in array.max(axis=0)]
        self.doc["accessors"].append(accessor)
        return len(self.doc["accessors"]) - 1

    def add(self, key, item):
        self.doc[key].append(item)
        return len(self.doc[key]) - 1

    def write(self, path):
        doc = {key: value for key, value in self.doc.items() if value != []}
        doc["buffers"] = [{"byteLength": len(self.blob)}]
        text = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8")
        text += b" " * (-len(text) % 4)
        binary = bytes(self.blob) + b"\0" * (-len(self.blob) % 4)
        total = 12 + 8 + len(text) + 8 + len(binary)
        with open(path, "wb") as out:
            out.write(struct.pack("<4sII", b"glTF", 2, total))
            out.write(struct.pack("<I4s", len(text), b"JSON") + text)
            out.write(struct.pack("<I4s", len(binary), b"BIN\0") + binary)


def usd_version():
    major, minor, patch = Usd.GetVersion()  # (0, 26, 11) for the release called 26.11
    return "%d.%d.%d" % (major, minor, patch) if major else "%d.%d" % (minor, patch)


# ---------------------------------------------------------------------------------------------------------------
# Materials


WRAP = {"repeat": 10497, "mirror": 33648, "clamp": 33071, "black": 33071}


def image_mime(data):
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def read_asset(asset_path):
    """The bytes of an asset (a file, or an entry inside a usdz), or None with a warning."""
    resolved = asset_path.resolvedPath
    if not resolved:
        warn("texture '%s' not found" % asset_path.path)
        return None
    asset = Ar.GetResolver().OpenAsset(Ar.ResolvedPath(resolved))
    if asset is None:
        warn("texture '%s' cannot be opened" % asset_path.path)
        return None
    return bytes(asset.GetBuffer())


def connected_source(shader_input):
    """(source shader, output name) when the input is connected to a shader, following interface connections."""
    if not shader_input:
        return None
    sources = shader_input.GetConnectedSources()[0]
    if not sources:
        return None
    info = sources[0]
    prim = info.source.GetPrim()
    if prim.IsA(UsdShade.Material) or prim.IsA(UsdShade.NodeGraph):
        return connected_source(UsdShade.ConnectableAPI(prim).GetInput(info.sourceName)) \
            or ("value", UsdShade.ConnectableAPI(prim).GetInput(info.sourceName))
    return UsdShade.Shader(prim), info.sourceName


def input_value(shader, name, default):
    shader_input = shader.GetInput(name)
    if not shader_input:
        return default
    source = connected_source(shader_input)
    if source and source[0] == "value":
        shader_input = source[1]
    value = shader_input.Get(Usd.TimeCode.EarliestTime())
    return default if value is None else value


class MaterialTable:
    """UsdShade materials → glTF materials (and their textures); also answers which st primvar each one reads."""

    def __init__(self, glb):
        self.glb = glb
        self.by_path = {}
        self.images = {}
        self.textures = {}
        self.uv_primvar = {}
        self.default_by_color = {}

    def default(self, color, opacity):
        """The material for a mesh without binding: its constant displayColor (linear) or glTF's default."""
        key = (tuple(round(float(c), 6) for c in color), round(float(opacity), 6))
        if key not in self.default_by_color:
            material = {"pbrMetallicRoughness": {"baseColorFactor": list(key[0]) + [key[1]], "metallicFactor": 0.0}}
            if key[1] < 1:
                material["alphaMode"] = "BLEND"
            self.default_by_color[key] = self.glb.add("materials", material)
        return self.default_by_color[key]

    def get(self, material):
        path = str(material.GetPath())
        if path not in self.by_path:
            self.by_path[path] = self.convert(material)
        return self.by_path[path]

    def convert(self, material):
        out = {"name": material.GetPrim().GetName(), "pbrMetallicRoughness": {}}
        surface = material.ComputeSurfaceSource()[0]
        if not surface or surface.GetIdAttr().Get() != "UsdPreviewSurface":
            shader_id = surface.GetIdAttr().Get() if surface else None
            warn("material %s: only UsdPreviewSurface is converted (found %s); it keeps default factors"
                 % (material.GetPath(), shader_id or "no surface shader"))
            self.uv_primvar[str(material.GetPath())] = "st"
            return self.glb.add("materials", out)
        pbr = out["pbrMetallicRoughness"]
        uv_names = []

        diffuse = self.texture_input(surface, "diffuseColor", uv_names)
        color = input_value(surface, "diffuseColor", Gf.Vec3f(0.18, 0.18, 0.18))
        opacity_source = self.texture_input(surface, "opacity", uv_names)
        opacity = float(input_value(surface, "opacity", 1.0))
        if diffuse:
            pbr["baseColorTexture"] = diffuse["info"]
            color = diffuse["scale"][:3]
        base = [float(c) for c in color] + [opacity if not opacity_source else 1.0]
        if base != [1.0, 1.0, 1.0, 1.0]:
            pbr["baseColorFactor"] = base
        threshold = float(input_value(surface, "opacityThreshold", 0.0))
        if opacity_source and not (diffuse and opacity_source["file"] == diffuse["file"]
                                   and opacity_source["channel"] == "a"):
            warn("material %s: opacity texture not in the diffuse texture's alpha; ignored" % material.GetPath())
        elif opacity_source or opacity < 1:
            out["alphaMode"] = "MASK" if threshold > 0 else "BLEND"
            if threshold > 0:
                out["alphaCutoff"] = threshold

        if int(input_value(surface, "useSpecularWorkflow", 0)) == 1:
            warn("material %s: specular workflow approximated as metallic 0" % material.GetPath())
            metallic = 0.0
        else:
            metallic = float(input_value(surface, "metallic", 0.0))
        roughness = float(input_value(surface, "roughness", 0.5))
        metal_texture = self.texture_input(surface, "metallic", uv_names)
        rough_texture = self.texture_input(surface, "roughness", uv_names)
        if metal_texture or rough_texture:
            packed = self.metallic_roughness(material, metal_texture, rough_texture)
            if packed is not None:
                pbr["metallicRoughnessTexture"] = packed
                metallic = metal_texture["scale"][0] if metal_texture else metallic
                roughness = rough_texture["scale"][0] if rough_texture else roughness
        pbr["metallicFactor"] = metallic
        pbr["roughnessFactor"] = roughness

        emissive_texture = self.texture_input(surface, "emissiveColor", uv_names)
        emissive = input_value(surface, "emissiveColor", Gf.Vec3f(0, 0, 0))
        if emissive_texture:
            out["emissiveTexture"] = emissive_texture["info"]
            emissive = emissive_texture["scale"][:3]
        if any(float(c) != 0 for c in emissive):
            out["emissiveFactor"] = [min(max(float(c), 0.0), 1.0) for c in emissive]

        normal = self.texture_input(surface, "normal", uv_names)
        if normal:
            out["normalTexture"] = dict(normal["info"])
            scale = float(normal["scale"][0]) / 2 if abs(normal["bias"][0] + normal["scale"][0] / 2) < 1e-4 else 1.0
            if scale != 1.0:
                out["normalTexture"]["scale"] = scale
        occlusion = self.texture_input(surface, "occlusion", uv_names)
        if occlusion:
            out["occlusionTexture"] = occlusion["info"]

        self.uv_primvar[str(material.GetPath())] = uv_names[0] if uv_names else "st"
        if len(set(uv_names)) > 1:
            warn("material %s: textures read several st primvars; '%s' used for all" % (material.GetPath(), uv_names[0]))
        return self.glb.add("materials", out)

    def texture_input(self, surface, name, uv_names):
        """The UsdUVTexture feeding `name`, as {info, file, channel, scale, bias}, or None."""
        source = connected_source(surface.GetInput(name))
        if not source or source[0] == "value":
            return None
        shader, channel = source
        if shader.GetIdAttr().Get() != "UsdUVTexture":
            warn("%s: input %s comes from %s, not a UsdUVTexture; ignored"
                 % (surface.GetPath(), name, shader.GetIdAttr().Get()))
            return None
        file_path = input_value(shader, "file", None)
        if not file_path or not file_path.path:
            return None
        st_source = connected_source(shader.GetInput("st"))
        if st_source and st_source[0] != "value":
            reader = st_source[0]
            reader_id = reader.GetIdAttr().Get() or ""
            if reader_id.startswith("UsdPrimvarReader"):
                uv_names.append(str(input_value(reader, "varname", "st")))
            elif reader_id == "UsdTransform2d":
                warn("%s: UsdTransform2d texture transforms are ignored" % shader.GetPath())
        texture = self.texture(shader, file_path)
        if texture is None:
            return None
        return {"info": {"index": texture}, "file": file_path.resolvedPath or file_path.path, "channel": channel,
                "scale": [float(v) for v in input_value(shader, "scale", Gf.Vec4f(1, 1, 1, 1))],
                "bias": [float(v) for v in input_value(shader, "bias", Gf.Vec4f(0, 0, 0, 0))],
                "shader": shader}

    def image(self, file_path):
        key = file_path.resolvedPath or file_path.path
        if key not in self.images:
            data = read_asset(file_path)
            mime = image_mime(data) if data else None
            if data and not mime:
                warn("texture '%s' is neither PNG nor JPEG; ignored" % file_path.path)
            self.images[key] = None if not mime else self.glb.add(
                "images", {"bufferView": self.glb.view(data), "mimeType": mime})
        return self.images[key]

    def texture(self, shader, file_path):
        image = self.image(file_path)
        if image is None:
            return None
        wrap_s = WRAP.get(str(input_value(shader, "wrapS", "repeat")), 10497)
        wrap_t = WRAP.get(str(input_value(shader, "wrapT", "repeat")), 10497)
        key = (image, wrap_s, wrap_t)
        if key not in self.textures:
            sampler = self.glb.add("samplers", {"wrapS": wrap_s, "wrapT": wrap_t})
            self.textures[key] = self.glb.add("textures", {"source": image, "sampler": sampler})
        return self.textures[key]

    def metallic_roughness(self, material, metal, rough):
        """glTF wants roughness in G and metallic in B of one image: used as is when authored so, else packed."""
        if (metal is None or metal["channel"] == "b") and (rough is None or rough["channel"] == "g") \
                and (metal is None or rough is None or metal["file"] == rough["file"]):
            return (metal or rough)["info"]
        try:
            from PIL import Image
        except ImportError:
            warn("material %s: metallic/roughness textures need repacking (install Pillow); ignored"
                 % material.GetPath())
            return None
        import io
        channels = {}
        size = None
        for key, source in (("metal", metal), ("rough", rough)):
            if source is None:
                continue
            data = read_asset(input_value(source["shader"], "file", None))
            picture = Image.open(io.BytesIO(data))
            band = {"r": 0, "g": 1, "b": 2, "a": 3}.get(source["channel"], 0)
            bands = picture.convert("RGBA").split()
            channels[key] = bands[band]
            size = picture.size if size is None else (max(size[0], picture.size[0]), max(size[1], picture.size[1]))
        ones = Image.new("L", size, 255)
        packed = Image.merge("RGB", (ones, channels.get("rough", ones).resize(size),
                                     channels.get("metal", ones).resize(size)))
        buffer = io.BytesIO()
        packed.save(buffer, format="PNG")
        data = buffer.getvalue()
        image = self.glb.add("images", {"bufferView": self.glb.view(data), "mimeType": "image/png"})
        sampler = self.glb.add("samplers", {"wrapS": 10497, "wrapT": 10497})
        return {"index": self.glb.add("textures", {"source": image, "sampler": sampler})}


# ---------------------------------------------------------------------------------------------------------------
# Meshes


def flattened_primvar(api, name, time):
    primvar = api.GetPrimvar(name)
    if not primvar or not primvar.HasValue():
        return None
    value = primvar.ComputeFlattened(time)
    return None if value is None else (np.array(value, dtype=np.float64), primvar.GetInterpolation())


def per_corner(values, interpolation, counts, indices, face_of_corner, what, path):
    """Expands a primvar to one value per face corner, or None (with a warning) when its size does not fit."""
    values = values.reshape(len(values), -1)
    expected = {"constant": 1, "uniform": len(counts), "vertex": None, "varying": None,
                "faceVarying": len(indices)}.get(interpolation)
    if interpolation in ("vertex", "varying"):
        if len(values) <= int(indices.max(initial=0)):
            warn("%s: %s has %d values for %s interpolation; dropped" % (path, what, len(values), interpolation))
            return None
        return values[indices]
    if expected is None or len(values) < expected or len(values) == 0:
        warn("%s: %s has %d values for %s interpolation; dropped" % (path, what, len(values), interpolation))
        return None
    if interpolation == "constant":
        return np.repeat(values[:1], len(indices), axis=0)
    if interpolation == "uniform":
        return values[face_of_corner]
    return values[:len(indices)]


def mesh_groups(prim):
    """[(face indices, or None for the remaining faces; bound UsdShade.Material or None)] from GeomSubsets."""
    binding = UsdShade.MaterialBindingAPI(prim)
    groups = []
    for subset in binding.GetMaterialBindSubsets():
        faces = subset.GetIndicesAttr().Get(Usd.TimeCode.EarliestTime())
        bound = UsdShade.MaterialBindingAPI(subset.GetPrim()).ComputeBoundMaterial()[0]
        if faces is not None and len(faces):
            groups.append((np.array(faces, dtype=np.int64), bound))
    groups.append((None, binding.ComputeBoundMaterial()[0]))
    return groups


def build_mesh(prim, glb, materials, time):
    """One glTF mesh for a UsdGeomMesh (a primitive per material group), or None when it has no valid faces."""
    path = prim.GetPath()
    mesh = UsdGeom.Mesh(prim)
    points = mesh.GetPointsAttr().Get(time)
    counts = mesh.GetFaceVertexCountsAttr().Get(time)
    indices = mesh.GetFaceVertexIndicesAttr().Get(time)
    if not points or not counts or not indices:
        warn("%s: mesh without points or faces; skipped" % path)
        return None
    points = np.array(points, dtype=np.float64).reshape(-1, 3)
    counts = np.array(counts, dtype=np.int64)
    indices = np.array(indices, dtype=np.int64)
    if counts.min() < 0 or counts.sum() != len(indices) or indices.min() < 0 or indices.max() >= len(points):
        warn("%s: face counts or indices do not match the points; skipped" % path)
        return None
    if not np.isfinite(points).all():
        warn("%s: non-finite point positions; skipped" % path)
        return None
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    face_of_corner = np.repeat(np.arange(len(counts)), counts)
    keep = counts >= 3
    holes = mesh.GetHoleIndicesAttr().Get(time)
    if holes:
        holes = np.array(holes, dtype=np.int64)
        keep[holes[(holes >= 0) & (holes < len(counts))]] = False

    api = UsdGeom.PrimvarsAPI(prim)
    attributes = {}
    normals = flattened_primvar(api, "normals", time)
    if normals is None and mesh.GetNormalsAttr().HasValue():
        normals = (np.array(mesh.GetNormalsAttr().Get(time), dtype=np.float64), mesh.GetNormalsInterpolation())
    if normals is not None:
        expanded = per_corner(normals[0], normals[1], counts, indices, face_of_corner, "normals", path)
        if expanded is not None and expanded.shape[1] == 3:
            length = np.linalg.norm(expanded, axis=1, keepdims=True)
            expanded = np.where(length > 1e-12, expanded / np.maximum(length, 1e-12), [0.0, 1.0, 0.0])
            attributes["NORMAL"] = (expanded, normals[1])
    color = flattened_primvar(api, "displayColor", time)
    opacity = flattened_primvar(api, "displayOpacity", time)
    constant_color = ([0.18, 0.18, 0.18], 1.0)
    if color is not None and color[1] != "constant":
        rgb = per_corner(color[0], color[1], counts, indices, face_of_corner, "displayColor", path)
        if rgb is not None and rgb.shape[1] == 3:
            alpha = np.ones((len(rgb), 1))
            if opacity is not None:
                expanded = per_corner(opacity[0], opacity[1], counts, indices, face_of_corner, "displayOpacity", path)
                alpha = expanded if expanded is not None else alpha
            attributes["COLOR_0"] = (np.clip(np.hstack([rgb, alpha]), 0, 1), color[1])
    elif color is not None and len(color[0]):
        constant_color = (color[0].reshape(-1, 3)[0],
                          float(opacity[0].reshape(-1)[0]) if opacity is not None and len(opacity[0]) else 1.0)

    orientation_flip = mesh.GetOrientationAttr().Get() == UsdGeom.Tokens.leftHanded
    primitives = []
    assigned = np.zeros(len(counts), dtype=bool)
    for faces, bound in mesh_groups(prim):
        mask = ~assigned if faces is None else np.zeros(len(counts), dtype=bool)
        if faces is not None:
            mask[faces[(faces >= 0) & (faces < len(counts))]] = True
            mask &= ~assigned
        assigned |= mask
        mask &= keep
        if not mask.any():
            continue
        if bound:
            material = materials.get(bound)
        else:  # glTF multiplies COLOR_0 by the base color
            material = materials.default(*(([1.0, 1.0, 1.0], 1.0) if "COLOR_0" in attributes else constant_color))
        uv_name = materials.uv_primvar.get(str(bound.GetPath()), "st") if bound else "st"
        primitives.append((mask, material, uv_name))
    if not primitives:
        warn("%s: mesh without faces of 3 or more corners; skipped" % path)
        return None

    out_primitives = []
    uv_cache = {}
    for mask, material, uv_name in primitives:
        if uv_name not in uv_cache:
            uv = flattened_primvar(api, uv_name, time)
            if uv is None and uv_name != "st":
                uv = flattened_primvar(api, "st", time)
            expanded = None if uv is None else per_corner(uv[0], uv[1], counts, indices, face_of_corner, uv_name, path)
            uv_cache[uv_name] = None if expanded is None or expanded.shape[1] != 2 else (
                np.column_stack([expanded[:, 0], 1.0 - expanded[:, 1]]), uv[1])
        attrs = dict(attributes)
        if uv_cache[uv_name] is not None:
            attrs["TEXCOORD_0"] = uv_cache[uv_name]
        # Fan triangles over the corners of the kept faces.
        face_ids = np.nonzero(mask)[0]
        fan = counts[face_ids] - 2
        tri_face = np.repeat(face_ids, fan)
        step = np.arange(len(tri_face)) - np.repeat(np.cumsum(fan) - fan, fan)
        first = starts[tri_face]
        second, third = first + step + 1, first + step + 2
        if orientation_flip:
            second, third = third, second
        corners = np.stack([first, second, third], axis=1).reshape(-1)
        # Vertices are points unless an attribute varies per face or corner.
        per_point = all(kind in ("vertex", "varying", "constant") for _, kind in attrs.values())
        keys = indices[corners] if per_point else corners
        unique, representative, triangles = np.unique(keys, return_index=True, return_inverse=True)
        source_corner = corners[representative]
        entry = {"attributes": {"POSITION": glb.accessor(points[indices[source_corner]], "VEC3", bounds=True)},
                 "indices": glb.accessor(triangles.reshape(-1), "SCALAR", indices=True), "material": material}
        for name, (values, _) in sorted(attrs.items()):
            kind = {"NORMAL": "VEC3", "COLOR_0": "VEC4", "TEXCOORD_0": "VEC2"}[name]
            entry["attributes"][name] = glb.accessor(values[source_corner], kind)
        out_primitives.append(entry)
    return glb.add("meshes", {"name": prim.GetName(), "primitives": out_primitives})


# ---------------------------------------------------------------------------------------------------------------
# Stage traversal


class Converter:
    def __init__(self, stage):
        self.stage = stage
        self.time = Usd.TimeCode.EarliestTime()
        self.glb = GLBBuilder()
        self.materials = MaterialTable(self.glb)
        self.meshes = {}
        self.xforms = UsdGeom.XformCache(self.time)
        self.instance_count = 0
        # Stage units and axis → glTF meters, Y-up (row-vector matrices, as Gf uses them).
        correction = Gf.Matrix4d(1.0)
        if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z:
            correction = Gf.Matrix4d(1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1)
        scale = stage_meters_per_unit(stage)
        self.root = correction * Gf.Matrix4d().SetScale(Gf.Vec3d(scale, scale, scale))

    def run(self):
        self.walk(self.stage.GetPseudoRoot(), Gf.Matrix4d(1.0), self.root, depth=0)

    def world(self, prim):
        if prim.IsPseudoRoot():
            return Gf.Matrix4d(1.0)
        return self.xforms.GetLocalToWorldTransform(prim)

    def walk(self, root, base_inverse, outer, depth):
        """Meshes under `root` with matrix world(prim) · base_inverse · outer; PointInstancers recurse."""
        if depth > 16:
            warn("PointInstancers nested more than 16 deep; deeper levels skipped")
            return
        predicate = Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)
        prims = iter(Usd.PrimRange(root, predicate))
        for prim in prims:
            imageable = UsdGeom.Imageable(prim)
            if imageable:
                if imageable.GetVisibilityAttr().Get(self.time) == UsdGeom.Tokens.invisible:
                    prims.PruneChildren()
                    continue
                if imageable.GetPurposeAttr().Get() == UsdGeom.Tokens.guide:
                    prims.PruneChildren()
                    continue
            if prim.IsA(UsdGeom.PointInstancer):
                self.instancer(prim, base_inverse, outer, depth)
                prims.PruneChildren()
            elif prim.IsA(UsdGeom.Mesh):
                self.place(prim, self.world(prim) * base_inverse * outer)
            elif prim.GetTypeName() in ("Skeleton", "SkelAnimation"):
                warn("skeletons and skeletal animation are not converted; skinned meshes keep their rest points")
            elif prim.IsA(UsdGeom.Gprim) and not prim.IsA(UsdGeom.PointBased):
                warn("implicit %s prims (no mesh) are skipped" % prim.GetTypeName())

    def instancer(self, prim, base_inverse, outer, depth):
        instancer = UsdGeom.PointInstancer(prim)
        transforms = instancer.ComputeInstanceTransformsAtTime(self.time, self.time)
        proto_indices = instancer.GetProtoIndicesAttr().Get(self.time)
        prototypes = instancer.GetPrototypesRel().GetForwardedTargets()
        if transforms is None or proto_indices is None:
            return
        mask = instancer.ComputeMaskAtTime(self.time)
        placement = self.world(prim) * base_inverse * outer
        for number, proto in enumerate(proto_indices):
            if mask and not mask[number]:
                continue
            if proto < 0 or proto >= len(prototypes):
                warn("%s: prototype index %d out of range; instance skipped" % (prim.GetPath(), proto))
                continue
            proto_prim = self.stage.GetPrimAtPath(prototypes[proto])
            if not proto_prim:
                continue
            # The instance transform includes the prototype root's own transform.
            self.walk(proto_prim, self.world(proto_prim).GetInverse(), transforms[number] * placement, depth + 1)

    def place(self, prim, matrix):
        key_prim = prim.GetPrimInPrototype() if prim.IsInstanceProxy() else prim
        bindings = tuple(str(material.GetPath()) if material else "" for _, material in mesh_groups(prim))
        key = (str(key_prim.GetPath()), bindings)
        if key not in self.meshes:
            self.meshes[key] = build_mesh(prim, self.glb, self.materials, self.time)
        mesh = self.meshes[key]
        if mesh is None:
            return
        node = {"name": str(prim.GetPath()), "mesh": mesh}
        values = [float(matrix[row][column]) for row in range(4) for column in range(4)]
        if values != [1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0]:
            node["matrix"] = values  # Gf row-vector rows = glTF column-major columns
        self.glb.doc["scenes"][0]["nodes"].append(self.glb.add("nodes", node))


def stage_meters_per_unit(stage):
    """The root layer's metersPerUnit of any numeric type (some writers store a float where USD expects a double),
    else the schema's fallback."""
    root = stage.GetRootLayer().pseudoRoot
    if root.HasInfo("metersPerUnit"):
        try:
            value = float(root.GetInfo("metersPerUnit"))
        except (TypeError, ValueError):
            value = 0.0
        if math.isfinite(value) and value > 0:
            return value
    return UsdGeom.GetFallbackMetersPerUnit() if hasattr(UsdGeom, "GetFallbackMetersPerUnit") else 0.01


def main(argv):
    if argv[1:] == ["--check"]:
        print("usd-core %s" % usd_version())
        return 0
    if len(argv) != 3:
        fail("usage: usd_to_glb.py INPUT OUTPUT.glb", 2)
    source, target = argv[1], argv[2]
    try:
        stage = Usd.Stage.Open(source, Usd.Stage.LoadAll)
    except Tf.ErrorException as error:
        fail("usd-core cannot open the stage: %s" % str(error).strip().splitlines()[-1])
    if stage is None:
        fail("usd-core cannot open the stage")
    errors = stage.GetCompositionErrors()
    if errors:
        warn("%d composition error(s) (missing layers or assets), the first: %s"
             % (len(errors), " ".join(str(errors[0]).split())))
    converter = Converter(stage)
    try:
        converter.run()
    except Tf.ErrorException as error:
        fail("usd-core failed while reading the stage: %s" % str(error).strip().splitlines()[-1])
    if not converter.glb.doc["nodes"]:
        fail("contains no mesh geometry (no UsdGeomMesh with faces)")
    for message in warnings:
        sys.stderr.write("warning: %s\n" % message)
    converter.glb.write(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
