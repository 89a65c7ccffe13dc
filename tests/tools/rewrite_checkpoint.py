#!/usr/bin/env python3
"""Writes a copy of a safetensors checkpoint that lies, for the command-line tests.

    rewrite_checkpoint.py IN OUT [KEY=VALUE ...] [+NAME ...] [!keep-checksum]

KEY=VALUE sets a metadata entry (the architecture the loader will be told about); +NAME adds a
one-element F32 tensor NAME that no model has. The tensors are copied byte for byte. The lie is a
file written elsewhere, so attend's checksum of the original (docs/checkpoints.md) is dropped and
the loader's structural checks are what must catch it; with !keep-checksum the stale checksum
stays, and the file must be refused as damaged. Only the standard library is used, so that the
test runs wherever python3 does.
"""
import json
import os
import struct
import sys


def main(source, target, *edits):
    with open(source, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        data = file.read()
    metadata = header.setdefault("__metadata__", {})
    if "!keep-checksum" not in edits:
        metadata.pop("attend.checksum", None)
    for edit in edits:
        if edit == "!keep-checksum":
            continue
        if edit.startswith("+"):
            header[edit[1:]] = {"dtype": "F32", "shape": [1], "data_offsets": [len(data), len(data) + 4]}
            data += struct.pack("<f", 1.0)
        else:
            key, value = edit.split("=", 1)
            metadata[key] = value
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with open(target, "wb") as file:
        file.write(struct.pack("<Q", len(text)) + text + data)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
