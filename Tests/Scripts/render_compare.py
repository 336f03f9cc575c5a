#!/usr/bin/env python3
"""Render an input glTF/GLB and the optimizer's output with render.py and print how much the pictures differ.

Usage: render_compare.py INPUT.gltf|INPUT.glb OUTPUT.glb PNG_PREFIX

A .gltf input is first packed into a GLB as it is (buffers and image files moved into the BIN chunk), so render.py
can serve it. Writes PNG_PREFIX-input.png and PNG_PREFIX-output.png and prints one JSON object:
{"meanDifference": mean absolute per-channel difference in 0..255, "changedPixels": fraction of pixels where
some channel differs by more than 16}. Exit 1 when a render fails.
"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import urllib.parse

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def as_glb(path, folder):
    """A .gltf packed into a GLB unchanged but for where the bytes live: buffers and images in the BIN chunk."""
    if path.lower().endswith(".glb"):
        return path
    base = os.path.dirname(path)
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8-sig"))

    def read_uri(uri):
        if uri.startswith("data:"):
            return base64.b64decode(uri.split(",", 1)[1])
        with open(os.path.join(base, urllib.parse.unquote(uri)), "rb") as f:
            return f.read()

    blob = bytearray()
    starts = []
    for buffer in doc.get("buffers", []):
        starts.append(len(blob))
        blob += read_uri(buffer["uri"])[:buffer["byteLength"]]
        blob += bytes(-len(blob) % 4)
    for view in doc.get("bufferViews", []):
        view["byteOffset"] = view.get("byteOffset", 0) + starts[view.get("buffer", 0)]
        view["buffer"] = 0
    for image in doc.get("images", []):
        if "uri" in image:
            data = read_uri(image.pop("uri"))
            doc.setdefault("bufferViews", []).append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)})
            image["bufferView"] = len(doc["bufferViews"]) - 1
            image.setdefault("mimeType", "image/png" if data[:4] == b"\x89PNG" else "image/jpeg")
            blob += data + bytes(-len(data) % 4)
    doc["buffers"] = [{"byteLength": len(blob)}] if blob else []
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    packed = os.path.join(folder, "input.glb")
    with open(packed, "wb") as f:
        f.write(struct.pack("<III", 0x46546C67, 2, 12 + 8 + len(text) + (8 + len(blob) if blob else 0)))
        f.write(struct.pack("<II", len(text), 0x4E4F534A) + text)
        if blob:
            f.write(struct.pack("<II", len(blob), 0x004E4942) + bytes(blob))
    return packed


def render(glb, png):
    result = subprocess.run([sys.executable, os.path.join(HERE, "render.py"), glb, png], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"render.py {glb}: {result.stderr.strip()}", file=sys.stderr)
        sys.exit(1)


def main():
    source, output, prefix = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as folder:
        render(as_glb(source, folder), prefix + "-input.png")
    render(output, prefix + "-output.png")
    a = np.asarray(Image.open(prefix + "-input.png").convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(prefix + "-output.png").convert("RGB"), dtype=np.int16)
    difference = np.abs(a - b)
    print(json.dumps({"meanDifference": float(difference.mean()),
                      "changedPixels": float((difference.max(axis=2) > 16).mean())}))


if __name__ == "__main__":
    main()
