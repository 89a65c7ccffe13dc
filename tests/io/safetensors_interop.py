#!/usr/bin/env python3
"""Interoperability of attend's safetensors files with the reference Python package.

  safetensors_interop.py check FILE EXPECTED_JSON
      Loads FILE (written by attend) with safetensors.numpy.load_file and compares it with
      EXPECTED_JSON: {"metadata": {key: value}, "tensors": {name: {"dtype": "float32",
      "shape": [2, 3], "values": [row-major elements]}}}. Names, dtypes, shapes and values
      must match exactly; the header must also be laid out as the package lays it out
      (length a multiple of 8, every tensor aligned to its element size), and the metadata's
      "attend.checksum" must be the CRC-32 recomputed here from what the package read
      (src/io/tensor_checksum.h defines it).
  safetensors_interop.py write FILE
      Writes a file with safetensors.numpy.save_file for attend to read (the values are
      repeated in tests/io/safetensors_test.cc).

Exit status: 0 when everything matches, 1 on a mismatch (listed on stderr), 2 on bad usage.
"""
import json
import struct
import sys
import zlib

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def checksum(tensors, metadata):
    """attend's checksum (src/io/tensor_checksum.h), computed independently of attend."""
    names = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64",
             np.dtype(np.uint8): "U8"}
    crc = 0
    for name in sorted(tensors, key=lambda n: n.encode("utf-8")):
        array = tensors[name]
        crc = zlib.crc32(name.encode("utf-8") + b"\0", crc)
        crc = zlib.crc32(names[array.dtype].encode() + b"\0", crc)
        crc = zlib.crc32(",".join(str(n) for n in array.shape).encode() + b"\0", crc)
        crc = zlib.crc32(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes(), crc)
    for key in sorted(metadata, key=lambda k: k.encode("utf-8")):
        crc = zlib.crc32(key.encode("utf-8") + b"\0" + metadata[key].encode("utf-8") + b"\0", crc)
    return f"crc32:{crc:08x}"


def check(path, expected_path):
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    problems = []

    tensors = load_file(path)
    if sorted(tensors) != sorted(expected["tensors"]):
        problems.append(f"names {sorted(tensors)} != expected {sorted(expected['tensors'])}")
    for name, want in expected["tensors"].items():
        if name not in tensors:
            continue
        got = tensors[name]
        want_array = np.array(want["values"], dtype=want["dtype"]).reshape(want["shape"])
        if got.dtype != want_array.dtype:
            problems.append(f"{name}: dtype {got.dtype} != {want_array.dtype}")
        elif got.shape != want_array.shape:
            problems.append(f"{name}: shape {got.shape} != {want_array.shape}")
        elif got.tobytes() != want_array.tobytes():  # bitwise, so -0.0 and 0.0 differ
            problems.append(f"{name}: values {got.ravel()[:8]} != {want_array.ravel()[:8]} (first 8 shown)")

    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata() or {}
    stored = metadata.pop("attend.checksum", None)
    if stored != checksum(tensors, metadata):
        problems.append(f"attend.checksum {stored} != {checksum(tensors, metadata)} recomputed from the file")
    if metadata != expected["metadata"]:
        problems.append(f"metadata {metadata} != {expected['metadata']}")

    with open(path, "rb") as f:
        (header_length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_length))
    if header_length % 8 != 0:
        problems.append(f"header length {header_length} is not a multiple of 8")
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        item_size = np.dtype(tensors[name].dtype).itemsize if name in tensors else 1
        if entry["data_offsets"][0] % item_size != 0:
            problems.append(f"{name}: begins at {entry['data_offsets'][0]}, not a multiple of {item_size}")

    for problem in problems:
        print(f"safetensors_interop: {path}: {problem}", file=sys.stderr)
    return 1 if problems else 0


def write(path):
    save_file(
        {
            "weight": (np.arange(6, dtype=np.float32) * np.float32(0.5) - np.float32(1.0)).reshape(2, 3),
            "layer.scale": 1.0 / np.arange(1, 6, dtype=np.float64),
            "ids": np.array([-(1 << 40), 0, (1 << 62) + 1], dtype=np.int64),
            "bytes": np.arange(256, dtype=np.uint8).reshape(16, 16),
            "scalar": np.array(3.25, dtype=np.float32),
            "empty": np.zeros((0, 3), dtype=np.float64),
        },
        path,
        metadata={"source": "numpy", "note": "ünïcode ✓"},
    )
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "write":
        return write(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
