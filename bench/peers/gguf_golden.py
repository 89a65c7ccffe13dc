#!/usr/bin/env python3
"""Golden files of attend's GGUF reader, written and read by gguf-py (llama.cpp's Python package).

Writes (into --out, default tests/golden/gguf):

- types.gguf: one small tensor of every type attend converts to float32 (F32, F16, BF16, Q8_0,
  Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K), 3 rows of 2 blocks each (the K types: 256-value
  blocks), and beside each, "<name>.expected": gguf-py's dequantization of it as F32. The
  quantized blocks are random bytes (every bit pattern of the quants and scales), except that
  each block's float16 scales are drawn finite (a NaN scale would make the whole block NaN and
  test nothing). The file also carries one metadata value of every GGUF value type, arrays of
  strings, of integers and of arrays, and general.alignment = 64 (not the default 32), so that
  the tensors' offsets are aligned to 64.
- smollm2.json: for three tensors of the shipped SmolLM2 GGUF (Q8_0, Q4_1 and F32), the CRC-32
  (zlib) of gguf-py's float32 dequantization, its shape, and its first 8 values.

The random bytes are seeded: the files are the same on every run. Needs gguf and numpy only:
`bench/peers/run gguf-golden`.
"""
import argparse
import json
import os
import zlib

import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize

# (type, bytes per block, values per block, byte offsets of the block's float16 scales)
BLOCKS = {
    Q.Q8_0: (34, 32, [0]),
    Q.Q4_0: (18, 32, [0]),
    Q.Q4_1: (20, 32, [0, 2]),
    Q.Q5_0: (22, 32, [0]),
    Q.Q5_1: (24, 32, [0, 2]),
    Q.Q4_K: (144, 256, [0, 2]),
    Q.Q5_K: (176, 256, [0, 2]),
    Q.Q6_K: (210, 256, [208]),
}
ROWS, BLOCKS_PER_ROW = 3, 2


def random_blocks(rng, qtype):
    size, values, scales = BLOCKS[qtype]
    raw = rng.integers(0, 256, size=(ROWS * BLOCKS_PER_ROW, size), dtype=np.uint8)
    for offset in scales:
        halves = rng.normal(0, 0.05, size=ROWS * BLOCKS_PER_ROW).astype(np.float16)
        raw[:, offset:offset + 2] = halves.view(np.uint8).reshape(-1, 2)
    return raw.reshape(ROWS, BLOCKS_PER_ROW * size), values


def add_metadata(writer):
    writer.add_uint8("test.uint8", 200)
    writer.add_int8("test.int8", -100)
    writer.add_uint16("test.uint16", 60000)
    writer.add_int16("test.int16", -30000)
    writer.add_uint32("test.uint32", 4000000000)
    writer.add_int32("test.int32", -2000000000)
    writer.add_float32("test.float32", 0.1)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo, 世界")
    writer.add_uint64("test.uint64", 18446744073709551615)
    writer.add_int64("test.int64", -9223372036854775807)
    writer.add_float64("test.float64", 0.1)
    writer.add_array("test.strings", ["a", "", "ü b"])
    writer.add_array("test.integers", [1, -2, 3])
    writer.add_array("test.nested", [[1, 2], [3]])
    writer.add_custom_alignment(64)


def write_types(path, rng):
    writer = GGUFWriter(path, arch="test")
    add_metadata(writer)
    floats = rng.normal(0, 1, size=(ROWS, 64)).astype(np.float32)
    floats[0, :4] = [np.inf, -np.inf, 0.0, -0.0]
    for name, qtype in (("f32", Q.F32), ("f16", Q.F16), ("bf16", Q.BF16)):
        if qtype == Q.F32:
            raw = floats
        elif qtype == Q.F16:
            raw = floats.astype(np.float16)
        else:
            raw = (floats.view(np.uint32) >> 16).astype(np.uint16)
        if qtype == Q.BF16:  # raw blocks are given as their bytes
            writer.add_tensor(name, raw.view(np.uint8), raw_dtype=qtype)
        else:
            writer.add_tensor(name, raw)
        writer.add_tensor(name + ".expected", dequantize(np.asarray(raw).view(np.uint8), qtype).reshape(ROWS, 64))
    for qtype in BLOCKS:
        raw, values = random_blocks(rng, qtype)
        name = qtype.name.lower()
        writer.add_tensor(name, raw, raw_dtype=qtype)
        writer.add_tensor(name + ".expected", dequantize(raw, qtype).reshape(ROWS, BLOCKS_PER_ROW * values))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_smollm2(path, model):
    reader = GGUFReader(model)
    result = {"model": os.path.basename(model), "tensors": []}
    for name in ("token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight"):
        tensor = next(t for t in reader.tensors if t.name == name)
        values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        result["tensors"].append({
            "name": name, "type": tensor.tensor_type.name, "shape": list(values.shape),
            "crc32": zlib.crc32(np.ascontiguousarray(values).tobytes()),
            "first": [float(v) for v in values.reshape(-1)[:8]]})
    with open(path, "w") as out:
        json.dump(result, out, indent=1)
        out.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
    parser.add_argument("--out", default=os.path.join(root, "tests", "golden", "gguf"))
    parser.add_argument("--model", default=os.path.join(data, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    write_types(os.path.join(args.out, "types.gguf"), np.random.default_rng(20261207))
    write_smollm2(os.path.join(args.out, "smollm2.json"), args.model)
    print(f"gguf-golden: wrote {args.out}/types.gguf and smollm2.json")


if __name__ == "__main__":
    main()
