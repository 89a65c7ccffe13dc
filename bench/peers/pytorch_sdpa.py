#!/usr/bin/env python3
"""PyTorch's CPU scaled_dot_product_attention beside attend's, interleaved shape by shape.

Asks `attend bench attention --list` for the rows (the same options as attend's), starts
`attend bench attention --serve` (attend in its own process, same thread count), and then, for each
shape, runs --rounds rounds of: one sgemm run of attend's roof, a block of attend's runs for each
implementation, a block of PyTorch's runs (float32, CPU). The two never run at the same time, and a
noisy minute on this 2-core machine hits both sides of a round alike. Each round gives a ratio;
the table shows the median ratio over the rounds and its spread, (max - min) / median, and flags
with '!' the rows whose spread is above --wide (10 %): run those again on a quiet machine.

    bench/peers/run [--quick] [--threads 2] ...     (makes the virtualenv, then runs this)
    python3 bench/peers/pytorch_sdpa.py --attend build/attend [--quick] ...

"x PyTorch" is the median over the rounds of PyTorch's block time over attend's (the same FLOP
count for both, so also attend's GFLOP/s over PyTorch's): above 1, attend is faster. ms is the
median of all of a side's timed runs; "%sgemm" is attend's GFLOP/s over the round's sgemm.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MIN_SECONDS = 0.2  # per row and side, as attend's BenchOptions::min_seconds: split over the rounds


def parse_args():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attend", default=os.path.join(root, "build", "attend"), help="the attend binary")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    parser.add_argument("--quick", action="store_true", help="attend's small subset (D=64, N in {128, 512})")
    parser.add_argument("--impl", choices=["reference", "fused", "both"], default="both", help="attend's paths")
    parser.add_argument("--max-n", type=int, help="leave out prefill rows with N above this")
    parser.add_argument("--decode-only", action="store_true", help="only the decode rows (N=1)")
    parser.add_argument("--prefill-only", action="store_true", help="no decode rows")
    parser.add_argument("--head-dim", help="attend's --head-dim, e.g. 64,128")
    parser.add_argument("--n", help="attend's --n, prefill lengths N = M, e.g. 1024,2048")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per row and side, at least 5")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per shape, at least 3")
    parser.add_argument("--wide", type=float, default=0.10, help="flag rows whose ratio spread is above this")
    parser.add_argument("--json", action="store_true", help="one JSON object per row instead of the table")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5 (times are medians of at least 5 runs), got {args.repeats}")
    if args.rounds < 3:
        parser.error(f"--rounds must be >= 3 (a median and a spread), got {args.rounds}")
    if not os.access(args.attend, os.X_OK):
        parser.error(f"{args.attend} is not an executable: build attend first (scripts/build) or pass --attend")
    return args


def attend_options(args):
    """The options of `attend bench attention` that choose the rows."""
    options = ["--threads", str(args.threads), "--impl", args.impl]
    for flag in ("quick", "decode_only", "prefill_only"):
        if getattr(args, flag):
            options.append("--" + flag.replace("_", "-"))
    if args.head_dim:
        options += ["--head-dim", args.head_dim]
    if args.n:
        options += ["--n", args.n]
    if args.max_n is not None:
        options += ["--max-n", str(args.max_n)]
    return options


def list_cases(args):
    command = [args.attend, "bench", "attention", "--list"] + attend_options(args)
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"pytorch_sdpa: {' '.join(command)} exited with status {result.returncode}")
    return [json.loads(line) for line in result.stdout.splitlines()]


class AttendServer:
    """`attend bench attention --serve`: one JSON request per line in, one answer per line out."""

    def __init__(self, args):
        command = [args.attend, "bench", "attention", "--serve"] + attend_options(args)
        print("running: " + " ".join(command), file=sys.stderr, flush=True)
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.roofline = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"pytorch_sdpa: attend --serve ended (status {self.process.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            sys.exit(f"pytorch_sdpa: attend --serve: {answer['error']}")
        return answer

    def ask(self, request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        self.process.stdin.close()
        if self.process.wait() != 0:
            sys.exit(f"pytorch_sdpa: attend --serve exited with status {self.process.returncode}")


def allowed_pairs(queries, keys, causal):
    """As attend's allowed_pairs: N * M, or with the (top-left) causal mask sum_i min(i + 1, M)."""
    if not causal:
        return queries * keys
    triangle = min(queries, keys)
    return triangle * (triangle + 1) // 2 + (queries - triangle) * keys


def flops(row):
    per_pair = 4 if row["pass"] == "forward" else 14
    return per_pair * row["B"] * row["H"] * allowed_pairs(row["N"], row["M"], row["causal"]) * row["D"]


def pytorch_runner(torch, shape):
    """One run of scaled_dot_product_attention on `shape` (a tuple of the row's fields), warmed up."""
    import torch.nn.functional as F

    batch, heads, queries, keys, dim, causal, pass_ = shape
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(batch, heads, queries, dim, generator=generator)
    k = torch.randn(batch, heads, keys, dim, generator=generator)
    v = torch.randn(batch, heads, keys, dim, generator=generator)
    d_output = torch.randn(batch, heads, queries, dim, generator=generator)

    def run():
        if pass_ == "forward":
            with torch.no_grad():
                F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:
            # Fresh leaves each run, as attend does, so gradients never accumulate.
            qg, kg, vg = (t.detach().requires_grad_() for t in (q, k, v))
            output = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
            output.backward(d_output)

    run()  # warm-up
    return run


def time_block(run, min_runs, min_seconds):
    """Seconds of each run: at least min_runs, more (up to 1000) until they add up to min_seconds."""
    times = []
    while len(times) < min_runs or (sum(times) < min_seconds and len(times) < 1000):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def pytorch_backend(torch, shape):
    """The SDPA backend PyTorch picks for the shape (flash attention for CPU, or math), if it says."""
    try:
        batch, heads, queries, keys, dim, causal, _ = shape
        q = torch.empty(batch, heads, queries, dim)
        k = torch.empty(batch, heads, keys, dim)
        choice = torch._fused_sdp_choice(q, k, k, None, 0.0, causal)
        return torch.nn.attention.SDPBackend(choice).name
    except Exception:  # a private API: the table does without it
        return "?"


def shape_of(case):
    return (case["B"], case["H"], case["N"], case["M"], case["D"], case["causal"], case["pass"])


def spread(ratios):
    middle = statistics.median(ratios)
    return (max(ratios) - min(ratios)) / middle if middle > 0 else float("inf")


def measure_shape(server, torch, shape, cases, args):
    """Interleaved rounds on one shape: sgemm roof, attend's implementations, PyTorch."""
    run_pytorch = pytorch_runner(torch, shape)
    min_runs = -(-args.repeats // args.rounds)
    min_seconds = MIN_SECONDS / args.rounds
    pytorch_seconds, results = [], {c["impl"]: {"seconds": [], "to_pytorch": [], "to_sgemm": []} for c in cases}
    skipped = {}
    row_flops = flops(cases[0])
    for _ in range(args.rounds):
        roof = server.ask({"roof": "sgemm"})["gflops"]
        blocks = {}
        for case in cases:
            if case["impl"] in skipped:
                continue
            answer = server.ask({"case": case, "min_runs": min_runs, "min_seconds": min_seconds})
            if "error" in answer or "skipped" in answer:
                skipped[case["impl"]] = answer.get("skipped") or answer["error"]
                continue
            blocks[case["impl"]] = answer["seconds"]
        peer = time_block(run_pytorch, min_runs, min_seconds)
        pytorch_seconds += peer
        for implementation, seconds in blocks.items():
            result = results[implementation]
            result["seconds"] += seconds
            result["to_pytorch"].append(statistics.median(peer) / statistics.median(seconds))
            result["to_sgemm"].append(row_flops / statistics.median(seconds) / 1e9 / roof)
    for implementation, reason in skipped.items():
        results[implementation] = {"skipped": reason}
    return statistics.median(pytorch_seconds) * 1e3, results


def row_summary(result, wide):
    """ms, x PyTorch, its spread and the wide flag of one implementation's rounds."""
    if "skipped" in result:
        return {"ms": None, "ratio_to_pytorch": None, "ratio_spread": None, "wide": None, "ratio_to_sgemm": None,
                "skipped": result["skipped"]}
    ratio_spread = spread(result["to_pytorch"])
    return {"ms": statistics.median(result["seconds"]) * 1e3, "ratio_to_pytorch": statistics.median(result["to_pytorch"]),
            "ratio_spread": ratio_spread, "wide": ratio_spread > wide,
            "ratio_to_sgemm": statistics.median(result["to_sgemm"]), "rounds": len(result["to_pytorch"])}


def main():
    args = parse_args()
    load_average = os.getloadavg()[0]
    cases = list_cases(args)
    shapes = []
    for case in cases:
        if shape_of(case) not in shapes:
            shapes.append(shape_of(case))
    server = AttendServer(args)

    import torch

    torch.set_num_threads(args.threads)
    implementations = [i for i in ("reference", "fused") if args.impl in (i, "both")]
    if not args.json:
        print(f"PyTorch {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()}) vs attend, "
              f"float32, B=1, H=8, {args.threads} thread(s); attend's sgemm roof {server.roofline['sgemm_gflops']:.1f} "
              "GFLOP/s at the start")
        print(f"{args.rounds} interleaved rounds per shape (sgemm, attend, PyTorch); ms: median of all >= {args.repeats} "
              "runs of a side; x PyTorch: median over the rounds of PyTorch's time / attend's (> 1: attend faster); "
              f"spread: (max - min) / median of the rounds' ratios, '!' above {100 * args.wide:.0f}%")
        if load_average >= 0.5:
            print(f"warning: load average {load_average:.2f} before the run: other processes share the cores, so "
                  "every figure below is low and noisy")
        print()
        header = f"{'D':>4} {'N':>5} {'M':>6} {'causal':<6} {'pass':<16} {'PyTorch ms':>10} {'GFLOP/s':>8} {'backend':<15}"
        for implementation in implementations:
            header += f" {implementation + ' ms':>12} {'%sgemm':>6} {'x PyTorch':>9} {'spread':>7}"
        print(header, flush=True)
    for shape in shapes:
        mine = [c for c in cases if shape_of(c) == shape]
        pytorch_ms, results = measure_shape(server, torch, shape, mine, args)
        backend = pytorch_backend(torch, shape)
        if args.json:
            for case in mine:
                print(json.dumps({**case, **row_summary(results[case["impl"]], args.wide), "pytorch_ms": pytorch_ms,
                                  "pytorch_gflops": flops(case) / (pytorch_ms * 1e-3) / 1e9,
                                  "pytorch_backend": backend, "pytorch_version": torch.__version__}), flush=True)
            continue
        batch, heads, queries, keys, dim, causal, pass_ = shape
        line = (f"{dim:>4} {queries:>5} {keys:>6} {'yes' if causal else 'no':<6} "
                f"{'decode' if queries == 1 else pass_:<16} {pytorch_ms:>10.3f} "
                f"{flops(mine[0]) / (pytorch_ms * 1e-3) / 1e9:>8.1f} {backend:<15}")
        for implementation in implementations:
            summary = row_summary(results.get(implementation, {"skipped": "not listed"}), args.wide)
            if summary["ms"] is None:
                line += f" {'skipped':>12} {'':>6} {'':>9} {'':>7}"
            else:
                line += (f" {summary['ms']:>12.3f} {100 * summary['ratio_to_sgemm']:>5.1f}% "
                         f"{summary['ratio_to_pytorch']:>9.2f} {100 * summary['ratio_spread']:>6.1f}%"
                         f"{'!' if summary['wide'] else ' '}")
        print(line, flush=True)
    server.close()


if __name__ == "__main__":
    main()
