#!/usr/bin/env python3
"""Decode Draco files with DracoPy (Google's decoder through a separate binding) and print one JSON object.

Usage: dracopy_decode.py FILE.drc [FILE.drc ...]
Output: {"meshes": [{"points": n, "faces": [i, ...], "attributes": {"<unique id>": {"type": t, "components": c,
"values": [...]}}}, ...]}: faces flattened, values flattened per point and converted to float.
"""
import json
import sys

import DracoPy
import numpy as np


def decode(path):
    with open(path, "rb") as f:
        mesh = DracoPy.decode(f.read())
    attributes = {}
    for a in mesh.attributes:
        data = np.asarray(a["data"], dtype=np.float64).reshape(-1)
        attributes[str(a["unique_id"])] = {"type": int(a["attribute_type"]), "components": int(a["num_components"]),
                                           "values": data.tolist()}
    return {"points": int(len(mesh.points)), "faces": np.asarray(mesh.faces, dtype=np.int64).reshape(-1).tolist(),
            "attributes": attributes}


print(json.dumps({"meshes": [decode(p) for p in sys.argv[1:]]}))
