#!/usr/bin/env python3
"""Data-parallel scaling of G2P training on this machine: target tokens per second of
`attend train g2p` as

  1x1  one process, one thread                       (the baseline)
  1x2  one process, two threads                      (threads share every op)
  2x1  `mpirun -np 2`, one thread each, --shards 2   (each rank half of every batch)
  2|1  two independent one-thread trainings at once, each of batch / 2 (what 2x1 would do without
       ever waiting for the other: the ceiling of data parallelism on these two cores)

interleaved round by round (1x1, 1x2, 2x1, 2|1, 1x1, ...) so that the noise of a shared 2-core
machine falls on all of them alike. Below the table: the share of 2x1's training time that each
rank spent waiting for the other at the gradient exchange (metrics.jsonl's wait_seconds) and in
the exchanges themselves (exchange_seconds). Each run is a fresh process of --steps steps (the default
Transformer, batch --batch) that reports "trained N steps in X s (Y target tokens/s)": training
time only (forward, backward, gradient exchange, optimizer), loading and evaluation excluded.
The table gives each configuration's median tokens/s and the median and min-max of its per-round
ratio to 1x1; --markdown FILE also writes it there.

    bench/peers/run scaling [--rounds R] [--steps S] [--batch B] [--arch transformer|gru]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile


def rate_of(command, result):
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout}\n{result.stderr}")
    match = re.search(r"trained \d+ steps in [0-9.]+ s of training \(([0-9.]+) target tokens/s\)", result.stdout)
    if not match:
        sys.exit(f"no 'trained ... target tokens/s' line from {' '.join(command)}:\n{result.stdout}")
    return float(match.group(1))


def tokens_per_second(commands, env):
    """Runs the commands at the same time; the sum of their target tokens/s."""
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for c in commands]
    total = 0.0
    for command, process in zip(commands, processes):
        stdout, stderr = process.communicate()
        total += rate_of(command, subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return total


def time_shares(out):
    """(largest wait share, largest exchange share) over the ranks of a data-parallel run's last line."""
    with open(os.path.join(out, "metrics.jsonl")) as f:
        last = [json.loads(line) for line in f if "train_seconds" in line][-1]
    seconds = last["train_seconds"]
    return max(last["wait_seconds"]) / seconds, max(last["exchange_seconds"]) / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attend", required=True)
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--model", default="transformer", choices=["transformer", "gru"])
    parser.add_argument("--markdown")
    args = parser.parse_args()
    for name in ("rounds", "steps", "batch"):
        if getattr(args, name) < 1:
            sys.exit(f"--{name} must be at least 1")
    if args.batch % 2:
        sys.exit("--batch must be even (two shards, and halves for 2|1)")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    work = tempfile.mkdtemp(prefix="attend-scaling-")
    task = ["train", "g2p", "--arch", args.model, "--steps", str(args.steps), "--batch", str(args.batch),
            "--eval-every", str(args.steps), "--eval-words", "1", "--overwrite", "--out"]
    half = task[:task.index("--batch") + 1] + [str(args.batch // 2)] + task[task.index("--batch") + 2:]
    configurations = {
        "1x1": lambda out: [[args.attend, "--threads", "1"] + task + [out]],
        "1x2": lambda out: [[args.attend, "--threads", "2"] + task + [out]],
        "2x1": lambda out: [[args.mpirun, "-np", "2", args.attend, "--threads", "1"] + task + [out, "--shards", "2"]],
        "2|1": lambda out: [[args.attend, "--threads", "1"] + half + [out + str(i)] for i in range(2)],
    }
    rates = {name: [] for name in configurations}
    shares = []
    for round_index in range(args.rounds):
        for name, commands in configurations.items():
            rates[name].append(tokens_per_second(commands(os.path.join(work, name)), env))
        shares.append(time_shares(os.path.join(work, "2x1")))
        print(f"round {round_index + 1}: " + ", ".join(f"{n} {rates[n][-1]:.0f}" for n in configurations) +
              f"; 2x1 waits {shares[-1][0]:.0%}, exchanges {shares[-1][1]:.0%}", flush=True)
    lines = [f"| G2P {args.model}, batch {args.batch}, {args.steps} steps x {args.rounds} rounds | target tokens/s "
             "| / 1x1 (median, min-max) |", "|---|---|---|"]
    labels = {"1x1": "1 process x 1 thread", "1x2": "1 process x 2 threads",
              "2x1": "2 processes (mpirun) x 1 thread, 2 shards",
              "2|1": "2 independent processes x 1 thread, batch / 2 each (sum)"}
    for name in configurations:
        ratios = [r / b for r, b in zip(rates[name], rates["1x1"])]
        lines.append(f"| {labels[name]} | {statistics.median(rates[name]):.0f} | "
                     f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |")
    two = [a / b for a, b in zip(rates["2x1"], rates["1x2"])]
    lines.append(f"\n2 processes / 2 threads: {statistics.median(two):.2f}x ({min(two):.2f}-{max(two):.2f})")
    ceiling = [a / b for a, b in zip(rates["2x1"], rates["2|1"])]
    lines.append(f"2 processes / 2 independent: {statistics.median(ceiling):.2f}x "
                 f"({min(ceiling):.2f}-{max(ceiling):.2f})")
    waits, exchanges = [w for w, _ in shares], [e for _, e in shares]
    lines.append(f"2x1's time waiting for the other rank (the larger of the two): median {statistics.median(waits):.0%} "
                 f"({min(waits):.0%}-{max(waits):.0%}); exchanging: {statistics.median(exchanges):.0%} "
                 f"({min(exchanges):.0%}-{max(exchanges):.0%})")
    print("\n" + "\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
