#!/usr/bin/env python3
"""PyTorch's CPU scaled_dot_product_attention beside `attend bench attention`.

Runs `attend bench attention --json` with the options given here, then times
torch.nn.functional.scaled_dot_product_attention on exactly the shapes attend reported
(float32, CPU, the same thread count, the same rule: one warm-up, then the median of at least
--repeats runs that add up to at least 0.2 s) and prints one table with both. attend runs first
and alone, in its own process, so the two never share the cores.

    bench/peers/run [--quick] [--threads 2] ...     (makes the virtualenv, then runs this)
    python3 bench/peers/pytorch_sdpa.py --attend build/attend [--quick] ...

"x PyTorch" is attend's GFLOP/s over PyTorch's on the same row (the same FLOP count for both,
so it is also PyTorch's time over attend's): above 1, attend is faster.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MIN_SECONDS = 0.2  # as attend's BenchOptions::min_seconds


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
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per row, at least 5")
    parser.add_argument("--json", action="store_true", help="one JSON object per row instead of the table")
    parser.add_argument("--save-attend", metavar="FILE", help="also write attend's JSON lines to FILE")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5 (times are medians of at least 5 runs), got {args.repeats}")
    if not os.access(args.attend, os.X_OK):
        parser.error(f"{args.attend} is not an executable: build attend first (scripts/build) or pass --attend")
    return args


def run_attend(args):
    command = [args.attend, "bench", "attention", "--json", "--threads", str(args.threads), "--impl", args.impl,
               "--repeats", str(args.repeats)]
    if args.quick:
        command.append("--quick")
    if args.decode_only:
        command.append("--decode-only")
    if args.prefill_only:
        command.append("--prefill-only")
    if args.head_dim:
        command += ["--head-dim", args.head_dim]
    if args.n:
        command += ["--n", args.n]
    if args.max_n is not None:
        command += ["--max-n", str(args.max_n)]
    print("running: " + " ".join(command), file=sys.stderr, flush=True)
    rows = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        for line in process.stdout:
            rows.append(json.loads(line))
            row = rows[-1]
            print(f"  attend {row['impl']:<9} D={row['D']} N={row['N']} M={row['M']} causal={row['causal']} "
                  f"{row['pass']}: {row['ms'] if row['ms'] is not None else 'skipped'} ms", file=sys.stderr, flush=True)
    if process.returncode != 0:
        sys.exit(f"pytorch_sdpa: attend exited with status {process.returncode}")
    return rows


def allowed_pairs(queries, keys, causal):
    """As attend's allowed_pairs: N * M, or with the (top-left) causal mask sum_i min(i + 1, M)."""
    if not causal:
        return queries * keys
    triangle = min(queries, keys)
    return triangle * (triangle + 1) // 2 + (queries - triangle) * keys


def flops(row):
    per_pair = 4 if row["pass"] == "forward" else 14
    return per_pair * row["B"] * row["H"] * allowed_pairs(row["N"], row["M"], row["causal"]) * row["D"]


def time_pytorch(torch, shape, repeats):
    """Median seconds of scaled_dot_product_attention on `shape` (a tuple of the row's fields)."""
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
    times = []
    while len(times) < repeats or (sum(times) < MIN_SECONDS and len(times) < 1000):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def main():
    args = parse_args()
    load_average = os.getloadavg()[0]
    attend_rows = run_attend(args)
    if args.save_attend:
        with open(args.save_attend, "w") as out:
            for row in attend_rows:
                out.write(json.dumps(row) + "\n")

    import torch

    torch.set_num_threads(args.threads)
    shapes = []
    for row in attend_rows:
        shape = (row["B"], row["H"], row["N"], row["M"], row["D"], row["causal"], row["pass"])
        if shape not in shapes:
            shapes.append(shape)
    pytorch = {}
    for shape in shapes:
        seconds = time_pytorch(torch, shape, args.repeats)
        pytorch[shape] = {"ms": seconds * 1e3, "backend": pytorch_backend(torch, shape)}
        print(f"  pytorch D={shape[4]} N={shape[2]} M={shape[3]} causal={shape[5]} {shape[6]}: "
              f"{seconds * 1e3:.3f} ms", file=sys.stderr, flush=True)

    sgemm = attend_rows[0]["sgemm_gflops"] if attend_rows else 0
    if args.json:
        for row in attend_rows:
            shape = (row["B"], row["H"], row["N"], row["M"], row["D"], row["causal"], row["pass"])
            peer = pytorch[shape]
            peer_gflops = flops(row) / (peer["ms"] * 1e-3) / 1e9
            print(json.dumps({**row, "pytorch_ms": peer["ms"], "pytorch_gflops": peer_gflops,
                              "pytorch_backend": peer["backend"], "pytorch_version": torch.__version__,
                              "ratio_to_pytorch": None if row["ms"] is None else peer["ms"] / row["ms"]}))
        return

    print(f"PyTorch {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()}) vs attend, "
          f"float32, B=1, H=8, {args.threads} thread(s); attend's sgemm roof {sgemm:.1f} GFLOP/s")
    print("ms: median of >= {} runs after a warm-up; x PyTorch: attend GFLOP/s / PyTorch GFLOP/s (> 1: attend "
          "faster)".format(args.repeats))
    if load_average >= 0.5:
        print(f"warning: load average {load_average:.2f} before the run: other processes share the cores, so "
              "every figure below is low and noisy")
    print()
    implementations = [i for i in ("reference", "fused") if args.impl in (i, "both")]
    header = f"{'D':>4} {'N':>5} {'M':>6} {'causal':<6} {'pass':<16} {'PyTorch ms':>10} {'GFLOP/s':>8} {'backend':<15}"
    for implementation in implementations:
        header += f" {implementation + ' ms':>12} {'x PyTorch':>9}"
    print(header)
    for shape in shapes:
        batch, heads, queries, keys, dim, causal, pass_ = shape
        peer = pytorch[shape]
        row_flops = flops({"B": batch, "H": heads, "N": queries, "M": keys, "D": dim, "causal": causal, "pass": pass_})
        line = (f"{dim:>4} {queries:>5} {keys:>6} {'yes' if causal else 'no':<6} "
                f"{'decode' if queries == 1 else pass_:<16} {peer['ms']:>10.3f} "
                f"{row_flops / (peer['ms'] * 1e-3) / 1e9:>8.1f} {peer['backend']:<15}")
        for implementation in implementations:
            mine = [r for r in attend_rows if r["impl"] == implementation
                    and (r["B"], r["H"], r["N"], r["M"], r["D"], r["causal"], r["pass"]) == shape]
            if not mine or mine[0]["ms"] is None:
                line += f" {'skipped':>12} {'':>9}"
            else:
                line += f" {mine[0]['ms']:>12.3f} {peer['ms'] / mine[0]['ms']:>9.2f}"
        print(line)


if __name__ == "__main__":
    main()
