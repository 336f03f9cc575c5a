#!/usr/bin/env python3
"""Independent EXT_meshopt_compression decoder, written from the extension's specification (Appendix A and B of
KhronosGroup/glTF extensions/2.0/Vendor/EXT_meshopt_compression/README.md), for checking our GLB output without
meshoptimizer's own decoder.

Commands (each prints a JSON summary; exit 1 on any mismatch):
  verify FILE.glb                 decode every compressed view; where the file also holds the uncompressed copy
                                  (fallback mode), compare: exact for unfiltered views, within 1 unit for filters.
  compare COMPRESSED.glb PLAIN.glb
                                  the same conversion without compression: every accessor's decoded data equals the
                                  plain file's exactly (unfiltered views) or within the filter's precision.
  positions QUANTIZED.glb FLOAT.glb BITS
                                  world-space POSITION of each mesh's first instance, dequantized through the node
                                  hierarchy, is within half a grid step of the float file's.
"""
import json
import math
import struct
import sys

import numpy as np

# ---------------------------------------------------------------------------------------------------- container


def read_glb(path):
    data = open(path, "rb").read()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert magic == 0x46546C67 and version == 2 and length == len(data), f"{path}: not a GLB 2 file"
    offset, doc, bin_chunk = 12, None, b""
    while offset < length:
        chunk_length, chunk_type = struct.unpack_from("<II", data, offset)
        body = data[offset + 8:offset + 8 + chunk_length]
        if chunk_type == 0x4E4F534A:
            doc = json.loads(body)
        elif chunk_type == 0x004E4942:
            bin_chunk = body
        offset += 8 + chunk_length
    return doc, bin_chunk


# ---------------------------------------------------------------------------------------------------- bitstreams


def unzigzag8(v):
    return (~(v >> 1) & 0xFF) if v & 1 else v >> 1


def decode_attributes(data, count, stride):
    """Mode 0: byte-wise deltas in blocks of groups of 16, baseline element in the tail."""
    if len(data) < 1 or data[0] != 0xA0:
        raise ValueError("attribute stream header is not 0xa0")
    tail = max(32, stride)
    if len(data) < 1 + tail:
        raise ValueError("attribute stream shorter than its tail")
    end = len(data) - tail
    last = list(data[len(data) - stride:])
    out = bytearray(count * stride)
    pos = 1
    max_block = min((8192 // stride) & ~15, 256)
    for start in range(0, count, max_block):
        n = min(max_block, count - start)
        groups = (n + 15) // 16
        for k in range(stride):
            header = data[pos:pos + (groups + 3) // 4]
            pos += (groups + 3) // 4
            deltas = []
            for g in range(groups):
                mode = (header[g // 4] >> ((g % 4) * 2)) & 3
                if mode == 0:
                    deltas += [0] * 16
                elif mode == 3:
                    deltas += list(data[pos:pos + 16])
                    pos += 16
                else:
                    bits = 2 if mode == 1 else 4
                    packed = data[pos:pos + 2 * bits]
                    pos += 2 * bits
                    per_byte = 8 // bits
                    sentinel = (1 << bits) - 1
                    for i in range(16):
                        shift = 8 - bits * (i % per_byte + 1)  # most significant first
                        v = (packed[i // per_byte] >> shift) & sentinel
                        if v == sentinel:
                            v = data[pos]
                            pos += 1
                        deltas.append(v)
                if pos > end:
                    raise ValueError("attribute stream runs into its tail")
            column = last[k]
            for i in range(n):
                column = (column + unzigzag8(deltas[i])) & 0xFF
                out[(start + i) * stride + k] = column
            last[k] = column
    if pos != end:
        raise ValueError(f"attribute stream has {end - pos} unread bytes before its tail")
    return bytes(out)


class Reader:
    def __init__(self, data, pos):
        self.data, self.pos = data, pos

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self):
        result, shift = 0, 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result & 0xFFFFFFFF


def decode_triangles(data, count):
    """Mode 1: triangle codes with edge and vertex FIFOs, extra data, a 16-byte codeaux table at the end."""
    if data[0] != 0xE1:
        raise ValueError("triangle stream header is not 0xe1")
    if count % 3:
        raise ValueError("triangle count is not a multiple of 3")
    triangles = count // 3
    codeaux = data[len(data) - 16:]
    extra = Reader(data, 1 + triangles)
    edges, vertices = [(0, 0)] * 16, [0] * 16
    state = {"edge": 0, "vertex": 0, "next": 0, "last": 0}

    def push_edge(a, b):
        edges[state["edge"] & 15] = (a, b)
        state["edge"] += 1

    def push_vertex(v):
        vertices[state["vertex"] & 15] = v
        state["vertex"] += 1

    def edge(i):
        return edges[(state["edge"] - 1 - i) & 15]

    def vertex(i):
        return vertices[(state["vertex"] - 1 - i) & 15]

    def explicit():
        v = extra.varint()
        delta = ~(v >> 1) if v & 1 else v >> 1
        state["last"] = (state["last"] + delta) & 0xFFFFFFFF
        return state["last"]

    def take_next():
        v = state["next"]
        state["next"] += 1
        return v

    out = []
    for t in range(triangles):
        code = data[1 + t]
        if code < 0xF0:
            a, b = edge(code >> 4)
            low = code & 15
            if low == 0:
                c = take_next()
                push_vertex(c)
            elif low < 0xD:
                c = vertex(low)
            elif low < 0xF:
                c = (state["last"] + (-1 if low == 0xD else 1)) & 0xFFFFFFFF
                state["last"] = c
                push_vertex(c)
            else:
                c = explicit()
                push_vertex(c)
            push_edge(c, b)
            push_edge(a, c)
        else:
            if code < 0xFE:
                zw = codeaux[code & 15]
                a = take_next()
                z, w = zw >> 4, zw & 15
                b = take_next() if z == 0 else vertex(z - 1)
                c = take_next() if w == 0 else vertex(w - 1)
                push_b, push_c = z == 0, w == 0
            else:
                zw = extra.byte()
                if zw == 0:
                    state["next"] = 0
                z, w = zw >> 4, zw & 15
                a = take_next() if code == 0xFE else explicit()
                b = take_next() if z == 0 else vertex(z - 1) if z < 15 else explicit()
                c = take_next() if w == 0 else vertex(w - 1) if w < 15 else explicit()
                push_b, push_c = z in (0, 15), w in (0, 15)
            push_edge(b, a)
            push_edge(c, b)
            push_edge(a, c)
            push_vertex(a)
            if push_b:
                push_vertex(b)
            if push_c:
                push_vertex(c)
        out += [a, b, c]
    if extra.pos != len(data) - 16:
        raise ValueError(f"triangle stream: extra data ends at {extra.pos}, the table starts at {len(data) - 16}")
    return out


def decode_indices(data, count):
    """Mode 2: varint deltas against one of two baselines, 4 reserved tail bytes."""
    if data[0] != 0xD1:
        raise ValueError("index stream header is not 0xd1")
    reader, last, out = Reader(data, 1), [0, 0], []
    for _ in range(count):
        v = reader.varint()
        baseline = v & 1
        delta = ~(v >> 2) if v & 2 else v >> 2
        last[baseline] = (last[baseline] + delta) & 0xFFFFFFFF
        out.append(last[baseline])
    if reader.pos != len(data) - 4:
        raise ValueError("index stream length does not match its count")
    return out


# ---------------------------------------------------------------------------------------------------- filters


def filter_octahedral(raw, count, stride):
    kind = np.int8 if stride == 4 else np.int16
    top = 127.0 if stride == 4 else 32767.0
    v = np.frombuffer(raw, dtype="<i1" if stride == 4 else "<i2").reshape(count, 4).astype(np.float32)
    one = v[:, 2]
    x, y = v[:, 0] / one, v[:, 1] / one
    z = np.float32(1) - np.abs(x) - np.abs(y)
    t = np.minimum(z, np.float32(0))
    x = x - np.copysign(t, x)
    y = y - np.copysign(t, y)
    length = np.sqrt(x * x + y * y + z * z)
    out = np.stack([np.round(x / length * top), np.round(y / length * top), np.round(z / length * top), v[:, 3]], axis=1)
    return out.astype(kind).astype("<i1" if stride == 4 else "<i2").tobytes()


def filter_quaternion(raw, count):
    v = np.frombuffer(raw, dtype="<i2").reshape(count, 4).astype(np.int32)
    one = (v[:, 3] | 3).astype(np.float32)
    scale = np.float32(1 / math.sqrt(2))
    x, y, z = (v[:, i].astype(np.float32) / one * scale for i in range(3))
    w = np.sqrt(np.maximum(np.float32(0), np.float32(1) - x * x - y * y - z * z))
    maxcomp = v[:, 3] & 3
    out = np.zeros((count, 4), dtype=np.int16)
    rows = np.arange(count)
    for value, shift in ((x, 1), (y, 2), (z, 3), (w, 0)):
        out[rows, (maxcomp + shift) % 4] = np.round(value * np.float32(32767)).astype(np.int16)
    return out.astype("<i2").tobytes()


def filter_exponential(raw):
    v = np.frombuffer(raw, dtype="<i4")
    e = v >> 24
    m = (v << 8) >> 8
    return (np.ldexp(m.astype(np.float64), e)).astype("<f4").tobytes()


def decode_view(doc, bin_chunk, index):
    """The decoded, filtered bytes of compressed bufferView `index` (compressed data must be in the BIN chunk)."""
    ext = doc["bufferViews"][index]["extensions"]["EXT_meshopt_compression"]
    assert ext["buffer"] == 0, "compressed data outside the BIN chunk"
    start = ext.get("byteOffset", 0)
    data = bin_chunk[start:start + ext["byteLength"]]
    count, stride, mode = ext["count"], ext["byteStride"], ext["mode"]
    if mode == "ATTRIBUTES":
        raw = decode_attributes(data, count, stride)
        flt = ext.get("filter", "NONE")
        if flt == "OCTAHEDRAL":
            raw = filter_octahedral(raw, count, stride)
        elif flt == "QUATERNION":
            raw = filter_quaternion(raw, count)
        elif flt == "EXPONENTIAL":
            raw = filter_exponential(raw)
        return raw
    indices = decode_triangles(data, count) if mode == "TRIANGLES" else decode_indices(data, count)
    return np.array(indices, dtype="<u2" if stride == 2 else "<u4").tobytes()


# ---------------------------------------------------------------------------------------------------- accessors

DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
NORMALIZE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


def view_bytes(doc, bin_chunk, index, decoded):
    view = doc["bufferViews"][index]
    if "EXT_meshopt_compression" in view.get("extensions", {}):
        if index not in decoded:
            decoded[index] = decode_view(doc, bin_chunk, index)
        return decoded[index]
    start = view.get("byteOffset", 0)
    return bin_chunk[start:start + view["byteLength"]]


def read_accessor(doc, bin_chunk, index, decoded, raw=False):
    """Accessor `index` as an array of shape (count, width): stored values, or shader values unless `raw`."""
    acc = doc["accessors"][index]
    width, count = WIDTH[acc["type"]], acc["count"]
    dtype = np.dtype(DTYPES[acc["componentType"]])
    if "bufferView" not in acc:
        return np.zeros((count, width))
    view = doc["bufferViews"][acc["bufferView"]]
    data = view_bytes(doc, bin_chunk, acc["bufferView"], decoded)
    stride = view.get("byteStride", width * dtype.itemsize)
    start = acc.get("byteOffset", 0)
    rows = np.frombuffer(data, dtype=np.uint8, count=(count - 1) * stride + width * dtype.itemsize, offset=start)
    rows = np.concatenate([rows, np.zeros(count * stride - len(rows), dtype=np.uint8)]).reshape(count, stride)
    out = rows[:, :width * dtype.itemsize].copy().view(dtype).reshape(count, width).astype(np.float64)
    if not raw and acc.get("normalized"):
        out = np.maximum(out / NORMALIZE[acc["componentType"]], -1.0)
    return out


def mode_of(doc, accessor):
    view = doc["bufferViews"][doc["accessors"][accessor]["bufferView"]] if "bufferView" in doc["accessors"][accessor] else {}
    return view.get("extensions", {}).get("EXT_meshopt_compression", {}).get("mode")


def rotate_triangles(indices):
    """Each triangle rotated to start at its smallest index (same winding)."""
    t = indices.reshape(-1, 3)
    shift = np.argmin(t, axis=1)
    rows = np.arange(len(t))[:, None]
    return t[rows, (shift[:, None] + np.arange(3)) % 3].reshape(-1, 1)


def filter_of(doc, accessor):
    view = doc["bufferViews"][doc["accessors"][accessor]["bufferView"]] if "bufferView" in doc["accessors"][accessor] else {}
    return view.get("extensions", {}).get("EXT_meshopt_compression", {}).get("filter", "NONE")


# ---------------------------------------------------------------------------------------------------- commands


def verify(path):
    doc, bin_chunk = read_glb(path)
    decoded, compared, problems = {}, 0, []
    for i, view in enumerate(doc.get("bufferViews", [])):
        ext = view.get("extensions", {}).get("EXT_meshopt_compression")
        if ext is None:
            continue
        try:
            data = view_bytes(doc, bin_chunk, i, decoded)
        except (ValueError, IndexError, AssertionError) as error:
            problems.append(f"bufferView {i}: {error}")
            continue
        if len(data) != view["byteLength"]:
            problems.append(f"bufferView {i}: decoded {len(data)} bytes, byteLength {view['byteLength']}")
        if view["buffer"] == 0:  # fallback copy in the BIN chunk
            start = view.get("byteOffset", 0)
            plain = bin_chunk[start:start + view["byteLength"]]
            compared += 1
            if ext.get("filter", "NONE") in ("NONE", "EXPONENTIAL"):
                if plain != data:
                    problems.append(f"bufferView {i}: decoded data differs from the uncompressed copy")
            else:
                a = np.frombuffer(plain, dtype="<i1" if ext["byteStride"] == 4 else "<i2").astype(int)
                b = np.frombuffer(data, dtype="<i1" if ext["byteStride"] == 4 else "<i2").astype(int)
                if np.abs(a - b).max(initial=0) > 1:
                    problems.append(f"bufferView {i}: filtered data differs from the copy by {np.abs(a - b).max()}")
    return {"views": len(decoded), "compared": compared, "problems": problems}


def compare(compressed_path, plain_path):
    doc, bin_chunk = read_glb(compressed_path)
    plain_doc, plain_bin = read_glb(plain_path)
    decoded, plain_decoded, exact, approximate, problems = {}, {}, 0, 0, []
    if len(doc.get("accessors", [])) != len(plain_doc.get("accessors", [])):
        return {"problems": ["the files have different accessor counts"]}
    for i in range(len(doc.get("accessors", []))):
        flt = filter_of(doc, i)
        try:
            if flt == "NONE":
                a = read_accessor(doc, bin_chunk, i, decoded, raw=True)
                b = read_accessor(plain_doc, plain_bin, i, plain_decoded, raw=True)
                exact += 1
                if mode_of(doc, i) == "TRIANGLES":  # the codec may rotate corners; compare rotation-normalized
                    a, b = rotate_triangles(a), rotate_triangles(b)
                if a.shape != b.shape or not np.array_equal(a, b):
                    problems.append(f"accessor {i}: decoded data differs from the uncompressed file")
                continue
            a = read_accessor(doc, bin_chunk, i, decoded)
            b = read_accessor(plain_doc, plain_bin, i, plain_decoded)
        except (ValueError, IndexError, AssertionError) as error:
            problems.append(f"accessor {i}: {error}")
            continue
        approximate += 1
        if flt == "QUATERNION":  # q and -q are the same rotation
            error = np.minimum(np.abs(a - b).max(axis=1), np.abs(a + b).max(axis=1)).max(initial=0)
            limit = 2e-3
        elif flt == "OCTAHEDRAL":
            error, limit = np.abs(a - b).max(initial=0), 0.04
        else:
            # One exponent per element (the filter's stride): error relative to the element's largest component.
            error = (np.abs(a - b) / np.maximum(np.abs(b).max(axis=1, keepdims=True), 1e-30)).max(initial=0)
            limit = 2.0 ** -14
        if error > limit:
            problems.append(f"accessor {i} ({flt}): differs by {error} (limit {limit})")
    return {"exact": exact, "approximate": approximate, "problems": problems}


def world_matrices(doc):
    """World matrix of every node (column-major 4x4 as numpy row-major arrays)."""
    def local(node):
        if "matrix" in node:
            return np.array(node["matrix"], dtype=np.float64).reshape(4, 4).T
        t = node.get("translation", [0, 0, 0])
        x, y, z, w = node.get("rotation", [0, 0, 0, 1])
        s = node.get("scale", [1, 1, 1])
        r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                      [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                      [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        m = np.eye(4)
        m[:3, :3] = r * np.array(s)
        m[:3, 3] = t
        return m
    nodes = doc.get("nodes", [])
    world = {}
    stack = [(n, np.eye(4)) for n in doc["scenes"][doc.get("scene", 0)].get("nodes", [])]
    while stack:
        n, parent = stack.pop()
        world[n] = parent @ local(nodes[n])
        stack += [(c, world[n]) for c in nodes[n].get("children", [])]
    return world


def positions(quantized_path, float_path, bits):
    problems, checked = [], 0
    docs = [read_glb(quantized_path), read_glb(float_path)]
    worlds = [world_matrices(d) for d, _ in docs]
    for m in range(len(docs[1][0].get("meshes", []))):
        instances = []
        for (doc, _), world in zip(docs, worlds):
            found = [world[n] for n, node in enumerate(doc["nodes"]) if node.get("mesh") == m and "skin" not in node and n in world]
            instances.append(found[0] if found else None)
        if instances[0] is None or instances[1] is None:
            continue
        for p, (qp, fp) in enumerate(zip(docs[0][0]["meshes"][m]["primitives"], docs[1][0]["meshes"][m]["primitives"])):
            q = read_accessor(docs[0][0], docs[0][1], qp["attributes"]["POSITION"], {})
            f = read_accessor(docs[1][0], docs[1][1], fp["attributes"]["POSITION"], {})
            # Primitives of a mesh may share their vertex streams, grouped differently in the two files: compare the
            # positions each primitive's indices reach, corner by corner.
            if "indices" in qp and "indices" in fp:
                q = q[read_accessor(docs[0][0], docs[0][1], qp["indices"], {}).reshape(-1).astype(np.int64)]
                f = f[read_accessor(docs[1][0], docs[1][1], fp["indices"], {}).reshape(-1).astype(np.int64)]
            local_extent = max(
                max(np.ptp(read_accessor(docs[1][0], docs[1][1], x["attributes"]["POSITION"], {}), axis=0))
                for x in docs[1][0]["meshes"][m]["primitives"])
            step = local_extent / ((1 << bits) - 1)
            scale = np.linalg.norm(instances[1][:3, :3], axis=0).max()
            limit = 0.5 * step * math.sqrt(3) * scale * 1.001 + 1e-5 * max(1.0, np.abs(f).max())
            qw = (instances[0] @ np.c_[q, np.ones(len(q))].T).T[:, :3]
            fw = (instances[1] @ np.c_[f, np.ones(len(f))].T).T[:, :3]
            error = np.linalg.norm(qw - fw, axis=1).max(initial=0)
            checked += 1
            if error > limit:
                problems.append(f"mesh {m} primitive {p}: world position error {error} > {limit}")
    return {"primitives": checked, "problems": problems}


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "verify":
        result = verify(args[0])
    elif command == "compare":
        result = compare(args[0], args[1])
    elif command == "positions":
        result = positions(args[0], args[1], int(args[2]))
    else:
        sys.exit(f"unknown command {command}")
    print(json.dumps(result))
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
